//! `mllt sweep` end to end.

use std::path::Path;
use std::process::Command;

fn mllt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args(args)
        .output()
        .unwrap()
}

fn sweep(out: &Path, method: &str) -> std::process::Output {
    mllt(&[
        "sweep",
        "--data",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/openclipart-mlt"),
        "--method",
        method,
        "--param",
        "lambda",
        "--values",
        "0.5,10",
        "--seeds",
        "1",
        "--iterations",
        "40",
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn lambda_sweep_writes_json_and_figure_and_repeats_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let run = sweep(out, "db-focal");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let read = |out: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join("sweep.json")).unwrap()).unwrap()
    };
    let report = read(&a);
    assert_eq!(report["param"], "lambda");
    assert_eq!(report["method"], "db-focal");
    let points = report["points"].as_array().unwrap();
    let values: Vec<f64> = points
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, vec![0.5, 10.0]);
    for p in points {
        let total = p["total"][0].as_f64().unwrap();
        assert!(total > 0.0 && total <= 1.0, "{p}");
        assert_eq!(p["per_seed"].as_array().unwrap().len(), 1);
    }
    // λ reaches the loss: the two values train different models.
    assert_ne!(points[0]["total"], points[1]["total"]);
    // The same seed gives the same numbers.
    assert_eq!(report["points"], read(&b)["points"]);
    for ext in ["svg", "png"] {
        assert!(
            std::fs::metadata(a.join(format!("sweep_lambda.{ext}")))
                .unwrap()
                .len()
                > 1000
        );
    }
}

#[test]
fn a_method_without_the_parameter_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = sweep(dir.path(), "erm");
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("--param lambda") && err.trim().lines().count() == 1,
        "{err}"
    );
}
