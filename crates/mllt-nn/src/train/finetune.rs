//! End-to-end training on images (paper §4.2; semantics §5–6): the backbone and the head are trained
//! together with the trainer's schedule, optimiser, clipping, sampler and loss, on batches that the
//! reference's augmentation pipeline prepares in parallel ahead of the model ([`mllt_data::loader`]).
//!
//! Seeding, from the run's seed S alone: random backbone weights from the device generator seeded with S, the
//! head's initial weights from ChaCha8(S) stream 0, the dropout
//! masks from stream 1, the sampler from S, the augmentation of the item at position p of epoch e from
//! [`mllt_data::augment::item_rng`]`(S, e, p)`. Writes `OUT/log.jsonl`, `OUT/config.toml` and
//! `OUT/metrics.json` like [`train`](super::train), and the trained network's weights to `OUT/model.safetensors`
//! (burn's names, e.g. `backbone.layer4.2.conv3.weight`, `head.classifier.weight`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Device, Tensor, TensorData};
use mllt_core::atomic::write_atomic;
use mllt_core::metrics::Evaluation;
use mllt_core::sampling::Sampler;
use mllt_data::augment::AugmentConfig;
use mllt_data::images::{ImageDataset, ImageSplit};
use mllt_data::loader::{BatchLoader, LoaderConfig};
use serde_json::{Value, json};

use super::TrainError;
use super::config::TrainConfig;
use super::evaluate::{append_logits, evaluate_scores, score_matrix};
use super::sgd::Sgd;
use super::trainer::{
    CONFIG_FILE, DROPOUT_STREAM, EpochMeter, EpochRecord, INIT_STREAM, LOG_FILE, Observer,
    append_line, epoch_iterations, label_batch, optimise, prepare_run, seeded, write_metrics,
};
use crate::loss::Loss;
use crate::model::{BackboneKind, BackboneWeights, ImageNetwork};

/// The trained network's weights.
pub const MODEL_FILE: &str = "model.safetensors";

/// Where and how to fine-tune.
#[derive(Debug, Clone)]
pub struct FinetuneOptions {
    pub seed: u64,
    /// Output folder: log, config and metrics.
    pub out: PathBuf,
    pub backbone: BackboneKind,
    pub weights: BackboneWeights,
    /// Images are resized to `image_size × image_size` (the reference: 224).
    pub image_size: usize,
    /// Stop after this many iterations (the schedule is unchanged); `None` runs every epoch.
    pub max_steps: Option<usize>,
    /// Batches decoded ahead of the model.
    pub prefetch: usize,
    /// The backbone's learning rate is this multiple of the schedule's (the paper: 1). 0 freezes the
    /// backbone: no gradient flows into it and only the head trains on its features.
    pub backbone_lr_scale: f64,
}

/// The result of a fine-tuning run.
#[derive(Debug)]
pub struct FinetuneOutcome {
    pub evaluation: Evaluation,
    pub history: Vec<EpochRecord>,
    /// Training images per second over the run (data loading included).
    pub images_per_second: f64,
    /// The content of `metrics.json`.
    pub metrics: Value,
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
    let out = &options.out;
    prepare_run(config, out)?;
    let log_path = out.join(LOG_FILE);
    let train_labels = &data.train.labels;
    let counts = train_labels.class_counts();
    let loss = Loss::new(&config.loss, &counts, data.train.paths.len())?;
    let mut sampler = Sampler::new(&config.sampler, train_labels, options.seed)?;
    // Random backbone weights (`--weights none`) come from the device's generator.
    device.seed(options.seed);
    let mut network = ImageNetwork::new(
        options.backbone,
        &options.weights,
        &config.model,
        train_labels.num_classes(),
        &mut seeded(options.seed, INIT_STREAM),
        device,
    )?;
    let mut sgd = Sgd::new(config.optimizer.clone());
    if lr_scale == 0.0 {
        network.backbone = network.backbone.no_grad();
    } else {
        sgd = sgd.scale_lr(ImageNetwork::BACKBONE, lr_scale);
    }
    let mut rng = seeded(options.seed, DROPOUT_STREAM);
    write_atomic(&log_path, b"")?;
    write_atomic(&out.join(CONFIG_FILE), config.to_toml().as_bytes())?;

    let schedule = &config.schedule;
    let batch_size = schedule.batch_size;
    let size = options.image_size;
    let paths: Arc<[PathBuf]> = data.train.paths.clone().into();
    let max_steps = options.max_steps.unwrap_or(usize::MAX);
    let started = Instant::now();
    let mut iteration = 0;
    let mut history = Vec::new();
    for epoch in 0..schedule.epochs {
        if iteration >= max_steps {
            break;
        }
        let order = sampler.next_epoch();
        let iterations = epoch_iterations(order.len(), batch_size)?.min(max_steps - iteration);
        let batches = order
            .chunks_exact(batch_size)
            .take(iterations)
            .map(<[usize]>::to_vec)
            .collect();
        let loader = BatchLoader::new(
            Arc::clone(&paths),
            batches,
            LoaderConfig {
                augment: AugmentConfig::train(size, options.seed),
                epoch: epoch as u64,
                prefetch: options.prefetch,
                threads: 0,
            },
        )?;
        let mut meter = EpochMeter::start(epoch, schedule.epochs, iterations, observer);
        for batch in loader {
            let batch = batch?;
            let lr = schedule.lr(config.optimizer.lr, epoch, iteration);
            let x = image_batch(batch.pixels, batch.items.len(), size, device);
            let y = label_batch(train_labels, &batch.items, device);
            let value = loss.training_loss(network.forward_train(x, &mut rng), y);
            network = optimise(network, &mut sgd, &value, lr);
            iteration += 1;
            meter.record(value.detach(), lr, observer);
        }
        let record = meter.finish(iteration)?;
        append_line(&log_path, &record)?;
        observer.on_epoch_end(&record);
        history.push(record);
    }
    let images_per_second = (iteration * batch_size) as f64 / started.elapsed().as_secs_f64();

    let scores = predict_images(
        &network,
        &data.test,
        size,
        batch_size,
        options.prefetch,
        device,
    )?;
    let evaluation = evaluate_scores(&scores, &data.test.labels, &counts)?;
    let extra = json!({
        "method": config.method,
        "seed": options.seed,
        "backbone": options.backbone.name(),
        "image_size": size,
        "backbone_lr_scale": lr_scale,
        "epochs": history.len(),
        "iterations": iteration,
        "final_train_loss": history.last().map(|r| r.loss),
        "train_items": data.train.paths.len(),
        "train_images_per_second": images_per_second,
    });
    let metrics = write_metrics(out, &evaluation, &data.test.labels, &counts, extra)?;
    let model_path = out.join(MODEL_FILE);
    network
        .save_into(&mut SafetensorsStore::from_file(&model_path).overwrite(true))
        .map_err(|e| TrainError::checkpoint(&model_path, e.to_string()))?;
    Ok(FinetuneOutcome {
        evaluation,
        history,
        images_per_second,
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
