//! `mllt reproduce` end to end on a tiny synthetic feature folder: per-method tuning on validation, every output
//! file, the results and summary schemas, the paired comparison, both protocols, the selection check, and
//! determinism.

use std::path::Path;
use std::process::Command;

use mllt_nn::features::{FeatureDtype, SyntheticSpec, synthetic};
use serde_json::Value;

/// Runs `mllt reproduce` on `data` into `out` with `extra` arguments; returns stdout and summary.json.
fn run(data: &Path, out: &Path, extra: &[&str]) -> (String, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args(["reproduce", "--data", data.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        summary,
    )
}

fn toy(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("toy");
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
    data
}

fn map(v: &Value) -> f64 {
    v["validation_map"].as_f64().unwrap_or(f64::NEG_INFINITY)
}

const MATCHED: [&str; 8] = [
    "--methods",
    "erm,rs,r-bce,db-focal",
    "--seeds",
    "2",
    "--iterations",
    "60",
    "--jobs",
    "2",
];

#[test]
fn reproduce_tunes_every_method_and_writes_results_tables_csv_and_figure() {
    let dir = tempfile::tempdir().unwrap();
    let data = toy(dir.path());
    let out = dir.path().join("rep");
    let (stdout, summary) = run(&data, &out, &MATCHED);
    assert!(stdout.contains("| db-focal |"), "{stdout}");
    assert!(
        stdout.contains("| random scores (chance, 20 draws) |"),
        "{stdout}"
    );
    assert!(stdout.contains("every method against db-focal"), "{stdout}");
    // Table 2 holds the re-sampling rows that ran: here RS alone.
    let table2 = stdout
        .split("Table 2, re-sampling combined with re-weighting")
        .nth(1)
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        table2.contains("| rs |") && !table2.contains("| erm |"),
        "{table2}"
    );
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results, summary["results"]);
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

    assert_eq!(summary["protocol"], "matched");
    assert_eq!(summary["tune_iterations"], 15, "a quarter of --iterations");
    assert!(summary["seconds"].as_f64().unwrap() > 0.0);
    if cfg!(target_os = "linux") {
        assert!(summary["peak_memory_bytes"].as_u64().unwrap() > 1_000_000);
    }
    assert_eq!(summary["selection_check"], Value::Null);
    // Every method has its own search: the learning-rate scale, then its key parameters.
    let tuning = &summary["tuning"]["toy"];
    let params = |m: &str| -> Vec<String> {
        tuning[m]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["param"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(params("erm"), ["lr_scale"]);
    assert_eq!(params("rs"), ["lr_scale"]);
    assert_eq!(params("r-bce"), ["lr_scale", "rebalance_mu"]);
    assert_eq!(
        params("db-focal"),
        ["lr_scale", "rebalance_mu", "ntr_lambda"]
    );
    for (method, t) in tuning.as_object().unwrap() {
        let stages = t["stages"].as_array().unwrap();
        for stage in stages {
            let points = stage["points"].as_array().unwrap();
            let param = stage["param"].as_str().unwrap();
            assert!(points.len() >= 3, "{method} {param}: {points:?}");
            let start = stage["start"].as_array().unwrap().len();
            assert_eq!(stage["extended"], points.len() > start, "{method} {param}");
            // The choice is the best validation mAP (ties to the smaller value), and it is not on an edge
            // of the evaluated grid unless that edge is the ladder's end.
            let best = points
                .iter()
                .fold(None::<&Value>, |b, p| match b {
                    Some(b) if map(b) >= map(p) => Some(b),
                    _ => Some(p),
                })
                .unwrap();
            assert_eq!(stage["choice"], best["values"][param], "{method} {param}");
            for p in points {
                // A diverged run (a failed point, scored −∞) records why instead of a mAP.
                let iterations = p["iterations"].as_u64().unwrap();
                assert!(
                    p["error"].is_string() || (iterations > 0 && iterations < 60),
                    "{method}: {p}"
                );
                assert!(p.get("full").is_none());
            }
        }
        assert_eq!(
            t["chosen"]["lr_scale"], stages[0]["choice"],
            "{method}: the chosen learning-rate scale"
        );
    }
    let db = &tuning["db-focal"]["stages"];
    assert!(
        db[2]["points"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["values"]["rebalance_mu"] == db[1]["choice"]),
        "λ is searched at the chosen μ"
    );
    let chance = summary["random_baseline"]["toy"]["total"].as_f64().unwrap();
    assert!(chance > 0.0 && chance < 1.0);
    let comparison = &summary["comparison"]["toy"];
    assert_eq!(comparison["reference"], "db-focal");
    assert_eq!(comparison["resamples"], 1000);
    let rows = comparison["methods"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let m = row["method"].as_str().unwrap();
        let per_seed = row["per_seed"].as_array().unwrap();
        assert_eq!(per_seed.len(), 2);
        let want = results["toy"][m]["total"].as_f64().unwrap()
            - results["toy"]["db-focal"]["total"].as_f64().unwrap();
        assert!((row["mean"].as_f64().unwrap() - want).abs() < 1e-9, "{row}");
        assert!(row["ci_low"].as_f64().unwrap() <= row["ci_high"].as_f64().unwrap());
    }
    // The same command gives the same numbers, whatever the number of parallel runs.
    let mut one_job = MATCHED;
    one_job[7] = "1";
    let (_, again) = run(&data, &dir.path().join("again"), &one_job);
    for key in ["results", "tuning", "comparison", "random_baseline"] {
        assert_eq!(again[key], summary[key], "{key}");
    }
}

#[test]
fn reproduce_paper_protocol_checks_the_cheap_selection() {
    let dir = tempfile::tempdir().unwrap();
    let data = toy(dir.path());
    let out = dir.path().join("paper");
    let args = [
        "--methods",
        "erm,db-focal",
        "--seeds",
        "1",
        "--protocol",
        "paper",
        "--check-selection",
        "--jobs",
        "2",
    ];
    let (stdout, summary) = run(&data, &out, &args);
    assert!(stdout.contains("protocol paper"), "{stdout}");
    assert_eq!(summary["protocol"], "paper");
    // The final runs train the presets' schedules: ERM 80 epochs, DB-Focal 8.
    assert_eq!(summary["schedules"]["toy"]["erm"]["epochs"], 80);
    assert_eq!(summary["schedules"]["toy"]["db-focal"]["epochs"], 8);
    let check = &summary["selection_check"]["toy"];
    assert_eq!(
        check["overall"]["stages"],
        1 + 3,
        "ERM's lr; DB-Focal's lr, μ, λ"
    );
    let stages = check["stages"].as_array().unwrap();
    let agreed = stages.iter().filter(|s| s["agree"] == true).count();
    assert_eq!(check["overall"]["agreed"], agreed);
    for s in stages {
        assert!(s["map_lost"].as_f64().unwrap_or(0.0) >= 0.0, "{s}");
        assert_eq!(s["agree"], s["cheap_choice"] == s["full_choice"], "{s}");
    }
    // Every validation point trained at both lengths: the cheap run is a quarter of the full one, roughly.
    for t in summary["tuning"]["toy"].as_object().unwrap().values() {
        for stage in t["stages"].as_array().unwrap() {
            let trained = |p: &&Value| p["error"].is_null() && p["full"]["error"].is_null();
            for p in stage["points"].as_array().unwrap().iter().filter(trained) {
                let cheap = p["iterations"].as_u64().unwrap() as f64;
                let full = p["full"]["iterations"].as_u64().unwrap() as f64;
                assert!(cheap > 0.0 && cheap < full / 2.0, "{p}");
            }
        }
    }
}

#[test]
fn confirm_lr_retrains_the_learning_rate_choice_and_its_neighbours_at_full_length() {
    let dir = tempfile::tempdir().unwrap();
    let data = toy(dir.path());
    let out = dir.path().join("rep");
    let args: Vec<&str> = MATCHED.iter().copied().chain(["--confirm-lr"]).collect();
    let (_, summary) = run(&data, &out, &args);
    assert_eq!(summary["confirm_lr"], true);
    for (method, t) in summary["tuning"]["toy"].as_object().unwrap() {
        let lr = &t["stages"][0];
        assert_eq!(lr["param"], "lr_scale", "{method}");
        let confirmed: Vec<f64> = lr["confirmed"]
            .as_array()
            .unwrap_or_else(|| panic!("{method}: {lr}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(
            (2..=3).contains(&confirmed.len()),
            "{method}: {confirmed:?}"
        );
        assert!(confirmed.contains(&lr["cheap_choice"].as_f64().unwrap()));
        // The choice is the confirmed value with the best full-length validation mAP.
        let full = |v: f64| {
            lr["points"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["values"]["lr_scale"].as_f64() == Some(v))
                .and_then(|p| p["full"]["validation_map"].as_f64())
                .unwrap_or(f64::NEG_INFINITY)
        };
        let best = confirmed
            .iter()
            .copied()
            .fold(None::<f64>, |b, v| match b {
                Some(b) if full(b) >= full(v) => Some(b),
                _ => Some(v),
            })
            .unwrap();
        assert_eq!(lr["choice"].as_f64(), Some(best), "{method}: {lr}");
        // Key parameters are not confirmed.
        for stage in t["stages"].as_array().unwrap().iter().skip(1) {
            assert!(stage.get("confirmed").is_none(), "{method}: {stage}");
        }
    }
}

/// ML-GCN and OLTR, the two baselines with heads of their own, run in reproduce: ML-GCN
/// on the MiniLM embeddings of the class names (fetched into the cache on first use), its label graph's τ
/// searched after the learning rate; OLTR with the learning rate alone.
#[test]
fn reproduce_runs_the_ml_gcn_and_oltr_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let data = toy(dir.path());
    let out = dir.path().join("baselines");
    let args = [
        "--methods",
        "ml-gcn,oltr",
        "--seeds",
        "1",
        "--iterations",
        "60",
        "--jobs",
        "2",
    ];
    let (stdout, summary) = run(&data, &out, &args);
    assert!(
        stdout.contains("| ml-gcn |") && stdout.contains("| oltr |"),
        "{stdout}"
    );
    for method in ["ml-gcn", "oltr"] {
        let total = summary["results"]["toy"][method]["total"].as_f64();
        assert!(total.is_some_and(|t| (0.0..=1.0).contains(&t)), "{method}");
    }
    let params = |method: &str| -> Vec<String> {
        summary["tuning"]["toy"][method]["stages"]
            .as_array()
            .unwrap_or_else(|| panic!("{method}: {summary}"))
            .iter()
            .map(|s| s["param"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(params("ml-gcn"), ["lr_scale", "gcn_tau"]);
    assert_eq!(params("oltr"), ["lr_scale"]);
}
