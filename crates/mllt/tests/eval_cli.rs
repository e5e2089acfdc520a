//! `mllt eval` end to end: a run checked against values computed by hand, and bad input (one `error:` line,
//! exit 1; usage errors exit 2).

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// The test labels of items p, q, r, s.
const TEST_LABELS: &str = "image_id\tlabels\np\ta\nq\ta,b\nr\t\ns\tb\n";

/// A test folder with classes a, b, c, four labelled items and a training label file.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let f = Fixture { dir };
        f.write("classes.txt", "a\nb\nc\n");
        f.write("test.tsv", TEST_LABELS);
        // Training counts a 120 (head), b 30 (medium), c 5 (tail).
        let mut train = String::from("image_id\tlabels\n");
        for k in 0..120 {
            let mut l = vec!["a"];
            if k < 30 {
                l.push("b");
            }
            if k < 5 {
                l.push("c");
            }
            train.push_str(&format!("t{k}\t{}\n", l.join(",")));
        }
        f.write("train.tsv", &train);
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `mllt eval --scores <scores> --labels test.tsv --classes classes.txt <extra>`.
    fn eval(&self, scores: &str, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mllt"))
            .arg("eval")
            .arg("--scores")
            .arg(self.path(scores))
            .arg("--labels")
            .arg(self.path("test.tsv"))
            .arg("--classes")
            .arg(self.path("classes.txt"))
            .args(extra)
            .output()
            .unwrap()
    }
}

/// Scores of p, q, r, s for a, b, c:
/// * a: 1, 2, −1, 0 with positives p, q → ranked first: AP 1. At > 0: TP 2, TN 2.
/// * b: −1, 3, 5, 0 with positives q, s → ranking r(−) q(+) s(+) p(−): P 1/2 at R 1/2, 2/3 at R 1 →
///   AP (1/2 + 2/3)/2 = 7/12. At > 0: TP 1, FP 1, FN 1, TN 1.
/// * c: no positive; never predicted.
const SCORES: &str = "a\tb\tc\n1\t-1\t-1\n2\t3\t-2\n-1\t5\t0\n0\t0\t-3\n";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
}

