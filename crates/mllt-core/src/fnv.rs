//! FNV-1a 64-bit hash: the pool/test split rule of the shipped benchmarks (`fnv1a64(name) % 10 < 7` → pool).

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ b as u64).wrapping_mul(PRIME))
}

/// Whether an item with this key belongs to the training pool (70 %) rather than the test set (30 %).
pub fn in_pool(key: &str) -> bool {
    fnv1a64(key.as_bytes()) % 10 < 7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Reference values of the FNV-1a 64 specification.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn split_is_about_seventy_percent() {
        let pool = (0..10_000)
            .filter(|i| in_pool(&format!("file{i}.svg")))
            .count();
        assert!((6_800..7_200).contains(&pool), "{pool}");
    }
}
