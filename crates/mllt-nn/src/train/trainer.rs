//! The training loop (semantics §6; paper §4.2 "Implementation Details").
//!
//! Per epoch: the sampler lists the epoch's items; consecutive chunks of `batch_size` form the batches (the
//! last incomplete one is dropped). Per iteration: forward in train mode, `loss.mean()` over B·C, backward,
//! global clip at 35, SGD step at the scheduled rate. After each epoch a checkpoint and a JSONL log line are
//! written to the output folder; after the last, the model is evaluated on `test` and `metrics.json` written.
//!
//! [`RunOptions::max_steps`] stops the run after that many global iterations, the learning-rate schedule
//! unchanged; a run stopped inside an epoch logs that partial epoch but writes no checkpoint for it, so the
//! checkpoint stays at the last complete epoch (none when the first epoch was cut) while `metrics.json`
//! evaluates the model at the stop. `--resume` continues from that checkpoint, to the end of the schedule or
//! to its own `max_steps`, and ends where an uninterrupted run with the same limit ends.
//!
//! Two heads need more than the features: ML-GCN's label graph is built from the label vectors of
//! [`RunOptions::label_vectors`] and the co-occurrence of the items trained on ([`label_graph`]); OLTR's stage 2
//! starts at the first iteration of its epoch ([`HeadConfig::stage_two_epoch`], [`TrainState::enter_stage_two`]).
//!
//! Seeding, from the run's seed S alone: the head's initial weights come from ChaCha8(S) stream 0, the
//! dropout masks from ChaCha8(S) stream 1, OLTR's stage-2 weights from stream 2, the sampler from S. Resuming
//! restores the weights, momentum buffers, BN statistics and dropout stream from the checkpoint and replays the
//! sampler's completed epochs, so a resumed run ends bit-identical to an uninterrupted one.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use mllt_core::LabelSet;
use mllt_core::atomic::write_atomic;
use mllt_core::holdout::holdout;
use mllt_core::metrics::{Evaluation, MIN_VALIDATION_POSITIVES, choose_thresholds};
use mllt_core::sampling::Sampler;
use mllt_core::scores::ScoreMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::TrainError;
use super::checkpoint::{CHECKPOINT_FILE, Checkpoint};
use super::clip::clip_grad_norm;
use super::config::TrainConfig;
use super::evaluate::{EVAL_CHUNK, evaluate, evaluation_json, predict};
use super::fused_head::FusedHead;
use super::sgd::Sgd;
use crate::deploy::{MODEL_FILE, Network, ThresholdMeta, TrainedModel};
use crate::features::{FeatureDataset, FeatureSplit};
use crate::kernels::is_flex;
use crate::loss::Loss;
use crate::model::{Head, HeadConfig, LabelGraph, LabelVectors};
use crate::retain_freed_memory;

/// Per-epoch log, one JSON object per line.
pub const LOG_FILE: &str = "log.jsonl";
/// Final evaluation.
pub const METRICS_FILE: &str = "metrics.json";
/// The configuration the run used.
pub const CONFIG_FILE: &str = "config.toml";

/// How often (iterations) the running loss is read back for progress reports.
const REPORT_EVERY: usize = 10;

/// ChaCha streams derived from the run seed.
pub(crate) const INIT_STREAM: u64 = 0;
pub(crate) const DROPOUT_STREAM: u64 = 1;
/// The weights OLTR's stage 2 adds.
pub(crate) const STAGE_TWO_STREAM: u64 = 2;

pub(crate) fn seeded(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    /// Output folder: checkpoint, log, config and metrics.
    pub out: PathBuf,
    /// Continue from the checkpoint in `out`.
    pub resume: bool,
    /// Stop after this many global iterations (the schedule is unchanged); `None` runs every epoch.
    pub max_steps: Option<usize>,
    /// Also log a [`StepRecord`] after every global iteration that is a multiple of this (0: epoch lines only).
    pub log_every: usize,
    /// Hold out the validation split of the training set ([`mllt_core::holdout`]), train on the rest and choose
    /// the per-class decision thresholds on it; `false` trains on every training item (the paper's protocol)
    /// with the reference's threshold 0.
    pub holdout: bool,
    /// Write the model, reading this input, to `OUT/model.mllt` ([`deploy`](crate::deploy)).
    pub deploy: Option<crate::deploy::Input>,
    /// The label vectors of the ML-GCN head (one row per class); required by it, unused by other heads.
    pub label_vectors: Option<LabelVectors>,
}

