//! `mllt eval`: mAP over all classes and per head / medium / tail group, micro / macro F1 and accuracy of a
//! score matrix against test labels, as the reference `tools/test.py --eval multiple` reports them
//! (scikit-learn's non-interpolated AP on raw logits; F1 and accuracy of `score > 0`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::bail;
use mllt_core::atomic::write_atomic;
use mllt_core::labels::read_classes;
use mllt_core::metrics::{EmptyClassPolicy, Evaluation, GroupMetrics};
use mllt_core::scores::ScoreFile;
use mllt_core::split::Split;
use mllt_core::{Group, LabelSet, SplitRule, datasets};
use serde_json::{Value, json};

/// Arguments of `mllt eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scores N × C: a .npy (float32/float64, C or Fortran order) or a TSV with rows in label-file order
    /// (C scores per row, or an id and C scores to match rows by id; an optional header line).
    #[arg(long, value_name = "FILE")]
    scores: PathBuf,
    /// Test labels: a TSV `id<TAB>comma-separated class names` with a header line.
    #[arg(long, value_name = "FILE")]
    labels: PathBuf,
    /// The classes.txt of the labels; its order is the column order of the scores.
    #[arg(long, value_name = "FILE")]
    classes: PathBuf,
    /// Training labels (a shipped dataset name like voc-mlt, a folder or a label TSV): their class counts
    /// give the head (n >= 100) / medium (20 <= n < 100) / tail (n < 20) split. Without it, only the total.
    #[arg(long, value_name = "DATA")]
    train_labels: Option<String>,
    /// Classes with no positive in the test labels: left out of mAP (skip) or counted as AP 0 like the
    /// reference code (zero).
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = EmptyClasses::Skip)]
    empty_classes: EmptyClasses,
    /// F1 and accuracy predict a class when its score is above T (0 for logits, 0.5 for probabilities).
    #[arg(long, value_name = "T", default_value_t = 0.0, allow_negative_numbers = true,
          value_parser = finite_f64)]
    threshold: f64,
    /// Print one JSON object (values in [0, 1]) instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write per-class results (class, group, counts, AP, F1, accuracy) to this CSV file.
    #[arg(long, value_name = "FILE")]
    per_class: Option<PathBuf>,
}

/// `--empty-classes`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum EmptyClasses {
    Skip,
    Zero,
}

impl From<EmptyClasses> for EmptyClassPolicy {
    fn from(e: EmptyClasses) -> Self {
        match e {
            EmptyClasses::Skip => EmptyClassPolicy::Skip,
            EmptyClasses::Zero => EmptyClassPolicy::Zero,
        }
    }
}

