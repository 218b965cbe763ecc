//! One pass over a stream of gradients: the directional and moment statistics of the vMF
//! study, in memory proportional to the dimension whatever the number of gradients.
//!
//! For gradients g_1..g_N of dimension d at one parameter point (and optionally for each
//! tensor's block of coordinates, a "scope"):
//! - directions: r_bar = |sum_i g_i/|g_i|| / n over the n non-zero gradients; kappa-hat
//!   (Banerjee et al. 2005) and the maximum-likelihood kappa; the Rayleigh test;
//! - norms: mean and sample sd of |g_i|, GNS = sd/mean and norm_snr = 1/GNS (the vMF
//!   study, section 4.1, writes the inverse quantities E|g|/sqrt(Var|g|) there);
//! - moments: GS = sqrt(tr Cov(g)) / |mean g| and snr = 1/GS, with tr Cov the unbiased
//!   (N-1) trace, accumulated by Welford's update per coordinate (Welford 1962), which stays
//!   accurate when the noise is small beside the mean, where the textbook
//!   sum-of-squares formula cancels;
//! - angles with one fixed random unit vector u ([`super::angles`]).
//!
//! A zero gradient has no direction: it is left out of the directional statistics and the
//! angles and counted in `n_zero`; it is still a draw of the gradient, so it stays in the
//! norms and moments (which therefore use N = n + n_zero samples).
//!
//! Memory: the running mean (8 bytes per coordinate), the sum of unit vectors (8 more, and
//! 8 more again when per-tensor scopes are kept, since each tensor is normalised on its
//! own), and u in f32 (4): at most 28 bytes per coordinate. Work is split into fixed
//! chunks of coordinates processed in parallel and reduced in chunk order, so results are
//! identical for any number of threads.

use super::angles::{AngleAccumulator, AngleSummary};
use super::kappa::{banerjee, maximum_likelihood};
use super::uniformity::{rayleigh, Rayleigh};
use crate::rng::seeded;
use multiversion::multiversion;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Coordinates per parallel work item. Fixed (not derived from the thread count) so that
/// the order of every floating-point reduction is fixed.
pub const CHUNK: usize = 16_384;

/// A block of coordinates measured on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    pub start: usize,
    pub len: usize,
}

/// Per-scope scalars.
#[derive(Debug, Clone)]
struct ScopeState {
    n_dir: u64,
    n_zero: u64,
    norm_mean: f64,
    norm_m2: f64,
    m2: f64,
    u_norm: f64,
    angles: AngleAccumulator,
}

/// Everything reported for one scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeStats {
    pub scope: String,
    /// Gradients with a direction (non-zero norm in this scope).
    pub n: u64,
    /// Gradients left out of the directional statistics because their norm was zero.
    pub n_zero: u64,
    pub dim: usize,
    pub r_bar: f64,
    pub kappa: f64,
    pub kappa_ml: f64,
    pub rayleigh: Rayleigh,
    pub mean_norm: f64,
    pub std_norm: f64,
    pub gns: f64,
    pub norm_snr: f64,
    /// |mean g| over all N gradients.
    pub mean_grad_norm: f64,
    /// tr Cov(g), unbiased.
    pub trace_cov: f64,
    pub gs: f64,
    pub snr: f64,
    pub angles: AngleSummary,
}

/// The one-pass accumulator for one parameter point.
#[derive(Debug)]
pub struct DirectionalAccumulator {
    dim: usize,
    scopes: Vec<Scope>,
    per_scope_units: bool,
    total: u64,
    mean: Vec<f64>,
    unit_all: Vec<f64>,
    unit_scope: Vec<f64>,
    u: Vec<f32>,
    all: ScopeState,
    each: Vec<ScopeState>,
    chunks: Vec<(usize, usize)>,
}

fn new_state(len: usize, u_norm: f64) -> ScopeState {
    ScopeState {
        n_dir: 0,
        n_zero: 0,
        norm_mean: 0.0,
        norm_m2: 0.0,
        m2: 0.0,
        u_norm,
        angles: AngleAccumulator::new(len),
    }
}

