//! The training objectives a minibatch gradient is taken of, and the checks that a model's
//! output fits one.
//!
//! Each loss is the mean over the minibatch, PyTorch's `reduction='mean'`, so a gradient
//! here is the one `loss.backward()` gives in a PyTorch training loop:
//! - [`Loss::CrossEntropy`]: logits `[B, C]` against integer class labels `[B]`,
//!   `-1/B sum_i log softmax(z_i)[y_i]` (`torch.nn.functional.cross_entropy`; labels equal
//!   to -100 are ignored and left out of the mean, as PyTorch's default `ignore_index`);
//! - [`Loss::Mse`]: outputs against targets of the same shape, `1/M sum (out - y)^2` over
//!   all M elements (`torch.nn.functional.mse_loss`); integer targets are converted to
//!   the output's floating type;
//! - [`Loss::NextToken`]: a language model's logits `[B, T, V]` against the next tokens
//!   `[B, T]`, the cross-entropy averaged over all B x T positions (the GPT objective,
//!   `cross_entropy(logits.view(-1, V), y.view(-1))`; targets -100 are ignored).
//!
//! Units: nats per example (cross-entropy, next-token: per token), squared output units
//! (mse).

use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// The PyTorch `ignore_index` default: targets equal to it do not count.
pub const IGNORE_INDEX: i64 = -100;

/// A minibatch loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Loss {
    /// Logits [B, C] against labels [B] (integer).
    #[default]
    CrossEntropy,
    /// Outputs against targets of the same shape.
    Mse,
    /// Logits [B, T, V] against next tokens [B, T] (integer).
    NextToken,
}

impl Loss {
    /// The loss's name on the command line and in provenance.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross-entropy",
            Loss::Mse => "mse",
            Loss::NextToken => "next-token",
        }
    }

    /// Whether the targets are integer class labels (token ids).
    pub fn takes_labels(self) -> bool {
        !matches!(self, Loss::Mse)
    }

    /// The mean loss of output `out` against targets `y` (see the module's formulas).
    pub fn apply(self, out: &Tensor, y: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Loss::CrossEntropy => out.f_cross_entropy_loss::<Tensor>(
                y,
                None,
                tch::Reduction::Mean,
                IGNORE_INDEX,
                0.0,
            )?,
            Loss::Mse => {
                let y = if y.kind() == out.kind() {
                    y.shallow_clone()
                } else {
                    y.f_to_kind(out.kind())?
                };
                out.f_mse_loss(&y, tch::Reduction::Mean)?
            }
            Loss::NextToken => {
                let v = *out.size().last().unwrap_or(&0);
                out.f_reshape([-1, v])?.f_cross_entropy_loss::<Tensor>(
                    &y.f_reshape([-1])?,
                    None,
                    tch::Reduction::Mean,
                    IGNORE_INDEX,
                    0.0,
                )?
            }
        })
    }

    /// Checks that an output of shape `out` fits targets of shape `y` and kind `y_kind`;
    /// the error says what the loss needs.
    pub fn check_shapes(self, out: &[i64], y: &[i64], y_kind: Kind) -> Result<()> {
        let integer = is_integer(y_kind);
        match self {
            Loss::CrossEntropy => {
                if !integer {
                    bail!("--loss cross-entropy needs integer class labels y, got {y_kind:?} (store y as int64)");
                }
                if y.len() != 1 || out.len() != 2 || out[0] != y[0] {
                    bail!("--loss cross-entropy needs logits [B, C] against labels [B]; the model returns {out:?} for labels {y:?}");
                }
            }
            Loss::NextToken => {
                if !integer {
                    bail!("--loss next-token needs integer next tokens y, got {y_kind:?} (store y as int64)");
                }
                if y.len() != 2 || out.len() != 3 || out[..2] != y[..] {
                    bail!("--loss next-token needs logits [B, T, V] against next tokens [B, T]; the model returns {out:?} for targets {y:?}");
                }
            }
            Loss::Mse => {
                if out != y {
                    bail!("--loss mse needs outputs of the targets' shape; the model returns {out:?} for targets {y:?}");
                }
            }
        }
        Ok(())
    }

    /// Checks that every label of `y` is a class of an output with `classes` classes (or
    /// [`IGNORE_INDEX`]); for losses without labels, nothing.
    pub fn check_labels(self, y: &Tensor, classes: i64) -> Result<()> {
        if !self.takes_labels() || y.numel() == 0 {
            return Ok(());
        }
        let y = y.f_to_kind(Kind::Int64)?;
        let counted = y.f_ne(IGNORE_INDEX)?;
        let kept = y.f_masked_select(&counted)?;
        if kept.numel() == 0 {
            bail!("every target is {IGNORE_INDEX} (ignored): nothing to take a gradient of");
        }
        let (lo, hi) = (
            kept.f_min()?.f_int64_value(&[])?,
            kept.f_max()?.f_int64_value(&[])?,
        );
        if lo < 0 {
            bail!("y holds the label {lo}: labels must lie in 0..{classes} (or be {IGNORE_INDEX}, ignored)");
        }
        if hi >= classes {
            bail!(
                "y holds the label {hi} but the model has {classes} outputs per {}: labels must lie in 0..{classes}",
                if self == Loss::NextToken { "position (vocabulary size)" } else { "example (classes)" }
            );
        }
        Ok(())
    }
}

