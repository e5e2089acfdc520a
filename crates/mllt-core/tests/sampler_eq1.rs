//! The class-aware sampler's label counts per epoch match Eq. 1: E[count_i] = num_samples · p̂_i.

use mllt_core::datasets::Shipped;
use mllt_core::sampling::{Sampler, SamplerConfig};
use mllt_core::stats::{Cooccurrence, resampled_share};

/// Largest relative deviation over classes between the mean per-epoch label count over `epochs` epochs
/// and num_samples · p̂_i.
fn max_deviation(data: Shipped, epochs: usize, seed: u64) -> f64 {
    let labels = data.labels();
    let share = resampled_share(&Cooccurrence::new(&labels));
    let mut sampler = Sampler::new(&SamplerConfig::class_aware(), &labels, seed).unwrap();
    let num_samples = sampler.epoch_len();
    let mut counts = vec![0usize; labels.num_classes()];
    for _ in 0..epochs {
        for k in sampler.next_epoch() {
            for &c in labels.row(k) {
                counts[c] += 1;
            }
        }
    }
    counts
        .iter()
        .zip(&share)
        .map(|(&n, &p)| {
            let expected = num_samples as f64 * p;
            (n as f64 / epochs as f64 - expected).abs() / expected
        })
        .fold(0.0, f64::max)
}

#[test]
fn voc_mlt_label_counts_follow_eq1() {
    let dev = max_deviation(Shipped::VocMlt, 20, 0);
    eprintln!("VOC-MLT max relative deviation from Eq. 1 over 20 epochs: {dev:.4}");
    assert!(dev < 0.03, "{dev}");
}

#[test]
fn one_epoch_is_already_close() {
    let (voc, coco) = (
        max_deviation(Shipped::VocMlt, 1, 5),
        max_deviation(Shipped::CocoMlt, 1, 5),
    );
    eprintln!("one epoch: VOC-MLT {voc:.4}, COCO-MLT {coco:.4}");
    assert!(voc < 0.05 && coco < 0.05, "{voc} {coco}");
}

#[test]
fn coco_mlt_label_counts_follow_eq1() {
    let dev = max_deviation(Shipped::CocoMlt, 10, 0);
    eprintln!("COCO-MLT max relative deviation from Eq. 1 over 10 epochs: {dev:.4}");
    assert!(dev < 0.03, "{dev}");
}

#[test]
fn uniform_sampling_is_far_from_eq1() {
    // Sanity check that the comparison can fail: uniform sampling gives n_i per epoch, not num_samples · p̂_i.
    let labels = Shipped::VocMlt.labels();
    let share = resampled_share(&Cooccurrence::new(&labels));
    let counts = labels.class_counts();
    let num_samples = 3875.0;
    let worst = counts
        .iter()
        .zip(&share)
        .map(|(&n, &p)| {
            (n as f64 * num_samples / labels.len() as f64 - num_samples * p).abs()
                / (num_samples * p)
        })
        .fold(0.0, f64::max);
    assert!(worst > 0.5, "{worst}");
}
