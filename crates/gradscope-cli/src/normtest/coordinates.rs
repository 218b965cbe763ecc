//! Which coordinates the iteration-wise tests take: every coordinate, a seeded random
//! subset of K per tensor (`--coords K`, the same at every step), or the coordinates of
//! one part of a run split by coordinate (`--coords START:END`, `--shard I/N`), all of
//! them tested.

use super::draws::{seed_for, subset, SALT_COORDS};
use gradscope_io::TensorLayout;
use gradscope_stats::rng::stream;
use std::ops::Range;

/// The tested coordinates in layout order: (tensor, index in the tensor).
pub fn tested(
    layout: &[TensorLayout],
    part: Option<&Range<usize>>,
    subset_k: Option<usize>,
    seed: u64,
) -> Vec<(u32, u64)> {
    let mut coords: Vec<(u32, u64)> = Vec::new();
    for (t, tensor) in layout.iter().enumerate() {
        if let Some(r) = part {
            // The tensor's coordinates inside the part, all of them tested.
            let lo = r.start.clamp(tensor.offset, tensor.offset + tensor.numel);
            let hi = r.end.clamp(tensor.offset, tensor.offset + tensor.numel);
            coords.extend((lo..hi).map(|j| (t as u32, (j - tensor.offset) as u64)));
            continue;
        }
        let k = subset_k.unwrap_or(tensor.numel);
        let mut rng = stream(seed_for(seed, SALT_COORDS), t as u64);
        coords.extend(
            subset(&mut rng, tensor.numel, k)
                .into_iter()
                .map(|i| (t as u32, i as u64)),
        );
    }
    coords
}
