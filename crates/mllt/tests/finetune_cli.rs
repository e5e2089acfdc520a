//! `mllt train --backbone`: end-to-end fine-tuning on an image folder, a VOC tree and a COCO tree that the
//! test writes (small JPEGs and PNGs, VOC XML, COCO JSON): three CPU training steps with each backbone from
//! random weights, the errors for missing or corrupt images, and checkpoints: runs stopped inside an epoch or
//! at its end and resumed end bit-identical to uninterrupted ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mllt_data::images::ImageSpec;
use mllt_nn::model::{BackboneKind, BackboneWeights};
use mllt_nn::train::{
    FinetuneOptions, ImageCheckpoint, Observer, StepProgress, TrainConfig, default_device, finetune,
};
use serde_json::Value;

#[path = "support/image_folder.rs"]
mod image_folder;
use image_folder::{image_folder, labels_of, write_image};

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mllt"));
    command.args(args);
    command
}

fn mllt(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

/// `mllt args` on `threads` rayon threads.
fn mllt_on(threads: usize, args: &[&str]) -> Output {
    let mut command = command(args);
    command.env("RAYON_NUM_THREADS", threads.to_string());
    command.output().unwrap()
}

fn train(data: &str, out: &Path, method: &str, extra: &[&str]) -> Output {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "train",
        "--data",
        data,
        "--method",
        method,
        "--weights",
        "none",
        "--max-steps",
        "3",
        "--batch-size",
        "4",
        "--image-size",
        "32",
        "--out",
        out,
        "--json",
        "--no-holdout",
    ];
    args.extend_from_slice(extra);
    mllt(&args)
}

/// Runs three steps of DB-Focal (or `erm` where `erm` is set: a VOC tree of a few classes leaves some of the
/// 20 empty, which the re-balanced weight rejects) and checks metrics.json: 3 iterations, a finite loss, mAP
/// in [0, 1].
fn three_steps(data: &str, out: &Path, backbone: &str, erm: bool, test_items: usize) -> Value {
    let method = if erm { "erm" } else { "db-focal" };
    let output = train(data, out, method, &["--backbone", backbone]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["iterations"], 3, "{metrics}");
    assert_eq!(metrics["backbone"], backbone);
    assert_eq!(metrics["test_items"], test_items);
    let loss = metrics["final_train_loss"].as_f64().unwrap();
    assert!(loss.is_finite() && loss > 0.0, "{loss}");
    let map = metrics["map"]["total"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&map), "{map}");
    let log = std::fs::read_to_string(out.join("log.jsonl")).unwrap();
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["global_iteration"], 3, "{log}");
    assert_eq!(
        log.lines().count(),
        metrics["epochs"].as_u64().unwrap() as usize
    );
    let model = std::fs::metadata(out.join("model.mllt")).unwrap();
    assert!(model.len() > 1_000_000, "{} bytes", model.len());
    metrics
}

#[test]
fn three_cpu_steps_with_each_backbone_on_an_image_folder() {
    let dir = tempfile::tempdir().unwrap();
    image_folder(dir.path());
    let data = dir.path().to_str().unwrap();
    let resnet = three_steps(data, &dir.path().join("resnet"), "resnet50", false, 8);
    three_steps(
        data,
        &dir.path().join("lite0"),
        "efficientnet-lite0",
        false,
        8,
    );
    // The same seed gives the same numbers.
    let again = three_steps(data, &dir.path().join("resnet-again"), "resnet50", false, 8);
    assert_eq!(resnet["map"], again["map"]);
    assert_eq!(resnet["final_train_loss"], again["final_train_loss"]);
}

