//! `mllt train`: trains the paper's head (or a linear one) on a feature folder with one of the method presets
//! of Tables 1–2 or a TOML configuration, evaluates it on the folder's test split (mAP total / head / medium /
//! tail, the split from the training counts) and writes `OUT/metrics.json`, `OUT/log.jsonl`,
//! `OUT/config.toml` and `OUT/checkpoint.safetensors`.
//!
//! With `--backbone`, `--data` names an image dataset instead (`voc:ROOT`, `voc-mlt:VOCDEVKIT`, `coco:ROOT`,
//! `coco-mlt:ROOT` or an image folder) and the backbone is fine-tuned end to end with the head
//! ([`mllt_nn::train::finetune`]): the paper's full protocol. Its checkpoint is written at the end of every epoch
//! (and every `--checkpoint-every` iterations), and `--resume` continues it, also from inside an epoch.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mllt_core::holdout::holdout;
use mllt_core::metrics::Evaluation;
use mllt_core::{Group, LabelSet};
use mllt_data::images::{ImageSpec, Skipped, check_images};
use mllt_data::tfidf::DEFAULT_WIDTH;
use mllt_experiment::Preset;
use mllt_nn::backend::Device;
use mllt_nn::deploy::MODEL_FILE;
use mllt_nn::model::{BackboneKind, BackboneWeights, HeadConfig, LabelVectors};
use mllt_nn::text::{label_embeddings, read_label_vectors};
use mllt_nn::train::{
    CHECKPOINT_FILE, EpochRecord, FinetuneOptions, LOG_FILE, METRICS_FILE, Observer, RunOptions,
    StepProgress, TrainConfig, finetune, train,
};

use super::progress::Meter;

/// A learning-rate multiplier: a finite number ≥ 0.
fn parse_lr_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(format!("expected a finite number >= 0, not `{text}`")),
    }
}