#[test]
fn json_report_matches_hand_computed_values() {
    let f = Fixture::new();
    f.write("s.tsv", SCORES);
    let train = f.path("train.tsv");
    let out = f.eval(
        "s.tsv",
        &["--json", "--train-labels", train.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    close(&j["ap"]["a"], 1.0);
    close(&j["ap"]["b"], 7.0 / 12.0);
    assert!(j["ap"]["c"].is_null());
    assert_eq!(j["empty_classes"], serde_json::json!(["c"]));
    // Skip: the empty class c is left out of the total and of the tail.
    close(&j["map"]["total"], (1.0 + 7.0 / 12.0) / 2.0);
    close(&j["map"]["head"], 1.0);
    close(&j["map"]["medium"], 7.0 / 12.0);
    assert!(j["map"]["tail"].is_null());
    // micro F1 = 2·3 / (2·3 + 1 + 1); macro F1 = (1 + 1/2 + 0)/3; accuracy = (1 + 1/2 + 1)/3.
    close(&j["f1"]["micro"], 0.75);
    close(&j["f1"]["macro"], 0.5);
    close(&j["accuracy"], 2.5 / 3.0);
    close(&j["threshold"], 0.0);

    // Zero: the reference mean; the tail is c alone, AP 0.
    let out = f.eval(
        "s.tsv",
        &["--json", "--empty-classes", "zero", "--threshold", "-0.5"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    close(&j["ap"]["c"], 0.0);
    close(&j["map"]["total"], (1.0 + 7.0 / 12.0) / 3.0);
    assert!(
        j["map"]["head"].is_null(),
        "no split without --train-labels"
    );
    close(&j["threshold"], -0.5);
}

#[test]
fn table_npy_ids_and_per_class_csv() {
    let f = Fixture::new();
    // The same scores as an npy (f8, C order) and as a TSV keyed by id in another order.
    let values = [
        1.0f64, -1.0, -1.0, 2.0, 3.0, -2.0, -1.0, 5.0, 0.0, 0.0, 0.0, -3.0,
    ];
    let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }";
    // Padded so that magic, version, length and header fill 128 bytes, as NumPy does.
    let header = format!("{dict}{}\n", " ".repeat(128 - 10 - dict.len() - 1));
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header.as_bytes());
    npy.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(f.path("s.npy"), npy).unwrap();
    f.write(
        "ids.tsv",
        "s\t0\t0\t-3\nq\t2\t3\t-2\np\t1\t-1\t-1\nr\t-1\t5\t0\n",
    );
    let csv = f.path("per_class.csv");
    let train = f.path("train.tsv");
    let args = [
        "--train-labels",
        train.to_str().unwrap(),
        "--per-class",
        csv.to_str().unwrap(),
    ];
    let out = f.eval("s.npy", &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("head 1, medium 1, tail 1"), "{table}");
    assert!(table.contains("79.17"), "{table}"); // total mAP (1 + 7/12)/2 in percent
    assert!(
        table.contains("(no positive in the test labels; left out of mAP): c"),
        "{table}"
    );
    let rows = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = rows.lines().collect();
    assert_eq!(lines[0], "class,group,n_train,n_test,ap,f1,accuracy");
    assert_eq!(lines[1], "a,head,120,2,1,1,1");
    assert_eq!(lines[3], "c,tail,5,0,,0,1");

    let by_id = f.eval("ids.tsv", &args);
    assert!(by_id.status.success(), "{}", stderr(&by_id));
    assert_eq!(
        String::from_utf8(by_id.stdout)
            .unwrap()
            .lines()
            .skip(1)
            .collect::<Vec<_>>(),
        table.lines().skip(1).collect::<Vec<_>>()
    );

    // The shipped VOC-MLT has other classes.
    let out = f.eval("s.npy", &["--train-labels", "voc-mlt"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("do not have the test classes"),
        "{}",
        stderr(&out)
    );
}

/// Runs with the given score text and expects exit 1 with one `error:` line holding every `needles`.
fn expect_error(f: &Fixture, scores: &str, needles: &[&str]) {
    f.write("bad.tsv", scores);
    let out = f.eval("bad.tsv", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );
    for n in needles {
        assert!(err.contains(n), "`{n}` not in {err}");
    }
}

#[test]
fn bad_input_is_one_error_line_and_exit_1() {
    let f = Fixture::new();
    let bad = f.path("bad.tsv");
    let bad = bad.to_str().unwrap();
    expect_error(
        &f,
        "1\t2\t3\n4\tnan\t6\n",
        &[&format!("{bad}:2:"), "column 2", "NaN"],
    );
    expect_error(
        &f,
        "1\t2\t3\n",
        &[bad, "1 score rows", "test.tsv", "4 label rows"],
    );
    expect_error(
        &f,
        "1\t2\n",
        &[&format!("{bad}:1:"), "found 2 tab-separated fields"],
    );

    f.write("s.tsv", SCORES);
    f.write("test.tsv", "image_id\tlabels\np\ta\nq\tzebra\nr\t\ns\tb\n");
    let out = f.eval("s.tsv", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("test.tsv:3: unknown class `zebra`"),
        "{}",
        stderr(&out)
    );
    f.write("test.tsv", TEST_LABELS);

    std::fs::write(f.path("short.npy"), b"\x93NUMPY\x01\x00\x76\x00{'descr'").unwrap();
    let out = f.eval("short.npy", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("short.npy: npy header: truncated"),
        "{}",
        stderr(&out)
    );
    let out = f.eval("missing.npy", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.npy"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let f = Fixture::new();
    f.write("s.tsv", SCORES);
    for extra in [
        &["--bogus"][..],
        &["--empty-classes", "maybe"],
        &["--threshold", "nan"],
    ] {
        let out = f.eval("s.tsv", extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args(["eval", "--labels", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
