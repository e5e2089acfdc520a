//! End-to-end training on images (paper §4.2; semantics §5–6): the backbone and the head are trained
//! together with the trainer's schedule, optimiser, clipping, sampler and loss, on batches that the
//! reference's augmentation pipeline prepares in parallel ahead of the model ([`mllt_data::loader`]).
//!
//! Seeding, from the run's seed S alone: random backbone weights from the device generator seeded with S, the
//! head's initial weights from ChaCha8(S) stream 0, the dropout
//! masks from stream 1, the sampler from S, the augmentation of the item at position p of epoch e from
//! [`mllt_data::augment::item_rng`]`(S, e, p)`. Writes `OUT/log.jsonl`, `OUT/config.toml` and
//! `OUT/metrics.json` like [`train`](super::train), and the model to `OUT/model.mllt` ([`crate::deploy`]; the
//! header's keys sorted, so that the same weights always give the same bytes); with
//! [`FinetuneOptions::holdout`] its decision thresholds are chosen on the held-out validation split.
//!
//! Checkpoints ([`ImageCheckpoint`], `OUT/checkpoint.safetensors`) are written at the end of every epoch,
//! after every `checkpoint_every` global iterations, and where `max_steps` stops the run. Resuming restores
//! the network, the momentum buffers, the dropout stream and the epoch's running loss, replays the sampler's
//! completed epochs and skips the batches already trained on (their augmentation is keyed by position, so
//! the rest of the epoch is unchanged): a resumed run ends bit-identical to an uninterrupted one.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use mllt_core::atomic::write_atomic;
use mllt_core::holdout::holdout;
use mllt_core::metrics::Evaluation;
use mllt_core::sampling::Sampler;
use mllt_data::augment::AugmentConfig;
use mllt_data::images::{ImageDataset, ImageSplit};
use mllt_data::loader::{BatchLoader, LoaderConfig};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::TrainError;
use super::checkpoint::{CHECKPOINT_FILE, ImageCheckpoint, weights_name};
use super::config::TrainConfig;
use super::evaluate::{append_logits, evaluate_scores, score_matrix};
use super::sgd::Sgd;
use super::trainer::{
    CONFIG_FILE, DROPOUT_STREAM, EpochMeter, EpochRecord, EpochSoFar, INIT_STREAM, LOG_FILE,
    LogLine, Observer, append_line, bind_loss, cannot_resume, check_new_run, check_resumable,
    choose_on_validation, epoch_iterations, epoch_records, label_batch, log_text, optimise,
    prepare_run, read_log, run_mismatch, seeded, thresholds_json, write_metrics,
};
use crate::deploy::{Input, MODEL_FILE, Network, ThresholdMeta, TrainedModel};
use crate::model::{BackboneKind, BackboneWeights, ImageNetwork};

/// Where and how to fine-tune.
#[derive(Debug, Clone)]
pub struct FinetuneOptions {
    pub seed: u64,
    /// Output folder: checkpoint, log, config, metrics and weights.
    pub out: PathBuf,
    pub backbone: BackboneKind,
    pub weights: BackboneWeights,
    /// Images are resized to `image_size × image_size` (the reference: 224).
    pub image_size: usize,
    /// Stop once the run has done this many global iterations, counted from its start (a resumed run counts
    /// those before the resume), with a checkpoint there; the schedule is unchanged. `None` runs every epoch.
    pub max_steps: Option<usize>,
    /// Also write the checkpoint after every global iteration that is a multiple of this; `None` writes it at
    /// the end of each epoch only.
    pub checkpoint_every: Option<usize>,
    /// Continue from the checkpoint in `out`.
    pub resume: bool,
    /// Batches decoded ahead of the model.
    pub prefetch: usize,
    /// The backbone's learning rate is this multiple of the schedule's (the paper: 1). 0 freezes the
    /// backbone: no gradient flows into it and only the head trains on its features.
    pub backbone_lr_scale: f64,
    /// Also log a step line after every global iteration that is a multiple of this (0: epoch lines only).
    pub log_every: usize,
    /// Hold out the validation split and choose the decision thresholds on it (see
    /// [`RunOptions::holdout`](super::RunOptions::holdout)).
    pub holdout: bool,
}

/// The result of a fine-tuning run.
#[derive(Debug)]
pub struct FinetuneOutcome {
    pub evaluation: Evaluation,
    /// Every completed epoch, including those before a resume; a run stopped inside an epoch by `max_steps`
    /// ends with that partial epoch.
    pub history: Vec<EpochRecord>,
    /// Images trained on per second by this process (data loading included).
    pub images_per_second: f64,
    /// The global iteration of the checkpoint a resumed run started from.
    pub resumed_from: Option<usize>,
    /// The content of `metrics.json`.
    pub metrics: Value,
}

