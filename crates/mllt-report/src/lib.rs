//! Reports of mllt: plain-text tables and figures (SVG and PNG, drawn with plotters).

pub mod figures;
pub mod table;

pub use figures::{BarSeries, FigureError, bar_chart, heatmap};
pub use plotters::style::RGBColor;
pub use table::Table;

/// Series colours, in order of use (colour-blind safe: blue, orange, green, vermilion).
pub const PALETTE: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
];
