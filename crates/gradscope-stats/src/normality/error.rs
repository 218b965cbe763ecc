//! Why a normality statistic could not be computed.

use thiserror::Error;

/// The reasons a test, moment or tail index is undefined for a sample.
///
/// Every variant is a property of the data or of the request, never a numerical
/// accident: the caller can report it per coordinate ("constant", "too few samples")
/// instead of a silent NaN or a meaningless p-value.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum NormalityError {
    /// The sample is shorter than the test's hard minimum.
    #[error("{test} needs at least {min} values, got {n}")]
    TooFewValues {
        /// The test or statistic that refused the sample.
        test: &'static str,
        /// The sample size given.
        n: usize,
        /// The smallest sample size the test accepts.
        min: usize,
    },
    /// The sample is longer than the test's validated range.
    #[error(
        "{test} accepts at most {max} values, got {n}: test a random subsample of {max} \
         (shapiro_wilk_subsample)"
    )]
    TooManyValues {
        /// The test that refused the sample.
        test: &'static str,
        /// The sample size given.
        n: usize,
        /// The largest sample size the test accepts.
        max: usize,
    },
    /// Every value is the same: no spread, so no shape and no test of normality. scipy
    /// answers W = 1, p = 1 here (with a warning), which would count a dead coordinate
    /// as perfectly Gaussian.
    #[error("all values are equal (every value is {value}): normality is undefined for a constant sample")]
    Constant {
        /// The common value.
        value: f64,
    },
    /// The values differ, but by less than the floating-point resolution of their mean
    /// (second central moment <= (eps * mean)^2, scipy's criterion): skewness and
    /// kurtosis would be rounding noise.
    #[error(
        "the values differ by less than the floating-point resolution of their mean: \
         skewness and kurtosis are undefined"
    )]
    NearlyConstant,
    /// A value is NaN or infinite.
    #[error("the sample contains NaN or infinite values")]
    NonFinite,
    /// A sample passed as sorted is not in ascending order.
    #[error("the sample is not in ascending order: sort it first, or use test_in_place")]
    NotSorted,
    /// Precomputed coefficients were applied to a sample of another size.
    #[error("the coefficients were computed for n = {expected}, but the sample has {got} values")]
    LengthMismatch {
        /// The size the coefficients were computed for.
        expected: usize,
        /// The sample size given.
        got: usize,
    },
    /// The Anscombe-Glynn transform divides by 1 + x sqrt(2 / (A - 4)), which is exactly
    /// zero for this sample (scipy returns NaN here).
    #[error("the kurtosis test is undefined for this sample (its transform divides by zero)")]
    KurtosisTestUndefined,
    /// An explicit block length for the tail-index estimator is unusable.
    #[error(
        "tail index: block length {block} is unusable for {n} values \
         (need 2 <= block and at least one full block)"
    )]
    InvalidBlockLength {
        /// The block length asked for.
        block: usize,
        /// The sample size.
        n: usize,
    },
    /// The sample size has no divisor between 2 and sqrt(n) (n is prime or below 4), so
    /// the default block length of the tail-index estimator does not exist.
    #[error(
        "tail index: {n} has no divisor between 2 and sqrt({n}); give an explicit block \
         length or drop values to reach a composite size"
    )]
    NoBlockLength {
        /// The sample size.
        n: usize,
    },
    /// A value or a block sum is exactly zero, so its logarithm is -infinity.
    #[error("tail index: a value or a block sum is exactly 0, so log|x| is undefined")]
    ZeroInTailIndex,
}
