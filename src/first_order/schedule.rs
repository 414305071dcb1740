//! Learning-rate schedules `ε_k` for step `k = 0, 1, 2, ...` from the base
//! rate `ε₀`.
//!
//! Goodfellow, Bengio & Courville (2016), *Deep Learning*, §8.3.1 (the seeds):
//! SGD needs a decreasing rate (`Σ ε_k = ∞`, `Σ ε_k² < ∞`); "common practice
//! is to decay the learning rate linearly until iteration τ",
//! `ε_k = (1 − k/τ) ε₀ + (k/τ) ε_τ`, "after iteration τ, it is common to leave
//! ε constant", with `ε_τ` about 1% of `ε₀`. The seeds also give the
//! inverse-time decay `ε₀ / (1 + decay·k)`. Step and exponential decay, cosine
//! annealing (Loshchilov & Hutter 2017, without restarts) and linear warm-up
//! (Goyal et al. 2017) are the other schedules practice uses.
//!
//! `k` counts steps already taken: the first step uses `ε₀` (except under
//! warm-up, which starts at `ε₀ / warmup`).

use serde::{Deserialize, Serialize};

use crate::solver::Error;

/// A learning-rate schedule: [`lr(eps0, k)`](Schedule::lr) is `ε_k`.
///
/// ```
/// use hesse::first_order::Schedule;
/// let linear = Schedule::Linear { tau: 100, final_ratio: 0.01 };
/// assert_eq!(linear.lr(0.1, 0), 0.1);
/// assert!((linear.lr(0.1, 50) - 0.0505).abs() < 1e-15);
/// assert_eq!(linear.lr(0.1, 100), linear.lr(0.1, 1000));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Schedule {
    /// `ε_k = ε₀` (the default).
    #[default]
    Constant,
    /// GBC §8.3.1: `ε_k = (1 − k/τ) ε₀ + (k/τ) ε_τ` for `k ≤ τ`, then `ε_τ`,
    /// with `ε_τ = final_ratio · ε₀` (the seeds: about 1%).
    Linear {
        /// The step `τ > 0` where the decay ends.
        tau: u64,
        /// `ε_τ / ε₀ ≥ 0`.
        #[serde(with = "crate::solver::float_serde")]
        final_ratio: f64,
    },
    /// `ε_k = ε₀ / (1 + decay·k)` (the seeds' `1/(1 + decay·t)`).
    InverseTime {
        /// `decay ≥ 0`.
        #[serde(with = "crate::solver::float_serde")]
        decay: f64,
    },
    /// `ε_k = ε₀ · γ^⌊k / every⌋` (PyTorch's `StepLR`).
    Step {
        /// Steps between cuts, `> 0`.
        every: u64,
        /// Factor `γ ∈ (0, 1]`.
        #[serde(with = "crate::solver::float_serde")]
        gamma: f64,
    },
    /// `ε_k = ε₀ · γ^k` (PyTorch's `ExponentialLR`).
    Exponential {
        /// Factor per step `γ ∈ (0, 1]`.
        #[serde(with = "crate::solver::float_serde")]
        gamma: f64,
    },
    /// Cosine annealing: `ε_k = ε_min + (ε₀ − ε_min)(1 + cos(πk/T))/2` for
    /// `k ≤ T`, then `ε_min = final_ratio · ε₀` (Loshchilov & Hutter 2017,
    /// eq. 5, one cycle).
    Cosine {
        /// Length `T > 0` of the half cosine.
        period: u64,
        /// `ε_min / ε₀ ≥ 0`.
        #[serde(with = "crate::solver::float_serde")]
        final_ratio: f64,
    },
    /// Linear warm-up: `ε_k = ε₀ (k + 1) / W` for `k < W`, then `ε₀`
    /// (Goyal et al. 2017, §2.2).
    Warmup {
        /// Warm-up length `W > 0` in steps.
        steps: u64,
    },
}

impl Schedule {
    /// The rate `ε_k` for step `k` (steps taken so far) from `ε₀ = eps0`.
    pub fn lr(&self, eps0: f64, k: u64) -> f64 {
        let kf = k as f64;
        match *self {
            Schedule::Constant => eps0,
            Schedule::Linear { tau, final_ratio } => {
                let eps_tau = final_ratio * eps0;
                if k >= tau {
                    eps_tau
                } else {
                    let a = kf / tau as f64;
                    (1.0 - a) * eps0 + a * eps_tau
                }
            }
            Schedule::InverseTime { decay } => eps0 / (1.0 + decay * kf),
            Schedule::Step { every, gamma } => {
                let cuts = i32::try_from(k / every.max(1)).unwrap_or(i32::MAX);
                eps0 * gamma.powi(cuts)
            }
            Schedule::Exponential { gamma } => {
                eps0 * gamma.powi(i32::try_from(k).unwrap_or(i32::MAX))
            }
            Schedule::Cosine {
                period,
                final_ratio,
            } => {
                let eps_min = final_ratio * eps0;
                if k >= period {
                    eps_min
                } else {
                    let c = (std::f64::consts::PI * kf / period as f64).cos();
                    eps_min + (eps0 - eps_min) * (1.0 + c) / 2.0
                }
            }
            Schedule::Warmup { steps } => {
                if k >= steps {
                    eps0
                } else {
                    eps0 * (kf + 1.0) / steps as f64
                }
            }
        }
    }