/// Arguments of `mllt train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Feature folder (classes.txt, train.tsv, test.tsv, features.safetensors with tensors `train`, `test`), a text
    /// folder (texts.tsv instead of features: TF-IDF at load time), or a shipped benchmark (openclipart-mlt, debtags-mlt).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// A method preset (the rows of the paper's Tables 1-2; COCO-MLT hyper-parameters, see configs/).
    #[arg(
        long,
        value_enum,
        value_name = "NAME",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    method: Option<Preset>,
    /// A TOML configuration instead of a preset (unknown keys are errors).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Seed of the initial weights, the dropout masks and the sampler: the same seed gives the same numbers.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Override the number of epochs (the learning-rate steps stay).
    #[arg(long, value_name = "E")]
    epochs: Option<usize>,
    /// Output folder [default: runs/<method>-seed<S>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue the run in OUT from its last checkpoint (same seed and configuration; with --backbone also the
    /// same backbone, --weights, --image-size and --backbone-lr-scale), also one written inside an epoch; the
    /// result is the one an uninterrupted run gives.
    #[arg(long)]
    resume: bool,
    /// Print metrics.json instead of the table.
    #[arg(long)]
    json: bool,
    /// Fine-tune this image backbone end to end; --data is then an image dataset: voc:ROOT, voc-mlt:VOCDEVKIT
    /// (VOC2012 + VOC2007), coco:ROOT, coco-mlt:ROOT (train2017 + val2017) or an image folder.
    #[arg(
        long,
        value_name = "NAME",
        value_parser = super::named::<BackboneKind>(BackboneKind::ALL.map(BackboneKind::name))
    )]
    backbone: Option<BackboneKind>,
    /// Backbone weights: a state dict (.pth or .safetensors, the original key names), or `none` for random
    /// initialisation [default: the cached ImageNet weights for efficientnet-lite0; required for resnet50].
    #[arg(long, value_name = "PATH|none", requires = "backbone")]
    weights: Option<PathBuf>,
    /// Stop once the run has done N iterations in all (counted from its start, across resumes; the schedule is
    /// unchanged). An image run writes a checkpoint at that iteration, which --resume with a larger or no
    /// --max-steps continues; a feature run checkpoints complete epochs only, so its --resume continues from the
    /// last complete epoch. A stop inside an epoch logs that partial epoch; the resumed run replaces the line.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_steps: Option<u64>,
    /// Also write OUT/checkpoint.safetensors after every N-th iteration (counted over the run), not only at the
    /// end of each epoch: a killed run loses at most N iterations.
    #[arg(long, value_name = "N", requires = "backbone", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
    /// Override schedule.batch_size.
    #[arg(long, value_name = "B", value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: Option<u64>,
    /// Images are resized to S×S pixels.
    #[arg(long, value_name = "S", default_value_t = 224, requires = "backbone", value_parser = clap::value_parser!(u64).range(1..))]
    image_size: u64,
    /// The backbone's learning rate as a multiple of the schedule's (the paper: 1); 0 freezes the backbone and
    /// trains the head alone on its features.
    #[arg(long, value_name = "S", default_value_t = 1.0, requires = "backbone", value_parser = parse_lr_scale)]
    backbone_lr_scale: f64,
    /// Skip images that are missing or cannot be decoded (and report how many) instead of stopping.
    #[arg(long, requires = "backbone")]
    skip_bad_images: bool,
    /// Leave out the classes that no training item has, or that every training item has (counted on the items
    /// trained on: without the held-out validation items, unless --no-holdout), and print which; without it
    /// such a class stops the losses that divide by n_c or N − n_c.
    #[arg(long)]
    drop_empty_classes: bool,
    /// Train on every training item, as the paper does, and store the reference's decision threshold (logit 0)
    /// in OUT/model.mllt, instead of holding out the validation split (about 20 % of the items) to choose one
    /// threshold per class.
    #[arg(long)]
    no_holdout: bool,
    /// The label vectors of an ml-gcn head: a C × d .npy (float32/float64) or .safetensors (tensor `labels`,
    /// `embeddings` or the only one), rows in classes.txt order [default: the all-MiniLM-L6-v2 embeddings of
    /// the class names, as `mllt embed-labels` writes them; the model is fetched into the cache on first use].
    #[arg(long, value_name = "FILE")]
    label_vectors: Option<PathBuf>,
    /// Also log the mean loss of every N iterations to OUT/log.jsonl (0: epoch lines only).
    #[arg(long, value_name = "N", default_value_t = 20)]
    log_every: usize,
    #[command(flatten)]
    device: super::DeviceArg,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let device = self.device.device()?.autodiff();
        let (mut config, origin) = match (&self.method, &self.config) {
            (Some(p), _) => (p.config()?, format!("preset {}", p.name())),
            (None, Some(path)) => (TrainConfig::read(path)?, path.display().to_string()),
            (None, None) => unreachable!("clap requires --method or --config"),
        };
        if let Some(epochs) = self.epochs {
            config.schedule.epochs = epochs;
            config
                .validate()
                .map_err(|e| anyhow::anyhow!("--epochs: {e}"))?;
        }
        if let Some(batch_size) = self.batch_size {
            config.schedule.batch_size = batch_size as usize;
        }
        if config.method.is_empty() {
            config.method = self
                .method
                .map_or_else(|| "custom".to_string(), Preset::name);
        }
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("runs/{}-seed{}", config.method, self.seed)));
        if let Some(backbone) = self.backbone {
            return self.finetune(config, &origin, backbone, out, &device);
        }
        let (data, input) = super::dataset::load_with_input(&self.data, DEFAULT_WIDTH)?;
        let data = match self.classes_to_drop(&data.train.labels) {
            Some(drop) => data.without_classes(&drop),
            None => data,
        };
        let options = RunOptions {
            seed: self.seed,
            out: out.clone(),
            resume: self.resume,
            max_steps: self.max_steps.map(|n| n as usize),
            log_every: self.log_every,
            holdout: !self.no_holdout,
            deploy: Some(input),
            label_vectors: match config.model {
                HeadConfig::MlGcn { .. } => Some(self.label_vectors_of(data.class_names())?),
                _ => None,
            },
        };
        eprintln!(
            "{} ({origin}) on {}: {} train / {} test items, {} classes, d = {}; output {}",
            config.method,
            self.data.display(),
            data.train.len(),
            data.test.len(),
            data.class_names().len(),
            data.dim(),
            out.display()
        );
        let mut progress = Progress::new(config.schedule.batch_size, "items");
        let outcome = train(&data, &config, &options, &device, &mut progress);
        progress.finish();
        let outcome = outcome.with_context(|| {
            let dir = super::dataset::resolve(&self.data).unwrap_or(self.data.clone());
            format!(
                "training {} on {}",
                config.method,
                dir.join("train.tsv").display()
            )
        })?;
        self.report(
            &config.method,
            "",
            &outcome.metrics,
            &outcome.history,
            &outcome.evaluation,
            &out,
        )
    }

    /// Prints a finished run: `metrics.json` with `--json`; else a summary line (`extra` appended), the mAP
    /// table and the files written.
    fn report(
        &self,
        run: &str,
        extra: &str,
        metrics: &serde_json::Value,
        history: &[EpochRecord],
        evaluation: &Evaluation,
        out: &Path,
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(metrics)?);
            return Ok(());
        }
        let last = history.last();
        println!(
            "{run} (seed {}): {} epochs, {} iterations, final training loss {}{extra}",
            self.seed,
            history.len(),
            last.map_or(0, |r| r.global_iteration),
            last.map_or("-".into(), |r| format!("{:.5}", r.loss))
        );
        print!("{}", map_table(evaluation));
        // A feature run stopped by --max-steps inside its first epoch has no checkpoint.
        let mut written = vec![
            out.join(METRICS_FILE),
            out.join(LOG_FILE),
            out.join(MODEL_FILE),
        ];
        let checkpoint = out.join(CHECKPOINT_FILE);
        written.extend(checkpoint.exists().then_some(checkpoint));
        let written: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        println!("wrote {}", written.join(", "));
        Ok(())
    }
}

