//! End-to-end training on a tiny synthetic feature folder: learning, determinism, exact resume, checkpoints.

#[path = "support/head_runs.rs"]
mod head_runs;

use std::path::Path;

use burn::tensor::Device;
use head_runs::{SPEC, weights};
use mllt_nn::features::{FeatureDataset, synthetic};
use mllt_nn::train::{
    CHECKPOINT_FILE, Checkpoint, LOG_FILE, METRICS_FILE, RunOptions, TrainConfig, evaluate, train,
};

/// The DB-Focal recipe on the paper head with class-aware sampling, scaled down.
fn config(epochs: usize) -> TrainConfig {
    let text = format!(
        r#"
method = "db-focal"
[sampler]
kind = "class-aware"
[schedule]
epochs = {epochs}
lr_steps = [3, 4]
warmup_iters = 20
[loss]
weighting = {{ kind = "rebalance", alpha = 0.1, beta = 10.0, mu = 0.2 }}
ntr = {{ lambda = 2.0, kappa = 0.05 }}
focal = {{}}
"#
    );
    TrainConfig::from_toml(&text, "test config").unwrap()
}

fn device() -> Device {
    Device::flex().autodiff()
}

fn run(
    data: &FeatureDataset,
    config: &TrainConfig,
    seed: u64,
    out: &Path,
    resume: bool,
) -> mllt_nn::train::TrainOutcome {
    run_steps(data, config, seed, out, resume, None)
}

fn run_steps(
    data: &FeatureDataset,
    config: &TrainConfig,
    seed: u64,
    out: &Path,
    resume: bool,
    max_steps: Option<usize>,
) -> mllt_nn::train::TrainOutcome {
    let options = RunOptions {
        seed,
        out: out.to_path_buf(),
        resume,
        max_steps,
        log_every: 0,
        holdout: false,
        deploy: None,
        label_vectors: None,
    };
    train(data, config, &options, &device(), &mut ()).unwrap()
}

fn read_metrics(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap()).unwrap()
}

#[test]
fn trains_evaluates_and_writes_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic(&SPEC);
    let outcome = run(&data, &config(5), 1, dir.path(), false);
    assert_eq!(outcome.history.len(), 5);
    assert!(
        outcome.history[4].loss < outcome.history[0].loss,
        "{:?}",
        outcome.history
    );
    let total = outcome.evaluation.total.map.unwrap();
    assert!(total > 0.6, "mAP {total}");
    let metrics = read_metrics(dir.path());
    for key in ["total", "head", "medium", "tail"] {
        let v = &metrics["map"][key];
        assert!(
            v.is_null() || (0.0..=1.0).contains(&v.as_f64().unwrap()),
            "{key}: {v}"
        );
    }
    assert_eq!(metrics["map"]["total"].as_f64().unwrap(), total);
    let log = std::fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
    assert_eq!(log.lines().count(), 5);
    // The checkpoint evaluates to the same numbers.
    let ck = Checkpoint::load(&dir.path().join(CHECKPOINT_FILE), &Device::flex()).unwrap();
    assert_eq!((ck.epochs_done, ck.seed), (5, 1));
    let counts = data.train.labels.class_counts();
    let again = evaluate(&ck.model, &data.test, &counts, 0.0, &Device::flex()).unwrap();
    assert_eq!(again, outcome.evaluation);
    // Without --resume an existing run is not overwritten.
    let options = RunOptions {
        seed: 1,
        out: dir.path().to_path_buf(),
        resume: false,
        max_steps: None,
        log_every: 0,
        holdout: false,
        deploy: None,
        label_vectors: None,
    };
    let err = train(&data, &config(5), &options, &device(), &mut ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("--resume"), "{err}");
}

#[test]
fn same_seed_same_numbers_other_seed_other_numbers() {
    let data = synthetic(&SPEC);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let a = run(&data, &config(2), 7, dirs[0].path(), false);
    let b = run(&data, &config(2), 7, dirs[1].path(), false);
    let c = run(&data, &config(2), 8, dirs[2].path(), false);
    assert_eq!(weights(&a.model), weights(&b.model));
    assert_eq!(a.evaluation, b.evaluation);
    assert_eq!(
        a.history.iter().map(|r| r.loss).collect::<Vec<_>>(),
        b.history.iter().map(|r| r.loss).collect::<Vec<_>>()
    );
    assert_ne!(weights(&a.model), weights(&c.model));
}

