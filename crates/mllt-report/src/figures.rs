//! Figures, each written as SVG and PNG: a matrix heatmap (Fig. 5 of the paper, p(i|j)), grouped bar
//! charts over classes (Fig. 2, class counts before and after re-sampling; Fig. 5, inner-class variance),
//! stacked bars of per-step increments (Fig. 8b) and line charts of curves (Fig. 3 and 8a).
//!
//! Text uses the DejaVu Sans font that ships with mllt, so figures look the same on every machine.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// A figure could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FigureError {
    pub path: PathBuf,
    pub message: String,
}

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
        // The font ships with mllt and is valid; a failure would only lose text, not data.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// Something that draws itself on any plotters backend.
trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Draws `figure` into `{stem}.svg` and `{stem}.png` of size `size`, each through a temp file and a rename.
fn render(
    stem: &Path,
    size: (u32, u32),
    figure: &impl Figure,
) -> Result<Vec<PathBuf>, FigureError> {
    register_font();
    let mut written = Vec::new();
    for ext in ["svg", "png"] {
        let path = stem.with_extension(ext);
        let tmp = stem.with_extension(format!("tmp.{ext}"));
        let fail = |message: String| FigureError {
            path: path.clone(),
            message,
        };
        let result = if ext == "svg" {
            let root = SVGBackend::new(&tmp, size).into_drawing_area();
            figure
                .draw(&root)
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        } else {
            let root = BitMapBackend::new(&tmp, size).into_drawing_area();
            figure
                .draw(&root)
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        result.map_err(&fail)?;
        std::fs::rename(&tmp, &path).map_err(|e| fail(e.to_string()))?;
        written.push(path);
    }
    Ok(written)
}

/// Writes each class name under the centre of its column, reading downwards from just below the x axis
/// (at data height `axis_y`).
fn draw_class_names<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    names: &[String],
    axis_y: f64,
    size: u32,
) -> Result<(), String> {
    let style = ("sans-serif", size)
        .into_font()
        .transform(FontTransform::Rotate90);
    for (i, name) in names.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, axis_y));
        let at = (x + size as i32 / 2, y + 6);
        root.draw(&Text::new(name.clone(), at, style.clone()))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Axes over classes: one column per name (written below the axis), a y axis over `(bottom, top)`.
fn class_axes<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    names: &[String],
    (bottom, top): (f64, f64),
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(140)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..names.len() as f64, bottom..top.max(1e-9))
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(y_label)
        .draw()
        .map_err(e)?;
    draw_class_names(root, &chart, names, bottom, 12)?;
    Ok(chart)
}

/// One series of a bar chart: a legend label, one value per class, and a colour.
pub struct BarSeries<'a> {
    pub label: &'a str,
    pub values: &'a [f64],
    pub color: RGBColor,
}

/// A grouped bar chart over `names` (one group of bars per class), written as `{stem}.svg` and `{stem}.png`.
pub fn bar_chart(
    stem: &Path,
    title: &str,
    y_label: &str,
    names: &[String],
    series: &[BarSeries<'_>],
) -> Result<Vec<PathBuf>, FigureError> {
    let width = (200 + 16 * names.len() as u32 * series.len().max(1) as u32).max(800);
    render(
        stem,
        (width, 620),
        &Bars {
            title,
            y_label,
            names,
            series,
        },
    )
}

struct Bars<'a> {
    title: &'a str,
    y_label: &'a str,
    names: &'a [String],
    series: &'a [BarSeries<'a>],
}

impl Figure for Bars<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let Bars {
            title,
            y_label,
            names,
            series,
        } = *self;
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let finite = || {
            series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .filter(|v| v.is_finite())
        };
        // Bars grow from 0, up or down: the axis spans 0 and every value.
        let top = finite().fold(0.0, f64::max);
        let bottom = finite().fold(0.0, f64::min);
        let mut chart = class_axes(root, title, y_label, names, (bottom * 1.08, top * 1.08))?;
        let k = series.len().max(1) as f64;
        for (s_idx, s) in series.iter().enumerate() {
            let color = s.color;
            chart
                .draw_series(
                    s.values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, &v)| {
                            let x0 = i as f64 + 0.1 + 0.8 * s_idx as f64 / k;
                            Rectangle::new([(x0, 0.0), (x0 + 0.8 / k, v)], color.filled())
                        }),
                )
                .map_err(e)?
                .label(s.label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        legend(&mut chart)
    }
}

