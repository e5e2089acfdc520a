//! Paired comparison of every method with DB-Focal (issue 11 item 4).
//!
//! * Per seed: Δ_k = mAP_k(method) − mAP_k(DB-Focal), seed k against seed k (the same seed draws the same
//!   initial weights and sampler stream for both), reported as mean ± sample standard deviation over seeds.
//! * Over test items: a paired bootstrap of the seed-mean difference. Each of [`RESAMPLES`] draws resamples the
//!   test items with replacement (ChaCha8 seeded with [`BOOTSTRAP_SEED`], the same draws for every method and
//!   seed); on each draw every seed's mAP is computed, and the draw's difference is the method's seed-mean
//!   mAP minus DB-Focal's. The 95 % interval is the 2.5 and 97.5 % percentiles; its centre value is the mean
//!   of the Δ_k, the difference of the table's means. A difference whose interval leaves out 0 is marked.

use mllt_core::metrics::paired_difference;
use serde::Serialize;

use crate::Preset;
use crate::results::{MethodResult, mean_std};

/// The method every other one is compared with.
pub const REFERENCE: Preset = Preset::DbFocal;
/// Bootstrap draws of the test items.
pub const RESAMPLES: usize = 1000;
/// Seed of the bootstrap draws.
pub const BOOTSTRAP_SEED: u64 = 2020;

/// One method against [`REFERENCE`], total mAP in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub method: String,
    /// Δ_k of each seed where both have a total mAP.
    pub per_seed: Vec<f64>,
    pub mean: f64,
    pub std: f64,
    /// The bootstrap's 95 % interval of the seed-mean difference.
    pub ci_low: f64,
    pub ci_high: f64,
    pub excludes_zero: bool,
}

/// Δ_k = total mAP of `a`'s seed k − `b`'s seed k, for the seeds where both have one.
pub fn per_seed_differences(a: &MethodResult, b: &MethodResult) -> Vec<f64> {
    a.seeds
        .iter()
        .zip(&b.seeds)
        .filter_map(|(x, y)| Some(x.maps[0]? - y.maps[0]?))
        .collect()
}

/// The mean over seeds of the mAP on each bootstrap draw (`None` where a seed has none).
pub fn seed_mean_draws(r: &MethodResult) -> Vec<Option<f64>> {
    let draws = r.seeds.first().map_or(0, |s| s.draws.len());
    (0..draws)
        .map(|d| {
            let sum = r.seeds.iter().map(|s| s.draws[d]).sum::<Option<f64>>()?;
            Some(sum / r.seeds.len() as f64)
        })
        .collect()
}

/// `a` against `reference` (see the module documentation); an error when no seed pair or no draw has both.
pub fn compare(a: &MethodResult, reference: &MethodResult) -> anyhow::Result<Comparison> {
    let per_seed = per_seed_differences(a, reference);
    let (mean, std) = mean_std(per_seed.iter().copied().map(Some))
        .ok_or_else(|| anyhow::anyhow!("{}: no seed has a total mAP", a.method.name()))?;
    let d = paired_difference(mean, &seed_mean_draws(a), &seed_mean_draws(reference))?;
    Ok(Comparison {
        method: a.method.name(),
        per_seed,
        mean,
        std,
        ci_low: d.low,
        ci_high: d.high,
        excludes_zero: d.excludes_zero(),
    })
}

/// Every method of `results` but the reference against [`REFERENCE`], in order; `None` without it.
pub fn compare_all(results: &[MethodResult]) -> anyhow::Result<Option<Vec<Comparison>>> {
    let Some(reference) = results.iter().find(|r| r.method == REFERENCE) else {
        return Ok(None);
    };
    results
        .iter()
        .filter(|r| r.method != REFERENCE)
        .map(|r| compare(r, reference))
        .collect::<anyhow::Result<Vec<_>>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::SeedResult;

    fn method(method: Preset, totals: &[f64], draws: &[[f64; 2]]) -> MethodResult {
        MethodResult {
            method,
            seeds: totals
                .iter()
                .zip(draws)
                .map(|(&t, d)| SeedResult {
                    maps: [Some(t), None, None, None],
                    ap: vec![],
                    draws: d.iter().map(|&x| Some(x)).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn per_seed_difference_and_bootstrap_interval_by_hand() {
        // Totals 0.5, 0.6, 0.7 against 0.4, 0.4, 0.5: Δ = 0.1, 0.2, 0.2; mean 1/6; sample variance
        // ((1/15)² + 2·(1/30)²)/2 = 1/300.
        // Draws: seed means (0.6, 0.7) against (0.5, 0.4): differences 0.1, 0.3; the 2.5 % and 97.5 %
        // quantiles interpolate to 0.1 + 0.025 · 0.2 = 0.105 and 0.1 + 0.975 · 0.2 = 0.295.
        let a = method(
            Preset::Erm,
            &[0.5, 0.6, 0.7],
            &[[0.5, 0.6], [0.7, 0.8], [0.6, 0.7]],
        );
        let b = method(
            REFERENCE,
            &[0.4, 0.4, 0.5],
            &[[0.4, 0.5], [0.5, 0.4], [0.6, 0.3]],
        );
        let draws = seed_mean_draws(&a);
        assert!((draws[0].unwrap() - 0.6).abs() < 1e-12 && (draws[1].unwrap() - 0.7).abs() < 1e-12);
        let c = compare(&a, &b).unwrap();
        assert_eq!(c.per_seed.len(), 3);
        assert!((c.mean - 1.0 / 6.0).abs() < 1e-12, "{c:?}");
        assert!((c.std - (1.0f64 / 300.0).sqrt()).abs() < 1e-12, "{c:?}");
        assert!(
            (c.ci_low - 0.105).abs() < 1e-12 && (c.ci_high - 0.295).abs() < 1e-12,
            "{c:?}"
        );
        assert!(c.excludes_zero);
        // Swapped, the interval is mirrored and still leaves out 0; against itself it is [0, 0].
        let swapped = compare(&b, &a).unwrap();
        assert!((swapped.ci_high + 0.105).abs() < 1e-12 && swapped.excludes_zero);
        let same = compare(&b, &b).unwrap();
        assert_eq!((same.mean, same.ci_low, same.ci_high), (0.0, 0.0, 0.0));
        assert!(!same.excludes_zero);
        // The reference is left out of the list; without it there is no comparison.
        let all = compare_all(&[a.clone(), b]).unwrap().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].method, "erm");
        assert_eq!(compare_all(&[a]).unwrap(), None);
    }
}
