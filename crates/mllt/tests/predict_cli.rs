//! `mllt predict` and `mllt test --model` end to end (issue 12): a model trained on the shipped
//! OpenClipart-MLT features labels its test split with the F1 that `mllt test` reports, also from a `.npy`;
//! a DebTags-MLT text model labels a text file; an EfficientNet-Lite0 image model labels an image folder and
//! an image list; bad items, models from elsewhere and degenerate classes are one-line errors that say what
//! to do; progress lines appear when stderr is not a terminal.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use mllt_core::npy_writer::NpyRowWriter;
use mllt_nn::features::{FeatureDataset, FeatureDtype, SyntheticSpec, synthetic};
use serde_json::Value;

#[path = "support/image_folder.rs"]
mod image_folder;
use image_folder::image_folder;

fn mllt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// `mllt predict --model MODEL --data DATA --out OUT` with `extra` flags.
fn predict(model: &str, data: &str, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["predict", "--model", model, "--data", data, "--out", out];
    args.extend_from_slice(extra);
    mllt(&args)
}

fn ok(out: Output) -> (String, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stderr: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// The one `error:` line of a failed command.
fn error(out: Output) -> String {
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let last = stderr.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("error: "), "{stderr}");
    last
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// id → label names of a label TSV (header skipped).
fn read_labels(path: &Path) -> HashMap<String, Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let (id, labels) = line.split_once('\t').unwrap();
            let labels = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            (id.to_string(), labels)
        })
        .collect()
}

/// Micro and macro F1 of predicted against true label sets over `classes` (macro: 0 for a class with no
/// positive and no prediction, as scikit-learn).
fn f1(
    predicted: &HashMap<String, Vec<String>>,
    truth: &HashMap<String, Vec<String>>,
    classes: &[String],
) -> (f64, f64) {
    let mut counts: HashMap<&str, (usize, usize, usize)> = HashMap::new();
    for (id, true_labels) in truth {
        let pred = &predicted[id];
        for c in classes {
            let e = counts.entry(c.as_str()).or_default();
            match (pred.contains(c), true_labels.contains(c)) {
                (true, true) => e.0 += 1,
                (true, false) => e.1 += 1,
                (false, true) => e.2 += 1,
                (false, false) => {}
            }
        }
    }
    let score = |(tp, fp, fn_): (usize, usize, usize)| {
        let d = 2 * tp + fp + fn_;
        if d == 0 {
            0.0
        } else {
            2.0 * tp as f64 / d as f64
        }
    };
    let sum = counts
        .values()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let macro_f1 = counts.values().map(|&c| score(c)).sum::<f64>() / classes.len() as f64;
    (score(sum), macro_f1)
}