/// Stacked bars over `names`, one layer per step: layer t adds `layers[t][i]` to column i, stacked upwards
/// from 0 when positive and downwards when negative, coloured from light (first layer) to dark (last), as in
/// Fig. 8b. Written as `{stem}.svg` and `{stem}.png`.
pub fn stacked_bars(
    stem: &Path,
    title: &str,
    y_label: &str,
    names: &[String],
    layers: &[Vec<f64>],
) -> Result<Vec<PathBuf>, FigureError> {
    let width = (200 + 14 * names.len() as u32).max(800);
    render(
        stem,
        (width, 620),
        &Stacked {
            title,
            y_label,
            names,
            layers,
        },
    )
}

struct Stacked<'a> {
    title: &'a str,
    y_label: &'a str,
    names: &'a [String],
    layers: &'a [Vec<f64>],
}

impl Stacked<'_> {
    /// Each stacked segment: (column, layer, bottom, top).
    fn segments(&self) -> Vec<(usize, usize, f64, f64)> {
        let mut segments = Vec::new();
        for column in 0..self.names.len() {
            let (mut up, mut down) = (0.0, 0.0);
            for (layer, values) in self.layers.iter().enumerate() {
                let v = values.get(column).copied().unwrap_or(0.0);
                if v > 0.0 {
                    segments.push((column, layer, up, up + v));
                    up += v;
                } else if v < 0.0 {
                    segments.push((column, layer, down + v, down));
                    down += v;
                }
            }
        }
        segments
    }
}

impl Figure for Stacked<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let segments = self.segments();
        let top = segments.iter().map(|s| s.3).fold(0.0, f64::max);
        let bottom = segments.iter().map(|s| s.2).fold(0.0, f64::min);
        let mut chart = class_axes(
            root,
            self.title,
            self.y_label,
            self.names,
            (bottom * 1.05, top * 1.05),
        )?;
        let last = self.layers.len().saturating_sub(1).max(1) as f64;
        chart
            .draw_series(segments.iter().map(|&(column, layer, low, high)| {
                let color = ramp(0.15 + 0.85 * layer as f64 / last);
                let x0 = column as f64 + 0.1;
                Rectangle::new([(x0, low), (x0 + 0.8, high)], color.filled())
            }))
            .map_err(e)?;
        Ok(())
    }
}

/// The legend of `chart`'s labelled series, in the figures' one style.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())
}

/// One curve of a line chart: a legend label, its (x, y) points in drawing order, and a colour.
pub struct Curve<'a> {
    pub label: &'a str,
    pub points: &'a [(f64, f64)],
    pub color: RGBColor,
}

impl<'a> Curve<'a> {
    /// One curve per `(label, points)` of `series`, coloured from [`crate::PALETTE`] in order (cycling).
    pub fn coloured(series: &'a [(String, Vec<(f64, f64)>)]) -> Vec<Curve<'a>> {
        series
            .iter()
            .zip(crate::PALETTE.iter().cycle())
            .map(|((label, points), &color)| Curve {
                label,
                points,
                color,
            })
            .collect()
    }
}

/// A line chart of `series` over a shared x axis, written as `{stem}.svg` and `{stem}.png`. Non-finite points
/// are left out; the axes span every finite point.
pub fn line_chart(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Curve<'_>],
) -> Result<Vec<PathBuf>, FigureError> {
    render(
        stem,
        (800, 560),
        &Lines {
            title,
            x_label,
            y_label,
            series,
        },
    )
}

struct Lines<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    series: &'a [Curve<'a>],
}

/// The smallest and largest of `values`, widened where they coincide (or where there are none).
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if low >= high {
        let centre = if low.is_finite() { low } else { 0.0 };
        return (centre - 0.5, centre + 0.5);
    }
    (low, high)
}

impl Figure for Lines<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let finite = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().copied())
                .filter(|(x, y)| x.is_finite() && y.is_finite())
        };
        let (x0, x1) = span(finite().map(|(x, _)| x));
        let (y0, y1) = span(finite().map(|(_, y)| y));
        let pad = 0.05 * (y1 - y0);
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .draw()
            .map_err(e)?;
        for s in self.series {
            let color = s.color;
            let points = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite());
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(e)?
                .label(s.label)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        legend(&mut chart)
    }
}

/// A C × C heatmap of `values[row][col]` in [0, 1], rows and columns labelled by `names`.
pub fn heatmap(
    stem: &Path,
    title: &str,
    names: &[String],
    values: &[Vec<f64>],
) -> Result<Vec<PathBuf>, FigureError> {
    let side = (260 + 14 * names.len() as u32).max(700);
    render(
        stem,
        (side + 60, side),
        &Heatmap {
            title,
            names,
            values,
        },
    )
}

struct Heatmap<'a> {
    title: &'a str,
    names: &'a [String],
    values: &'a [Vec<f64>],
}

