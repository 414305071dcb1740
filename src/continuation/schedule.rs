//! The σ schedule of a continuation.

use serde::{Deserialize, Serialize};

use super::ContinuationError;

/// Default ratio of a geometric schedule: halve σ at every stage.
pub const DEFAULT_RATIO: f64 = 0.5;

/// The blur widths `σ₀ > σ₁ > … > 0` of the stages, after which the original
/// objective (`σ = 0`) is always minimized last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// `σᵢ = σ₀ rⁱ`, `i = 0, …, k − 1`, then `σ = 0`: `k` blurred stages and the
    /// original, `k + 1` stages in all.
    Geometric {
        /// `σ₀ > 0`, the first width. A third of the search domain's half
        /// width is a good start (wide enough to wash out the local minima,
        /// narrow enough to keep the global trend).
        sigma0: f64,
        /// `k ≥ 1`, the number of blurred stages.
        stages: usize,
        /// `0 < r < 1`; [`DEFAULT_RATIO`] = ½.
        ratio: f64,
    },
    /// The given widths, non-increasing, each finite and `≥ 0`; a final
    /// `σ = 0` is appended unless the list ends with one.
    List(Vec<f64>),
}

impl Schedule {
    /// `k` halving stages from `σ₀`, then the original objective.
    ///
    /// ```
    /// use hesse::continuation::Schedule;
    /// assert_eq!(Schedule::geometric(2.0, 3).sigmas().unwrap(), [2.0, 1.0, 0.5, 0.0]);
    /// assert!(Schedule::geometric(-1.0, 3).sigmas().is_err());
    /// // 2⁻¹⁰²² is the smallest normal double: 1023 halvings from 1, not 1024.
    /// assert_eq!(Schedule::geometric(1.0, 1023).sigmas().unwrap().len(), 1024);
    /// assert!(Schedule::geometric(1.0, 1024).sigmas().is_err());
    /// ```
    pub fn geometric(sigma0: f64, stages: usize) -> Self {
        Schedule::Geometric {
            sigma0,
            stages,
            ratio: DEFAULT_RATIO,
        }
    }

    /// The widths in `sigmas`, then `σ = 0`.
    pub fn list(sigmas: impl Into<Vec<f64>>) -> Self {
        Schedule::List(sigmas.into())
    }

    /// The validated widths, the last one `0`.
    ///
    /// Errors: `σ₀` not finite and `> 0`, `k = 0`, a ratio outside `(0, 1)`,
    /// an empty list, an entry negative or not finite, a list that increases.
    pub fn sigmas(&self) -> Result<Vec<f64>, ContinuationError> {
        let mut sigmas = match *self {
            Schedule::Geometric {
                sigma0,
                stages,
                ratio,
            } => {
                if !(sigma0.is_finite() && sigma0 > 0.0) {
                    return Err(ContinuationError::BadSigma {
                        index: 0,
                        value: sigma0,
                    });
                }
                if stages == 0 {
                    return Err(ContinuationError::NoStages);
                }
                if !(ratio > 0.0 && ratio < 1.0) {
                    return Err(ContinuationError::BadRatio(ratio));
                }
                // σ₀ rⁱ ≥ f64::MIN_POSITIVE for i ≤ k − 1: a width that
                // underflows blurs nothing, and k is not allowed to size a
                // list by itself (k = 10¹² would be 8 TB).
                let max = ((f64::MIN_POSITIVE / sigma0).ln() / ratio.ln()).floor() + 1.0;
                if stages as f64 > max {
                    return Err(ContinuationError::TooManyStages {
                        stages,
                        sigma0,
                        ratio,
                        max: max.max(0.0) as usize,
                    });
                }
                (0..stages).map(|i| sigma0 * ratio.powi(i as i32)).collect()
            }
            Schedule::List(ref list) => {
                if list.is_empty() {
                    return Err(ContinuationError::NoStages);
                }
                for (index, &value) in list.iter().enumerate() {
                    if !(value.is_finite() && value >= 0.0) {
                        return Err(ContinuationError::BadSigma { index, value });
                    }
                    if index > 0 && value > list[index - 1] {
                        return Err(ContinuationError::Increasing { index, value });
                    }
                }
                list.clone()
            }
        };
        if sigmas.last() != Some(&0.0) {
            sigmas.push(0.0);
        }
        Ok(sigmas)
    }
}
