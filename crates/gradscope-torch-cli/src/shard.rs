//! `--shard I/N`: one of N processes' share of a run's minibatch gradients.
//!
//! The gradients of a parameter point are numbered 0, 1, ... (the `sample` column), and
//! each one's minibatch is a function of the sampling seed and that number alone (see
//! `gradscope_torch::sampler`). Shard I of N computes the gradients whose number j has
//! j mod N = I, with the same numbers, minibatches and seeds as the unsharded run, so the N
//! outputs together hold the unsharded run's rows bit for bit (on the CPU), and each shard
//! gets an equal share of every batch size (a list such as 2,4,...,4096 is not split into
//! cheap and expensive shards).

use anyhow::{bail, Result};
use gradscope_tool::coord_split::CoordSplit;

/// Shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Default for Shard {
    /// The whole run.
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

impl Shard {
    /// Parses `I/N` (0 <= I < N), as every tool's `--shard` is parsed
    /// (`gradscope_tool::coord_split`), with the same error texts.
    pub fn parse(s: &str) -> Result<Shard> {
        match CoordSplit::parse_shard(s)? {
            CoordSplit::Shard { index, count } => Ok(Shard { index, count }),
            CoordSplit::Range { .. } => bail!("--shard {s}: expected I/N, e.g. 0/4"),
        }
    }

    /// Whether gradient `j` of a point is this shard's.
    pub fn owns(&self, j: usize) -> bool {
        j % self.count == self.index
    }

    /// The position of gradient `j` (one of this shard's) among this shard's gradients.
    pub fn rank(&self, j: usize) -> usize {
        j / self.count
    }

    /// How many of gradients 0..total are this shard's.
    pub fn share(&self, total: usize) -> usize {
        (total + self.count - 1 - self.index) / self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_gradients() {
        for count in 1..6 {
            for total in 0..20 {
                let mut seen = vec![0; total];
                for index in 0..count {
                    let s = Shard { index, count };
                    let mine: Vec<usize> = (0..total).filter(|&j| s.owns(j)).collect();
                    assert_eq!(mine.len(), s.share(total));
                    for (k, &j) in mine.iter().enumerate() {
                        assert_eq!(s.rank(j), k);
                        seen[j] += 1;
                    }
                }
                assert!(seen.iter().all(|&c| c == 1));
            }
        }
    }

    #[test]
    fn parse_and_errors() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        let e = Shard::parse("4/4").unwrap_err().to_string();
        assert!(e.contains("outside 0..4"), "{e}");
        assert!(Shard::parse("1/0").is_err());
        assert!(Shard::parse("x/2").is_err());
        assert!(Shard::parse("3").is_err());
    }
}
