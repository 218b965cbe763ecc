//! The iteration-wise tests: each tested coordinate over the tested gradients of a step.
//!
//! The tested coordinates are cut into blocks of at most `--block-mb` MiB, and the file
//! is read once per block, copying only that block's coordinates into a coordinate-major
//! buffer (through a small sample-major staging area, one cache line per coordinate and
//! flush). At the end of every step the block is tested in parallel (rayon, one workspace
//! per thread) and the results are reduced in coordinate order, so the output is the same
//! for any thread count and any block size.

use super::aggregate::{Agg, CoordOut};
use super::input::{open_reader, rename};
use super::plan::Plan;
use super::report::CoordRow;
use super::steps::StepInfo;
use super::test_plans::Plans;
use super::Args;
use anyhow::{anyhow, bail, Result};
use gradscope_io::{Sample, TensorLayout};
use gradscope_tool::errln;
use gradscope_tool::progress::progress;
use rayon::prelude::*;

/// Samples staged (sample-major) before they are transposed into the coordinate-major
/// block buffer: 16 f32 = one 64-byte cache line per coordinate and flush.
const STAGE_ROWS: usize = 16;

/// What the block passes found.
pub struct Tested {
    /// Per step, per scope (the tensors, then `all`).
    pub aggs: Vec<Vec<Agg>>,
    /// One row per tested coordinate (with --per-coordinate), in test order.
    pub per_coord: Vec<CoordRow>,
}

/// Tests `coords` (in layout order) at every step, one read of the file per block.
pub fn test_blocks(
    args: &Args,
    plan: &Plan,
    steps: &[StepInfo],
    layout: &[TensorLayout],
    coords: &[(u32, u64)],
    samples_total: u64,
) -> Result<Tested> {
    let input = &plan.input;
    let all_scope = layout.len();
    let m_max = steps.iter().map(|s| s.m).max().expect("a step");
    let per_coord_bytes = 4 * (m_max + STAGE_ROWS)
        + std::mem::size_of::<CoordOut>()
        + if args.per_coordinate.is_some() {
            std::mem::size_of::<CoordRow>()
        } else {
            0
        };
    let width = ((args.block_mb * 1048576.0) as usize / per_coord_bytes).max(1);
    let blocks: Vec<&[(u32, u64)]> = coords.chunks(width).collect();

    // Pass 2..: one read of the file per block of coordinates.
    let mut plans = Plans::new(plan.selection());
    for info in steps {
        plans.get(info.m)?;
    }
    let keep_all = plan.dimension;
    let mut aggs: Vec<Vec<Agg>> = vec![vec![Agg::default(); layout.len() + 1]; steps.len()];
    let mut per_coord: Vec<CoordRow> = Vec::new();
    let bar = progress(Some(samples_total * blocks.len() as u64), "normtest");
    if blocks.len() > 1 {
        errln!(
            "note: {} coordinates in {} blocks of up to {width} (--block-mb {}): the input is read {} times",
            coords.len(),
            blocks.len(),
            args.block_mb,
            blocks.len() + 1
        );
    }
    let mut sample = Sample::default();
    let mut buf: Vec<f32> = Vec::new();
    let mut stage: Vec<f32> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    for block in &blocks {
        offsets.clear();
        offsets.extend(
            block
                .iter()
                .map(|&(t, i)| layout[t as usize].offset + i as usize),
        );
        let w = block.len();
        stage.resize(STAGE_ROWS * w, 0.0);
        let mut reader = open_reader(input)?;
        let mut step_idx: Option<usize> = None;
        let mut pos = 0usize;
        let mut staged = 0usize;
        let mut first_slot = 0usize;
        let mut test_step = |idx: usize, buf: &[f32]| -> Result<()> {
            let info = &steps[idx];
            let plan = plans.get(info.m)?;
            let outs: Vec<CoordOut> = buf[..w * info.m]
                .par_chunks(info.m)
                .map_init(
                    || plan.workspace(),
                    |ws, col| plan.run_f32(col, ws).map(|r| CoordOut::from(&r)),
                )
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow!("{}: step {}: {e}", input.name, info.step))?;
            for (&(t, i), out) in block.iter().zip(&outs) {
                aggs[idx][t as usize].add(out, args.alpha, true);
                if keep_all {
                    aggs[idx][all_scope].add(out, args.alpha, true);
                }
                if args.per_coordinate.is_some() {
                    per_coord.push(CoordRow {
                        step_idx: idx as u32,
                        scope: t,
                        index: i,
                        n: info.m as u32,
                        out: *out,
                    });
                }
            }
            Ok(())
        };
        // Moves the staged rows (sample-major) into the coordinate-major buffer.
        let flush = |buf: &mut [f32], stage: &[f32], staged: usize, first_slot: usize, m: usize| {
            for j in 0..w {
                let dst = &mut buf[j * m + first_slot..j * m + first_slot + staged];
                for (r, d) in dst.iter_mut().enumerate() {
                    *d = stage[r * w + j];
                }
            }
        };
        loop {
            let more = reader
                .next_sample(&mut sample)
                .map_err(|e| rename(e, input))?;
            let new_step = !more || step_idx.is_none_or(|i| !steps[i].holds(&sample));
            if new_step {
                if let Some(i) = step_idx {
                    flush(&mut buf, &stage, staged, first_slot, steps[i].m);
                    staged = 0;
                    if pos != steps[i].n {
                        bail!(
                            "{}: changed while being read (step {} had {} gradients, now {pos})",
                            input.name,
                            steps[i].step,
                            steps[i].n
                        );
                    }
                    test_step(i, &buf)?;
                }
                if !more {
                    break;
                }
                let next = step_idx.map_or(0, |i| i + 1);
                if steps.get(next).is_none_or(|s| !s.holds(&sample)) {
                    bail!(
                        "{}: changed while being read (unexpected step {})",
                        input.name,
                        sample.step
                    );
                }
                step_idx = Some(next);
                pos = 0;
                buf.resize(w * steps[next].m, 0.0);
            }
            let info = &steps[step_idx.expect("set above")];
            if pos >= info.n {
                bail!(
                    "{}: changed while being read (step {} has more gradients than before)",
                    input.name,
                    info.step
                );
            }
            if let Some(slot) = info.slot(pos) {
                if staged == 0 {
                    first_slot = slot;
                }
                let row = &mut stage[staged * w..(staged + 1) * w];
                for (d, &g) in row.iter_mut().zip(&offsets) {
                    *d = sample.values[g];
                }
                staged += 1;
                if staged == STAGE_ROWS {
                    flush(&mut buf, &stage, staged, first_slot, info.m);
                    staged = 0;
                }
            }
            pos += 1;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    drop(buf);
    Ok(Tested { aggs, per_coord })
}
