//! A run split by coordinate: `--coords START:END` and `--shard I/N` over the flattened
//! coordinate index of a gradient matrix, for the tools whose statistics are per
//! coordinate (`normtest`) or sums over coordinates (the Gram matrix of `powerlaw-fit
//! --spectrum`), so that the parts can run in separate processes and be combined.
//!
//! Both are parsed in the tool's `run` (not by clap), so that a bad value is one line
//! naming the flag, a usage error (exit 2) like `dump-grads --shard`'s; a part that does
//! not fit the gradients read ([`CoordSplit::range`]) is an error of the input (exit 1).

use anyhow::{bail, Context, Result};
use std::ops::Range;

/// Which coordinates a part takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordSplit {
    /// `--coords START:END`: START..END, half-open, 0-based.
    Range { start: usize, end: usize },
    /// `--shard I/N`: the I-th of N contiguous blocks of (nearly) equal length.
    Shard { index: usize, count: usize },
}

impl CoordSplit {
    /// Parses `--coords START:END` (`flag` names the flag in messages).
    pub fn parse_range(flag: &str, s: &str) -> Result<Self> {
        Self::range_from(flag, s).map_err(crate::usage_error)
    }

    fn range_from(flag: &str, s: &str) -> Result<Self> {
        let (a, b) = s
            .split_once(':')
            .with_context(|| format!("{flag} {s}: expected START:END, e.g. 0:1000"))?;
        let parse = |v: &str, what: &str| -> Result<usize> {
            v.trim()
                .parse()
                .with_context(|| format!("{flag} {s}: {what} {v:?} is not a whole number"))
        };
        let (start, end) = (parse(a, "START")?, parse(b, "END")?);
        if start >= end {
            bail!("{flag} {s}: START {start} must be below END {end} (END is excluded)");
        }
        Ok(Self::Range { start, end })
    }

    /// Parses `--shard I/N` (0 <= I < N).
    pub fn parse_shard(s: &str) -> Result<Self> {
        Self::shard_from(s).map_err(crate::usage_error)
    }

    fn shard_from(s: &str) -> Result<Self> {
        let (i, n) = s
            .split_once('/')
            .with_context(|| format!("--shard {s}: expected I/N, e.g. 0/4"))?;
        let parse = |v: &str, what: &str| -> Result<usize> {
            v.trim()
                .parse()
                .with_context(|| format!("--shard {s}: {what} {v:?} is not a whole number"))
        };
        let (index, count) = (parse(i, "shard index")?, parse(n, "shard count")?);
        if count == 0 {
            bail!("--shard {s}: the shard count must be at least 1");
        }
        if index >= count {
            bail!(
                "--shard {s}: shard index {index} is outside 0..{count} (shards are numbered 0 to {})",
                count - 1
            );
        }
        Ok(Self::Shard { index, count })
    }

    /// The coordinates of this part in a gradient of dimension `dim`. Shard I of N takes
    /// floor(I dim / N)..floor((I + 1) dim / N): contiguous blocks, so the parts' outputs
    /// concatenated in shard order follow the coordinates' order, and every coordinate
    /// is in exactly one shard.
    pub fn range(&self, dim: usize) -> Result<Range<usize>> {
        match *self {
            Self::Range { start, end } => {
                if end > dim {
                    bail!(
                        "--coords {start}:{end}: END {end} is beyond the dimension {dim} of the gradients"
                    );
                }
                Ok(start..end)
            }
            Self::Shard { index, count } => {
                if count > dim {
                    bail!(
                        "--shard {index}/{count}: more shards than the {dim} coordinates of the gradients"
                    );
                }
                let at = |i: usize| (i as u128 * dim as u128 / count as u128) as usize;
                Ok(at(index)..at(index + 1))
            }
        }
    }

    /// The part as its flag writes it, for provenance and messages.
    pub fn describe(&self) -> String {
        match *self {
            Self::Range { start, end } => format!("--coords {start}:{end}"),
            Self::Shard { index, count } => format!("--shard {index}/{count}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_coordinate_once_in_order() {
        for dim in [1usize, 7, 100, 1217] {
            for count in 1..=dim.min(9) {
                let mut next = 0;
                for index in 0..count {
                    let r = CoordSplit::Shard { index, count }.range(dim).unwrap();
                    assert_eq!(r.start, next);
                    assert!(r.end > r.start);
                    next = r.end;
                }
                assert_eq!(next, dim);
            }
        }
    }

    #[test]
    fn bad_values_name_the_flag() {
        let e = |r: Result<CoordSplit>| r.unwrap_err().to_string();
        assert!(e(CoordSplit::parse_shard("4/4")).contains("shard index 4 is outside 0..4"));
        assert!(e(CoordSplit::parse_shard("1/0")).contains("at least 1"));
        assert!(e(CoordSplit::parse_shard("a/2")).contains("not a whole number"));
        assert!(
            e(CoordSplit::parse_range("--coords", "5:5")).contains("START 5 must be below END 5")
        );
        assert!(e(CoordSplit::parse_range("--coords", "5")).contains("expected START:END"));
        let r = CoordSplit::parse_range("--coords", "10:20").unwrap();
        assert_eq!(r.range(20).unwrap(), 10..20);
        assert!(r
            .range(19)
            .unwrap_err()
            .to_string()
            .contains("END 20 is beyond the dimension 19"));
        let s = CoordSplit::parse_shard("0/8").unwrap();
        assert!(s.range(5).unwrap_err().to_string().contains("more shards"));
    }
}