#[test]
fn features_model_predicts_its_test_split_with_the_f1_that_test_reports() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = mllt(&[
        "train",
        "--data",
        "openclipart-mlt",
        "--method",
        "db-focal",
        "--epochs",
        "2",
        "--out",
        p(&run),
    ]);
    let (stdout, stderr) = ok(out);
    assert!(
        stdout.contains("micro F1") && stdout.contains("model.mllt"),
        "{stdout}"
    );
    // Not a terminal: plain progress lines with the step, the rate, the loss and the ETA.
    let progress = stderr
        .lines()
        .find(|l| l.starts_with("epoch 1/2: step "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        progress.contains("items/s") && progress.contains("loss") && progress.contains("eta"),
        "{progress}"
    );
    let model = run.join("model.mllt");

    let test = mllt(&[
        "test",
        "--data",
        "openclipart-mlt",
        "--model",
        p(&model),
        "--json",
    ]);
    let metrics: Value = serde_json::from_str(&ok(test).0).unwrap();
    let reported = &metrics["threshold_metrics"]["total"];
    // The same numbers as training reported.
    let trained: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(reported, &trained["threshold_metrics"]["total"]);
    assert_eq!(metrics["map"], trained["map"]);

    let predictions = dir.path().join("pred.tsv");
    let scores = dir.path().join("scores.npy");
    let (stdout, _) = ok(predict(
        p(&model),
        "openclipart-mlt",
        p(&predictions),
        &["--scores", p(&scores)],
    ));
    assert!(stdout.contains("1534 items labelled"), "{stdout}");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/openclipart-mlt");
    let truth = read_labels(&data.join("test.tsv"));
    let predicted = read_labels(&predictions);
    let classes: Vec<String> = std::fs::read_to_string(data.join("classes.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let (micro, macro_f1) = f1(&predicted, &truth, &classes);
    assert!(
        (micro - reported["micro_f1"].as_f64().unwrap()).abs() < 1e-12,
        "{micro} vs {reported}"
    );
    assert!((macro_f1 - reported["macro_f1"].as_f64().unwrap()).abs() < 1e-12);

    // The raw scores, and the same labels from a .npy of the test features (ids are row numbers).
    let bytes = std::fs::read(&scores).unwrap();
    let s = mllt_core::npy::read_matrix::<f32>(&bytes, &scores).unwrap();
    assert_eq!((s.rows, s.cols), (1534, classes.len()));
    let features = FeatureDataset::read(&data).unwrap().test;
    let npy = dir.path().join("test.npy");
    let mut w = NpyRowWriter::create(&npy, features.dim).unwrap();
    w.write_rows(&features.features).unwrap();
    w.finish().unwrap();
    let from_npy = dir.path().join("npy.tsv");
    ok(predict(p(&model), p(&npy), p(&from_npy), &[]));
    let by_row = read_labels(&from_npy);
    for (k, id) in features.labels.ids().iter().enumerate() {
        assert_eq!(by_row[&k.to_string()], predicted[id], "row {k}");
    }

    // Top-k names exactly k classes, highest first.
    let top = dir.path().join("top.tsv");
    ok(predict(p(&model), p(&npy), p(&top), &["--top-k", "3"]));
    assert!(read_labels(&top).values().all(|l| l.len() == 3));

    // Models from elsewhere: other classes, other feature widths.
    let err = error(mllt(&[
        "test",
        "--data",
        "debtags-mlt",
        "--model",
        p(&model),
    ]));
    assert!(
        err.contains("other classes") && err.contains("classes.txt"),
        "{err}"
    );
    let narrow = dir.path().join("narrow.npy");
    let mut w = NpyRowWriter::create(&narrow, 3).unwrap();
    w.write_rows(&[0.0; 6]).unwrap();
    w.finish().unwrap();
    let err = error(predict(p(&model), p(&narrow), p(&top), &[]));
    assert!(
        err.contains("narrow.npy: 3-d feature rows, but the model reads 1280-d features"),
        "{err}"
    );
    let err = error(predict(p(&model), "debtags-mlt", p(&top), &[]));
    assert!(
        err.contains("a text folder, but the model reads 1280-d features"),
        "{err}"
    );
    // A failed run leaves the earlier output as it was.
    assert!(read_labels(&top).values().all(|l| l.len() == 3));
}

#[test]
fn text_model_labels_a_text_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    ok(mllt(&[
        "train",
        "--data",
        "debtags-mlt",
        "--method",
        "erm",
        "--max-steps",
        "30",
        "--out",
        p(&run),
    ]));
    let model = run.join("model.mllt");
    let texts = dir.path().join("texts.txt");
    std::fs::write(
        &texts,
        "vim\tVi IMproved, a highly configurable text editor for programmers\n\
         a card game for two players with network play\n\
         empty\t\n",
    )
    .unwrap();
    let out = dir.path().join("labels.tsv");
    let err = error(predict(p(&model), p(&texts), p(&out), &[]));
    assert!(
        err.contains("texts.txt:3: empty text (--skip-bad skips such items)"),
        "{err}"
    );
    assert!(!out.exists());
    let (stdout, stderr) = ok(predict(
        p(&model),
        p(&texts),
        p(&out),
        &["--skip-bad", "--top-k", "2"],
    ));
    assert!(
        stdout.contains("2 items labelled") && stdout.contains("1 skipped"),
        "{stdout}"
    );
    assert!(
        stderr.contains("skipped 1 bad item(s); first: ") && stderr.contains("texts.txt:3"),
        "{stderr}"
    );
    let labels = read_labels(&out);
    assert_eq!(labels.len(), 2);
    assert_eq!(labels["vim"].len(), 2);
    assert_eq!(
        labels["2"].len(),
        2,
        "an item without an id is named by its line"
    );
}

#[test]
fn image_model_labels_a_folder_and_a_list() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("images");
    image_folder(&data);
    let run = dir.path().join("run");
    ok(mllt(&[
        "train",
        "--data",
        p(&data),
        "--method",
        "erm",
        "--backbone",
        "efficientnet-lite0",
        "--weights",
        "none",
        "--max-steps",
        "2",
        "--batch-size",
        "4",
        "--image-size",
        "32",
        "--out",
        p(&run),
    ]));
    let model = run.join("model.mllt");
    let out = dir.path().join("pred.tsv");
    let (stdout, _) = ok(predict(p(&model), p(&data), p(&out), &[]));
    assert!(stdout.contains("8 items labelled"), "{stdout}");
    assert_eq!(read_labels(&out).len(), 8);
    // A plain folder of images: every image under it, ids relative to it.
    let (stdout, _) = ok(predict(p(&model), p(&data.join("images")), p(&out), &[]));
    assert!(stdout.contains("24 items labelled"), "{stdout}");
    assert!(read_labels(&out).contains_key("train0.png"));
    // A list of paths with a corrupt image: an error naming it, or skipped.
    std::fs::write(data.join("images/bad.png"), b"not a png").unwrap();
    let list = dir.path().join("list.txt");
    std::fs::write(&list, "images/images/test0.png\nimages/images/bad.png\n").unwrap();
    let err = error(predict(p(&model), p(&list), p(&out), &[]));
    assert!(err.contains("list.txt:2: cannot decode image"), "{err}");
    let (stdout, _) = ok(predict(p(&model), p(&list), p(&out), &["--skip-bad"]));
    assert!(
        stdout.contains("1 items labelled") && stdout.contains("1 skipped"),
        "{stdout}"
    );
    test_f1_matches(&model, &data);
}