impl Args {
    /// `--backbone`: end-to-end training on an image dataset.
    fn finetune(
        &self,
        config: TrainConfig,
        origin: &str,
        backbone: BackboneKind,
        out: PathBuf,
        device: &Device,
    ) -> anyhow::Result<()> {
        let spec = self
            .data
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("--data {}: not valid UTF-8", self.data.display()))?;
        let data = spec.parse::<ImageSpec>()?.load()?;
        let (data, skipped) = check_images(data, self.skip_bad_images)?;
        report_skipped(&skipped);
        let data = match self.classes_to_drop(&data.train.labels) {
            Some(drop) => data.without_classes(&drop),
            None => data,
        };
        let weights = match &self.weights {
            None => BackboneWeights::Cached,
            Some(p) if p.as_os_str() == "none" => BackboneWeights::Random,
            Some(p) => BackboneWeights::File(p.clone()),
        };
        eprintln!(
            "{} ({origin}) on {spec}: {} train / {} test images, {} classes, {} at {}x{}; output {}",
            config.method,
            data.train.paths.len(),
            data.test.paths.len(),
            data.train.labels.num_classes(),
            backbone.name(),
            self.image_size,
            self.image_size,
            out.display()
        );
        let options = FinetuneOptions {
            seed: self.seed,
            out: out.clone(),
            backbone,
            weights,
            image_size: self.image_size as usize,
            max_steps: self.max_steps.map(|n| n as usize),
            checkpoint_every: self.checkpoint_every.map(|n| n as usize),
            resume: self.resume,
            prefetch: 2,
            backbone_lr_scale: self.backbone_lr_scale,
            log_every: self.log_every,
            holdout: !self.no_holdout,
        };
        let mut progress = Progress::new(config.schedule.batch_size, "images");
        let outcome = finetune(&data, &config, &options, device, &mut progress);
        progress.finish();
        let outcome = outcome.with_context(|| {
            format!(
                "training {} with {} on {spec}",
                config.method,
                backbone.name()
            )
        })?;
        if let Some(iteration) = outcome.resumed_from {
            eprintln!("resumed from the checkpoint at iteration {iteration}");
        }
        self.report(
            &format!("{} + {}", config.method, backbone.name()),
            &format!(", {:.1} training images/s", outcome.images_per_second),
            &outcome.metrics,
            &outcome.history,
            &outcome.evaluation,
            &out,
        )
    }

    /// With `--drop-empty-classes`: the classes to leave out, printed; they are counted on the training
    /// items the run fits (without the held-out validation items, unless --no-holdout).
    /// ML-GCN's label vectors: `--label-vectors`, else the MiniLM embeddings of `class_names`.
    fn label_vectors_of(&self, class_names: &[String]) -> anyhow::Result<LabelVectors> {
        Ok(match &self.label_vectors {
            Some(path) => read_label_vectors(path, class_names.len())?,
            None => label_embeddings(class_names, &mllt_nn::backend::cpu())
                .context("the ml-gcn head's label vectors (or pass --label-vectors FILE)")?,
        })
    }

    fn classes_to_drop(&self, train: &LabelSet) -> Option<Vec<usize>> {
        if !self.drop_empty_classes {
            return None;
        }
        let fitted = if self.no_holdout {
            train.clone()
        } else {
            train.subset(&holdout(train.ids()).fit)
        };
        let drop = fitted.degenerate_classes();
        if drop.is_empty() {
            eprintln!("--drop-empty-classes: every class has some, but not all, training items");
        } else {
            let names: Vec<String> = drop
                .iter()
                .map(|&(c, why)| format!("`{}` ({})", train.class_names()[c], why.describe()))
                .collect();
            eprintln!("dropped {} class(es): {}", drop.len(), names.join(", "));
        }
        Some(drop.into_iter().map(|(c, _)| c).collect())
    }
}