/// White (0) through light blue to dark navy (1).
fn ramp(v: f64) -> RGBColor {
    let v = v.clamp(0.0, 1.0);
    let mix = |a: u8, b: u8, t: f64| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    let (lo, mid, hi) = ((255, 255, 255), (90, 160, 220), (8, 29, 88));
    let (a, b, t): ((u8, u8, u8), (u8, u8, u8), f64) = if v < 0.5 {
        (lo, mid, v * 2.0)
    } else {
        (mid, hi, v * 2.0 - 1.0)
    };
    RGBColor(mix(a.0, b.0, t), mix(a.1, b.1, t), mix(a.2, b.2, t))
}

impl Figure for Heatmap<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let Heatmap {
            title,
            names,
            values,
        } = *self;
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let n = names.len();
        let label = |x: &f64| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 1e-6 {
                names.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(130)
            .y_label_area_size(130)
            .build_cartesian_2d(0.0..n as f64, n as f64..0.0)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(2 * n + 1)
            .y_label_formatter(&label)
            .y_label_style(("sans-serif", 11))
            .draw()
            .map_err(e)?;
        draw_class_names(root, &chart, names, n as f64, 11)?;
        chart
            .draw_series(values.iter().enumerate().flat_map(|(r, row)| {
                row.iter().enumerate().map(move |(c, &v)| {
                    Rectangle::new(
                        [(c as f64, r as f64), (c as f64 + 1.0, r as f64 + 1.0)],
                        ramp(v).filled(),
                    )
                })
            }))
            .map_err(e)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_svg_and_png() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = vec!["a".into(), "b".into()];
        let files = heatmap(
            &dir.path().join("h"),
            "t",
            &names,
            &[vec![1.0, 0.2], vec![0.5, 1.0]],
        )
        .unwrap();
        let values = [3.0, -1.0];
        let s = [BarSeries {
            label: "n",
            values: &values,
            color: BLUE,
        }];
        let more = bar_chart(&dir.path().join("b"), "t", "count", &names, &s).unwrap();
        for f in files.iter().chain(&more) {
            assert!(std::fs::metadata(f).unwrap().len() > 100, "{}", f.display());
        }
        let svg = std::fs::read_to_string(dir.path().join("b.svg")).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("\na\n</text>"),
            "class names are drawn: {svg}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            4,
            "no temp files left"
        );
    }

    #[test]
    fn line_chart_draws_every_curve_and_its_legend() {
        let dir = tempfile::tempdir().unwrap();
        let rising = [(-1.0, 0.0), (0.0, 0.5), (1.0, f64::NAN), (2.0, 1.0)];
        let flat = [(-1.0, 0.25), (2.0, 0.25)];
        let curves = [
            Curve {
                label: "rising",
                points: &rising,
                color: BLUE,
            },
            Curve {
                label: "flat",
                points: &flat,
                color: RED,
            },
        ];
        let files = line_chart(&dir.path().join("l"), "t", "z", "grad", &curves).unwrap();
        assert_eq!(files.len(), 2);
        let svg = std::fs::read_to_string(dir.path().join("l.svg")).unwrap();
        assert!(
            svg.contains("rising") && svg.contains("flat"),
            "legend: {svg}"
        );
        // Each curve is one polyline plus its legend mark; the NaN point is left out of the first.
        assert_eq!(svg.matches("stroke=\"#0000FF\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("stroke=\"#FF0000\"").count(), 2, "{svg}");
        assert!(!svg.contains("NaN"), "{svg}");
        // No curve at all still draws the axes.
        line_chart(&dir.path().join("e"), "t", "z", "grad", &[]).unwrap();
        assert_eq!(span([3.0].into_iter()), (2.5, 3.5));
    }

    #[test]
    fn stacked_segments_go_up_for_additions_and_down_for_removals() {
        let names: Vec<String> = vec!["a".into(), "b".into()];
        let layers = vec![vec![3.0, 1.0], vec![2.0, -4.0], vec![0.0, 2.0]];
        let stacked = Stacked {
            title: "t",
            y_label: "n",
            names: &names,
            layers: &layers,
        };
        assert_eq!(
            stacked.segments(),
            vec![
                (0, 0, 0.0, 3.0),
                (0, 1, 3.0, 5.0),
                (1, 0, 0.0, 1.0),
                (1, 1, -4.0, 0.0),
                (1, 2, 1.0, 3.0),
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let files = stacked_bars(&dir.path().join("s"), "t", "n", &names, &layers).unwrap();
        assert_eq!(files.len(), 2);
    }

    #[test]
    fn unwritable_folder_is_an_error_naming_the_file() {
        let names: Vec<String> = vec!["a".into()];
        let err = heatmap(Path::new("/nonexistent-xyz/h"), "t", &names, &[vec![1.0]]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-xyz/h"), "{err}");
    }
}
