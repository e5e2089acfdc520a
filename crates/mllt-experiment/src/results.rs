//! The test results of the final runs: per seed, and their means and standard deviations per method.

use mllt_core::Group;
use mllt_core::metrics::Evaluation;

use crate::Preset;

/// The columns of the table: mAP over all classes and per group.
pub const COLUMNS: [&str; 4] = ["total", "head", "medium", "tail"];

/// One seed's test result: mAP total / head / medium / tail, per-class AP, and the mAP on each bootstrap draw
/// of the test items (see [`crate::comparison`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedResult {
    pub maps: [Option<f64>; 4],
    pub ap: Vec<Option<f64>>,
    pub draws: Vec<Option<f64>>,
}

impl SeedResult {
    /// The result of evaluation `e`, with the mAPs on the bootstrap draws `draws`.
    pub fn new(e: &Evaluation, draws: Vec<Option<f64>>) -> Self {
        let group = |g| e.group(g).and_then(|m| m.map);
        SeedResult {
            maps: [
                e.total.map,
                group(Group::Head),
                group(Group::Medium),
                group(Group::Tail),
            ],
            ap: e.ap.clone(),
            draws,
        }
    }
}

/// All seeds of one method, seed 0 first.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodResult {
    pub method: Preset,
    pub seeds: Vec<SeedResult>,
}

impl MethodResult {
    /// Mean and standard deviation over seeds of column `i` of [`COLUMNS`].
    pub fn column(&self, i: usize) -> Option<(f64, f64)> {
        mean_std(self.seeds.iter().map(|s| s.maps[i]))
    }

    /// Mean and standard deviation over seeds of class `c`'s AP.
    pub fn class_ap(&self, c: usize) -> Option<(f64, f64)> {
        mean_std(self.seeds.iter().map(|s| s.ap[c]))
    }
}

/// Mean and sample standard deviation (n − 1) of the present, finite values; std 0 for one value.
pub fn mean_std(values: impl Iterator<Item = Option<f64>>) -> Option<(f64, f64)> {
    let v: Vec<f64> = values.flatten().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    } else {
        0.0
    };
    Some((mean, var.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        // 1, 2, 4 (NaN and a missing value left out): mean 7/3, var ((4/3)² + (1/3)² + (5/3)²)/2 = 42/18.
        let (m, s) =
            mean_std([Some(1.0), None, Some(2.0), Some(f64::NAN), Some(4.0)].into_iter()).unwrap();
        assert!((m - 7.0 / 3.0).abs() < 1e-12);
        assert!((s - (42.0f64 / 18.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std([Some(3.0)].into_iter()), Some((3.0, 0.0)));
        assert_eq!(mean_std([None].into_iter()), None);
    }
}