impl DirectionalAccumulator {
    /// An accumulator over `dim` coordinates. `scopes` (possibly empty) are the blocks
    /// measured on their own besides the whole vector; they must be disjoint and inside
    /// `0..dim`. The random direction u for the angles is drawn from `angle_seed`.
    pub fn new(dim: usize, scopes: Vec<Scope>, angle_seed: u64) -> Self {
        let mut rng = seeded(angle_seed);
        let u: Vec<f32> = (0..dim)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect::<Vec<f64>>()
            .iter()
            .map(|&v| v as f32)
            .collect();
        let u_norm_all = u.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
        let each: Vec<ScopeState> = scopes
            .iter()
            .map(|s| {
                let un = u[s.start..s.start + s.len]
                    .iter()
                    .map(|&v| v as f64 * v as f64)
                    .sum::<f64>()
                    .sqrt();
                new_state(s.len, un)
            })
            .collect();
        let per_scope_units = !scopes.is_empty();
        let mut chunks = Vec::new();
        let mut start = 0;
        while start < dim {
            let end = (start + CHUNK).min(dim);
            chunks.push((start, end));
            start = end;
        }
        Self {
            dim,
            per_scope_units,
            total: 0,
            mean: vec![0.0; dim],
            unit_all: vec![0.0; dim],
            unit_scope: if per_scope_units {
                vec![0.0; dim]
            } else {
                Vec::new()
            },
            u,
            all: new_state(dim, u_norm_all),
            each,
            scopes,
            chunks,
        }
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of gradients pushed.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Adds one gradient (length `dim`, finite values: callers validate).
    pub fn push(&mut self, g: &[f32]) {
        self.push_block(&[g]);
    }

    /// Adds up to [`MAX_BLOCK`] gradients, in order. The result is bit for bit that of
    /// pushing them one at a time: every coordinate sees the same sequence of Welford
    /// updates and every reduction keeps its order. Why blocks: one gradient's update
    /// reads and writes the whole f64 state (16 to 24 bytes per coordinate) to use 4
    /// bytes of input, so single pushes are bound by memory traffic; a block of k
    /// gradients passes over the state once.
    pub fn push_block(&mut self, gs: &[&[f32]]) {
        assert!(
            gs.len() <= MAX_BLOCK,
            "at most {MAX_BLOCK} gradients per block"
        );
        for g in gs {
            assert_eq!(g.len(), self.dim, "gradient length");
        }
        if gs.is_empty() {
            return;
        }
        let k = gs.len();
        let nscopes = self.scopes.len();
        // Pass 1, per gradient: squared norms and dot products with u.
        let firsts: Vec<PassOne> = gs.iter().map(|g| self.pass_one(g)).collect();
        let mut inv_n = [0.0f64; MAX_BLOCK];
        let mut inv_all = [0.0f64; MAX_BLOCK];
        // inv_scope[s][j]: gradient j's inverse norm in scope s.
        let mut inv_scope = vec![[0.0f64; MAX_BLOCK]; nscopes];
        for (j, p) in firsts.iter().enumerate() {
            inv_n[j] = 1.0 / (self.total + 1 + j as u64) as f64;
            let norm = p.ss_all.sqrt();
            inv_all[j] = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            for (s, inv) in inv_scope.iter_mut().enumerate() {
                let ss = p.ss_scope[s];
                inv[j] = if ss > 0.0 { 1.0 / ss.sqrt() } else { 0.0 };
            }
        }
        let (inv_n, inv_all) = (&inv_n[..k], &inv_all[..k]);

        // Pass 2, per chunk of coordinates: Welford on the mean and the sums of unit
        // vectors for every gradient of the block; m2 per gradient, per chunk and piece.
        let scopes = &self.scopes;
        let slice = |a: usize, b: usize| -> Vec<&[f32]> { gs.iter().map(|g| &g[a..b]).collect() };
        let m2_parts: Vec<ChunkM2> = if self.per_scope_units {
            self.mean
                .par_chunks_mut(CHUNK)
                .zip(self.unit_all.par_chunks_mut(CHUNK))
                .zip(self.unit_scope.par_chunks_mut(CHUNK))
                .enumerate()
                .map(|(c, ((mean, ua), us))| {
                    let a = c * CHUNK;
                    let b = a + mean.len();
                    let mut part = ChunkM2 {
                        total: [0.0; MAX_BLOCK],
                        pieces: Vec::new(),
                    };
                    let mut m2 = [0.0f64; MAX_BLOCK];
                    let mut cursor = a;
                    for (s, x, y) in scope_pieces(scopes, a, b) {
                        if cursor < x {
                            let r = cursor - a..x - a;
                            update_block(
                                &slice(cursor, x),
                                &mut mean[r.clone()],
                                &mut ua[r],
                                None,
                                inv_all,
                                inv_n,
                                &mut m2[..k],
                            );
                            add(&mut part.total, &m2[..k]);
                        }
                        let r = x - a..y - a;
                        update_block(
                            &slice(x, y),
                            &mut mean[r.clone()],
                            &mut ua[r.clone()],
                            Some((&mut us[r], &inv_scope[s][..k])),
                            inv_all,
                            inv_n,
                            &mut m2[..k],
                        );
                        add(&mut part.total, &m2[..k]);
                        part.pieces.push((s, m2));
                        cursor = y;
                    }
                    if cursor < b {
                        update_block(
                            &slice(cursor, b),
                            &mut mean[cursor - a..],
                            &mut ua[cursor - a..],
                            None,
                            inv_all,
                            inv_n,
                            &mut m2[..k],
                        );
                        add(&mut part.total, &m2[..k]);
                    }
                    part
                })
                .collect()
        } else {
            self.mean
                .par_chunks_mut(CHUNK)
                .zip(self.unit_all.par_chunks_mut(CHUNK))
                .enumerate()
                .map(|(c, (mean, ua))| {
                    let a = c * CHUNK;
                    let b = a + mean.len();
                    let mut total = [0.0f64; MAX_BLOCK];
                    update_block(
                        &slice(a, b),
                        mean,
                        ua,
                        None,
                        inv_all,
                        inv_n,
                        &mut total[..k],
                    );
                    ChunkM2 {
                        total,
                        pieces: Vec::new(),
                    }
                })
                .collect()
        };
        // Reduce gradient by gradient, each in chunk order, as single pushes would.
        for (j, p) in firsts.iter().enumerate() {
            self.total += 1;
            let mut m2_scope = vec![0.0; nscopes];
            for part in &m2_parts {
                self.all.m2 += part.total[j];
                for (s, v) in &part.pieces {
                    m2_scope[*s] += v[j];
                }
            }
            observe(&mut self.all, p.ss_all.sqrt(), p.dot_all, self.total);
            for (s, st) in self.each.iter_mut().enumerate() {
                st.m2 += m2_scope[s];
                observe(st, p.ss_scope[s].sqrt(), p.dot_scope[s], self.total);
            }
        }
    }

    /// Squared norms and dot products with u of one gradient, whole and per scope, each
    /// reduced over the chunks in chunk order.
    fn pass_one(&self, g: &[f32]) -> PassOne {
        let scopes = &self.scopes;
        let u = &self.u;
        let partial: Vec<ChunkSums> = self
            .chunks
            .par_iter()
            .map(|&(a, b)| {
                let (ss, dot) = sums(&g[a..b], &u[a..b]);
                let pieces = scope_pieces(scopes, a, b)
                    .map(|(s, x, y)| {
                        let (ss, dot) = sums(&g[x..y], &u[x..y]);
                        (s, ss, dot)
                    })
                    .collect();
                (ss, dot, pieces)
            })
            .collect();
        let mut out = PassOne {
            ss_all: 0.0,
            dot_all: 0.0,
            ss_scope: vec![0.0; scopes.len()],
            dot_scope: vec![0.0; scopes.len()],
        };
        for (ss, dot, pieces) in &partial {
            out.ss_all += ss;
            out.dot_all += dot;
            for &(s, ss, dot) in pieces {
                out.ss_scope[s] += ss;
                out.dot_scope[s] += dot;
            }
        }
        out
    }

    /// The state, to store and merge elsewhere (see [`DirectionalState`]).
    pub fn state(&self) -> DirectionalState {
        DirectionalState {
            total: self.total,
            mean: self.mean.clone(),
            unit_all: self.unit_all.clone(),
            unit_scope: self.unit_scope.clone(),
            moments: self.moments(),
        }
    }

    /// The state, moving the per-coordinate vectors out rather than copying them (a
    /// state file written as each parameter point ends needs no second copy of them).
    pub fn into_state(self) -> DirectionalState {
        let moments = self.moments();
        DirectionalState {
            total: self.total,
            mean: self.mean,
            unit_all: self.unit_all,
            unit_scope: self.unit_scope,
            moments,
        }
    }

    fn moments(&self) -> Vec<ScopeMoments> {
        std::iter::once(&self.all)
            .chain(&self.each)
            .map(|st| ScopeMoments {
                n_dir: st.n_dir,
                n_zero: st.n_zero,
                norm_mean: st.norm_mean,
                norm_m2: st.norm_m2,
                m2: st.m2,
                angles: st.angles.clone(),
            })
            .collect()
    }

    /// An accumulator with a stored state, for the same `dim`, `scopes` and `angle_seed`
    /// it was taken with; an error names the first part whose size does not fit.
    pub fn from_state(
        dim: usize,
        scopes: Vec<Scope>,
        angle_seed: u64,
        state: DirectionalState,
    ) -> Result<Self, StateError> {
        let mut acc = Self::new(dim, scopes, angle_seed);
        let unit_len = if acc.per_scope_units { dim } else { 0 };
        if state.mean.len() != dim || state.unit_all.len() != dim {
            return Err(StateError("the vectors' length differs from the dimension"));
        }
        if state.unit_scope.len() != unit_len {
            return Err(StateError("the per-scope unit sums do not fit the scopes"));
        }
        if state.moments.len() != 1 + acc.scopes.len() {
            return Err(StateError("the number of scopes differs"));
        }
        acc.total = state.total;
        acc.mean = state.mean;
        acc.unit_all = state.unit_all;
        acc.unit_scope = state.unit_scope;
        for (st, m) in std::iter::once(&mut acc.all)
            .chain(acc.each.iter_mut())
            .zip(state.moments)
        {
            st.n_dir = m.n_dir;
            st.n_zero = m.n_zero;
            st.norm_mean = m.norm_mean;
            st.norm_m2 = m.norm_m2;
            st.m2 = m.m2;
            st.angles = m.angles;
        }
        Ok(acc)
    }

    /// Adds the gradients another accumulator of the same dimension, scopes and random
    /// direction saw (another part of the same parameter point). Per coordinate j, with
    /// counts n_a, n_b and delta_j = mean_b,j - mean_a,j (Chan, Golub and LeVeque,
    /// "Algorithms for computing the sample variance", 1979):
    /// mean_j <- mean_a,j + delta_j n_b / n and M2 <- M2_a + M2_b + delta_j^2 n_a n_b / n,
    /// summed over each scope's coordinates; the norms' mean and M2 the same way; sums of
    /// unit vectors, counts and angle histograms add. The result equals one accumulator
    /// over both parts up to the order of floating-point additions (1e-12 relative in
    /// the tests).
    pub fn merge(&mut self, other: &DirectionalAccumulator) -> Result<(), StateError> {
        if other.dim != self.dim || other.scopes != self.scopes {
            return Err(StateError("the dimension or the scopes differ"));
        }
        if other.u != self.u {
            return Err(StateError("the random direction differs (another --seed)"));
        }
        if other.total == 0 {
            return Ok(());
        }
        let (na, nb) = (self.total as f64, other.total as f64);
        let n = na + nb;
        let w = na * nb / n;
        // Squared mean differences per chunk, reduced in chunk order; per scope as well.
        let ranges: Vec<(usize, usize)> = std::iter::once((0, self.dim))
            .chain(self.scopes.iter().map(|s| (s.start, s.start + s.len)))
            .collect();
        let delta_sq: Vec<Vec<f64>> = self
            .chunks
            .par_iter()
            .map(|&(a, b)| {
                ranges
                    .iter()
                    .map(|&(x, y)| {
                        let (x, y) = (x.max(a), y.min(b));
                        (x..y.max(x))
                            .map(|j| {
                                let d = other.mean[j] - self.mean[j];
                                d * d
                            })
                            .sum::<f64>()
                    })
                    .collect()
            })
            .collect();
        let mut per_scope = vec![0.0; ranges.len()];
        for chunk in &delta_sq {
            for (t, v) in per_scope.iter_mut().zip(chunk) {
                *t += v;
            }
        }
        let frac = nb / n;
        self.mean
            .par_iter_mut()
            .zip(&other.mean)
            .for_each(|(m, o)| *m += (o - *m) * frac);
        for (a, b) in self.unit_all.iter_mut().zip(&other.unit_all) {
            *a += b;
        }
        for (a, b) in self.unit_scope.iter_mut().zip(&other.unit_scope) {
            *a += b;
        }
        let states = std::iter::once(&mut self.all).chain(self.each.iter_mut());
        let others = std::iter::once(&other.all).chain(&other.each);
        for ((st, ot), dsq) in states.zip(others).zip(&per_scope) {
            st.m2 += ot.m2 + dsq * w;
            let dn = ot.norm_mean - st.norm_mean;
            st.norm_mean += dn * frac;
            st.norm_m2 += ot.norm_m2 + dn * dn * w;
            st.n_dir += ot.n_dir;
            st.n_zero += ot.n_zero;
            st.angles.merge(&ot.angles);
        }
        self.total += other.total;
        Ok(())
    }

    /// The statistics of the whole vector followed by one entry per scope.
    pub fn finish(&self) -> Vec<ScopeStats> {
        let mut out = Vec::with_capacity(1 + self.scopes.len());
        out.push(self.stats("all", 0, self.dim, &self.all, &self.unit_all));
        for (s, st) in self.scopes.iter().zip(&self.each) {
            out.push(self.stats(&s.name, s.start, s.len, st, &self.unit_scope));
        }
        out
    }

    /// The angle histograms (see [`AngleAccumulator::histogram`]) of the whole vector and
    /// of each scope, in the order of [`Self::finish`].
    pub fn angle_histograms(&self, bins: usize) -> Vec<Vec<(f64, f64, u64, f64)>> {
        std::iter::once(&self.all)
            .chain(&self.each)
            .map(|s| s.angles.histogram(bins))
            .collect()
    }

    fn stats(
        &self,
        name: &str,
        start: usize,
        len: usize,
        st: &ScopeState,
        units: &[f64],
    ) -> ScopeStats {
        let range = start..start + len;
        let resultant = units[range.clone()]
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt();
        let n = st.n_dir;
        let r_bar = if n > 0 {
            (resultant / n as f64).min(1.0)
        } else {
            f64::NAN
        };
        let d = len as f64;
        let total = self.total as f64;
        let mean_grad_norm = self.mean[range].iter().map(|v| v * v).sum::<f64>().sqrt();
        let trace_cov = if self.total > 1 {
            st.m2 / (total - 1.0)
        } else {
            f64::NAN
        };
        let std_norm = if self.total > 1 {
            (st.norm_m2 / (total - 1.0)).sqrt()
        } else {
            f64::NAN
        };
        let gns = std_norm / st.norm_mean;
        let gs = trace_cov.sqrt() / mean_grad_norm;
        ScopeStats {
            scope: name.to_string(),
            n,
            n_zero: st.n_zero,
            dim: len,
            r_bar,
            kappa: banerjee(r_bar, d),
            kappa_ml: maximum_likelihood(r_bar, d),
            rayleigh: rayleigh(r_bar, n as usize, len),
            mean_norm: st.norm_mean,
            std_norm,
            gns,
            norm_snr: 1.0 / gns,
            mean_grad_norm,
            trace_cov,
            gs,
            snr: 1.0 / gs,
            angles: st.angles.summary(),
        }
    }
}

/// What a [`DirectionalAccumulator`] holds, for storing and merging: the count, the
/// running mean and the sums of unit vectors per coordinate (whole vector, and per scope
/// when scopes are kept: empty otherwise), and per scope (the whole vector first) the
/// moments below.
#[derive(Debug, Clone)]
pub struct DirectionalState {
    pub total: u64,
    pub mean: Vec<f64>,
    pub unit_all: Vec<f64>,
    pub unit_scope: Vec<f64>,
    pub moments: Vec<ScopeMoments>,
}

/// One scope's scalars: gradients with and without a direction, the norms' running mean
/// and sum of squared deviations (over all gradients), the gradients' summed
/// per-coordinate sum of squared deviations, and the angles.
#[derive(Debug, Clone)]
pub struct ScopeMoments {
    pub n_dir: u64,
    pub n_zero: u64,
    pub norm_mean: f64,
    pub norm_m2: f64,
    pub m2: f64,
    pub angles: AngleAccumulator,
}

/// A stored state that does not fit the accumulator it is loaded into or merged with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vMF state: {0}")]
pub struct StateError(pub &'static str);

/// Per chunk: sum of squares, dot product with u, and the same per scope piece.
type ChunkSums = (f64, f64, Vec<(usize, f64, f64)>);

/// The most gradients [`DirectionalAccumulator::push_block`] takes at once.
pub const MAX_BLOCK: usize = 8;

/// One gradient's pass-1 sums.
struct PassOne {
    ss_all: f64,
    dot_all: f64,
    ss_scope: Vec<f64>,
    dot_scope: Vec<f64>,
}

/// Per chunk, per gradient of a block: the sum of squared deviations, whole and per scope
/// piece (scope index, values by gradient).
struct ChunkM2 {
    total: [f64; MAX_BLOCK],
    pieces: Vec<(usize, [f64; MAX_BLOCK])>,
}

/// Chunk totals add their pieces in coordinate order, as single pushes did.
fn add(total: &mut [f64; MAX_BLOCK], m2: &[f64]) {
    for (t, v) in total.iter_mut().zip(m2) {
        *t += v;
    }
}

/// The scope pieces inside [a, b): (scope index, start, end), in coordinate order.
fn scope_pieces(
    scopes: &[Scope],
    a: usize,
    b: usize,
) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    scopes.iter().enumerate().filter_map(move |(i, s)| {
        let x = s.start.max(a);
        let y = (s.start + s.len).min(b);
        (x < y).then_some((i, x, y))
    })
}

/// Sum of squares of g and its dot product with u, in f64.
#[multiversion(targets("x86_64+avx2+fma"))]
fn sums(g: &[f32], u: &[f32]) -> (f64, f64) {
    // Four independent lanes so the compiler can vectorise and pipeline the adds.
    let mut ss = [0.0f64; 4];
    let mut dot = [0.0f64; 4];
    let gc = g.chunks_exact(4);
    let uc = u.chunks_exact(4);
    let (gr, ur) = (gc.remainder(), uc.remainder());
    for (a, b) in gc.zip(uc) {
        for k in 0..4 {
            let x = a[k] as f64;
            ss[k] += x * x;
            dot[k] += x * b[k] as f64;
        }
    }
    let mut s = (ss[0] + ss[1]) + (ss[2] + ss[3]);
    let mut t = (dot[0] + dot[1]) + (dot[2] + dot[3]);
    for (x, y) in gr.iter().zip(ur) {
        s += (*x as f64) * (*x as f64);
        t += (*x as f64) * (*y as f64);
    }
    (s, t)
}

/// Coordinates per tile of [`update_block`]: the tile's f64 state (three arrays of 8 KiB)
/// stays in the L1 and L2 caches while every gradient of the block updates it.
const TILE: usize = 1024;

/// Welford's update of the running mean over a range of coordinates for each gradient
/// of a block in turn, the unit-vector sums (whole vector, and the scope's when given
/// with its inverse norms), and each gradient's sum of squared deviations over the range
/// (written to `m2`).
///
/// Per coordinate and gradient j (Welford 1962): delta = x - m; m += delta / n_j;
/// m2_j += delta (x - m); unit += x / |g_j|. The range goes in tiles; within a tile the
/// gradients go in order, and each gradient keeps four m2 lanes over the coordinates
/// (merged at the end as ((l0 + l1) + (l2 + l3)) before the remainder): the same
/// operations in the same order as a single gradient's update, so blocks change no bit
/// of the result.
#[multiversion(targets("x86_64+avx2+fma"))]
fn update_block(
    gs: &[&[f32]],
    mean: &mut [f64],
    unit_all: &mut [f64],
    unit_scope: Option<(&mut [f64], &[f64])>,
    inv_all: &[f64],
    inv_n: &[f64],
    m2: &mut [f64],
) {
    let k = gs.len();
    let len = mean.len();
    let main = len - len % 4;
    let mut lanes = [[0.0f64; 4]; MAX_BLOCK];
    let mut start = 0;
    while start < main {
        let end = (start + TILE).min(main);
        for j in 0..k {
            welford_lanes(
                &gs[j][start..end],
                &mut mean[start..end],
                &mut unit_all[start..end],
                inv_n[j],
                inv_all[j],
                &mut lanes[j],
            );
        }
        start = end;
    }
    for j in 0..k {
        let l = &lanes[j];
        m2[j] = (l[0] + l[1]) + (l[2] + l[3]);
    }
    for c in main..len {
        for j in 0..k {
            let x = gs[j][c] as f64;
            let delta = x - mean[c];
            mean[c] += delta * inv_n[j];
            m2[j] += delta * (x - mean[c]);
            unit_all[c] += x * inv_all[j];
        }
    }
    if let Some((us, inv_scope)) = unit_scope {
        let mut start = 0;
        while start < len {
            let end = (start + TILE).min(len);
            for j in 0..k {
                let w = inv_scope[j];
                if w > 0.0 {
                    for (s, &x) in us[start..end].iter_mut().zip(&gs[j][start..end]) {
                        *s += x as f64 * w;
                    }
                }
            }
            start = end;
        }
    }
}

/// One gradient's Welford step over a run of coordinates (a multiple of 4 long), with
/// four m2 lanes; zipped exact chunks without bounds checks, so the loop vectorises.
#[inline(always)]
fn welford_lanes(
    g: &[f32],
    mean: &mut [f64],
    unit: &mut [f64],
    inv_n: f64,
    inv_all: f64,
    lanes: &mut [f64; 4],
) {
    let mut m2 = *lanes;
    for ((x4, m4), u4) in g
        .chunks_exact(4)
        .zip(mean.chunks_exact_mut(4))
        .zip(unit.chunks_exact_mut(4))
    {
        for q in 0..4 {
            let x = x4[q] as f64;
            let delta = x - m4[q];
            m4[q] += delta * inv_n;
            m2[q] += delta * (x - m4[q]);
            u4[q] += x * inv_all;
        }
    }
    *lanes = m2;
}

/// Updates a scope's counts, norm moments and angles with one gradient's norm and dot(u).
fn observe(st: &mut ScopeState, norm: f64, dot: f64, total: u64) {
    let delta = norm - st.norm_mean;
    st.norm_mean += delta / total as f64;
    st.norm_m2 += delta * (norm - st.norm_mean);
    if norm > 0.0 {
        st.n_dir += 1;
        if st.u_norm > 0.0 {
            st.angles.push_cos(dot / (norm * st.u_norm));
        }
    } else {
        st.n_zero += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;
    use crate::vmf::wood::{sample_vmf, WoodSampler};

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn eight_vectors_give_the_reference_estimates() {
        // The foundation issue's d = 3 example, with norms 1..8 so that the norm and
        // moment statistics are non-trivial; reference values computed in closed form
        // below (and by scripts/reference/vmf_reference.py for the kappas).
        let dirs = [
            [0.0, 0.0, 1.0],
            [0.0, 0.0, 1.0],
            [0.6, 0.0, 0.8],
            [-0.6, 0.0, 0.8],
            [0.0, 0.6, 0.8],
            [0.0, -0.6, 0.8],
            [0.8, 0.0, 0.6],
            [0.0, 0.8, 0.6],
        ];
        let mut acc = DirectionalAccumulator::new(3, vec![], 1);
        let mut gs = Vec::new();
        for (i, d) in dirs.iter().enumerate() {
            let s = (i + 1) as f64;
            let g: Vec<f32> = d.iter().map(|v| (v * s) as f32).collect();
            gs.push(g.clone());
            acc.push(&g);
        }
        acc.push(&[0.0, 0.0, 0.0]);
        let st = &acc.finish()[0];
        assert_eq!((st.n, st.n_zero), (8, 1));
        assert!(
            rel(st.r_bar, 0.812_403_840_463_595_8) < 1e-7,
            "{}",
            st.r_bar
        ); // f32 inputs
        assert!(rel(st.kappa, 5.591_249_960_837_685) < 1e-6);
        assert!(rel(st.kappa_ml, 5.329_264_339_979_625) < 1e-6);
        // Norms 1..8 and 0: mean 4, sample sd sqrt(60/8) (sum of squared deviations 60).
        assert!(rel(st.mean_norm, 4.0) < 1e-7);
        assert!(rel(st.std_norm, (60.0f64 / 8.0).sqrt()) < 1e-7);
        // Direct two-pass trace of the covariance over the 9 gradients.
        let mut all = gs.clone();
        all.push(vec![0.0; 3]);
        let mean: Vec<f64> = (0..3)
            .map(|j| all.iter().map(|g| g[j] as f64).sum::<f64>() / 9.0)
            .collect();
        let tr: f64 = all
            .iter()
            .map(|g| (0..3).map(|j| (g[j] as f64 - mean[j]).powi(2)).sum::<f64>())
            .sum::<f64>()
            / 8.0;
        let mnorm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(rel(st.trace_cov, tr) < 1e-12);
        assert!(rel(st.gs, tr.sqrt() / mnorm) < 1e-12);
        assert!(rel(st.snr * st.gs, 1.0) < 1e-15);
    }

    #[test]
    fn per_scope_statistics_equal_a_separate_run() {
        // Scopes measured together must equal each block measured alone.
        let mut rng = seeded(9);
        let dim = 40_000; // spans several chunks, scope boundary inside a chunk
        let scopes = vec![
            Scope {
                name: "a".into(),
                start: 0,
                len: 17_000,
            },
            Scope {
                name: "b".into(),
                start: 17_000,
                len: 23_000,
            },
        ];
        let mut both = DirectionalAccumulator::new(dim, scopes, 3);
        let mut a_alone = DirectionalAccumulator::new(17_000, vec![], 3);
        let mut g = vec![0.0f32; dim];
        for _ in 0..20 {
            for v in g.iter_mut() {
                *v = StandardNormal.sample(&mut rng);
            }
            g[..17_000].iter_mut().for_each(|v| *v += 0.05);
            both.push(&g);
            a_alone.push(&g[..17_000]);
        }
        let s = both.finish();
        let t = &a_alone.finish()[0];
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].scope, "a");
        for (x, y) in [
            (s[1].r_bar, t.r_bar),
            (s[1].gs, t.gs),
            (s[1].gns, t.gns),
            (s[1].trace_cov, t.trace_cov),
        ] {
            assert!(rel(x, y) < 1e-12, "{x} vs {y}");
        }
    }