#[test]
fn voc_and_coco_trees() {
    let dir = tempfile::tempdir().unwrap();
    // VOC: JPEGImages, Annotations (a difficult object counts), ImageSets/Main.
    let voc = dir.path().join("VOC2007");
    for sub in ["JPEGImages", "Annotations", "ImageSets/Main"] {
        std::fs::create_dir_all(voc.join(sub)).unwrap();
    }
    let classes = ["person", "dog", "car"];
    let (mut trainval, mut test) = (String::new(), String::new());
    for k in 0..12 {
        let id = format!("{k:06}");
        write_image(&voc.join("JPEGImages").join(format!("{id}.jpg")), k);
        let objects: String = labels_of(k, &classes)
            .iter()
            .map(|c| format!("<object><name>{c}</name><difficult>1</difficult></object>"))
            .collect();
        std::fs::write(
            voc.join("Annotations").join(format!("{id}.xml")),
            format!("<annotation><filename>{id}.jpg</filename>{objects}</annotation>"),
        )
        .unwrap();
        *if k < 8 { &mut trainval } else { &mut test } += &format!("{id}\n");
    }
    std::fs::write(voc.join("ImageSets/Main/trainval.txt"), trainval).unwrap();
    std::fs::write(voc.join("ImageSets/Main/test.txt"), test).unwrap();
    let spec = format!("voc:{}", voc.display());
    three_steps(&spec, &dir.path().join("voc-run"), "resnet50", true, 4);

    // COCO: annotations/instances_{train,val}2017.json and the image folders.
    let coco = dir.path().join("coco");
    std::fs::create_dir_all(coco.join("annotations")).unwrap();
    for (split, n) in [("train2017", 16), ("val2017", 4)] {
        std::fs::create_dir_all(coco.join(split)).unwrap();
        let mut images = Vec::new();
        let mut annotations = Vec::new();
        for k in 0..n {
            let file = format!("{k:012}.jpg");
            write_image(&coco.join(split).join(&file), k);
            images.push(serde_json::json!({"id": k, "file_name": file, "width": 48, "height": 40}));
            for (a, c) in labels_of(k, &classes).iter().enumerate() {
                let category = 1 + classes.iter().position(|x| x == c).unwrap();
                annotations.push(serde_json::json!({
                    "id": 100 * k + a, "image_id": k, "category_id": category,
                    "area": 40.0, "bbox": [1.0, 1.0, 8.0, 5.0], "iscrowd": 0
                }));
            }
        }
        let categories: Vec<Value> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| serde_json::json!({"id": i + 1, "name": c}))
            .collect();
        let json = serde_json::json!({"images": images, "annotations": annotations, "categories": categories});
        std::fs::write(
            coco.join("annotations")
                .join(format!("instances_{split}.json")),
            json.to_string(),
        )
        .unwrap();
    }
    let spec = format!("coco:{}", coco.display());
    three_steps(
        &spec,
        &dir.path().join("coco-run"),
        "efficientnet-lite0",
        false,
        4,
    );
}

#[test]
fn bad_images_are_named_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    image_folder(dir.path());
    let corrupt = dir.path().join("images/train3.jpg");
    std::fs::write(&corrupt, b"not a jpeg").unwrap();
    let data = dir.path().to_str().unwrap();
    let args = ["--backbone", "resnet50"];
    let output = train(data, &dir.path().join("run"), "db-focal", &args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("train3.jpg"),
        "{stderr}"
    );
    std::fs::remove_file(dir.path().join("images/test5.jpg")).unwrap();
    let output = train(
        data,
        &dir.path().join("run"),
        "db-focal",
        &["--backbone", "resnet50", "--skip-bad-images"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("skipped 2 image(s)"), "{stderr}");
    let metrics: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(metrics["train_items"], 15);
    assert_eq!(metrics["test_items"], 7);
}

