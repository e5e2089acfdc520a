//! Reports of mllt: plain-text tables and figures (SVG and PNG, drawn with plotters).

pub mod construction;
pub mod figures;
pub mod table;

pub use construction::construction_figures;
pub use figures::{BarSeries, Curve, FigureError, bar_chart, heatmap, line_chart, stacked_bars};
pub use plotters::style::RGBColor;
pub use table::Table;

/// Series colours, in order of use (Okabe and Ito's colour-blind safe set: blue, orange, green, vermilion,
/// reddish purple, sky blue).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
];
