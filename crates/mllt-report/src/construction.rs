//! Fig. 8 of the paper: the long-tailed subset construction of appendix A.1.
//!
//! (a) The Pareto pdf b·x^{−(b+1)} for several shapes b, over x from 1 to where the CDF of the chosen shape
//! reaches `tail` (the stretch the reference distribution samples); (b) the per-class increments of each
//! head-to-tail step, classes in processing order, one stacked layer per step (light: the first step, dark:
//! the last; removals below 0).

use std::path::{Path, PathBuf};

use mllt_core::longtail::LongTail;
use mllt_core::longtail::pareto::{cut, pdf};

use crate::figures::{Curve, FigureError, line_chart, stacked_bars};

/// The shapes drawn in Fig. 8a besides the construction's own.
const SHAPES: [f64; 4] = [1.0, 2.0, 4.0, 6.0];

/// Writes `fig8a_pareto` and `fig8b_construction` (SVG and PNG) into `dir` for the construction `lt` of
/// classes `names` (source order) with Pareto `shape` cut at `tail`.
pub fn construction_figures(
    dir: &Path,
    lt: &LongTail,
    names: &[String],
    shape: f64,
    tail: f64,
) -> Result<Vec<PathBuf>, FigureError> {
    let mut shapes = SHAPES.to_vec();
    if !shapes.contains(&shape) {
        shapes.push(shape);
        shapes.sort_by(f64::total_cmp);
    }
    let end = cut(shape, tail);
    let xs: Vec<f64> = (0..=200)
        .map(|i| 1.0 + (end - 1.0) * i as f64 / 200.0)
        .collect();
    let curves: Vec<(String, Vec<(f64, f64)>)> = shapes
        .iter()
        .map(|&b| {
            let label = if b == shape {
                format!("b = {b} (this construction)")
            } else {
                format!("b = {b}")
            };
            (label, xs.iter().map(|&x| (x, pdf(x, b))).collect())
        })
        .collect();
    let drawn = Curve::coloured(&curves);
    let mut files = line_chart(
        &dir.join("fig8a_pareto"),
        "(a) Pareto pdf b·x^-(b+1), cut where the CDF of this shape reaches the tail",
        "x",
        "pdf",
        &drawn,
    )?;
    let ordered: Vec<String> = lt.order.iter().map(|&c| names[c].clone()).collect();
    let layers: Vec<Vec<f64>> = lt
        .increments
        .iter()
        .map(|step| lt.order.iter().map(|&c| step[c] as f64).collect())
        .collect();
    files.extend(stacked_bars(
        &dir.join("fig8b_construction"),
        "(b) Head-to-tail construction: increments of each step (light: first, dark: last)",
        "images",
        &ordered,
        &layers,
    )?);
    Ok(files)
}