    #[test]
    fn blocks_give_the_same_bits_as_single_pushes() {
        // Blocks of 1 to MAX_BLOCK gradients against the same gradients pushed one at a
        // time: every reported number identical, bit for bit. The dimension is not a
        // multiple of 4 and a scope edge falls inside a chunk and off the 4-lane grid;
        // gradient 5 is zero and gradient 9 is zero in scope "a" only.
        let mut rng = seeded(21);
        let dim = 2 * CHUNK + 4_103;
        let scopes = vec![
            Scope {
                name: "a".into(),
                start: 0,
                len: 10_001,
            },
            Scope {
                name: "b".into(),
                start: 10_001,
                len: dim - 10_001,
            },
        ];
        let gs: Vec<Vec<f32>> = (0..23)
            .map(|i| {
                let mut g: Vec<f32> = (0..dim)
                    .map(|_| 0.3 + Distribution::<f64>::sample(&StandardNormal, &mut rng) as f32)
                    .collect();
                if i == 5 {
                    g.fill(0.0);
                }
                if i == 9 {
                    g[..10_001].fill(0.0);
                }
                g
            })
            .collect();
        for scoped in [false, true] {
            let sc = if scoped { scopes.clone() } else { vec![] };
            let mut one = DirectionalAccumulator::new(dim, sc.clone(), 4);
            for g in &gs {
                one.push(g);
            }
            let want = format!("{:?}", one.finish());
            for size in 1..=MAX_BLOCK {
                let mut blocked = DirectionalAccumulator::new(dim, sc.clone(), 4);
                for block in gs.chunks(size) {
                    let refs: Vec<&[f32]> = block.iter().map(|g| g.as_slice()).collect();
                    blocked.push_block(&refs);
                }
                assert_eq!(blocked.count(), 23);
                assert_eq!(format!("{:?}", blocked.finish()), want, "block size {size}");
                assert_eq!(blocked.mean, one.mean);
                assert_eq!(blocked.unit_all, one.unit_all);
                assert_eq!(blocked.unit_scope, one.unit_scope);
            }
        }
    }