    /// Checks the parameters (`τ, T, W, every > 0`, ratios `≥ 0`,
    /// `γ ∈ (0, 1]`, `decay ≥ 0`).
    pub fn validate(&self) -> Result<(), Error> {
        let positive = |name: &'static str, v: u64| {
            if v > 0 {
                Ok(())
            } else {
                Err(Error::invalid_option(name, v, "must be > 0"))
            }
        };
        let nonneg = |name: &'static str, v: f64| crate::solver::check_nonneg(name, v).map(|_| ());
        let gamma_ok = |v: f64| {
            if v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(Error::invalid_option("gamma", v, "must be in (0, 1]"))
            }
        };
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Linear { tau, final_ratio } => {
                positive("tau", tau)?;
                nonneg("final", final_ratio)
            }
            Schedule::InverseTime { decay } => nonneg("decay", decay),
            Schedule::Step { every, gamma } => {
                positive("every", every)?;
                gamma_ok(gamma)
            }
            Schedule::Exponential { gamma } => gamma_ok(gamma),
            Schedule::Cosine {
                period,
                final_ratio,
            } => {
                positive("period", period)?;
                nonneg("final", final_ratio)
            }
            Schedule::Warmup { steps } => positive("steps", steps),
        }
    }

    /// Parses the command line's spelling: `constant`,
    /// `linear:tau=1000,final=0.01`, `inverse-time:decay=0.01`,
    /// `step:every=100,gamma=0.5`, `exponential:gamma=0.999`,
    /// `cosine:period=1000,final=0`, `warmup:steps=100`. Omitted parameters
    /// take defaults relative to `horizon`, the run's length in steps
    /// (`linear`'s `final = 0.01` is the seeds' 1%):
    ///
    /// | spelling | defaults |
    /// |---|---|
    /// | `linear` | `tau = horizon`, `final = 0.01` |
    /// | `inverse-time` | `decay = 10/horizon` |
    /// | `step` | `every = horizon/3`, `gamma = 0.1` |
    /// | `exponential` | `gamma = 0.01^(1/horizon)` |
    /// | `cosine` | `period = horizon`, `final = 0` |
    /// | `warmup` | `steps = horizon/10` |
    ///
    /// ```
    /// use hesse::first_order::Schedule;
    /// assert_eq!(
    ///     Schedule::parse("linear:tau=10,final=0.5", 1000).unwrap(),
    ///     Schedule::Linear { tau: 10, final_ratio: 0.5 }
    /// );
    /// assert!(Schedule::parse("sawtooth", 1000).is_err());
    /// assert!(Schedule::parse("linear:tau=10,tau=20", 1000).is_err());
    /// ```
    pub fn parse(spec: &str, horizon: u64) -> Result<Schedule, Error> {
        let horizon = horizon.max(1);
        let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
        let mut params: Vec<(&str, &str)> = Vec::new();
        for entry in rest.split(',').filter(|e| !e.trim().is_empty()) {
            let Some((k, v)) = entry.split_once('=') else {
                return Err(Error::invalid_option(
                    "schedule",
                    spec,
                    "parameters are NAME=VALUE, as in linear:tau=1000,final=0.01",
                ));
            };
            params.push((k.trim(), v.trim()));
        }
        let allowed: &[&str] = match kind.trim() {
            "constant" => &[],
            "linear" => &["tau", "final"],
            "inverse-time" => &["decay"],
            "step" => &["every", "gamma"],
            "exponential" => &["gamma"],
            "cosine" => &["period", "final"],
            "warmup" => &["steps"],
            _ => {
                return Err(Error::invalid_option(
                    "schedule",
                    spec,
                    "unknown schedule (known: constant, linear, inverse-time, step, exponential, cosine, warmup)",
                ));
            }
        };
        if let Some((k, _)) = params.iter().find(|(k, _)| !allowed.contains(k)) {
            return Err(Error::invalid_option(
                "schedule",
                format!("{spec} ('{k}')"),
                "unknown parameter for this schedule",
            ));
        }
        for (i, (k, _)) in params.iter().enumerate() {
            if params[..i].iter().any(|(seen, _)| seen == k) {
                return Err(Error::invalid_option(
                    "schedule",
                    format!("{spec} ('{k}')"),
                    "a parameter is given twice",
                ));
            }
        }
        let float = |name: &str, default: f64| -> Result<f64, Error> {
            match params.iter().find(|(k, _)| *k == name) {
                None => Ok(default),
                Some((_, v)) => v.parse::<f64>().map_err(|_| {
                    Error::invalid_option("schedule", spec, "a parameter is not a number")
                }),
            }
        };
        let int = |name: &str, default: u64| -> Result<u64, Error> {
            match params.iter().find(|(k, _)| *k == name) {
                None => Ok(default),
                Some((_, v)) => v.parse::<u64>().map_err(|_| {
                    Error::invalid_option(
                        "schedule",
                        spec,
                        "a step count is not a non-negative integer",
                    )
                }),
            }
        };
        let h = horizon as f64;
        let schedule = match kind.trim() {
            "constant" => Schedule::Constant,
            "linear" => Schedule::Linear {
                tau: int("tau", horizon)?,
                final_ratio: float("final", 0.01)?,
            },
            "inverse-time" => Schedule::InverseTime {
                decay: float("decay", 10.0 / h)?,
            },
            "step" => Schedule::Step {
                every: int("every", (horizon / 3).max(1))?,
                gamma: float("gamma", 0.1)?,
            },
            "exponential" => Schedule::Exponential {
                gamma: float("gamma", 0.01f64.powf(1.0 / h))?,
            },
            "cosine" => Schedule::Cosine {
                period: int("period", horizon)?,
                final_ratio: float("final", 0.0)?,
            },
            _ => Schedule::Warmup {
                steps: int("steps", (horizon / 10).max(1))?,
            },
        };
        schedule.validate()?;
        Ok(schedule)
    }
}