/// Progress within an epoch, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct StepProgress {
    /// 0-based epoch.
    pub epoch: usize,
    pub epochs: usize,
    /// Iterations done in this epoch.
    pub done: usize,
    pub iterations: usize,
    pub lr: f64,
    /// Mean loss of the epoch so far (read every few iterations).
    pub loss: Option<f64>,
}

/// One line of `log.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    pub iterations: usize,
    /// Global iterations done after this epoch.
    pub global_iteration: usize,
    /// Learning rate of the epoch's last iteration.
    pub lr: f64,
    /// Mean training loss over the epoch.
    pub loss: f64,
    pub seconds: f64,
}

/// A line of `log.jsonl` written every `log_every` global iterations inside an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Global iterations done.
    pub step: usize,
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the iterations since the previous step line of the epoch (or its start).
    pub loss: f64,
    pub lr: f64,
    /// Seconds since the epoch started.
    pub seconds: f64,
}

/// A line of `log.jsonl`: the end of an epoch, or a step inside one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LogLine {
    Epoch(EpochRecord),
    Step(StepRecord),
}

/// Receives progress; every method has an empty default.
pub trait Observer {
    fn on_epoch_start(&mut self, _epoch: usize, _epochs: usize, _iterations: usize) {}
    fn on_step(&mut self, _progress: &StepProgress) {}
    fn on_epoch_end(&mut self, _record: &EpochRecord) {}
}

impl Observer for () {}

/// The result of a run.
#[derive(Debug)]
pub struct TrainOutcome {
    pub model: Head,
    pub evaluation: Evaluation,
    /// Every epoch of the run, including those before a resume.
    pub history: Vec<EpochRecord>,
    /// Completed epochs found in the checkpoint when resuming.
    pub resumed_from: Option<usize>,
    /// The content of `metrics.json`.
    pub metrics: Value,
}

/// The mutable state of training: weights, optimiser, dropout stream and counters.
///
/// On the CPU, [`TrainState::step_items`] trains a [`FusedHead`] that holds the weights and momentum buffers
/// between steps; [`TrainState::sync`] writes them back into `model` and `sgd`, which are stale until then.
#[derive(Debug, Clone)]
pub struct TrainState {
    pub model: Head,
    pub sgd: Sgd,
    pub rng: ChaCha8Rng,
    pub epochs_done: usize,
    pub iteration: usize,
    fused: Option<FusedHead>,
}

impl TrainState {
    /// A fresh state: the head initialised from `seed` on `device` (an autodiff device); `graph` is ML-GCN's
    /// label graph.
    pub fn new(
        config: &TrainConfig,
        in_features: usize,
        num_classes: usize,
        graph: Option<&LabelGraph>,
        seed: u64,
        device: &Device,
    ) -> Self {
        let model = Head::new(
            &config.model,
            in_features,
            num_classes,
            graph,
            &mut seeded(seed, INIT_STREAM),
            device,
        );
        TrainState {
            model,
            sgd: Sgd::new(config.optimizer.clone()),
            rng: seeded(seed, DROPOUT_STREAM),
            epochs_done: 0,
            iteration: 0,
            fused: None,
        }
    }

