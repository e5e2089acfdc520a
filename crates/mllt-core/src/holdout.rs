//! The validation split carved from a training set, never from test: `mllt reproduce` chooses its
//! hyper-parameters on it and `mllt train` its decision thresholds.
//!
//! An item is held out when the FNV-1a 64 hash of its id is ≡ 0 (mod 5), about 20 % of the items. The rule
//! depends on the id alone, so an item lands on the same side in every run, whatever the seed, the order of
//! the rows or the other items.

use crate::fnv::fnv1a64;

/// Items held out for validation: 1 in [`HOLDOUT_MODULUS`] by id hash.
pub const HOLDOUT_MODULUS: u64 = 5;

/// The two sides of a training set, as row indices in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdout {
    /// The rows a model is fitted on.
    pub fit: Vec<usize>,
    /// The rows held out for validation.
    pub validation: Vec<usize>,
}

/// Whether the item `id` is held out for validation.
pub fn is_held_out(id: &str) -> bool {
    fnv1a64(id.as_bytes()).is_multiple_of(HOLDOUT_MODULUS)
}

/// Splits the rows of `ids` into the fitted and the held-out ones.
pub fn holdout(ids: &[String]) -> Holdout {
    let (validation, fit) = (0..ids.len()).partition(|&k| is_held_out(&ids[k]));
    Holdout { fit, validation }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_out_by_id_hash() {
        // fnv1a64("a") = 0xaf63dc4c8601ec8c ≡ 1 (mod 5); fnv1a64("") = 0xcbf29ce484222325 ≡ 2 (mod 5).
        // Every id whose hash is ≡ 0 is held out; the split is a partition in ascending order.
        let ids: Vec<String> = (0..200).map(|k| format!("item{k}")).collect();
        let h = holdout(&ids);
        assert!(!is_held_out("a") && !is_held_out(""));
        for &k in &h.validation {
            assert_eq!(fnv1a64(ids[k].as_bytes()) % 5, 0);
        }
        for &k in &h.fit {
            assert_ne!(fnv1a64(ids[k].as_bytes()) % 5, 0);
        }
        let mut all = [h.fit.clone(), h.validation.clone()].concat();
        all.sort_unstable();
        assert_eq!(all, (0..200).collect::<Vec<_>>());
        assert!(h.fit.is_sorted() && h.validation.is_sorted());
        // About a fifth, and the same ids whatever the order of the rows.
        assert!(
            (25..=55).contains(&h.validation.len()),
            "{}",
            h.validation.len()
        );
        let reversed: Vec<String> = ids.iter().rev().cloned().collect();
        let r = holdout(&reversed);
        let names = |ids: &[String], rows: &[usize]| {
            let mut n: Vec<String> = rows.iter().map(|&k| ids[k].clone()).collect();
            n.sort();
            n
        };
        assert_eq!(names(&ids, &h.validation), names(&reversed, &r.validation));
    }
}
