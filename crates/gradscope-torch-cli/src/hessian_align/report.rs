//! The columns of `hessian-align`'s tables, each described once: the per-batch-size table
//! (`-o`, which is also the stderr summary and `--json`'s `alignment`), the per-minibatch
//! table (`--samples-output`), the cosine trajectories (`--cosine-output`, and their
//! means in `--json`'s `cosine`), the eigenvalues (`--eigen-output`, and the whole
//! network's solver runs in `--json`'s `eigen`), the density and its quadrature
//! (`--density`, `--slq-nodes`), the per-block curvature (`--blocks-output`, its stderr
//! summary and `--json`'s `blocks`) and the `--cost-batch` timings (`--json`'s `cost`).
//!
//! Units: losses are mean cross-entropies in nats; gradients are of that loss, so |g| is
//! in nats / parameter; eigenvalues, traces and alignments g^T H g / |g|^2 are curvatures
//! in nats / parameter^2; shares and cosines are dimensionless; times are seconds.

use gradscope_tool::report::{Column, Report};
use gradscope_tool::text_table::json_num;
use gradscope_torch::hessian_spectrum::Eigen;

/// The unit of a curvature (an eigenvalue, a trace, an alignment).
const CURVATURE: &str = "nats / parameter^2";

/// One batch size's alignment statistics over its minibatches (means and standard
/// deviations with n - 1), beside the whole network's curvature at the checkpoint.
#[derive(Debug, Clone)]
pub struct BatchSizeRow {
    pub step: u64,
    pub epoch: u64,
    pub batch_size: u64,
    /// Whether the batch size is the whole training split.
    pub full: bool,
    pub minibatches: u64,
    pub alignment_mean: f64,
    pub alignment_sd: f64,
    pub topk_share_mean: f64,
    pub topk_share_sd: f64,
    pub grad_norm_mean: f64,
    pub loss_mean: f64,
    pub top_k: u64,
    pub top_eigenvalue: f64,
    pub hessian_trace: f64,
    pub hessian_trace_se: f64,
    pub hessian_examples: u64,
}

/// `-o`, the summary and `--json`'s `alignment` (where the alignment's mean and sd are
/// `mean` and `sd`).
pub fn batch_sizes() -> Report<BatchSizeRow> {
    Report::new(vec![
        Column::u64("step", |r: &BatchSizeRow| r.step),
        Column::u64("epoch", |r: &BatchSizeRow| r.epoch),
        Column::u64("batch_size", |r: &BatchSizeRow| r.batch_size)
            .summary_with("batch size", |r| {
                if r.full {
                    format!("{} (full)", r.batch_size)
                } else {
                    r.batch_size.to_string()
                }
            })
            .json(),
        Column::u64("minibatches", |r: &BatchSizeRow| r.minibatches)
            .summary("minibatches")
            .json(),
        Column::f64("alignment_mean", |r: &BatchSizeRow| r.alignment_mean)
            .unit(CURVATURE)
            .summary("alignment"),
        Column::f64("alignment_sd", |r: &BatchSizeRow| r.alignment_sd)
            .unit(CURVATURE)
            .summary("sd"),
        Column::f64("topk_share_mean", |r: &BatchSizeRow| r.topk_share_mean)
            .summary("top-k share")
            .json(),
        Column::f64("topk_share_sd", |r: &BatchSizeRow| r.topk_share_sd),
        Column::f64("grad_norm_mean", |r: &BatchSizeRow| r.grad_norm_mean)
            .unit("nats / parameter")
            .summary("|g|"),
        Column::f64("loss_mean", |r: &BatchSizeRow| r.loss_mean).unit("nats"),
        Column::u64("top_k", |r: &BatchSizeRow| r.top_k),
        Column::f64("top_eigenvalue", |r: &BatchSizeRow| r.top_eigenvalue).unit(CURVATURE),
        Column::f64("hessian_trace", |r: &BatchSizeRow| r.hessian_trace).unit(CURVATURE),
        Column::f64("hessian_trace_se", |r: &BatchSizeRow| r.hessian_trace_se).unit(CURVATURE),
        Column::u64("hessian_examples", |r: &BatchSizeRow| r.hessian_examples),
        Column::json_only("mean", |r: &BatchSizeRow| json_num(r.alignment_mean)),
        Column::json_only("sd", |r: &BatchSizeRow| json_num(r.alignment_sd)),
    ])
}

/// One minibatch's measurements.
#[derive(Debug, Clone)]
pub struct SampleRow {
    pub step: u64,
    pub batch_size: u64,
    /// The minibatch's number within its batch size.
    pub sample: u64,
    pub loss: f64,
    pub grad_norm: f64,
    pub alignment: f64,
    pub topk_share: f64,
}