fn finite_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{s}` is not a finite number")),
    }
}

/// The training side: where it came from, its per-class counts and the split they give.
struct Training {
    spec: String,
    counts: Vec<usize>,
    split: Split,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let labels = LabelSet::read_tsv(&self.labels, read_classes(&self.classes)?)?;
        let scores =
            ScoreFile::read(&self.scores, labels.num_classes())?.align(&labels, &self.labels)?;
        let training = (self.train_labels.as_deref())
            .map(|spec| self.training(spec, &labels))
            .transpose()?;
        let split = training.as_ref().map(|t| &t.split);
        let eval = Evaluation::new(
            &scores,
            &labels,
            split,
            self.threshold,
            self.empty_classes.into(),
        )?;
        if let Some(path) = &self.per_class {
            write_atomic(
                path,
                per_class_csv(&eval, &labels, training.as_ref()).as_bytes(),
            )?;
        }
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&to_json(&eval, &labels, training.as_ref()))?
            );
        } else {
            print!("{}", self.table(&eval, &labels, training.as_ref()));
        }
        Ok(())
    }

    /// Loads the training labels; their classes must be the test classes, in the same order.
    fn training(&self, spec: &str, test: &LabelSet) -> anyhow::Result<Training> {
        // A bare label file is read against the test classes.txt; a folder or shipped name brings its own.
        let classes = Path::new(spec).is_file().then_some(self.classes.as_path());
        let train = datasets::load(spec, classes)?;
        let (a, b) = (train.class_names(), test.class_names());
        if a != b {
            let detail = match a.iter().zip(b).position(|(x, y)| x != y) {
                Some(i) => format!(
                    "class {} is `{}` in training but `{}` in {}",
                    i + 1,
                    a[i],
                    b[i],
                    self.classes.display()
                ),
                None => format!(
                    "{} classes in training but {} in {}",
                    a.len(),
                    b.len(),
                    self.classes.display()
                ),
            };
            bail!("the training labels {spec} do not have the test classes: {detail}");
        }
        let counts = train.class_counts();
        Ok(Training {
            spec: spec.to_string(),
            split: SplitRule::default().split(&counts),
            counts,
        })
    }

    /// The human-readable report, in percent.
    fn table(&self, eval: &Evaluation, labels: &LabelSet, training: Option<&Training>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} items × {} classes: scores {}, labels {}",
            labels.len(),
            labels.num_classes(),
            self.scores.display(),
            self.labels.display()
        );
        let mut columns: Vec<(&str, Option<&GroupMetrics>)> = vec![("total", Some(&eval.total))];
        match training {
            Some(t) => {
                let sizes: Vec<String> = Group::ALL
                    .iter()
                    .map(|&g| format!("{} {}", g.name(), t.split.members(g).len()))
                    .collect();
                let _ = writeln!(
                    out,
                    "split by the training counts of {} (head n >= 100, medium 20 <= n < 100, tail n < 20): {} classes",
                    t.spec,
                    sizes.join(", ")
                );
                columns.extend(Group::ALL.iter().map(|&g| (g.name(), eval.group(g))));
            }
            None => {
                let _ = writeln!(
                    out,
                    "no --train-labels: total only, no head / medium / tail split"
                );
            }
        }
        let _ = write!(out, "\n{:<12}", "");
        for (name, _) in &columns {
            let _ = write!(out, "{name:>8}");
        }
        for (label, value) in TABLE_ROWS {
            let _ = write!(out, "\n{label:<12}");
            for (_, m) in &columns {
                let cell = m
                    .and_then(value)
                    .map_or("-".into(), |v| format!("{:.2}", 100.0 * v));
                let _ = write!(out, "{cell:>8}");
            }
        }
        let _ = writeln!(
            out,
            "\n\n(percent; F1 and accuracy predict score > {})",
            eval.threshold
        );
        let empty = class_names(&eval.empty_classes(), labels);
        if !empty.is_empty() {
            let how = match eval.policy {
                EmptyClassPolicy::Skip => "left out of mAP",
                EmptyClassPolicy::Zero => "counted as AP 0",
            };
            let _ = writeln!(
                out,
                "empty classes (no positive in the test labels; {how}): {}",
                empty.join(", ")
            );
        }
        out
    }
}

/// A row of the table: its label and the metric it shows (`None`: not available).
type TableRow = (&'static str, fn(&GroupMetrics) -> Option<f64>);

/// The rows of the table.
const TABLE_ROWS: [TableRow; 4] = [
    ("mAP", |m| m.map),
    ("micro F1", |m| Some(m.threshold.micro_f1)),
    ("macro F1", |m| Some(m.threshold.macro_f1)),
    ("accuracy", |m| Some(m.threshold.accuracy)),
];

/// The names of classes `classes`.
fn class_names<'a>(classes: &[usize], labels: &'a LabelSet) -> Vec<&'a str> {
    classes
        .iter()
        .map(|&c| labels.class_names()[c].as_str())
        .collect()
}

/// `{"map": {...}, "ap": {...}, "empty_classes": [...], "f1": {...}, "accuracy", "threshold", ...}`.
fn to_json(eval: &Evaluation, labels: &LabelSet, training: Option<&Training>) -> Value {
    let metrics = |m: &GroupMetrics| {
        json!({
            "map": m.map,
            "f1": {"micro": m.threshold.micro_f1, "macro": m.threshold.macro_f1},
            "accuracy": m.threshold.accuracy,
            "classes": class_names(&m.classes, labels),
        })
    };
    let mut map = serde_json::Map::new();
    let mut groups = serde_json::Map::new();
    map.insert("total".into(), json!(eval.total.map));
    for g in Group::ALL {
        let m = eval.group(g);
        map.insert(g.name().into(), json!(m.and_then(|m| m.map)));
        groups.insert(g.name().into(), m.map_or(Value::Null, metrics));
    }
    let ap: serde_json::Map<String, Value> = (0..labels.num_classes())
        .map(|c| (labels.class_names()[c].clone(), json!(eval.class_ap(c))))
        .collect();
    json!({
        "map": map,
        "ap": ap,
        "empty_classes": class_names(&eval.empty_classes(), labels),
        "empty_class_policy": match eval.policy {
            EmptyClassPolicy::Skip => "skip",
            EmptyClassPolicy::Zero => "zero",
        },
        "f1": {"micro": eval.total.threshold.micro_f1, "macro": eval.total.threshold.macro_f1},
        "accuracy": eval.total.threshold.accuracy,
        "threshold": eval.threshold,
        "split_from": training.map(|t| t.spec.as_str()),
        "groups": groups,
        "n_items": labels.len(),
    })
}

/// `class,group,n_train,n_test,ap,f1,accuracy`; empty fields where there is no split or no AP.
fn per_class_csv(eval: &Evaluation, labels: &LabelSet, training: Option<&Training>) -> String {
    let mut out = String::from("class,group,n_train,n_test,ap,f1,accuracy\n");
    let n_test = labels.class_counts();
    for (c, name) in labels.class_names().iter().enumerate() {
        let (group, n_train) = match training {
            Some(t) => (t.split.group(c).name(), t.counts[c].to_string()),
            None => ("", String::new()),
        };
        let ap = eval.class_ap(c).map_or(String::new(), |v| v.to_string());
        let conf = &eval.confusion[c];
        let _ = writeln!(
            out,
            "{},{group},{n_train},{},{ap},{},{}",
            csv_field(name),
            n_test[c],
            conf.f1(),
            conf.accuracy()
        );
    }
    out
}

/// A CSV field, quoted when it holds a quote (class names cannot hold commas, tabs or newlines).
fn csv_field(s: &str) -> String {
    if s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