/// The backbone's learning-rate multiplier `scale` applied to a network and its optimiser: 0 freezes the
/// backbone, any other value scales its steps.
fn scale_backbone_lr(mut network: ImageNetwork, sgd: Sgd, scale: f64) -> (ImageNetwork, Sgd) {
    if scale == 0.0 {
        network.backbone = network.backbone.no_grad();
        (network, sgd)
    } else {
        (network, sgd.scale_lr(ImageNetwork::BACKBONE, scale))
    }
}

/// The mutable state of an image run: what its checkpoints hold besides the run's identity.
struct ImageState {
    network: ImageNetwork,
    sgd: Sgd,
    rng: ChaCha8Rng,
    epochs_done: usize,
    iteration: usize,
    /// The iterations of epoch `epochs_done` done when the run was resumed inside it.
    so_far: EpochSoFar,
}

impl ImageState {
    /// A fresh state from the run's seed.
    fn new(
        data: &ImageDataset,
        config: &TrainConfig,
        options: &FinetuneOptions,
        device: &Device,
    ) -> Result<Self, TrainError> {
        // Random backbone weights (`--weights none`) come from the device's generator.
        device.seed(options.seed);
        let network = ImageNetwork::new(
            options.backbone,
            &options.weights,
            &config.model,
            data.train.labels.num_classes(),
            &mut seeded(options.seed, INIT_STREAM),
            device,
        )?;
        let sgd = Sgd::new(config.optimizer.clone());
        let (network, sgd) = scale_backbone_lr(network, sgd, options.backbone_lr_scale);
        Ok(ImageState {
            network,
            sgd,
            rng: seeded(options.seed, DROPOUT_STREAM),
            epochs_done: 0,
            iteration: 0,
            so_far: EpochSoFar::default(),
        })
    }

    /// The state in the checkpoint `path`, which must belong to this run.
    fn resume(
        path: &Path,
        data: &ImageDataset,
        config: &TrainConfig,
        options: &FinetuneOptions,
        device: &Device,
    ) -> Result<Self, TrainError> {
        check_resumable(path)?;
        let ck = ImageCheckpoint::load(path, device)?;
        let weights = weights_name(&options.weights);
        // What else a checkpoint fixes besides the run's identity: (differs, why).
        let image_checks = [
            (
                ck.backbone != options.backbone,
                format!(
                    "it was trained with backbone {}, not {}",
                    ck.backbone.name(),
                    options.backbone.name()
                ),
            ),
            (
                ck.image_size != options.image_size,
                format!(
                    "it was trained on {0}x{0} images, not {1}x{1}",
                    ck.image_size, options.image_size
                ),
            ),
            (
                ck.backbone_lr_scale != options.backbone_lr_scale,
                format!(
                    "it was trained with backbone learning-rate scale {}, not {}",
                    ck.backbone_lr_scale, options.backbone_lr_scale
                ),
            ),
            (
                ck.weights != weights,
                format!(
                    "its backbone started from weights `{}`, not `{weights}`",
                    ck.weights
                ),
            ),
        ];
        let mismatch = run_mismatch(
            (ck.seed, &ck.class_names, &ck.config),
            options.seed,
            data.train.labels.class_names(),
            config,
        )
        .or_else(|| {
            image_checks
                .into_iter()
                .find_map(|(differs, why)| differs.then_some(why))
        });
        if let Some(why) = mismatch {
            return Err(cannot_resume(path, why));
        }
        let loss_sum = (ck.epoch_iteration > 0)
            .then(|| Tensor::from_data(TensorData::new(vec![ck.epoch_loss_sum], [1]), device));
        let sgd = Sgd::with_velocity(config.optimizer.clone(), ck.velocity);
        let (network, sgd) = scale_backbone_lr(ck.network, sgd, options.backbone_lr_scale);
        Ok(ImageState {
            network,
            sgd,
            rng: ck.rng,
            epochs_done: ck.epochs_done,
            iteration: ck.iteration,
            so_far: EpochSoFar {
                done: ck.epoch_iteration,
                loss_sum,
                seconds: ck.epoch_seconds,
            },
        })
    }

