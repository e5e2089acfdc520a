//! `mllt train --backbone`: end-to-end fine-tuning on an image folder, a VOC tree and a COCO tree that the
//! test writes (small JPEGs and PNGs, VOC XML, COCO JSON): three CPU training steps with each backbone from
//! random weights, and the errors for missing or corrupt images.

use std::path::Path;
use std::process::{Command, Output};

use image::{Rgb, RgbImage};
use serde_json::Value;

fn mllt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args(args)
        .output()
        .unwrap()
}

/// A 48×40 image with a colour that depends on `k`, saved as PNG or JPEG by the extension of `path`.
fn write_image(path: &Path, k: usize) {
    let colour = Rgb([
        (37 * k % 256) as u8,
        (91 * k % 256) as u8,
        (53 * k % 256) as u8,
    ]);
    let image = RgbImage::from_fn(48, 40, |x, y| {
        if (x + y) % 7 == 0 {
            Rgb([255, 255, 255])
        } else {
            colour
        }
    });
    image.save(path).unwrap();
}

/// Labels of item `k` among `classes`: class `k % n` and, for odd `k`, the next one.
fn labels_of(k: usize, classes: &[&str]) -> Vec<String> {
    let n = classes.len();
    let mut labels = vec![classes[k % n].to_string()];
    if k % 2 == 1 {
        labels.push(classes[(k + 1) % n].to_string());
    }
    labels
}

/// An image folder of 3 classes, 16 training and 8 test images.
fn image_folder(root: &Path) {
    let classes = ["cat", "dog", "cup"];
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::write(root.join("classes.txt"), classes.join("\n") + "\n").unwrap();
    for (split, n) in [("train", 16), ("test", 8)] {
        let mut tsv = String::from("id\tlabels\n");
        for k in 0..n {
            let name = format!("{split}{k}.{}", if k % 2 == 0 { "png" } else { "jpg" });
            write_image(&root.join("images").join(&name), k + n);
            tsv += &format!("{name}\t{}\n", labels_of(k, &classes).join(","));
        }
        std::fs::write(root.join(format!("{split}.tsv")), tsv).unwrap();
    }
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
    let model = std::fs::metadata(out.join("model.safetensors")).unwrap();
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