#[test]
fn resnet50_needs_weights_or_none() {
    let dir = tempfile::tempdir().unwrap();
    image_folder(dir.path());
    let output = mllt(&[
        "train",
        "--data",
        dir.path().to_str().unwrap(),
        "--method",
        "erm",
        "--backbone",
        "resnet50",
        "--out",
        dir.path().join("run").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--weights"), "{stderr}");
}

/// `mllt train --backbone BACKBONE` of `erm` for `--epochs 2` (16 training images in batches of 4: 4 iterations
/// per epoch, 32×32 pixels) with seed 5 into `out`, with `extra` flags (which may set another seed, batch
/// size or image size), on 2 threads.
fn two_epochs(data: &str, out: &Path, backbone: &str, extra: &[&str]) -> Output {
    two_epochs_on(2, data, out, backbone, extra)
}

/// [`two_epochs`] on `threads` rayon threads.
fn two_epochs_on(threads: usize, data: &str, out: &Path, backbone: &str, extra: &[&str]) -> Output {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "train",
        "--data",
        data,
        "--method",
        "erm",
        "--epochs",
        "2",
        "--backbone",
        backbone,
        "--weights",
        "none",
        "--out",
        out,
        "--json",
        "--no-holdout",
    ];
    for (flag, value) in [
        ("--seed", "5"),
        ("--batch-size", "4"),
        ("--image-size", "32"),
    ] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    args.extend_from_slice(extra);
    mllt_on(threads, &args)
}

fn succeeds(output: Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The records of `log.jsonl` without their wall-clock `seconds`.
fn log_records(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let mut record: Value = serde_json::from_str(line).unwrap();
            assert!(record["seconds"].as_f64().unwrap() >= 0.0, "{record}");
            record.as_object_mut().unwrap().remove("seconds");
            record
        })
        .collect()
}

