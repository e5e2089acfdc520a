//! `mllt stats` and `mllt make-longtail` end to end.

use std::process::Command;

fn mllt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args(args)
        .output()
        .unwrap()
}

fn stats_json(data: &str) -> serde_json::Value {
    let out = mllt(&["stats", data, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn split_sizes(v: &serde_json::Value) -> [usize; 3] {
    ["head", "medium", "tail"].map(|g| v["split"][g].as_array().unwrap().len())
}

fn count_range(v: &serde_json::Value) -> (u64, u64) {
    let counts: Vec<u64> = v["class_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    (*counts.iter().max().unwrap(), *counts.iter().min().unwrap())
}

#[test]
fn official_subsets_reproduce_the_paper() {
    let voc = stats_json("voc-mlt");
    assert_eq!(
        (voc["images"].as_u64(), voc["classes"].as_u64()),
        (Some(1142), Some(20))
    );
    assert_eq!(count_range(&voc), (775, 4));
    assert_eq!(split_sizes(&voc), [6, 6, 8]);
    assert_eq!(voc["class_names"][14], "person");
    let coco = stats_json("coco-mlt");
    assert_eq!(
        (coco["images"].as_u64(), coco["classes"].as_u64()),
        (Some(1909), Some(80))
    );
    assert_eq!(count_range(&coco), (1128, 6));
    assert_eq!(split_sizes(&coco), [22, 33, 25]);
    assert_eq!(coco["epoch_len"], 22560);
    let share = coco["resampled_share"].as_array().unwrap();
    assert_eq!(share.len(), 80);
    assert!((coco["label_cardinality"].as_f64().unwrap() - 4.356).abs() < 5e-4);
}

#[test]
fn split_thresholds_are_configurable() {
    let out = mllt(&["stats", "voc-mlt", "--json", "--head-min", "101"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // pottedplant (n = 100) moves to medium: the paper's ">100" reading gives 5/7/8.
    assert_eq!(split_sizes(&v), [5, 7, 8]);
}

#[test]
fn bad_input_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("classes.txt"), "a\nb\n").unwrap();
    std::fs::write(dir.path().join("labels.tsv"), "id\tlabels\nx\ta\ny\tq\n").unwrap();
    let out = mllt(&["stats", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("labels.tsv:3: unknown class `q`"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(mllt(&["stats"]).status.code(), Some(2));
    assert_eq!(
        mllt(&["stats", "voc-mlt", "--reduce", "0"]).status.code(),
        Some(2)
    );
}

#[test]
fn plots_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = mllt(&["stats", "voc-mlt", "--plots", dir.path().to_str().unwrap()]);
    assert!(out.status.success());
    for f in ["cooccurrence", "resampling", "sampling_variance"] {
        for ext in ["svg", "png"] {
            assert!(dir.path().join(format!("{f}.{ext}")).is_file(), "{f}.{ext}");
        }
    }
}

#[test]
fn test_distribution_in_training_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/openclipart-mlt");
    let test = format!("{data}/test.tsv");
    let out = mllt(&[
        "stats",
        &format!("{data}/train.tsv"),
        "--test-labels",
        &test,
        "--json",
        "--plots",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ext in ["svg", "png"] {
        assert!(
            dir.path()
                .join(format!("test_distribution.{ext}"))
                .is_file()
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let test_counts: Vec<u64> = v["test_class_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(test_counts.len(), 187);
    // Every test label counted once: the sum over classes is the number of labels in test.tsv.
    let labels: u64 = std::fs::read_to_string(&test)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let field = l.split('\t').nth(1).unwrap_or("");
            field.split(',').filter(|s| !s.is_empty()).count() as u64
        })
        .sum();
    assert_eq!(test_counts.iter().sum::<u64>(), labels);
    // Labels of other classes are refused in one line naming the flag.
    let bad = mllt(&["stats", "voc-mlt", "--test-labels", &test]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--test-labels") && err.trim().lines().count() == 1,
        "{err}"
    );
}

#[test]
fn make_longtail_writes_a_voc_mlt_like_subset() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("lt");
    let args = [
        "make-longtail",
        "--labels",
        "voc2012-trainval",
        "--max",
        "800",
        "--min",
        "1",
        "--shape",
        "6",
    ];
    let out = mllt(
        &[
            &args[..],
            &[
                "--seed",
                "5",
                "--out",
                out_dir.to_str().unwrap(),
                "--plots",
                dir.path().join("fig8").to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("class_stats.json")).unwrap())
            .unwrap();
    let images = stats["images"].as_u64().unwrap();
    assert!((images as f64 - 1142.0).abs() < 0.08 * 1142.0, "{images}");
    // The written folder is itself a dataset: stats on it agree with class_stats.json.
    let again = stats_json(out_dir.to_str().unwrap());
    assert_eq!(again["images"], stats["images"]);
    assert_eq!(again["class_counts"], stats["class_counts"]);
    assert_eq!(again["split"], stats["split"]);
    assert_eq!(stats["construction"]["reference"][1], 529);
    // Fig. 8: the Pareto pdfs and the construction's steps, one bar per class (20 classes, in the
    // construction's order, their names drawn).
    for stem in ["fig8a_pareto", "fig8b_construction"] {
        for ext in ["svg", "png"] {
            let f = dir.path().join("fig8").join(format!("{stem}.{ext}"));
            assert!(
                std::fs::metadata(&f).unwrap().len() > 1000,
                "{}",
                f.display()
            );
        }
    }
    let svg = std::fs::read_to_string(dir.path().join("fig8/fig8b_construction.svg")).unwrap();
    assert!(
        svg.contains("\nperson\n") && svg.contains("\nsheep\n"),
        "class names"
    );
    let pareto = std::fs::read_to_string(dir.path().join("fig8/fig8a_pareto.svg")).unwrap();
    assert!(pareto.contains("b = 6 (this construction)") && pareto.contains("b = 1"));
}
