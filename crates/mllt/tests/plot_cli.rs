//! `mllt plot` end to end.

use std::process::Command;

fn mllt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn gradients_writes_fig3_json_and_three_panels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig3");
    let run = mllt(&[
        "plot",
        "gradients",
        "--out",
        out.to_str().unwrap(),
        "--min",
        "-4",
        "--max",
        "4",
        "--points",
        "9",
        "--lambdas",
        "2,10",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for stem in ["fig3a_ce", "fig3b_bce", "fig3c_ntr"] {
        for ext in ["svg", "png"] {
            let f = out.join(format!("{stem}.{ext}"));
            assert!(
                std::fs::metadata(&f).unwrap().len() > 1000,
                "{}",
                f.display()
            );
        }
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("fig3_gradients.json")).unwrap()).unwrap();
    let logits = json["logits"].as_array().unwrap();
    assert_eq!(logits.len(), 9);
    assert_eq!(logits[0].as_f64(), Some(-4.0));
    // At z = 4, BCE's gradient is σ(4) = 0.98201; NTR with λ = 10 at z = −4 is σ(−40) ≈ 4e−18, far below
    // BCE's σ(−4) = 0.01799 (the tolerance of Fig. 3c).
    let bce = json["bce"].as_array().unwrap();
    assert!((bce[8].as_f64().unwrap() - 0.982_013_8).abs() < 1e-5);
    assert!((bce[0].as_f64().unwrap() - 0.017_986_2).abs() < 1e-5);
    let ntr10 = &json["ntr"][1];
    assert_eq!(ntr10["value"].as_f64(), Some(10.0));
    assert!(ntr10["gradient"][0].as_f64().unwrap() < 1e-12);
    // CE with C = 80 and the positive logit at 10: e^4 / (e^10 + e^4 + 78) = 0.002462 at z = 4.
    let ce10 = &json["ce"][2];
    assert_eq!(ce10["value"].as_f64(), Some(10.0));
    let want = 4f64.exp() / (10f64.exp() + 4f64.exp() + 78.0);
    assert!((ce10["gradient"][8].as_f64().unwrap() - want).abs() < 1e-6);
}

#[test]
fn gradients_refuses_a_bad_range_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = mllt(&[
        "plot",
        "gradients",
        "--out",
        dir.path().to_str().unwrap(),
        "--lambdas",
        "-1",
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("--lambdas") && err.trim().lines().count() == 1,
        "{err}"
    );
}