#[test]
fn resume_is_bit_exact() {
    let data = synthetic(&SPEC);
    let full_dir = tempfile::tempdir().unwrap();
    let full = run(&data, &config(5), 3, full_dir.path(), false);

    // Interrupted after 2 epochs (a run configured for 2), then resumed to 5 from the same folder.
    let part_dir = tempfile::tempdir().unwrap();
    run(&data, &config(2), 3, part_dir.path(), false);
    let resumed = run(&data, &config(5), 3, part_dir.path(), true);
    assert_eq!(resumed.resumed_from, Some(2));
    assert_eq!(weights(&resumed.model), weights(&full.model));
    assert_eq!(resumed.evaluation, full.evaluation);
    let losses = |o: &mllt_nn::train::TrainOutcome| {
        o.history
            .iter()
            .map(|r| r.loss.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&resumed), losses(&full));
    assert_eq!(
        read_metrics(part_dir.path())["map"],
        read_metrics(full_dir.path())["map"]
    );
    assert_eq!(
        std::fs::read_to_string(part_dir.path().join(LOG_FILE))
            .unwrap()
            .lines()
            .count(),
        5
    );

    // A resume with another seed or configuration is refused.
    let options = RunOptions {
        seed: 4,
        out: part_dir.path().to_path_buf(),
        resume: true,
        max_steps: None,
        log_every: 0,
        holdout: false,
        deploy: None,
        label_vectors: None,
    };
    let err = train(&data, &config(5), &options, &device(), &mut ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("seed 3"), "{err}");
    let mut other = config(5);
    other.optimizer.lr = 0.05;
    let options = RunOptions { seed: 3, ..options };
    let err = train(&data, &other, &options, &device(), &mut ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("another configuration"), "{err}");
}

/// `max_steps` stops after that many global iterations with the schedule of the configured 5 epochs:
/// exactly one epoch's iterations is a 1-epoch run (same metrics.json, weights and checkpoint); a stop 3
/// iterations into epoch 2 logs that partial epoch, evaluates the model at the stop and leaves the
/// checkpoint at epoch 1; resuming it to a later limit ends where a fresh run with that limit ends; a stop
/// inside the first epoch writes no checkpoint.
#[test]
fn max_steps_stops_after_n_iterations() {
    let data = synthetic(&SPEC);
    let dirs: Vec<_> = (0..5).map(|_| tempfile::tempdir().unwrap()).collect();
    let one_epoch = run(&data, &config(1), 2, dirs[0].path(), false);
    let per_epoch = one_epoch.history[0].iterations;
    assert!(per_epoch > 3, "{per_epoch} iterations per epoch");

    let capped = run_steps(&data, &config(5), 2, dirs[1].path(), false, Some(per_epoch));
    assert_eq!(read_metrics(dirs[1].path()), read_metrics(dirs[0].path()));
    assert_eq!(weights(&capped.model), weights(&one_epoch.model));
    let checkpoint = |dir: &Path| {
        let ck = Checkpoint::load(&dir.join(CHECKPOINT_FILE), &Device::flex()).unwrap();
        (ck.epochs_done, ck.iteration, weights(&ck.model))
    };
    assert_eq!(checkpoint(dirs[1].path()), checkpoint(dirs[0].path()));

    let records = |o: &mllt_nn::train::TrainOutcome| {
        o.history
            .iter()
            .map(|r| (r.epoch, r.iterations, r.global_iteration, r.loss.to_bits()))
            .collect::<Vec<_>>()
    };
    let n = per_epoch + 3;
    let partial = run_steps(&data, &config(5), 2, dirs[2].path(), false, Some(n));
    let metrics = read_metrics(dirs[2].path());
    assert_eq!(
        (metrics["iterations"].as_u64(), metrics["epochs"].as_u64()),
        (Some(n as u64), Some(2))
    );
    assert_ne!(metrics["map"], read_metrics(dirs[0].path())["map"]);
    let shape: Vec<_> = records(&partial).iter().map(|r| (r.0, r.1, r.2)).collect();
    assert_eq!(shape, [(1, per_epoch, per_epoch), (2, 3, n)]);
    let log = std::fs::read_to_string(dirs[2].path().join(LOG_FILE)).unwrap();
    assert_eq!(log.lines().count(), 2);
    let (epochs_done, iteration, at_epoch_1) = checkpoint(dirs[2].path());
    assert_eq!((epochs_done, iteration), (1, per_epoch));
    assert_eq!(at_epoch_1, weights(&one_epoch.model));
    assert_ne!(weights(&partial.model), at_epoch_1);

    let later = 2 * per_epoch + 1;
    let resumed = run_steps(&data, &config(5), 2, dirs[2].path(), true, Some(later));
    let fresh = run_steps(&data, &config(5), 2, dirs[3].path(), false, Some(later));
    assert_eq!(resumed.resumed_from, Some(1));
    assert_eq!(weights(&resumed.model), weights(&fresh.model));
    assert_eq!(read_metrics(dirs[2].path()), read_metrics(dirs[3].path()));
    assert_eq!(records(&resumed), records(&fresh));

    let early = run_steps(&data, &config(5), 2, dirs[4].path(), false, Some(2));
    assert_eq!(early.history.len(), 1);
    assert_eq!(read_metrics(dirs[4].path())["iterations"], 2);
    assert!(!dirs[4].path().join(CHECKPOINT_FILE).exists());
}
