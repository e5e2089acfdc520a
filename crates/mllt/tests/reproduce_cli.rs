//! `mllt reproduce` end to end on a tiny synthetic feature folder: validation tuning, every output file, the
//! results schema, and determinism.

use std::process::Command;

use mllt_nn::features::{FeatureDtype, SyntheticSpec, synthetic};
use serde_json::Value;

fn run(data: &str, out: &std::path::Path, jobs: &str) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args([
            "reproduce",
            "--data",
            data,
            "--methods",
            "erm,rs,r-bce,db-focal",
            "--seeds",
            "2",
        ])
        .args(["--iterations", "60", "--out", out.to_str().unwrap()])
        .args(["--jobs", jobs])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("| db-focal |"), "{text}");
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

#[test]
fn reproduce_writes_results_table_csv_and_figure() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("toy");
    let spec = SyntheticSpec {
        classes: 6,
        train: 200,
        test: 80,
        dim: 8,
        tail: 1.0,
        noise: 1.0,
        seed: 3,
    };
    synthetic(&spec).write(&data, FeatureDtype::F32).unwrap();
    let out = dir.path().join("rep");
    let results = run(data.to_str().unwrap(), &out, "2");
    let methods = results["toy"].as_object().unwrap();
    assert_eq!(methods.len(), 4);
    for (method, r) in methods {
        let total = r["total"]
            .as_f64()
            .unwrap_or_else(|| panic!("{method}: {r}"));
        assert!((0.0..=1.0).contains(&total), "{method}: {total}");
        assert!(r["std"]["total"].as_f64().unwrap() >= 0.0);
    }
    for file in [
        "table.md",
        "summary.json",
        "toy_per_class.csv",
        "toy_fig6.svg",
        "toy_fig6.png",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let csv = std::fs::read_to_string(out.join("toy_per_class.csv")).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "class,group,n_train,n_test,erm,rs,r-bce,db-focal"
    );
    assert_eq!(csv.lines().count(), 1 + 6);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let tuning = &summary["tuning"]["toy"];
    let grid = tuning["grid"].as_array().unwrap();
    assert_eq!(
        grid.len(),
        3 + 4,
        "lr scale (ERM), then μ × λ (DB-Focal) on validation"
    );
    let best_lr = grid[..3]
        .iter()
        .max_by(|a, b| {
            let map = |v: &Value| v["validation_map"].as_f64().unwrap();
            map(a).total_cmp(&map(b))
        })
        .unwrap();
    assert_eq!(tuning["lr_scale"], best_lr["lr_scale"]);
    assert!(
        grid[3..]
            .iter()
            .all(|g| g["lr_scale"] == tuning["lr_scale"])
    );
    assert!([0.2, 0.3].contains(&tuning["mu"].as_f64().unwrap()));
    // The same command gives the same numbers, whatever the number of parallel runs.
    assert_eq!(
        run(data.to_str().unwrap(), &dir.path().join("again"), "1"),
        results
    );
}
