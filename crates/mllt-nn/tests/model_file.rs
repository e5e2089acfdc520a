//! `model.mllt` (issue 12): a deployable run holds out the validation split, chooses its per-class thresholds
//! there, and writes a model file that loads back to the same logits; inconsistent files are one-line errors;
//! a loss error about a class names it.

use std::path::Path;

use burn::tensor::Device;
use mllt_core::holdout::holdout;
use mllt_core::metrics::{
    EmptyClassPolicy, Evaluation, MIN_VALIDATION_POSITIVES, Thresholds, choose_thresholds,
};
use mllt_data::tfidf::Tfidf;
use mllt_nn::deploy::model_file::InputMeta;
use mllt_nn::deploy::{Input, MODEL_FILE, TrainedModel};
use mllt_nn::features::{FeatureDataset, SyntheticSpec, synthetic};
use mllt_nn::train::{LOG_FILE, LogLine, RunOptions, TrainConfig, TrainOutcome, predict, train};

const SPEC: SyntheticSpec = SyntheticSpec {
    classes: 5,
    train: 400,
    test: 100,
    dim: 12,
    tail: 1.0,
    noise: 1.0,
    seed: 9,
};

fn config(method: &str) -> TrainConfig {
    let text = format!(
        r#"
method = "{method}"
[schedule]
epochs = 3
lr_steps = [2]
warmup_iters = 5
[loss]
weighting = {{ kind = "rebalance", alpha = 0.1, beta = 10.0, mu = 0.2 }}
ntr = {{ lambda = 2.0, kappa = 0.05 }}
focal = {{}}
"#
    );
    TrainConfig::from_toml(&text, "test config").unwrap()
}

fn deployed(data: &FeatureDataset, input: Input, out: &Path) -> TrainOutcome {
    let options = RunOptions {
        seed: 2,
        out: out.to_path_buf(),
        resume: false,
        max_steps: None,
        log_every: 5,
        holdout: true,
        deploy: Some(input),
        label_vectors: None,
    };
    train(
        data,
        &config("db-focal"),
        &options,
        &Device::flex().autodiff(),
        &mut (),
    )
    .unwrap()
}

#[test]
fn a_deployed_run_holds_out_validation_and_writes_a_model_that_predicts_like_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic(&SPEC);
    let outcome = deployed(&data, Input::Features { dim: SPEC.dim }, dir.path());
    let cpu = Device::flex();
    let model = TrainedModel::load(&dir.path().join(MODEL_FILE), &cpu).unwrap();
    assert_eq!(model.classes(), data.class_names());
    assert_eq!(model.meta.train_counts, data.train.labels.class_counts());
    assert_eq!(model.meta.method, "db-focal");

    // The same logits as the trained head.
    let want = predict(&outcome.model, &data.test, &cpu).unwrap();
    let got = model.logits(data.test.features.clone(), data.test.len(), &cpu);
    let want: Vec<f32> = want.as_slice().iter().map(|&v| v as f32).collect();
    assert_eq!(got, want);

    // Trained on the fit side only; thresholds chosen on the held-out side.
    let split = holdout(data.train.labels.ids());
    assert_eq!(outcome.metrics["train_items"], split.fit.len());
    assert_eq!(outcome.metrics["validation_items"], split.validation.len());
    assert!(!split.validation.is_empty() && !split.fit.is_empty());
    let validation = data.train.subset(&split.validation);
    let scores = predict(&outcome.model, &validation, &cpu).unwrap();
    let chosen = choose_thresholds(&scores, &validation.labels, MIN_VALIDATION_POSITIVES).unwrap();
    assert_eq!(model.meta.thresholds.per_class, chosen.per_class);
    assert_eq!(model.meta.thresholds.own, chosen.own);

    // metrics.json's F1 is the F1 at those thresholds.
    let test_scores = predict(&outcome.model, &data.test, &cpu).unwrap();
    let at = Evaluation::new(
        &test_scores,
        &data.test.labels,
        None,
        Thresholds::PerClass(chosen.per_class.clone()),
        EmptyClassPolicy::default(),
    )
    .unwrap();
    assert_eq!(outcome.evaluation.total.threshold, at.total.threshold);
    let f1 = &outcome.metrics["threshold_metrics"]["total"];
    assert_eq!(
        f1["micro_f1"].as_f64().unwrap(),
        at.total.threshold.micro_f1
    );

    // Step lines every 5 iterations, then an epoch line, in log.jsonl.
    let log = std::fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
    let lines: Vec<LogLine> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let iterations = outcome.metrics["iterations"].as_u64().unwrap() as usize;
    let steps: Vec<usize> = lines
        .iter()
        .filter_map(|l| match l {
            LogLine::Step(s) => Some(s.step),
            LogLine::Epoch(_) => None,
        })
        .collect();
    assert_eq!(steps, (5..=iterations).step_by(5).collect::<Vec<_>>());
    assert_eq!(lines.len() - steps.len(), 3, "{log}");
}