/// Whether a tensor kind holds integers.
pub fn is_integer(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Uint8 | Kind::Int8 | Kind::Int16 | Kind::Int | Kind::Int64
    )
}

/// Whether a tensor kind holds real floating-point numbers.
pub fn is_float(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Half | Kind::BFloat16 | Kind::Float | Kind::Double
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// Next-token cross-entropy written out: -mean over positions of log softmax at the
    /// target, computed here with plain tensor arithmetic.
    #[test]
    fn next_token_is_the_mean_over_positions() {
        tch::manual_seed(1);
        let out = Tensor::randn([2, 3, 5], (Kind::Double, Device::Cpu));
        let y = Tensor::from_slice(&[0i64, 4, 2, 1, 1, 3]).reshape([2, 3]);
        let l = Loss::NextToken.apply(&out, &y).unwrap().double_value(&[]);
        let logp = out.log_softmax(-1, Kind::Double);
        let mut want = 0.0;
        for b in 0..2 {
            for t in 0..3 {
                let k = y.int64_value(&[b, t]);
                want -= logp.double_value(&[b, t, k]);
            }
        }
        want /= 6.0;
        assert!((l - want).abs() < 1e-12, "{l} {want}");
        // -100 is left out of the mean
        let y2 = Tensor::from_slice(&[0i64, 4, 2, 1, 1, -100]).reshape([2, 3]);
        let l2 = Loss::NextToken.apply(&out, &y2).unwrap().double_value(&[]);
        let want2 = (want * 6.0 + logp.double_value(&[1, 2, 3])) / 5.0;
        assert!((l2 - want2).abs() < 1e-12, "{l2} {want2}");
    }

    #[test]
    fn mse_is_the_mean_square() {
        let out = Tensor::from_slice(&[1.0f32, 2.0, 4.0]).reshape([3, 1]);
        let y = Tensor::from_slice(&[0i64, 2, 1]).reshape([3, 1]);
        let l = Loss::Mse.apply(&out, &y).unwrap().double_value(&[]);
        assert!((l - (1.0 + 0.0 + 9.0) / 3.0).abs() < 1e-7);
    }

    #[test]
    fn shape_and_label_checks_name_the_problem() {
        let e = Loss::NextToken
            .check_shapes(&[2, 256], &[2, 8], Kind::Int64)
            .unwrap_err();
        assert!(e.to_string().contains("[B, T, V]"), "{e}");
        assert!(Loss::NextToken
            .check_shapes(&[2, 8, 256], &[2, 8], Kind::Int64)
            .is_ok());
        assert!(Loss::CrossEntropy
            .check_shapes(&[2, 10], &[2], Kind::Float)
            .is_err());
        assert!(Loss::Mse.check_shapes(&[2, 3], &[2], Kind::Float).is_err());
        let y = Tensor::from_slice(&[0i64, 3, 9]);
        assert!(Loss::CrossEntropy.check_labels(&y, 10).is_ok());
        let e = Loss::CrossEntropy.check_labels(&y, 5).unwrap_err();
        assert!(e.to_string().contains("label 9"), "{e}");
        let neg = Tensor::from_slice(&[0i64, -3]);
        assert!(Loss::CrossEntropy.check_labels(&neg, 5).is_err());
        assert!(Loss::Mse.check_labels(&neg, 5).is_ok());
    }
}
