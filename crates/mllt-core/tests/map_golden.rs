//! The metrics against `golden/map_golden.json`: values produced by the reference evaluation
//! (`eval_map`, `eval_F1`, `eval_acc` of wutong16/DistributionBalancedLoss, scikit-learn 1.9.1) on random
//! logits with real VOC-MLT / COCO-MLT label rows. See `shared/reference/official-code-semantics.md` §7.

use mllt_core::datasets::Shipped;
use mllt_core::metrics::{EmptyClassPolicy, Evaluation, GroupMetrics};
use mllt_core::scores::ScoreMatrix;
use mllt_core::{Group, LabelSet, SplitRule};
use serde_json::Value;

const TOL: f64 = 1e-12;

fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/map_golden.json");
    let text = std::fs::read_to_string(path).expect("golden file");
    serde_json::from_str(&text).expect("golden JSON")
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

fn indices(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= TOL, "{what}: got {got}, want {want}");
}

/// The case's labels and scores as a label set (ids and class names are placeholders) and a score matrix.
fn inputs(case: &Value) -> (LabelSet, ScoreMatrix) {
    let labels = case["labels"].as_array().unwrap();
    let scores = case["scores"].as_array().unwrap();
    let n = labels.len();
    let c = labels[0].as_array().unwrap().len();
    let rows = labels
        .iter()
        .map(|row| {
            let row = row.as_array().unwrap();
            (0..c).filter(|&j| row[j].as_u64() == Some(1)).collect()
        })
        .collect();
    let set = LabelSet::new(
        (0..n).map(|k| k.to_string()).collect(),
        (0..c).map(|j| format!("class{j}")).collect(),
        rows,
    )
    .unwrap();
    let data = scores
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(f))
        .collect();
    (set, ScoreMatrix::new(n, c, data).unwrap())
}

fn check_threshold_metrics(got: &GroupMetrics, want: &Value, what: &str) {
    close(
        got.threshold.micro_f1,
        f(&want["micro_f1"]),
        &format!("{what} micro F1"),
    );
    close(
        got.threshold.macro_f1,
        f(&want["macro_f1"]),
        &format!("{what} macro F1"),
    );
    close(
        got.threshold.accuracy,
        f(&want["acc"]),
        &format!("{what} accuracy"),
    );
}

#[test]
fn reference_ap_map_f1_and_accuracy() {
    let golden = golden();
    let cases = golden["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 3);
    for (name, case) in cases {
        let (labels, scores) = inputs(case);
        assert_eq!(
            labels.len() as u64,
            case["n_rows"].as_u64().unwrap(),
            "{name}"
        );
        // The split of the training counts of the subset the label rows come from (§1 of the semantics).
        let train = if name.starts_with("voc") {
            Shipped::VocMlt
        } else {
            Shipped::CocoMlt
        };
        let split = SplitRule::default().split(&train.labels().class_counts());
        for (g, key) in [
            (Group::Head, "head"),
            (Group::Medium, "middle"),
            (Group::Tail, "tail"),
        ] {
            assert_eq!(
                split.members(g),
                indices(&case["splits"][key]["classes"]),
                "{name} {key}"
            );
        }

        let zero =
            Evaluation::new(&scores, &labels, Some(&split), 0.0, EmptyClassPolicy::Zero).unwrap();
        let official = case["official_APs"].as_array().unwrap();
        for (c, want) in official.iter().enumerate() {
            close(
                zero.class_ap(c).unwrap(),
                f(want),
                &format!("{name} AP of class {c}"),
            );
            close(
                zero.class_ap(c).unwrap(),
                f(&case["sklearn_per_class"][c]),
                &format!("{name} sklearn AP {c}"),
            );
        }
        close(
            zero.total.map.unwrap(),
            f(&case["official_mAP"]),
            &format!("{name} mAP"),
        );
        close(
            zero.total.map.unwrap(),
            f(&case["sklearn_macro"]),
            &format!("{name} sklearn macro"),
        );
        check_threshold_metrics(&zero.total, &case["total"], &format!("{name} total"));
        for (g, key) in [
            (Group::Head, "head"),
            (Group::Medium, "middle"),
            (Group::Tail, "tail"),
        ] {
            let got = zero.group(g).unwrap();
            let want = &case["splits"][key];
            close(
                got.map.unwrap(),
                f(&want["mAP"]),
                &format!("{name} {key} mAP"),
            );
            check_threshold_metrics(got, want, &format!("{name} {key}"));
        }

        // Skip leaves the empty classes out of the mean; F1 and accuracy do not change.
        let empty = indices(&case["classes_without_positives"]);
        let skip =
            Evaluation::new(&scores, &labels, Some(&split), 0.0, EmptyClassPolicy::Skip).unwrap();
        assert_eq!(skip.empty_classes(), empty, "{name}");
        let kept: Vec<f64> = (0..official.len())
            .filter(|c| !empty.contains(c))
            .map(|c| f(&official[c]))
            .collect();
        let want = kept.iter().sum::<f64>() / kept.len() as f64;
        close(
            skip.total.map.unwrap(),
            want,
            &format!("{name} mAP without empty classes"),
        );
        assert_eq!(skip.total.threshold, zero.total.threshold);
    }
}

#[test]
fn the_documented_example_values() {
    let golden = golden();
    // §7: COCO's first 64 rows leave 26 classes without positives; the reference mAP counts them as 0.
    let coco = &golden["cases"]["coco_64rows"];
    assert_eq!(indices(&coco["classes_without_positives"]).len(), 26);
    let (labels, scores) = inputs(coco);
    let e = Evaluation::new(&scores, &labels, None, 0.0, EmptyClassPolicy::Zero).unwrap();
    assert_eq!(format!("{:.12}", e.total.map.unwrap()), "0.092635061413");
    let (labels, scores) = inputs(&golden["cases"]["voc_64rows"]);
    let e = Evaluation::new(&scores, &labels, None, 0.0, EmptyClassPolicy::Zero).unwrap();
    assert_eq!(format!("{:.12}", e.total.map.unwrap()), "0.107398968537");
}
