//! The ML-GCN and OLTR heads (Table 1's baselines) train end to end on a tiny synthetic feature folder: they
//! learn, OLTR switches to its stage 2 at the configured epoch, a resumed run ends bit-identical to an
//! uninterrupted one, and the checkpoint and the model file give the run's numbers.

#[path = "support/head_runs.rs"]
mod head_runs;

use std::path::Path;

use burn::tensor::Device;
use head_runs::{SPEC, weights};
use mllt_nn::deploy::{Input, MODEL_FILE, TrainedModel};
use mllt_nn::features::{FeatureDataset, synthetic};
use mllt_nn::model::LabelVectors;
use mllt_nn::train::{
    CHECKPOINT_FILE, Checkpoint, RunOptions, TrainConfig, TrainOutcome, evaluate, predict, train,
};

fn config(model: &str, epochs: usize) -> TrainConfig {
    let text = format!(
        "method = \"t\"\n[model]\n{model}\n[schedule]\nepochs = {epochs}\nlr_steps = [{}]\nwarmup_iters = 20\n",
        epochs - 1
    );
    TrainConfig::from_toml(&text, "test config").unwrap()
}

/// Six 3-d label vectors, distinct per class.
fn vectors() -> LabelVectors {
    LabelVectors {
        values: (0..18).map(|k| ((k * 7 % 5) as f32 - 2.0) / 2.0).collect(),
        dim: 3,
    }
}

fn options(seed: u64, out: &Path, resume: bool, max_steps: Option<usize>) -> RunOptions {
    RunOptions {
        seed,
        out: out.to_path_buf(),
        resume,
        max_steps,
        log_every: 0,
        holdout: false,
        deploy: None,
        label_vectors: Some(vectors()),
    }
}

fn run(data: &FeatureDataset, config: &TrainConfig, options: &RunOptions) -> TrainOutcome {
    train(data, config, options, &Device::flex().autodiff(), &mut ()).unwrap()
}

/// Trains 6 epochs, checks learning and the checkpoint, then stops after `stop` epochs and resumes: same
/// weights.
fn trains_and_resumes(model: &str, stop: usize) -> TrainOutcome {
    let data = synthetic(&SPEC);
    let config = config(model, 6);
    let whole = tempfile::tempdir().unwrap();
    let mut deployed = options(3, whole.path(), false, None);
    deployed.deploy = Some(Input::Features { dim: SPEC.dim });
    let outcome = run(&data, &config, &deployed);
    let total = outcome.evaluation.total.map.unwrap();
    assert!(total > 0.6, "{model}: mAP {total}");
    let cpu = Device::flex();
    let ck = Checkpoint::load(&whole.path().join(CHECKPOINT_FILE), &cpu).unwrap();
    let counts = data.train.labels.class_counts();
    let again = evaluate(&ck.model, &data.test, &counts, 0.0, &cpu).unwrap();
    assert_eq!(again, outcome.evaluation, "{model}");
    let file = TrainedModel::load(&whole.path().join(MODEL_FILE), &cpu).unwrap();
    let want = predict(&outcome.model, &data.test, &cpu).unwrap();
    let want: Vec<f32> = want.as_slice().iter().map(|&v| v as f32).collect();
    let got = file.logits(data.test.features.clone(), data.test.len(), &cpu);
    assert_eq!(got, want, "{model}: the model file predicts like the head");
    let iterations_per_epoch = SPEC.train / 32;
    let split = tempfile::tempdir().unwrap();
    let stopped = Some(stop * iterations_per_epoch);
    run(&data, &config, &options(3, split.path(), false, stopped));
    let resumed = run(&data, &config, &options(3, split.path(), true, None));
    assert_eq!(weights(&resumed.model), weights(&outcome.model), "{model}");
    assert_eq!(resumed.evaluation, outcome.evaluation, "{model}");
    outcome
}

#[test]
fn ml_gcn_trains_and_resumes() {
    let outcome = trains_and_resumes("kind = \"ml-gcn\"", 2);
    let gcn = outcome.model.gcn.as_ref().expect("a GCN classifier");
    assert!(outcome.model.classifier.is_none());
    // The label vectors are stored as given, and the adjacency rows are those of a normalised graph.
    let stored = gcn
        .vectors
        .val()
        .into_data()
        .try_into_vec_as::<f32>()
        .unwrap();
    assert_eq!(stored, vectors().values);
    assert_eq!(gcn.adjacency.dims(), [6, 6]);
}

#[test]
fn oltr_enters_stage_two_and_resumes() {
    // stage_one = 0.5 of 6 epochs: stage 2 from epoch 3. Stopped after 2 epochs, the resumed run enters it;
    // stopped after 4, it resumes inside it from a stage-2 checkpoint.
    trains_and_resumes("kind = \"oltr\"", 2);
    let outcome = trains_and_resumes("kind = \"oltr\"", 4);
    let meta = outcome.model.meta.as_ref().expect("stage 2 reached");
    assert!(outcome.model.classifier.is_none());
    assert_eq!(meta.centroids.dims(), [6, 256]);
}

/// ML-GCN without label vectors, or with the wrong number of rows, is a one-line error.
#[test]
fn ml_gcn_needs_label_vectors_per_class() {
    let data = synthetic(&SPEC);
    let config = config("kind = \"ml-gcn\"", 2);
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(1, dir.path(), false, None);
    options.label_vectors = None;
    let device = Device::flex().autodiff();
    let err = train(&data, &config, &options, &device, &mut ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("label vectors") && !err.contains('\n'),
        "{err}"
    );
    options.label_vectors = Some(LabelVectors {
        values: vec![0.0; 10],
        dim: 2,
    });
    let err = train(&data, &config, &options, &device, &mut ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("5 rows") && err.contains("6 classes"), "{err}");
}
