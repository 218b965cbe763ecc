//! The seeded random subsets: the coordinates tested per tensor (`--coords K`), the
//! gradients tested per step (`--max-samples`, `--iter-samples`) and the coordinates of
//! each dimension-wise test (`--dim-coords`). Each draw has its own salt, so changing one
//! subset leaves the others as they were.

use gradscope_stats::rng::splitmix64;

/// Salts that keep the random draws of the different subsets apart.
pub const SALT_COORDS: u64 = 0x636f_6f72_6473;
pub const SALT_SAMPLES: u64 = 0x7361_6d70_6c65;
pub const SALT_DIMENSION: u64 = 0x6469_6d65_6e73;

/// The seed of one kind of draw: `--seed` mixed with its salt.
pub fn seed_for(seed: u64, salt: u64) -> u64 {
    splitmix64(seed ^ salt)
}

/// `k` distinct indices below `len`, drawn uniformly and sorted (all of them when
/// `k >= len`).
pub fn subset(rng: &mut gradscope_stats::rng::Rng, len: usize, k: usize) -> Vec<usize> {
    if k >= len {
        return (0..len).collect();
    }
    let mut v = rand::seq::index::sample(rng, len, k).into_vec();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradscope_stats::rng::stream;

    #[test]
    fn subsets_are_sorted_distinct_and_seeded() {
        let a = subset(&mut stream(1, 2), 1000, 50);
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a, subset(&mut stream(1, 2), 1000, 50));
        assert_eq!(subset(&mut stream(1, 2), 5, 50), vec![0, 1, 2, 3, 4]);
    }
}
