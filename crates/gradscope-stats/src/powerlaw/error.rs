//! The one error type of the power-law module.
//!
//! Every public function that can meet bad input returns `Result<_, PowerLawError>`, so a
//! tool can print one clear line (`error: <what>: <why>`) instead of panicking.

use thiserror::Error;

/// Why a power-law computation could not be carried out.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PowerLawError {
    /// The input had no values at all.
    #[error("the data set is empty")]
    Empty,
    /// A value was NaN or infinite; `index` is its position in the input as given.
    #[error("value {value} at index {index} is not finite; remove NaN and infinite values first")]
    NotFinite {
        /// Position in the input slice.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A value was zero or negative: a power law lives on `x > 0` only.
    #[error(
        "value {value} at index {index} is not positive; power laws are defined for x > 0 only"
    )]
    NotPositive {
        /// Position in the input slice.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Discrete fitting was asked for but a value is not a positive integer.
    #[error("value {value} at index {index} is not a positive integer, as discrete fitting needs")]
    NotInteger {
        /// Position in the input slice.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Fewer than two points lie at or above `xmin`, so no exponent can be estimated.
    #[error("only {n_tail} point(s) at or above xmin = {xmin}; at least 2 are needed")]
    TooFewTail {
        /// The lower cut-off that was used.
        xmin: f64,
        /// Points with `x >= xmin`.
        n_tail: usize,
    },
    /// The xmin scan had fewer than two candidate values (the package's own minimum).
    #[error("only {unique} distinct value(s); the xmin scan needs at least 4 (2 candidates plus the 2 largest values, which are never candidates)")]
    TooFewCandidates {
        /// Distinct values in the data.
        unique: usize,
    },
    /// Every tail point equals xmin, so the likelihood grows without bound in alpha.
    #[error("all {n_tail} tail points equal xmin = {xmin}; the exponent is unbounded")]
    DegenerateTail {
        /// The lower cut-off that was used.
        xmin: f64,
        /// Points in the tail.
        n_tail: usize,
    },
    /// An argument outside its documented domain (for example `k = 0` in top-k mode).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The requested combination is not implemented (named in the message).
    #[error("not supported: {0}")]
    Unsupported(String),
}