    /// One iteration on the rows `items` of `split` (the same split at every call) at learning rate `lr`:
    /// the written-out iteration of [`FusedHead`] for a plain head on the Flex CPU backend, [`TrainState::step`]
    /// otherwise. Returns the loss (detached).
    pub fn step_items(
        mut self,
        split: &FeatureSplit,
        items: &[usize],
        loss: &Loss,
        lr: f64,
        device: &Device,
    ) -> (Self, Tensor<1>) {
        if !is_flex(device) || !self.model.is_plain() {
            let (x, y) = batch(split, items, device);
            return self.step(x, y, loss, lr);
        }
        let fused = self
            .fused
            .get_or_insert_with(|| FusedHead::new(&self.model, &self.sgd, split, device));
        let value = fused.step(split, items, loss, &self.sgd, lr, &mut self.rng);
        self.iteration += 1;
        let host = device.clone().without_autodiff();
        (self, Tensor::from_floats([value], &host))
    }

    /// Writes the state of the fused head, if any, back into `model` and `sgd`.
    pub fn sync(&mut self) {
        if let Some(fused) = &self.fused {
            fused.write_back(&mut self.model, &mut self.sgd);
        }
    }

    /// OLTR's stage 2 ([`Head::enter_stage_two`]): the centroids are the mean evaluation-mode features of
    /// each class's positive items of `split` (a class without one gets the zero vector); the new weights are
    /// drawn from the run's stage-2 stream; the linear classifier's momentum buffers go with it.
    pub fn enter_stage_two(&mut self, split: &FeatureSplit, seed: u64, device: &Device) {
        self.sync();
        self.fused = None;
        let width = self.model.width();
        let mut sums = vec![0.0f64; self.model.num_classes() * width];
        let mut counts = vec![0usize; self.model.num_classes()];
        let host = device.clone().without_autodiff();
        let model = self.model.valid();
        for start in (0..split.len()).step_by(EVAL_CHUNK) {
            let rows = EVAL_CHUNK.min(split.len() - start);
            let x = split.features[start * split.dim..(start + rows) * split.dim].to_vec();
            let x = Tensor::<2>::from_data(TensorData::new(x, [rows, split.dim]), &host);
            let h = model.features(x).into_data().convert::<f32>();
            let h = h.as_slice::<f32>().expect("f32 features");
            for (row, item) in h.chunks_exact(width).zip(start..) {
                for &k in split.labels.row(item) {
                    counts[k] += 1;
                    let sum = &mut sums[k * width..(k + 1) * width];
                    sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
                }
            }
        }
        let centroids = sums
            .chunks_exact(width)
            .zip(&counts)
            .flat_map(|(sum, &n)| sum.iter().map(move |&s| (s / n.max(1) as f64) as f32))
            .collect();
        self.model
            .enter_stage_two(centroids, &mut seeded(seed, STAGE_TWO_STREAM));
        self.sgd.forget("classifier.");
    }

    /// One iteration on a batch: forward (train mode), mean loss, backward, global clip, SGD step at `lr`.
    /// Returns the next state and the loss (detached, on the device). The state is taken by value so that
    /// the optimiser owns the only reference to each weight and can update it in place.
    pub fn step(mut self, x: Tensor<2>, y: Tensor<2>, loss: &Loss, lr: f64) -> (Self, Tensor<1>) {
        let logits = self.model.forward_train(x, &mut self.rng);
        let value = loss.training_loss(logits, y);
        self.model = optimise(self.model, &mut self.sgd, &value, lr);
        self.iteration += 1;
        (self, value.detach())
    }

    fn checkpoint(
        &mut self,
        config: &TrainConfig,
        seed: u64,
        class_names: &[String],
    ) -> Checkpoint {
        self.sync();
        Checkpoint {
            config: config.clone(),
            seed,
            class_names: class_names.to_vec(),
            epochs_done: self.epochs_done,
            iteration: self.iteration,
            rng: self.rng.clone(),
            model: self.model.clone(),
            velocity: self.sgd.velocity().clone(),
        }
    }
}

/// Backward from the training loss `value`, global gradient clipping (semantics §6: mmcv's `OptimizerHook`,
/// max norm 35), and the SGD step at `lr`. Parameters that do not require gradients are left alone.
pub(crate) fn optimise<M: Module>(model: M, sgd: &mut Sgd, value: &Tensor<1>, lr: f64) -> M {
    let mut grads = GradientsParams::from_grads(value.backward(), &model);
    let max_norm = sgd.config().clip_grad_norm;
    if max_norm.is_finite() {
        clip_grad_norm(&model, &mut grads, max_norm);
    }
    sgd.step(model, grads, lr)
}