/// Runs `backbone` for 2 epochs (8 iterations) uninterrupted on one thread, and again on 2 and 3 threads stopped
/// by --max-steps inside the first epoch (iteration `stop`), resumed up to the epoch's end (iteration 4) and
/// resumed to the end: the weights and the log are identical, whatever the thread count.
fn resume_matches_an_uninterrupted_run(backbone: &str, stop: &str) {
    let dir = tempfile::tempdir().unwrap();
    image_folder(dir.path());
    let data = dir.path().to_str().unwrap();
    let full = dir.path().join("full");
    succeeds(two_epochs_on(1, data, &full, backbone, &[]));
    let full_log = log_records(&full);
    assert_eq!(full_log.len(), 2);
    assert_eq!(full_log[0]["iterations"], 4, "{full_log:?}");

    let part = dir.path().join("part");
    succeeds(two_epochs(data, &part, backbone, &["--max-steps", stop]));
    // The partial epoch is logged; the resumed run replaces it.
    let partial = log_records(&part);
    assert_eq!(partial.len(), 1);
    assert_eq!(partial[0]["iterations"].to_string(), stop);
    let output = two_epochs_on(3, data, &part, backbone, &["--resume", "--max-steps", "4"]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    succeeds(output);
    assert!(
        stderr.contains(&format!("resumed from the checkpoint at iteration {stop}")),
        "{stderr}"
    );
    assert_eq!(log_records(&part), full_log[..1]);
    let output = two_epochs(data, &part, backbone, &["--resume"]);
    let metrics: Value = serde_json::from_slice(&output.stdout).unwrap();
    succeeds(output);
    assert_eq!(metrics["iterations"], 8);
    assert!(metrics["train_images_per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(log_records(&part), full_log);
    let weights = |out: &Path| std::fs::read(out.join("model.mllt")).unwrap();
    assert!(weights(&full) == weights(&part), "model.mllt differ");
}

#[test]
fn lite0_resumed_inside_an_epoch_and_at_its_end_matches_an_uninterrupted_run() {
    resume_matches_an_uninterrupted_run("efficientnet-lite0", "1");
}

#[test]
fn resnet50_resumed_inside_an_epoch_and_at_its_end_matches_an_uninterrupted_run() {
    resume_matches_an_uninterrupted_run("resnet50", "3");
}

#[test]
fn a_resume_that_does_not_fit_the_checkpoint_is_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    image_folder(dir.path());
    let data = dir.path().to_str().unwrap();
    let out = dir.path().join("run");
    let lite0 = "efficientnet-lite0";
    let fails = |backbone: &str, extra: &[&str], expected: &str| {
        let output = two_epochs(data, &out, backbone, extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        // After the line that announces the run, one error line.
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
        let checkpoint = out.join("checkpoint.safetensors").display().to_string();
        assert!(
            errors.len() == 1 && errors[0].contains(&checkpoint) && errors[0].contains(expected),
            "{stderr}"
        );
    };
    fails(lite0, &["--resume"], "no checkpoint");
    succeeds(two_epochs(data, &out, lite0, &["--max-steps", "2"]));
    fails(lite0, &["--max-steps", "3"], "already exists");
    fails(lite0, &["--resume", "--seed", "6"], "seed 5, not 6");
    fails(
        lite0,
        &["--resume", "--batch-size", "2"],
        "another configuration",
    );
    fails(lite0, &["--resume", "--image-size", "40"], "32x32");
    fails(
        lite0,
        &["--resume", "--backbone-lr-scale", "0.5"],
        "learning-rate scale 1, not 0.5",
    );
    fails("resnet50", &["--resume"], "backbone efficientnet-lite0");
}

/// Checks, when iteration `at` has just been trained, that the checkpoint on disk is that of iteration
/// `expected`, `inside` iterations into its epoch.
struct Probe {
    checkpoint: PathBuf,
    iterations_per_epoch: usize,
    at: usize,
    expected: (usize, usize),
    seen: bool,
}

impl Observer for Probe {
    fn on_step(&mut self, p: &StepProgress) {
        if p.epoch * self.iterations_per_epoch + p.done == self.at {
            let ck = ImageCheckpoint::load(&self.checkpoint, &default_device().autodiff()).unwrap();
            assert_eq!((ck.iteration, ck.epoch_iteration), self.expected);
            assert_eq!(ck.epochs_done, self.expected.0 / self.iterations_per_epoch);
            assert!(ck.epoch_loss_sum > 0.0 && ck.epoch_seconds > 0.0, "{ck:?}");
            self.seen = true;
        }
    }
}

#[test]
fn checkpoint_every_leaves_the_last_multiple_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    image_folder(dir.path());
    let data = dir
        .path()
        .to_str()
        .unwrap()
        .parse::<ImageSpec>()
        .unwrap()
        .load()
        .unwrap();
    let mut config = TrainConfig::from_toml(
        include_str!("../../../configs/erm.toml"),
        "configs/erm.toml",
    )
    .unwrap();
    config.schedule.epochs = 2;
    config.schedule.batch_size = 4;
    let out = dir.path().join("run");
    let options = FinetuneOptions {
        seed: 1,
        out: out.clone(),
        backbone: BackboneKind::EfficientnetLite0,
        weights: BackboneWeights::Random,
        image_size: 32,
        max_steps: None,
        checkpoint_every: Some(3),
        resume: false,
        prefetch: 1,
        backbone_lr_scale: 1.0,
        log_every: 0,
        holdout: false,
    };
    // 4 iterations per epoch: checkpoints after iterations 3, 4 (epoch end), 6 and 8 (epoch end). When
    // iteration 7 is done, the one of iteration 6 (2 into the second epoch) is on disk.
    let mut probe = Probe {
        checkpoint: out.join("checkpoint.safetensors"),
        iterations_per_epoch: 4,
        at: 7,
        expected: (6, 2),
        seen: false,
    };
    let device = default_device().autodiff();
    let outcome = finetune(&data, &config, &options, &device, &mut probe).unwrap();
    assert!(probe.seen);
    assert_eq!(outcome.metrics["iterations"], 8);
    let last = ImageCheckpoint::load(&out.join("checkpoint.safetensors"), &device).unwrap();
    assert_eq!(
        (last.epochs_done, last.iteration, last.epoch_iteration),
        (2, 8, 0)
    );
    assert_eq!(last.class_names, ["cat", "dog", "cup"]);
    assert_eq!(last.backbone, BackboneKind::EfficientnetLite0);
    assert_eq!(last.weights, "none");
}
