//! Progress of long commands on stderr: a bar when stderr is a terminal; otherwise (a log file, a pipe) a
//! plain line at least every [`PLAIN_EVERY`] or every 5 % of the work, whichever comes first, and one at
//! the end, so that a run piped to a file never looks hung.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The longest wait between two plain progress lines.
pub const PLAIN_EVERY: Duration = Duration::from_secs(30);
/// A plain line is also printed each time this fraction of the work is done.
const PLAIN_FRACTION: f64 = 0.05;

/// Progress through `total` steps (or an unknown number), each step worth `items_per_step` items.
pub struct Meter {
    label: String,
    step_name: &'static str,
    item_name: &'static str,
    items_per_step: f64,
    total: Option<u64>,
    done: u64,
    message: String,
    started: Instant,
    /// Steps done and time of the last plain line; `None` on a terminal (the bar shows progress).
    plain: Option<(u64, Instant)>,
    bar: ProgressBar,
}

impl Meter {
    /// A meter named `label` over `total` steps called `step_name` (`step`, `image`), each of
    /// `items_per_step` items called `item_name`, for the rate.
    pub fn new(
        label: impl Into<String>,
        total: Option<u64>,
        step_name: &'static str,
        items_per_step: f64,
        item_name: &'static str,
    ) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = if terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(total, target);
        let template = if total.is_some() {
            "{prefix} [{bar:30}] {pos}/{len} eta {eta} {msg}"
        } else {
            "{prefix} {pos} {per_sec} {msg}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        let label = label.into();
        bar.set_prefix(label.clone());
        let started = Instant::now();
        Meter {
            label,
            step_name,
            item_name,
            items_per_step,
            total,
            done: 0,
            message: String::new(),
            started,
            plain: (!terminal).then_some((0, started)),
            bar,
        }
    }

    /// Renames the meter (`epoch 3/8`).
    pub fn set_label(&mut self, label: impl Into<String>) {
        self.label = label.into();
        self.bar.set_prefix(self.label.clone());
    }

    /// Changes the expected total.
    pub fn set_total(&mut self, total: u64) {
        self.total = Some(total);
        self.bar.set_length(total);
    }

    /// Sets what follows the counts (`loss 0.01234 lr 2.0e-2`).
    pub fn set_message(&mut self, message: String) {
        self.bar.set_message(message.clone());
        self.message = message;
    }

    /// The steps done.
    pub fn position(&self) -> u64 {
        self.done
    }

    /// Adds `n` steps done.
    pub fn inc(&mut self, n: u64) {
        self.set_position(self.done + n);
    }

    /// Sets the steps done.
    pub fn set_position(&mut self, done: u64) {
        self.done = done;
        self.bar.set_position(done);
        if let Some((last, at)) = self.plain {
            let fraction = |d: u64| self.total.map_or(0.0, |t| d as f64 / t.max(1) as f64);
            if at.elapsed() >= PLAIN_EVERY || fraction(done) - fraction(last) >= PLAIN_FRACTION {
                eprintln!("{}", self.line());
                self.plain = Some((done, Instant::now()));
            }
        }
    }

    /// The plain line: `epoch 2/8: step 120/400 (30%), 25.3 images/s, loss 0.01234, eta 1m 10s`.
    pub fn line(&self) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        let mut line = format!("{}: {} {}", self.label, self.step_name, self.done);
        if let Some(total) = self.total {
            let _ = write!(
                line,
                "/{total} ({:.0}%)",
                100.0 * self.done as f64 / total.max(1) as f64
            );
        }
        let rate = self.done as f64 * self.items_per_step / seconds;
        let _ = write!(line, ", {rate:.1} {}/s", self.item_name);
        if !self.message.is_empty() {
            let _ = write!(line, ", {}", self.message);
        }
        if let Some(total) = self.total.filter(|_| self.done > 0) {
            let left = seconds * total.saturating_sub(self.done) as f64 / self.done as f64;
            let _ = write!(line, ", eta {}", duration(left));
        }
        line
    }

    /// Prints `line` above the bar (or as it is where there is no terminal).
    pub fn println(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Clears the bar; prints a last plain line where there is no terminal and the last one is stale.
    pub fn finish(self) {
        self.bar.finish_and_clear();
        if let Some((last, _)) = self.plain
            && last != self.done
        {
            eprintln!("{}", self.line());
        }
    }
}

/// `1h 02m`, `3m 20s` or `45s`.
fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_line_and_durations() {
        let mut m = Meter::new("epoch 1/2", Some(40), "step", 8.0, "images");
        m.done = 10;
        m.set_message("loss 0.50000".into());
        let line = m.line();
        assert!(line.starts_with("epoch 1/2: step 10/40 (25%), "), "{line}");
        assert!(line.contains(" images/s, loss 0.50000, eta "), "{line}");
        assert_eq!(duration(45.2), "45s");
        assert_eq!(duration(200.0), "3m 20s");
        assert_eq!(duration(3720.0), "1h 02m");
        let unknown = Meter::new("predict", None, "item", 1.0, "items");
        assert!(unknown.line().starts_with("predict: item 0, "));
        assert!(!unknown.line().contains("eta"));
    }
}