/// The running loss of one epoch: progress reports to the observer and the epoch's log record.
pub(crate) struct EpochMeter {
    epoch: usize,
    epochs: usize,
    iterations: usize,
    so_far: EpochSoFar,
    lr: f64,
    started: Instant,
    /// Iterations done and their loss sum at the last step line (or the start).
    logged: (usize, f64),
    log_every: usize,
}

/// The iterations of an epoch done so far: what a checkpoint inside an epoch keeps of its meter.
#[derive(Debug, Clone, Default)]
pub(crate) struct EpochSoFar {
    pub(crate) done: usize,
    /// The sum of their losses (detached, on the device).
    pub(crate) loss_sum: Option<Tensor<1>>,
    /// Seconds spent on them before the meter was (re)started.
    pub(crate) seconds: f64,
}

impl EpochMeter {
    /// Starts epoch `epoch` (0-based) of `epochs`, expected to last `iterations` iterations.
    pub(crate) fn start(
        epoch: usize,
        epochs: usize,
        iterations: usize,
        log_every: usize,
        observer: &mut dyn Observer,
    ) -> Self {
        Self::resume(
            epoch,
            epochs,
            iterations,
            EpochSoFar::default(),
            log_every,
            observer,
        )
    }

    /// Continues epoch `epoch` after the iterations of `so_far` (a run resumed inside an epoch).
    pub(crate) fn resume(
        epoch: usize,
        epochs: usize,
        iterations: usize,
        so_far: EpochSoFar,
        log_every: usize,
        observer: &mut dyn Observer,
    ) -> Self {
        observer.on_epoch_start(epoch, epochs, iterations);
        let logged = (so_far.done, sum_of(so_far.loss_sum.as_ref()));
        EpochMeter {
            epoch,
            epochs,
            iterations,
            so_far,
            lr: 0.0,
            started: Instant::now(),
            logged,
            log_every,
        }
    }

    /// The iterations done so far, the seconds counted up to now.
    pub(crate) fn so_far(&self) -> EpochSoFar {
        EpochSoFar {
            seconds: self.seconds(),
            ..self.so_far.clone()
        }
    }

    fn seconds(&self) -> f64 {
        self.so_far.seconds + self.started.elapsed().as_secs_f64()
    }

    /// Adds one iteration's loss (detached) at learning rate `lr`, after which `step` global iterations are
    /// done; returns the step line to log when `step` is a multiple of the meter's `log_every`.
    pub(crate) fn record(
        &mut self,
        value: Tensor<1>,
        lr: f64,
        step: usize,
        observer: &mut dyn Observer,
    ) -> Option<StepRecord> {
        let so_far = &mut self.so_far;
        so_far.loss_sum = Some(match so_far.loss_sum.take() {
            Some(s) => s + value,
            None => value,
        });
        so_far.done += 1;
        self.lr = lr;
        let done = so_far.done;
        let report = done.is_multiple_of(REPORT_EVERY) || done == self.iterations;
        let loss = report.then(|| mean_of(so_far.loss_sum.as_ref(), done));
        observer.on_step(&StepProgress {
            epoch: self.epoch,
            epochs: self.epochs,
            done,
            iterations: self.iterations,
            lr,
            loss,
        });
        if self.log_every == 0 || !step.is_multiple_of(self.log_every) {
            return None;
        }
        let sum = sum_of(self.so_far.loss_sum.as_ref());
        let (done_then, sum_then) = std::mem::replace(&mut self.logged, (done, sum));
        Some(StepRecord {
            step,
            epoch: self.epoch + 1,
            loss: (sum - sum_then) / (done - done_then).max(1) as f64,
            lr,
            seconds: self.seconds(),
        })
    }