    #[test]
    fn recovers_kappa_of_vmf_samples() {
        // 2,000 vMF draws in d = 1,000 with kappa = 200: kappa_ml within 5 % (its sampling
        // error here is ~1 %; the Banerjee value is biased upward by ~d/sqrt(n)... not
        // here since r_bar is far from the uniform level).
        let d = 1000;
        let kappa = 200.0;
        let mut rng = seeded(11);
        let w = WoodSampler::new(d, kappa);
        let mut mu = vec![0.0; d];
        mu[0] = 0.6;
        mu[1] = 0.8;
        let mut x = vec![0.0; d];
        let mut acc = DirectionalAccumulator::new(d, vec![], 1);
        for i in 0..2000 {
            sample_vmf(&w, &mu, &mut rng, &mut x);
            let scale = 1.0 + (i % 7) as f64; // norms must not matter to directions
            let g: Vec<f32> = x.iter().map(|v| (v * scale) as f32).collect();
            acc.push(&g);
        }
        let st = &acc.finish()[0];
        assert!(rel(st.kappa_ml, kappa) < 0.05, "{}", st.kappa_ml);
        assert!(st.rayleigh.p < 1e-100 || st.rayleigh.p == 0.0);
    }

    /// Every statistic of two scope-stats lists equal to `rel` (NaNs equal).
    fn assert_stats_close(a: &[ScopeStats], b: &[ScopeStats], rel: f64) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(
                (x.n, x.n_zero, x.dim, &x.scope),
                (y.n, y.n_zero, y.dim, &y.scope)
            );
            assert_eq!(x.angles.n, y.angles.n);
            let pairs = [
                (x.r_bar, y.r_bar),
                (x.kappa, y.kappa),
                (x.kappa_ml, y.kappa_ml),
                (x.mean_norm, y.mean_norm),
                (x.std_norm, y.std_norm),
                (x.mean_grad_norm, y.mean_grad_norm),
                (x.trace_cov, y.trace_cov),
                (x.gs, y.gs),
                (x.angles.mean, y.angles.mean),
                (x.angles.sd, y.angles.sd),
                (x.angles.ks, y.angles.ks),
                (x.rayleigh.statistic, y.rayleigh.statistic),
            ];
            for (i, (p, q)) in pairs.iter().enumerate() {
                assert!(
                    (p.is_nan() && q.is_nan()) || (p - q).abs() <= rel * p.abs().max(q.abs()),
                    "{}: statistic {i}: {p} vs {q}",
                    x.scope
                );
            }
        }
    }

    #[test]
    fn merged_parts_equal_one_pass() {
        // 3 uneven parts of 47 vMF gradients with random norms (and a zero gradient), in a
        // dimension spanning several chunks, with two scopes.
        let dim = 2 * CHUNK + 1000;
        let scopes = vec![
            Scope {
                name: "a".into(),
                start: 10,
                len: CHUNK + 5,
            },
            Scope {
                name: "b".into(),
                start: CHUNK + 100,
                len: CHUNK,
            },
        ];
        let mut rng = seeded(4);
        let mu: Vec<f64> = (0..dim)
            .map(|j| if j % 3 == 0 { 1.0 } else { 0.0 })
            .collect();
        let sampler = WoodSampler::new(dim, 300.0);
        let gs: Vec<Vec<f32>> = (0..47)
            .map(|i| {
                if i == 20 {
                    return vec![0.0; dim];
                }
                let mut x = vec![0.0; dim];
                sample_vmf(&sampler, &mu, &mut rng, &mut x);
                let s = 1.0 + (i % 5) as f64;
                x.iter().map(|v| (v * s) as f32).collect()
            })
            .collect();
        let mut whole = DirectionalAccumulator::new(dim, scopes.clone(), 9);
        for g in &gs {
            whole.push(g);
        }
        let mut parts: Vec<DirectionalAccumulator> = Vec::new();
        for range in [0..5, 5..30, 30..47] {
            let mut acc = DirectionalAccumulator::new(dim, scopes.clone(), 9);
            for g in &gs[range] {
                acc.push(g);
            }
            // Through a stored state, as a state file carries it.
            parts.push(
                DirectionalAccumulator::from_state(dim, scopes.clone(), 9, acc.state()).unwrap(),
            );
        }
        let mut merged = DirectionalAccumulator::new(dim, scopes.clone(), 9);
        for p in &parts {
            merged.merge(p).unwrap();
        }
        assert_eq!(merged.count(), 47);
        assert_stats_close(&whole.finish(), &merged.finish(), 1e-12);
        assert_eq!(whole.angle_histograms(200), merged.angle_histograms(200));
        // What does not fit is refused.
        let other_seed = DirectionalAccumulator::new(dim, scopes.clone(), 10);
        assert!(merged.merge(&other_seed).is_err());
        let no_scopes = DirectionalAccumulator::new(dim, vec![], 9);
        assert!(merged.merge(&no_scopes).is_err());
        assert!(DirectionalAccumulator::from_state(dim + 1, scopes, 9, whole.state()).is_err());
    }
}