/// `--samples-output`.
pub fn samples() -> Report<SampleRow> {
    Report::new(vec![
        Column::u64("step", |r: &SampleRow| r.step),
        Column::u64("batch_size", |r: &SampleRow| r.batch_size),
        Column::u64("sample", |r: &SampleRow| r.sample),
        Column::f64("loss", |r: &SampleRow| r.loss).unit("nats"),
        Column::f64("grad_norm", |r: &SampleRow| r.grad_norm).unit("nats / parameter"),
        Column::f64("alignment", |r: &SampleRow| r.alignment).unit(CURVATURE),
        Column::f64("topk_share", |r: &SampleRow| r.topk_share),
    ])
}

/// One update of a cosine trajectory.
#[derive(Debug, Clone)]
pub struct CosineRow {
    pub batch_size: u64,
    /// Updates from the checkpoint (1-based).
    pub update: u64,
    /// The run's step after the update.
    pub step: u64,
    pub loss: f64,
    pub grad_norm: f64,
    /// cos(g_{t-1}, g_t); NaN for a trajectory's first update.
    pub cosine: f64,
}

/// `--cosine-output`.
pub fn cosines() -> Report<CosineRow> {
    Report::new(vec![
        Column::u64("batch_size", |r: &CosineRow| r.batch_size),
        Column::u64("update", |r: &CosineRow| r.update),
        Column::u64("step", |r: &CosineRow| r.step),
        Column::f64("loss", |r: &CosineRow| r.loss).unit("nats"),
        Column::f64("grad_norm", |r: &CosineRow| r.grad_norm).unit("nats / parameter"),
        Column::f64("cosine", |r: &CosineRow| r.cosine),
    ])
}

/// A trajectory's cosines of consecutive gradients: mean and sd (n - 1) over its pairs.
#[derive(Debug, Clone)]
pub struct CosineSummary {
    pub batch_size: u64,
    pub mean: f64,
    pub sd: f64,
    pub pairs: u64,
}

/// `--json`'s `cosine`.
pub fn cosine_summaries() -> Report<CosineSummary> {
    Report::new(vec![
        Column::u64("batch_size", |r: &CosineSummary| r.batch_size).json(),
        Column::f64("mean", |r: &CosineSummary| r.mean).json(),
        Column::f64("sd", |r: &CosineSummary| r.sd).json(),
        Column::u64("pairs", |r: &CosineSummary| r.pairs).json(),
    ])
}

/// One eigenvalue of one block (`all`: the whole network) by one solver.
#[derive(Debug, Clone)]
pub struct EigenRow {
    pub step: u64,
    pub epoch: u64,
    pub block: String,
    pub method: &'static str,
    /// 1 for the largest.
    pub rank: u64,
    pub eigenvalue: f64,
    pub residual: f64,
    /// The solver's operator products.
    pub hvps: u64,
}

/// `--eigen-output`.
pub fn eigenvalues() -> Report<EigenRow> {
    Report::new(vec![
        Column::u64("step", |r: &EigenRow| r.step),
        Column::u64("epoch", |r: &EigenRow| r.epoch),
        Column::str("block", |r: &EigenRow| &r.block),
        Column::str("method", |r: &EigenRow| r.method),
        Column::u64("rank", |r: &EigenRow| r.rank),
        Column::f64("eigenvalue", |r: &EigenRow| r.eigenvalue).unit(CURVATURE),
        Column::f64("residual", |r: &EigenRow| r.residual).unit(CURVATURE),
        Column::u64("hvps", |r: &EigenRow| r.hvps),
    ])
}

/// One solver's run on one operator: its eigenpairs and the seconds it took.
pub struct EigenRun {
    pub method: &'static str,
    pub eigen: Eigen,
    pub seconds: f64,
}

/// `--json`'s `eigen` (the whole network's runs).
pub fn eigen_runs() -> Report<EigenRun> {
    Report::new(vec![
        Column::str("method", |r: &EigenRun| r.method).json(),
        Column::json_only("values", |r: &EigenRun| serde_json::json!(r.eigen.values)),
        Column::json_only("residuals", |r: &EigenRun| {
            serde_json::json!(r.eigen.residuals)
        }),
        Column::u64("hvps", |r: &EigenRun| r.eigen.products as u64).json(),
        Column::bool("converged", |r: &EigenRun| r.eigen.converged).json(),
        Column::f64("seconds", |r: &EigenRun| r.seconds)
            .unit("s")
            .json(),
    ])
}

