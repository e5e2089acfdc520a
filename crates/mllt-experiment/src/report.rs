//! The written report of `mllt reproduce`: the markdown tables (the paper's Table 1 layout, with the chance
//! level, and the paired comparison with DB-Focal), `results.json`, the per-class CSV and the Fig. 6 analogue.

use std::fmt::Write as _;
use std::path::Path;

use mllt_core::atomic::write_atomic;
use mllt_core::split::SplitRule;
use mllt_nn::features::FeatureDataset;
use mllt_report::{BarSeries, PALETTE, bar_chart};
use serde_json::{Value, json};

use crate::Preset;
use crate::chance::{CHANCE_MARGIN, ChanceLevel};
use crate::comparison::{BOOTSTRAP_SEED, Comparison, REFERENCE, RESAMPLES};
use crate::results::{COLUMNS, MethodResult};

/// The methods of the Fig. 6 analogue, in order: each bar is the per-class AP gain of one step.
const FIG6_STEPS: [Preset; 4] = [Preset::Erm, Preset::Rs, Preset::RBce, Preset::DbFocal];

/// `{method: {"total", "head", "medium", "tail", "std": {...}}}` in [0, 1]: one dataset of `results.json`.
pub fn results_json(per_method: &[MethodResult]) -> Value {
    let mut out = serde_json::Map::new();
    for r in per_method {
        let mut entry = serde_json::Map::new();
        let mut std = serde_json::Map::new();
        for (i, col) in COLUMNS.iter().enumerate() {
            let ms = r.column(i);
            entry.insert((*col).into(), json!(ms.map(|m| m.0)));
            std.insert((*col).into(), json!(ms.map(|m| m.1)));
        }
        entry.insert("std".into(), Value::Object(std));
        out.insert(r.method.name(), Value::Object(entry));
    }
    Value::Object(out)
}

/// A value in [0, 1] as percent with 2 decimals, `-` when absent.
fn percent(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.2}", 100.0 * v))
}

/// A table cell of a mean and standard deviation in [0, 1], in percent: `54.13 ± 0.26`; `-` when absent.
pub fn mean_std_cell(value: Option<(f64, f64)>) -> String {
    value.map_or("-".into(), |(m, s)| {
        format!("{:.2} ± {:.2}", 100.0 * m, 100.0 * s)
    })
}

/// The paper's layout: one row per method, mAP in percent, mean ± std; a method within
/// [`CHANCE_MARGIN`] of the chance level (or below it) is marked `†`; a last row gives the chance level.
pub fn markdown_table<'a>(
    per_method: impl IntoIterator<Item = &'a MethodResult>,
    chance: &ChanceLevel,
) -> String {
    let mut t = String::from("| method | total | head | medium | tail |\n|---|---|---|---|---|\n");
    let mut marked = false;
    for r in per_method {
        let cells: Vec<String> = (0..COLUMNS.len())
            .map(|i| mean_std_cell(r.column(i)))
            .collect();
        let near = r.column(0).is_some_and(|(m, _)| chance.is_near(m));
        marked |= near;
        let mark = if near { " †" } else { "" };
        let _ = writeln!(t, "| {}{mark} | {} |", r.method.name(), cells.join(" | "));
    }
    let cells: Vec<String> = chance.columns().iter().map(|&v| percent(v)).collect();
    let _ = writeln!(
        t,
        "| random scores (chance, {} draws) | {} |",
        chance.draws,
        cells.join(" | ")
    );
    if marked {
        let _ = writeln!(
            t,
            "\n† mean total mAP within {:.0} points of the random-score chance level, or below it.",
            100.0 * CHANCE_MARGIN
        );
    }
    t
}

/// Every method against DB-Focal: Δ total mAP in points, mean ± std of the per-seed paired differences, and
/// the bootstrap 95 % interval; `*` where the interval leaves out 0.
pub fn comparison_table(comparisons: &[Comparison]) -> String {
    let reference = REFERENCE.name();
    let mut t = format!(
        "| method | Δ total vs {reference} (per-seed mean ± std) | 95 % CI (bootstrap, {RESAMPLES} resamples of test items) |\n|---|---|---|\n"
    );
    for c in comparisons {
        let mark = if c.excludes_zero { " *" } else { "" };
        let _ = writeln!(
            t,
            "| {} | {:+.2} ± {:.2}{mark} | [{:+.2}, {:+.2}] |",
            c.method,
            100.0 * c.mean,
            100.0 * c.std,
            100.0 * c.ci_low,
            100.0 * c.ci_high
        );
    }
    let _ = writeln!(
        t,
        "\n* the 95 % interval of the seed-mean difference leaves out 0 (paired bootstrap over test items, seed \
         {BOOTSTRAP_SEED})."
    );
    t
}