/// One line per split on the images left out (and the first of them).
fn report_skipped(skipped: &[Skipped]) {
    if let Some(first) = skipped.first() {
        eprintln!(
            "skipped {} image(s) (unreadable, or a training image under 32 px); first: {first}",
            skipped.len()
        );
    }
}

/// mAP, and micro and macro F1 at the decision thresholds, in percent over all classes and per group, with
/// the group sizes.
pub fn map_table(eval: &Evaluation) -> String {
    type Metric = fn(&mllt_core::metrics::GroupMetrics) -> Option<f64>;
    let rows: [(&str, Metric); 3] = [
        ("mAP (%)", |m| m.map),
        ("micro F1", |m| Some(m.threshold.micro_f1)),
        ("macro F1", |m| Some(m.threshold.macro_f1)),
    ];
    let columns: Vec<(&str, Option<&mllt_core::metrics::GroupMetrics>)> =
        std::iter::once(("total", Some(&eval.total)))
            .chain(Group::ALL.iter().map(|&g| (g.name(), eval.group(g))))
            .collect();
    let mut out = format!("{:<10}", "");
    for (name, _) in &columns {
        let _ = write!(out, "{name:>8}");
    }
    for (label, metric) in rows {
        let _ = write!(out, "\n{label:<10}");
        for (_, m) in &columns {
            match m.and_then(metric) {
                Some(v) => write!(out, "{:>8.2}", 100.0 * v),
                None => write!(out, "{:>8}", "-"),
            }
            .expect("writing to a String");
        }
    }
    let _ = write!(out, "\n{:<10}", "classes");
    for (_, m) in &columns {
        let _ = write!(out, "{:>8}", m.map_or(0, |m| m.classes.len()));
    }
    out.push('\n');
    out
}

/// Training progress (see [`Meter`]) over the iterations this process runs, with the loss and learning rate,
/// and a line at the end of every epoch.
struct Progress {
    meter: Option<Meter>,
    /// Iterations of the epochs finished by this process.
    before: u64,
    items_per_step: f64,
    item_name: &'static str,
}

impl Progress {
    fn new(batch_size: usize, item_name: &'static str) -> Self {
        Progress {
            meter: None,
            before: 0,
            items_per_step: batch_size as f64,
            item_name,
        }
    }

    fn finish(&mut self) {
        if let Some(m) = self.meter.take() {
            m.finish();
        }
    }
}

impl Observer for Progress {
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, iterations: usize) {
        let left = self.before + ((epochs - epoch) * iterations) as u64;
        let meter = self.meter.get_or_insert_with(|| {
            Meter::new("train", None, "step", self.items_per_step, self.item_name)
        });
        meter.set_total(left);
        meter.set_label(format!("epoch {}/{epochs}", epoch + 1));
    }

    fn on_step(&mut self, p: &StepProgress) {
        if let Some(meter) = &mut self.meter {
            if let Some(loss) = p.loss {
                meter.set_message(format!("loss {loss:.5}, lr {:.2e}", p.lr));
            }
            meter.set_position(self.before + p.done as u64);
        }
    }

    fn on_epoch_end(&mut self, r: &EpochRecord) {
        let line = format!(
            "epoch {}: {} iterations, loss {:.5}, lr {:.2e}, {:.1} s",
            r.epoch, r.iterations, r.loss, r.lr, r.seconds
        );
        match &self.meter {
            Some(m) => {
                self.before = m.position();
                m.println(&line);
            }
            None => eprintln!("{line}"),
        }
    }
}