    /// Writes the checkpoint of this state to `path`, inside the epoch after the completed ones at `so_far`.
    fn save(
        &self,
        path: &Path,
        data: &ImageDataset,
        config: &TrainConfig,
        options: &FinetuneOptions,
        so_far: &EpochSoFar,
    ) -> Result<(), TrainError> {
        ImageCheckpoint {
            config: config.clone(),
            seed: options.seed,
            class_names: data.train.labels.class_names().to_vec(),
            backbone: options.backbone,
            image_size: options.image_size,
            backbone_lr_scale: options.backbone_lr_scale,
            weights: weights_name(&options.weights),
            epochs_done: self.epochs_done,
            iteration: self.iteration,
            epoch_iteration: so_far.done,
            epoch_loss_sum: so_far
                .loss_sum
                .as_ref()
                .map_or(0.0, |s| s.clone().into_scalar::<f32>()),
            epoch_seconds: so_far.seconds,
            rng: self.rng.clone(),
            network: self.network.clone(),
            velocity: self.sgd.velocity().clone(),
        }
        .save(path)
    }
}

/// Trains `options.backbone` and the head of `config` on `data.train` end to end, evaluates on `data.test`
/// and writes `metrics.json`. `device` must be an autodiff device.
pub fn finetune(
    data: &ImageDataset,
    config: &TrainConfig,
    options: &FinetuneOptions,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<FinetuneOutcome, TrainError> {
    if options.image_size == 0 {
        return Err(TrainError::Invalid(
            "the image size must be positive".into(),
        ));
    }
    let lr_scale = options.backbone_lr_scale;
    if !(lr_scale.is_finite() && lr_scale >= 0.0) {
        return Err(TrainError::Invalid(format!(
            "the backbone learning-rate scale must be a finite number >= 0, not {lr_scale}"
        )));
    }
    if options.checkpoint_every == Some(0) {
        return Err(TrainError::Invalid(
            "the checkpoint interval must be positive".into(),
        ));
    }
    let out = &options.out;
    prepare_run(config, out)?;
    let ckpt_path = out.join(CHECKPOINT_FILE);
    let log_path = out.join(LOG_FILE);
    let carved = options.holdout.then(|| holdout(data.train.labels.ids()));
    let fit = match &carved {
        Some(h) => Cow::Owned(data.train.subset(&h.fit)),
        None => Cow::Borrowed(&data.train),
    };
    let train_labels = &fit.labels;
    let counts = data.train.labels.class_counts();
    let loss = bind_loss(&config.loss, train_labels)?;
    let mut sampler = Sampler::new(&config.sampler, train_labels, options.seed)?;
    let (mut state, mut log, resumed_from) = if options.resume {
        let state = ImageState::resume(&ckpt_path, data, config, options, device)?;
        for _ in 0..state.epochs_done {
            sampler.next_epoch();
        }
        let log = read_log(&log_path, state.epochs_done, state.iteration)?;
        let from = state.iteration;
        (state, log, Some(from))
    } else {
        check_new_run(&ckpt_path)?;
        (
            ImageState::new(data, config, options, device)?,
            Vec::new(),
            None,
        )
    };
    write_atomic(&log_path, log_text(&log).as_bytes())?;
    write_atomic(&out.join(CONFIG_FILE), config.to_toml().as_bytes())?;

    let schedule = &config.schedule;
    let batch_size = schedule.batch_size;
    let size = options.image_size;
    let paths: Arc<[PathBuf]> = fit.paths.clone().into();
    let max_steps = options.max_steps.unwrap_or(usize::MAX);
    let checkpoint_every = options.checkpoint_every.unwrap_or(usize::MAX);
    let started = Instant::now();
    let first_iteration = state.iteration;
    for epoch in state.epochs_done..schedule.epochs {
        if state.iteration >= max_steps {
            break;
        }
        let order = sampler.next_epoch();
        let total = epoch_iterations(order.len(), batch_size)?;
        let so_far = std::mem::take(&mut state.so_far);
        let skip = so_far.done;
        if skip >= total {
            return Err(TrainError::checkpoint(
                &ckpt_path,
                format!(
                    "it is {skip} iterations into epoch {}, which has {total}",
                    epoch + 1
                ),
            ));
        }
        let end = total.min(skip.saturating_add(max_steps - state.iteration));
        let batches = order
            .chunks_exact(batch_size)
            .take(end)
            .skip(skip)
            .map(<[usize]>::to_vec)
            .collect();
        let loader = BatchLoader::new(
            Arc::clone(&paths),
            batches,
            LoaderConfig {
                augment: AugmentConfig::train(size, options.seed),
                epoch: epoch as u64,
                first_position: (skip * batch_size) as u64,
                prefetch: options.prefetch,
                threads: 0,
            },
        )?;
        let mut meter = EpochMeter::resume(
            epoch,
            schedule.epochs,
            end,
            so_far,
            options.log_every,
            observer,
        );
        for (done, batch) in (skip + 1..).zip(loader) {
            let batch = batch?;
            let lr = schedule.lr(config.optimizer.lr, epoch, state.iteration);
            let x = image_batch(batch.pixels, batch.items.len(), size, device);
            let y = label_batch(train_labels, &batch.items, device);
            let value = loss.training_loss(state.network.forward_train(x, &mut state.rng), y);
            state.network = optimise(state.network, &mut state.sgd, &value, lr);
            state.iteration += 1;
            if let Some(step) = meter.record(value.detach(), lr, state.iteration, observer) {
                append_line(&log_path, LogLine::Step(step.clone()))?;
                log.push(LogLine::Step(step));
            }
            let inside = done < total;
            let stop = state.iteration == max_steps;
            if inside && (stop || state.iteration.is_multiple_of(checkpoint_every)) {
                state.save(&ckpt_path, data, config, options, &meter.so_far())?;
            }
        }
        let complete = meter.so_far().done == total;
        let record = meter.finish(state.iteration)?;
        if complete {
            state.epochs_done = epoch + 1;
            state.save(&ckpt_path, data, config, options, &EpochSoFar::default())?;
        }
        append_line(&log_path, LogLine::Epoch(record.clone()))?;
        observer.on_epoch_end(&record);
        log.push(LogLine::Epoch(record));
    }
    let trained = state.iteration - first_iteration;
    let images_per_second = (trained * batch_size) as f64 / started.elapsed().as_secs_f64();
    let network = state.network;

    let predict = |split: &ImageSplit| {
        predict_images(&network, split, size, batch_size, options.prefetch, device)
    };
    let thresholds = match &carved {
        Some(h) => {
            let validation = data.train.subset(&h.validation);
            choose_on_validation(&predict(&validation)?, &validation.labels)?
        }
        None => ThresholdMeta::reference(counts.len()),
    };
    let decision = thresholds.rule();
    let evaluation = evaluate_scores(&predict(&data.test)?, &data.test.labels, &counts, decision)?;
    let history = epoch_records(&log);
    let extra = json!({
        "method": config.method,
        "seed": options.seed,
        "backbone": options.backbone.name(),
        "image_size": size,
        "backbone_lr_scale": lr_scale,
        "epochs": history.len(),
        "iterations": state.iteration,
        "final_train_loss": history.last().map(|r| r.loss),
        "train_items": fit.paths.len(),
        "validation_items": thresholds.validation_items,
        "decision_thresholds": thresholds_json(&thresholds),
        "train_images_per_second": images_per_second,
    });
    let metrics = write_metrics(out, &evaluation, &data.test.labels, &counts, extra)?;
    let input = Input::Image {
        backbone: options.backbone,
        image_size: size,
    };
    TrainedModel::new(
        Network::Image(network),
        input,
        config,
        options.seed,
        data.train.labels.class_names(),
        counts,
        thresholds,
    )
    .save(&out.join(MODEL_FILE))?;
    Ok(FinetuneOutcome {
        evaluation,
        history,
        images_per_second,
        resumed_from,
        metrics,
    })
}

/// `B × 3 × size × size` pixels as an image tensor on `device`.
fn image_batch(pixels: Vec<f32>, rows: usize, size: usize, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(pixels, [rows, 3, size, size]), device)
}

/// The logits of every image of `split` (test pipeline; eval mode), decoded ahead in batches of `batch_size`.
pub fn predict_images(
    network: &ImageNetwork,
    split: &ImageSplit,
    size: usize,
    batch_size: usize,
    prefetch: usize,
    device: &Device,
) -> Result<mllt_core::scores::ScoreMatrix, TrainError> {
    let device = device.clone().without_autodiff();
    let network = network.valid();
    let rows = split.paths.len();
    let batches = (0..rows)
        .collect::<Vec<_>>()
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect();
    let loader = BatchLoader::new(
        split.paths.clone().into(),
        batches,
        LoaderConfig {
            augment: AugmentConfig::test(size),
            epoch: 0,
            first_position: 0,
            prefetch,
            threads: 0,
        },
    )?;
    let mut scores = Vec::with_capacity(rows * split.labels.num_classes());
    for batch in loader {
        let batch = batch?;
        let x = image_batch(batch.pixels, batch.items.len(), size, &device);
        append_logits(&mut scores, network.forward(x));
    }
    score_matrix(rows, split.labels.num_classes(), scores)
}