#[test]
fn a_text_model_carries_its_vectoriser() {
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic(&SPEC);
    let texts = ["a red fox", "red dogs run", "a blue fox"];
    let tfidf = Tfidf::fit(&texts, SPEC.dim);
    deployed(
        &data,
        Input::Text {
            tfidf: tfidf.clone(),
        },
        dir.path(),
    );
    let model = TrainedModel::load(&dir.path().join(MODEL_FILE), &Device::flex()).unwrap();
    assert_eq!(model.input, Input::Text { tfidf });
}

#[test]
fn inconsistent_model_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic(&SPEC);
    deployed(&data, Input::Features { dim: SPEC.dim }, dir.path());
    let cpu = Device::flex();
    let good = TrainedModel::load(&dir.path().join(MODEL_FILE), &cpu).unwrap();
    type Edit = fn(&mut TrainedModel);
    let edits: [(&str, Edit); 4] = [
        ("format 2", |m| m.meta.format = 2),
        ("thresholds for 4 classes, not 5", |m| {
            m.meta.thresholds.per_class.pop();
        }),
        ("class `class01` is listed twice", |m| {
            m.meta.classes[2] = "class01".into()
        }),
        ("tensor `model.neck.fc.weight` has shape [12, 256]", |m| {
            m.meta.input = InputMeta::Features { dim: 13 }
        }),
    ];
    for (k, (message, edit)) in edits.iter().enumerate() {
        let mut bad = good.clone();
        edit(&mut bad);
        let path = dir.path().join(format!("bad{k}.mllt"));
        bad.save(&path).unwrap();
        let err = TrainedModel::load(&path, &cpu).unwrap_err().to_string();
        assert!(
            err.starts_with(&path.display().to_string()) && err.contains(message),
            "{message}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let truncated = dir.path().join("truncated.mllt");
    let bytes = std::fs::read(dir.path().join(MODEL_FILE)).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = TrainedModel::load(&truncated, &cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated.mllt"), "{err}");
}

#[test]
fn a_loss_error_about_a_class_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic(&SPEC);
    // Class 3 leaves the training split: the re-balanced weight divides by its count.
    let keep: Vec<usize> = (0..data.train.len())
        .filter(|&k| !data.train.labels.row(k).contains(&3))
        .collect();
    let data = FeatureDataset {
        train: data.train.subset(&keep),
        test: data.test,
    };
    let options = RunOptions {
        seed: 0,
        out: dir.path().to_path_buf(),
        resume: false,
        max_steps: None,
        log_every: 0,
        holdout: false,
        deploy: None,
        label_vectors: None,
    };
    let err = train(
        &data,
        &config("db-focal"),
        &options,
        &Device::flex().autodiff(),
        &mut (),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("class `class03` has 0 of ") && err.contains("--drop-empty-classes"),
        "{err}"
    );
}