/// `mllt test --model` on an image folder reports what training reported: F1 at the model's thresholds, and
/// mAP (up to the rounding of other batch sizes).
fn test_f1_matches(model: &Path, data: &Path) {
    let out = mllt(&["test", "--data", p(data), "--model", p(model), "--json"]);
    let metrics: Value = serde_json::from_str(&ok(out).0).unwrap();
    let run = model.parent().unwrap().join("metrics.json");
    let trained: Value = serde_json::from_str(&std::fs::read_to_string(run).unwrap()).unwrap();
    assert_eq!(metrics["test_items"], 8);
    let f1 = |m: &Value| m["threshold_metrics"]["total"].clone();
    assert_eq!(f1(&metrics), f1(&trained));
    let map = |m: &Value| m["map"]["total"].as_f64().unwrap();
    assert!(
        (map(&metrics) - map(&trained)).abs() < 1e-6,
        "{metrics} vs {trained}"
    );
}

#[test]
fn a_class_without_training_items_is_named_and_can_be_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SyntheticSpec {
        classes: 4,
        train: 200,
        test: 40,
        dim: 6,
        tail: 1.0,
        noise: 1.0,
        seed: 3,
    };
    let data = synthetic(&spec);
    let keep: Vec<usize> = (0..data.train.len())
        .filter(|&k| !data.train.labels.row(k).contains(&2))
        .collect();
    let data = FeatureDataset {
        train: data.train.subset(&keep),
        test: data.test,
    };
    let folder = dir.path().join("data");
    data.write(&folder, FeatureDtype::F32).unwrap();
    let run = dir.path().join("run");
    let args = [
        "train",
        "--data",
        p(&folder),
        "--method",
        "db-focal",
        "--epochs",
        "1",
        "--out",
        p(&run),
    ];
    let err = error(mllt(&args));
    assert!(
        err.contains("train.tsv: class `class02` has 0 of ")
            && err.contains("--drop-empty-classes leaves out"),
        "{err}"
    );
    let mut dropping = args.to_vec();
    dropping.push("--drop-empty-classes");
    let (stdout, stderr) = ok(mllt(&dropping));
    assert!(
        stderr.contains("dropped 1 class(es): `class02` (no training positive)"),
        "{stderr}"
    );
    assert!(stdout.contains("classes          3"), "{stdout}");
}