    /// The epoch's record (`global_iteration` after it); an error if the mean loss is not finite.
    pub(crate) fn finish(self, global_iteration: usize) -> Result<EpochRecord, TrainError> {
        let loss = mean_of(self.so_far.loss_sum.as_ref(), self.so_far.done);
        if !loss.is_finite() {
            return Err(TrainError::Invalid(format!(
                "the training loss became {loss} in epoch {}: lower optimizer.lr or check the loss settings",
                self.epoch + 1
            )));
        }
        Ok(EpochRecord {
            epoch: self.epoch + 1,
            iterations: self.so_far.done,
            global_iteration,
            lr: self.lr,
            loss,
            seconds: self.seconds(),
        })
    }
}

/// A batch of rows of `split` as `(features, labels)` tensors on `device`.
pub fn batch(split: &FeatureSplit, items: &[usize], device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x: Vec<f32> = items
        .iter()
        .flat_map(|&k| split.row(k).iter().copied())
        .collect();
    (
        Tensor::from_data(TensorData::new(x, [items.len(), split.dim]), device),
        label_batch(&split.labels, items, device),
    )
}

/// The multi-hot label rows `items` of `labels` as a `[B, C]` tensor on `device`.
pub fn label_batch(labels: &mllt_core::LabelSet, items: &[usize], device: &Device) -> Tensor<2> {
    let c = labels.num_classes();
    let mut y = vec![0f32; items.len() * c];
    for (r, &k) in items.iter().enumerate() {
        for &j in labels.row(k) {
            y[r * c + j] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(y, [items.len(), c]), device)
}

/// The configuration with the epoch count left out: a resume may extend a run.
fn without_epochs(config: &TrainConfig) -> TrainConfig {
    let mut c = config.clone();
    c.schedule.epochs = 0;
    c
}

/// A new run must not overwrite the checkpoint of another one.
pub(crate) fn check_new_run(checkpoint: &Path) -> Result<(), TrainError> {
    if checkpoint.exists() {
        return Err(TrainError::Invalid(format!(
            "{} already exists: pass --resume to continue that run, or choose another --out",
            checkpoint.display()
        )));
    }
    Ok(())
}

/// `--resume` needs a checkpoint.
pub(crate) fn check_resumable(checkpoint: &Path) -> Result<(), TrainError> {
    if !checkpoint.exists() {
        return Err(TrainError::Invalid(format!(
            "--resume: there is no checkpoint {} to resume",
            checkpoint.display()
        )));
    }
    Ok(())
}

/// Why a checkpoint made with `checkpoint = (seed, class names, configuration)` cannot continue a run with
/// `seed`, `class_names` and `config`; `None` when it can (only `schedule.epochs` may differ).
pub(crate) fn run_mismatch(
    checkpoint: (u64, &[String], &TrainConfig),
    seed: u64,
    class_names: &[String],
    config: &TrainConfig,
) -> Option<String> {
    let (ck_seed, ck_classes, ck_config) = checkpoint;
    if ck_seed != seed {
        Some(format!("it was trained with seed {ck_seed}, not {seed}"))
    } else if ck_classes != class_names {
        Some("it was trained on other classes".to_string())
    } else if without_epochs(ck_config) != without_epochs(config) {
        Some(
            "it was trained with another configuration (only schedule.epochs may change)"
                .to_string(),
        )
    } else {
        None
    }
}

/// The one-line error of a checkpoint that cannot continue the run, for the reason `why`.
pub(crate) fn cannot_resume(checkpoint: &Path, why: String) -> TrainError {
    TrainError::checkpoint(checkpoint, format!("cannot resume: {why}"))
}

/// Loads the checkpoint of `out` and checks that it belongs to this run.
fn resume_state(
    path: &Path,
    data: &FeatureDataset,
    config: &TrainConfig,
    seed: u64,
    device: &Device,
) -> Result<TrainState, TrainError> {
    check_resumable(path)?;
    let ck = Checkpoint::load(path, device)?;
    let mismatch = run_mismatch(
        (ck.seed, &ck.class_names, &ck.config),
        seed,
        data.class_names(),
        config,
    )
    .or_else(|| {
        (ck.model.in_features() != data.dim()).then(|| {
            format!(
                "its head takes {}-d features, the data has {}",
                ck.model.in_features(),
                data.dim()
            )
        })
    });
    if let Some(why) = mismatch {
        return Err(cannot_resume(path, why));
    }
    Ok(TrainState {
        model: ck.model,
        sgd: Sgd::with_velocity(config.optimizer.clone(), ck.velocity),
        rng: ck.rng,
        epochs_done: ck.epochs_done,
        iteration: ck.iteration,
        fused: None,
    })
}

/// The lines of the log that a checkpoint after `epochs` complete epochs and `steps` global iterations
/// covers: the first `epochs` epoch lines and the step lines up to `steps`, in file order.
pub(crate) fn read_log(
    path: &Path,
    epochs: usize,
    steps: usize,
) -> Result<Vec<LogLine>, TrainError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(mllt_core::Error::Io {
                path: path.into(),
                source,
            }
            .into());
        }
    };
    let mut kept = Vec::new();
    let mut epoch_lines = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: LogLine = serde_json::from_str(line).map_err(|e| mllt_core::Error::Parse {
            path: path.into(),
            line: i + 1,
            message: format!("not a log line: {e}"),
        })?;
        match &record {
            LogLine::Epoch(_) if epoch_lines < epochs => epoch_lines += 1,
            LogLine::Step(s) if s.step <= steps => {}
            _ => continue,
        }
        kept.push(record);
    }
    Ok(kept)
}