/// One grid point of a block's broadened spectral density.
#[derive(Debug, Clone)]
pub struct DensityRow {
    pub step: u64,
    pub block: String,
    pub eigenvalue: f64,
    pub density: f64,
}

/// `--density`.
pub fn density() -> Report<DensityRow> {
    Report::new(vec![
        Column::u64("step", |r: &DensityRow| r.step),
        Column::str("block", |r: &DensityRow| &r.block),
        Column::f64("eigenvalue", |r: &DensityRow| r.eigenvalue).unit(CURVATURE),
        Column::f64("density", |r: &DensityRow| r.density).unit("1 / curvature"),
    ])
}

/// One node of one probe's Gauss quadrature.
#[derive(Debug, Clone)]
pub struct NodeRow {
    pub step: u64,
    pub block: String,
    pub probe: u64,
    pub eigenvalue: f64,
    /// The node's weight (a probe's weights sum to 1).
    pub weight: f64,
}

/// `--slq-nodes`.
pub fn nodes() -> Report<NodeRow> {
    Report::new(vec![
        Column::u64("step", |r: &NodeRow| r.step),
        Column::str("block", |r: &NodeRow| &r.block),
        Column::u64("probe", |r: &NodeRow| r.probe),
        Column::f64("eigenvalue", |r: &NodeRow| r.eigenvalue).unit(CURVATURE),
        Column::f64("weight", |r: &NodeRow| r.weight),
    ])
}

/// One block's curvature (`all`: the whole network).
#[derive(Debug, Clone)]
pub struct BlockRow {
    pub step: u64,
    pub block: String,
    /// The block's tensors, comma-separated (empty for `all`).
    pub tensors: String,
    pub parameters: u64,
    pub top_eigenvalue: f64,
    pub trace: f64,
    pub trace_se: f64,
    pub hvps: u64,
}

/// `--blocks-output`, its summary and `--json`'s `blocks`.
pub fn blocks() -> Report<BlockRow> {
    Report::new(vec![
        Column::u64("step", |r: &BlockRow| r.step),
        Column::str("block", |r: &BlockRow| &r.block)
            .summary("block")
            .json(),
        Column::str("tensors", |r: &BlockRow| &r.tensors).json(),
        Column::u64("parameters", |r: &BlockRow| r.parameters)
            .summary("parameters")
            .json(),
        Column::f64("top_eigenvalue", |r: &BlockRow| r.top_eigenvalue)
            .unit(CURVATURE)
            .summary("top eigenvalue")
            .json(),
        Column::f64("trace", |r: &BlockRow| r.trace)
            .unit(CURVATURE)
            .summary("trace")
            .json(),
        Column::f64("trace_se", |r: &BlockRow| r.trace_se)
            .unit(CURVATURE)
            .summary("trace se")
            .json(),
        Column::u64("hvps", |r: &BlockRow| r.hvps)
            .summary("HVPs")
            .json(),
    ])
}

/// `--cost-batch`: one Hessian-vector product against one gradient on one minibatch
/// (seconds, medians of 10).
#[derive(Debug, Clone)]
pub struct Cost {
    /// The minibatch's examples.
    pub batch: u64,
    /// How the tool takes a fresh product: `R-operator` or `double backward`.
    pub method: &'static str,
    pub gradient: f64,
    /// A fresh product as the tool takes it (`method`).
    pub hvp: f64,
    pub double_backward: f64,
    /// A further product with the gradient's graph kept.
    pub graph_kept: f64,
}

/// `--json`'s `cost`: the times and their ratios to the gradient's.
pub fn cost() -> Report<Cost> {
    Report::new(vec![
        Column::u64("batch", |r: &Cost| r.batch).json(),
        Column::str("method", |r: &Cost| r.method).json(),
        Column::f64("gradient_s", |r: &Cost| r.gradient)
            .unit("s")
            .json(),
        Column::f64("hvp_s", |r: &Cost| r.hvp).unit("s").json(),
        Column::json_only("ratio", |r: &Cost| json_num(r.hvp / r.gradient)),
        Column::f64("hvp_double_backward_s", |r: &Cost| r.double_backward)
            .unit("s")
            .json(),
        Column::json_only("ratio_double_backward", |r: &Cost| {
            json_num(r.double_backward / r.gradient)
        }),
        Column::f64("hvp_graph_kept_s", |r: &Cost| r.graph_kept)
            .unit("s")
            .json(),
        Column::json_only("ratio_graph_kept", |r: &Cost| {
            json_num(r.graph_kept / r.gradient)
        }),
    ])
}