/// `class,group,n_train,n_test,<method>...` with the mean AP over seeds.
pub fn write_per_class(
    path: &Path,
    data: &FeatureDataset,
    per_method: &[MethodResult],
) -> anyhow::Result<()> {
    let (train, test) = (
        data.train.labels.class_counts(),
        data.test.labels.class_counts(),
    );
    let split = SplitRule::default().split(&train);
    let mut csv = String::from("class,group,n_train,n_test");
    for r in per_method {
        let _ = write!(csv, ",{}", r.method.name());
    }
    csv.push('\n');
    for (c, name) in data.class_names().iter().enumerate() {
        let _ = write!(
            csv,
            "\"{}\",{},{},{}",
            name.replace('"', "\"\""),
            split.group(c).name(),
            train[c],
            test[c]
        );
        for r in per_method {
            let _ = write!(
                csv,
                ",{}",
                r.class_ap(c)
                    .map_or(String::new(), |(m, _)| format!("{m:.6}"))
            );
        }
        csv.push('\n');
    }
    Ok(write_atomic(path, csv.as_bytes())?)
}

/// Fig. 6 analogue: per-class AP change of each step ERM → RS → R-BCE → DB-Focal, classes by training count
/// (`stem.svg`, `stem.png`); nothing when one of those methods was not run.
pub fn fig6(
    stem: &Path,
    name: &str,
    data: &FeatureDataset,
    per_method: &[MethodResult],
) -> anyhow::Result<()> {
    let find = |m: &Preset| per_method.iter().find(|r| r.method == *m);
    let Some(stages) = FIG6_STEPS.iter().map(find).collect::<Option<Vec<_>>>() else {
        return Ok(());
    };
    let counts = data.train.labels.class_counts();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]));
    let names: Vec<String> = order
        .iter()
        .map(|&c| data.class_names()[c].clone())
        .collect();
    let ap = |r: &MethodResult, c: usize| r.class_ap(c).map_or(f64::NAN, |m| 100.0 * m.0);
    let deltas: Vec<Vec<f64>> = stages
        .windows(2)
        .map(|w| order.iter().map(|&c| ap(w[1], c) - ap(w[0], c)).collect())
        .collect();
    let labels = ["RS − ERM", "R-BCE − RS", "DB-Focal − R-BCE"];
    let series: Vec<BarSeries<'_>> = deltas
        .iter()
        .zip(labels)
        .zip(PALETTE)
        .map(|((values, label), color)| BarSeries {
            label,
            values,
            color,
        })
        .collect();
    bar_chart(
        stem,
        &format!("{name}: per-class AP change (points), classes by training count"),
        "Δ AP",
        &names,
        &series,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::SeedResult;

    fn result(method: Preset, totals: &[f64]) -> MethodResult {
        MethodResult {
            method,
            seeds: totals
                .iter()
                .map(|&t| SeedResult {
                    maps: [Some(t), Some(t), None, None],
                    ap: vec![],
                    draws: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn tables_mark_chance_and_significance() {
        // Chance 0.024: RW at 0.0244 (within 2 points) is marked, ERM at 0.2134 is not.
        let chance = ChanceLevel {
            total: 0.024,
            head: Some(0.06),
            medium: None,
            tail: Some(0.01),
            draws: 20,
            seed: 0,
            margin: CHANCE_MARGIN,
        };
        let rows = [
            result(Preset::Erm, &[0.2134, 0.2134]),
            result(Preset::Rw, &[0.0244, 0.0244]),
        ];
        let t = markdown_table(&rows, &chance);
        assert!(
            t.contains("| erm | 21.34 ± 0.00 | 21.34 ± 0.00 | - | - |"),
            "{t}"
        );
        assert!(t.contains("| rw † | 2.44 ± 0.00 |"), "{t}");
        assert!(
            t.contains("| random scores (chance, 20 draws) | 2.40 | 6.00 | - | 1.00 |"),
            "{t}"
        );
        assert!(t.contains("† mean total mAP within 2 points"), "{t}");
        // Without a marked method there is no legend line.
        assert!(!markdown_table(&rows[..1], &chance).contains("† mean"));
        let c = |method: &str, mean, low, high| Comparison {
            method: method.into(),
            per_seed: vec![],
            mean,
            std: 0.001,
            ci_low: low,
            ci_high: high,
            excludes_zero: low > 0.0 || high < 0.0,
        };
        let t = comparison_table(&[
            c("erm", -0.1015, -0.12, -0.08),
            c("rs", 0.001, -0.002, 0.004),
        ]);
        assert!(
            t.contains("| erm | -10.15 ± 0.10 * | [-12.00, -8.00] |"),
            "{t}"
        );
        assert!(t.contains("| rs | +0.10 ± 0.10 | [-0.20, +0.40] |"), "{t}");
    }
}