/// The epoch lines of a log.
pub(crate) fn epoch_records(log: &[LogLine]) -> Vec<EpochRecord> {
    log.iter()
        .filter_map(|l| match l {
            LogLine::Epoch(r) => Some(r.clone()),
            LogLine::Step(_) => None,
        })
        .collect()
}

pub(crate) fn log_text(log: &[LogLine]) -> String {
    log.iter()
        .map(|r| serde_json::to_string(r).expect("records serialise") + "\n")
        .collect()
}

pub(crate) fn append_line(path: &Path, record: LogLine) -> Result<(), TrainError> {
    let io = |source| mllt_core::Error::Io {
        path: path.into(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    f.write_all(log_text(&[record]).as_bytes()).map_err(io)?;
    Ok(())
}

/// Trains `config` on `data` (see the module documentation), evaluates on `data.test` and writes `metrics.json`
/// (and `model.mllt` with [`RunOptions::deploy`]). `device` must be an autodiff device.
pub fn train(
    data: &FeatureDataset,
    config: &TrainConfig,
    options: &RunOptions,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<TrainOutcome, TrainError> {
    let out = &options.out;
    prepare_run(config, out)?;
    let ckpt_path = out.join(CHECKPOINT_FILE);
    let log_path = out.join(LOG_FILE);
    let carved = options.holdout.then(|| holdout(data.train.labels.ids()));
    let fit = match &carved {
        Some(h) => Cow::Owned(data.train.subset(&h.fit)),
        None => Cow::Borrowed(&data.train),
    };
    let counts = data.train.labels.class_counts();
    let loss = bind_loss(&config.loss, &fit.labels)?;
    let mut sampler = Sampler::new(&config.sampler, &fit.labels, options.seed)?;
    let schedule = &config.schedule;

    let (mut state, mut log, resumed_from) = if options.resume {
        let state = resume_state(&ckpt_path, data, config, options.seed, device)?;
        for _ in 0..state.epochs_done {
            sampler.next_epoch();
        }
        let log = read_log(&log_path, state.epochs_done, state.iteration)?;
        let done = state.epochs_done;
        (state, log, Some(done))
    } else {
        check_new_run(&ckpt_path)?;
        let graph = label_graph(&config.model, &fit.labels, options.label_vectors.as_ref())?;
        let state = TrainState::new(
            config,
            data.dim(),
            data.train.labels.num_classes(),
            graph.as_ref(),
            options.seed,
            device,
        );
        (state, Vec::new(), None)
    };
    write_atomic(&log_path, log_text(&log).as_bytes())?;
    write_atomic(&out.join(CONFIG_FILE), config.to_toml().as_bytes())?;

    let max_steps = options.max_steps.unwrap_or(usize::MAX);
    let mut epochs_run = state.epochs_done;
    for epoch in state.epochs_done..schedule.epochs {
        if state.iteration >= max_steps {
            break;
        }
        if config.model.stage_two_epoch(schedule.epochs) == Some(epoch) && state.model.is_plain() {
            state.enter_stage_two(&fit, options.seed, device);
        }
        let order = sampler.next_epoch();
        let full = epoch_iterations(order.len(), schedule.batch_size)?;
        let iterations = full.min(max_steps - state.iteration);
        let mut meter = EpochMeter::start(
            epoch,
            schedule.epochs,
            iterations,
            options.log_every,
            observer,
        );
        for items in order.chunks_exact(schedule.batch_size).take(iterations) {
            let lr = schedule.lr(config.optimizer.lr, epoch, state.iteration);
            let (next, value) = state.step_items(&fit, items, &loss, lr, device);
            state = next;
            if let Some(step) = meter.record(value, lr, state.iteration, observer) {
                append_line(&log_path, LogLine::Step(step.clone()))?;
                log.push(LogLine::Step(step));
            }
        }
        let record = meter.finish(state.iteration)?;
        epochs_run = epoch + 1;
        if iterations == full {
            state.epochs_done = epoch + 1;
            state
                .checkpoint(config, options.seed, data.class_names())
                .save(&ckpt_path)?;
        }
        append_line(&log_path, LogLine::Epoch(record.clone()))?;
        observer.on_epoch_end(&record);
        log.push(LogLine::Epoch(record));
    }

    state.sync();
    let thresholds = match &carved {
        Some(h) => {
            let validation = data.train.subset(&h.validation);
            choose_on_validation(
                &predict(&state.model, &validation, device)?,
                &validation.labels,
            )?
        }
        None => ThresholdMeta::reference(counts.len()),
    };
    let decision = thresholds.rule();
    let evaluation = evaluate(&state.model, &data.test, &counts, decision, device)?;
    let history = epoch_records(&log);
    let extra = json!({
        "method": config.method,
        "seed": options.seed,
        "epochs": epochs_run,
        "iterations": state.iteration,
        "final_train_loss": history.last().map(|r| r.loss),
        "train_items": fit.len(),
        "validation_items": thresholds.validation_items,
        "decision_thresholds": thresholds_json(&thresholds),
    });
    let metrics = write_metrics(out, &evaluation, &data.test.labels, &counts, extra)?;
    if let Some(input) = &options.deploy {
        TrainedModel::new(
            Network::Head(state.model.clone()),
            input.clone(),
            config,
            options.seed,
            data.class_names(),
            counts,
            thresholds,
        )
        .save(&out.join(MODEL_FILE))?;
    }
    Ok(TrainOutcome {
        model: state.model,
        evaluation,
        history,
        resumed_from,
        metrics,
    })
}

/// ML-GCN's label graph (`None` for the other heads): `vectors` on the adjacency of the co-occurrence of
/// `labels` ([`GcnGraph`](mllt_core::stats::GcnGraph) with the head's τ and p).
pub(crate) fn label_graph(
    head: &HeadConfig,
    labels: &LabelSet,
    vectors: Option<&LabelVectors>,
) -> Result<Option<LabelGraph>, TrainError> {
    let HeadConfig::MlGcn { tau, reweight, .. } = *head else {
        return Ok(None);
    };
    let vectors = vectors.ok_or_else(|| {
        TrainError::Invalid(
            "the ml-gcn head needs label vectors (`mllt embed-labels`, or --label-vectors FILE)"
                .into(),
        )
    })?;
    if vectors.num_classes() != labels.num_classes() {
        return Err(TrainError::Invalid(format!(
            "the label vectors have {} rows but the data has {} classes",
            vectors.num_classes(),
            labels.num_classes()
        )));
    }
    let graph = mllt_core::stats::GcnGraph { tau, p: reweight };
    let adjacency = graph.adjacency(&mllt_core::stats::Cooccurrence::new(labels));
    Ok(Some(LabelGraph::new(vectors.clone(), &adjacency)))
}

/// Binds the loss to the training labels; an error about one class names it, and says how to leave such
/// classes out.
pub(crate) fn bind_loss(config: &crate::LossConfig, labels: &LabelSet) -> Result<Loss, TrainError> {
    Loss::new(config, &labels.class_counts(), labels.len()).map_err(|e| match e.class() {
        Some(c) => TrainError::Class {
            name: labels.class_names()[c].clone(),
            count: labels.class_counts()[c],
            items: labels.len(),
            source: e,
        },
        None => e.into(),
    })
}

/// The thresholds chosen on validation `scores` of `labels`: the reference's 0 when there is no validation item.
pub(crate) fn choose_on_validation(
    scores: &ScoreMatrix,
    labels: &LabelSet,
) -> Result<ThresholdMeta, TrainError> {
    if labels.is_empty() {
        return Ok(ThresholdMeta::reference(labels.num_classes()));
    }
    let chosen = choose_thresholds(scores, labels, MIN_VALIDATION_POSITIVES)?;
    Ok(ThresholdMeta::chosen(
        &chosen,
        labels.len(),
        MIN_VALIDATION_POSITIVES,
    ))
}

/// How `metrics.json` records the decision thresholds.
pub(crate) fn thresholds_json(t: &ThresholdMeta) -> Value {
    json!({
        "chosen_on": t.chosen_on,
        "global": t.global,
        "classes_with_own_threshold": t.own.iter().filter(|&&o| o).count(),
        "min_validation_positives": t.min_validation_positives,
    })
}

/// What every run does first: keeps freed buffers in the allocator, checks `config` and creates `out`.
pub(crate) fn prepare_run(config: &TrainConfig, out: &Path) -> Result<(), TrainError> {
    retain_freed_memory();
    config.validate().map_err(|message| TrainError::Config {
        origin: "config".into(),
        message,
    })?;
    std::fs::create_dir_all(out).map_err(|source| mllt_core::Error::Io {
        path: out.into(),
        source,
    })?;
    Ok(())
}

/// Writes `OUT/metrics.json`: [`evaluation_json`] with the fields of `extra` added; returns its content.
pub(crate) fn write_metrics(
    out: &Path,
    evaluation: &Evaluation,
    test_labels: &mllt_core::LabelSet,
    train_counts: &[usize],
    extra: Value,
) -> Result<Value, TrainError> {
    let mut metrics = evaluation_json(evaluation, test_labels, train_counts);
    if let (Value::Object(m), Value::Object(e)) = (&mut metrics, extra) {
        m.extend(e);
    }
    let text = serde_json::to_string_pretty(&metrics).expect("metrics serialise") + "\n";
    write_atomic(&out.join(METRICS_FILE), text.as_bytes())?;
    Ok(metrics)
}

/// Full batches in an epoch of `items` items (the last incomplete batch is dropped); an error when there is none.
pub(crate) fn epoch_iterations(items: usize, batch_size: usize) -> Result<usize, TrainError> {
    match items / batch_size {
        0 => Err(TrainError::Invalid(format!(
            "an epoch has {items} items, fewer than schedule.batch_size = {batch_size} (the last incomplete batch is dropped)"
        ))),
        n => Ok(n),
    }
}

/// Reads back `sum / n` (a host synchronisation).
fn mean_of(sum: Option<&Tensor<1>>, n: usize) -> f64 {
    sum.map_or(f64::NAN, |s| s.clone().into_scalar::<f64>() / n as f64)
}

/// Reads back a loss sum (a host synchronisation); 0 for none.
fn sum_of(sum: Option<&Tensor<1>>) -> f64 {
    sum.map_or(0.0, |s| s.clone().into_scalar::<f64>())
}
