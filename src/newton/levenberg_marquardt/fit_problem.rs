//! A model expression fitted to data: the residuals of `hesse fit`, with the
//! Jacobian exact from the expression's tape.

use std::sync::Mutex;

use nalgebra::DMatrix;

use qd::Quad;

use crate::expr::{ExtendedWorkspace, Tape, Workspace};
use crate::problem::Residuals;
use crate::solver::Error;

/// The weighted least-squares problem of fitting a model `MODEL(x; b)` (an
/// expression compiled to a [`Tape`]) to `m` observations `(xᵢ, yᵢ)`:
///
/// ```text
/// rᵢ(b) = √wᵢ (yᵢ − MODEL(xᵢ; b)),   i = 1..m,
/// ```
///
/// with `b` the tape's parameters (in the tape's order), `xᵢ` the values of
/// the tape's data variables at observation `i`, and weights `wᵢ ≥ 0`
/// (`wᵢ = 1/σᵢ²` for standard deviations `σᵢ` of `yᵢ`; 1 by default). `yᵢ`
/// may be a transform `g(yᵢ)` of the observations (NIST's Nelson fits
/// `log y`): the problem only sees the values.
///
/// The Jacobian `Jᵢⱼ = −√wᵢ ∂MODEL(xᵢ; b)/∂bⱼ` is exact: one forward and one
/// reverse sweep of the tape per observation (reverse mode: its cost does
/// not grow with the number of parameters). Evaluations share one
/// [`Workspace`] behind a mutex, so the problem is `Send` and `Sync` and
/// allocates nothing after the first evaluation.
///
/// This is `hesse fit`'s problem, in the library so that a Rust caller
/// fits the same way (with [`LevenbergMarquardt::fit`](super::LevenbergMarquardt::fit)
/// for the statistics).
///
/// ```
/// use hesse::expr::Expr;
/// use hesse::newton::{FitProblem, LevenbergMarquardt};
///
/// // y = a exp(b x) through four exact points, a = 2, b = 0.5.
/// let tape = Expr::parse("a * exp(b * x)").unwrap().compile(&["a", "b"], &["x"]).unwrap();
/// let x = [0.0, 1.0, 2.0, 3.0];
/// let y: Vec<f64> = x.iter().map(|x: &f64| 2.0 * (0.5 * x).exp()).collect();
/// let p = FitProblem::new(tape, x.to_vec(), y, None).unwrap();
/// let fit = LevenbergMarquardt::default().fit(&p, &[1.0, 0.1]).unwrap();
/// assert!(fit.report.converged());
/// assert!((fit.report.x[0] - 2.0).abs() < 1e-10 && (fit.report.x[1] - 0.5).abs() < 1e-10);
/// assert_eq!(fit.statistics.dof, 2);
/// ```
#[derive(Debug)]
pub struct FitProblem {
    tape: Tape,
    /// `m × d` row-major: the data variables of the tape per observation.
    data: Vec<f64>,
    /// The number of data variables `d`.
    d: usize,
    /// `yᵢ` (or `g(yᵢ)`).
    response: Vec<f64>,
    /// `√wᵢ`.
    sqrt_w: Vec<f64>,
    /// The tape's workspace and a gradient buffer (`n`).
    work: Mutex<(Workspace, Vec<f64>)>,
    /// The rests of the data and response values below their `f64`s
    /// ([`with_low_parts`](Self::with_low_parts)): `m × d` and `m`.
    low: Option<(Vec<f64>, Vec<f64>)>,
}

impl FitProblem {
    /// The problem of fitting `tape` (compiled with the parameters `b` and
    /// the data variables, [`Expr::compile`](crate::expr::Expr::compile)) to
    /// `response` (`m` values `yᵢ`), with `data` the `m × d` values of the
    /// tape's `d` data variables, row-major (observation `i`'s values in the
    /// tape's order at `data[i d..(i + 1) d]`), and `weights` the `wᵢ` (`m`
    /// entries, each finite and `≥ 0`; `None` for all 1).
    ///
    /// Errors: `data` or `weights` of the wrong length, or a weight that is
    /// negative or not finite.
    pub fn new(
        tape: Tape,
        data: Vec<f64>,
        response: Vec<f64>,
        weights: Option<Vec<f64>>,
    ) -> Result<Self, Error> {
        let m = response.len();
        let d = tape.data().len();
        if data.len() != m * d {
            return Err(Error::DimensionMismatch {
                what: "data",
                got: data.len(),
                expected: m * d,
                expected_from: "observations × data variables",
            });
        }
        let sqrt_w = match weights {
            None => vec![1.0; m],
            Some(w) => {
                if w.len() != m {
                    return Err(Error::DimensionMismatch {
                        what: "weights",
                        got: w.len(),
                        expected: m,
                        expected_from: "response",
                    });
                }
                if let Some(&bad) = w.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                    return Err(Error::invalid_option(
                        "weight",
                        bad,
                        "must be finite and >= 0",
                    ));
                }
                w.iter().map(|w| w.sqrt()).collect()
            }
        };
        let n = tape.params().len();
        let work = Mutex::new((tape.workspace(), vec![0.0; n]));
        Ok(FitProblem {
            tape,
            data,
            d,
            response,
            sqrt_w,
            work,
            low: None,
        })
    }

    /// The same problem with the parts of the data and response values below
    /// their `f64`s: `data_lo` (`m × d`, as `data`) and `response_lo` (`m`),
    /// each value being `hi + lo` (from
    /// [`decimal_parts`](crate::expr::decimal_parts) of the file's text). The
    /// solver's residuals do not use them; [`extended`](Self::extended)'s do.
    ///
    /// Errors: wrong lengths, or a rest that is not finite or not below 4
    /// ulps of its value (a rest computed for a transformed response may
    /// exceed one ulp slightly).
    pub fn with_low_parts(
        mut self,
        data_lo: Vec<f64>,
        response_lo: Vec<f64>,
    ) -> Result<Self, Error> {
        for (what, lo, hi, from) in [
            ("data_lo", &data_lo, &self.data, "data"),
            ("response_lo", &response_lo, &self.response, "response"),
        ] {
            if lo.len() != hi.len() {
                return Err(Error::DimensionMismatch {
                    what,
                    got: lo.len(),
                    expected: hi.len(),
                    expected_from: from,
                });
            }
            if let Some(&bad) = lo.iter().zip(hi.iter()).find_map(|(l, h)| {
                (l.is_nan() || l.abs() > 4.0 * h.abs() * f64::EPSILON).then_some(l)
            }) {
                return Err(Error::invalid_option(
                    what,
                    bad,
                    "must be finite and below 4 ulps of its value",
                ));
            }
        }
        self.low = Some((data_lo, response_lo));
        Ok(self)
    }

    /// The same residuals evaluated in double-double arithmetic
    /// ([`Tape::value_extended`]), with the data's and response's
    /// [low parts](Self::with_low_parts) if given, rounded to `f64` at the
    /// end; the Jacobian is this problem's. For the statistics of a fit
    /// whose residuals are far below its data (NIST's Lanczos1: `hesse fit`
    /// computes every fit's statistics from these). Each evaluation costs
    /// some 10-30 `f64` ones.
    pub fn extended(&self) -> ExtendedResiduals<'_> {
        ExtendedResiduals {
            problem: self,
            work: Mutex::new((ExtendedWorkspace::default(), Vec::with_capacity(self.d))),
        }
    }

    /// The compiled model.
    pub fn tape(&self) -> &Tape {
        &self.tape
    }

    /// The parameters' names, in the order of `b`.
    pub fn params(&self) -> &[String] {
        self.tape.params()
    }

    /// The number of observations `m`.
    pub fn num_obs(&self) -> usize {
        self.response.len()
    }

    fn work(&self) -> std::sync::MutexGuard<'_, (Workspace, Vec<f64>)> {
        // A panic while holding the lock leaves only scratch values behind.
        self.work.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Observation `i`'s data values.
    fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }
}

impl Clone for FitProblem {
    fn clone(&self) -> Self {
        let n = self.tape.params().len();
        FitProblem {
            tape: self.tape.clone(),
            data: self.data.clone(),
            d: self.d,
            response: self.response.clone(),
            sqrt_w: self.sqrt_w.clone(),
            work: Mutex::new((self.tape.workspace(), vec![0.0; n])),
            low: self.low.clone(),
        }
    }
}

impl Residuals for FitProblem {
    fn num_params(&self) -> usize {
        self.tape.params().len()
    }

    fn num_residuals(&self) -> usize {
        self.response.len()
    }

    fn residuals(&self, b: &[f64], r: &mut [f64]) {
        let mut guard = self.work();
        let ws = &mut guard.0;
        for (i, ri) in r.iter_mut().enumerate() {
            *ri = self.sqrt_w[i] * (self.response[i] - self.tape.value(b, self.row(i), ws));
        }
    }

    fn jacobian(&self, b: &[f64], jac: &mut DMatrix<f64>) {
        let mut guard = self.work();
        let (ws, grad) = &mut *guard;
        for i in 0..self.response.len() {
            self.tape.value_grad(b, self.row(i), grad, ws);
            for (j, g) in grad.iter().enumerate() {
                jac[(i, j)] = -self.sqrt_w[i] * g;
            }
        }
    }
}

/// A [`FitProblem`]'s residuals in double-double arithmetic
/// ([`FitProblem::extended`]).
#[derive(Debug)]
pub struct ExtendedResiduals<'a> {
    problem: &'a FitProblem,
    /// The tape's double-double workspace and one row of `(hi, lo)` data.
    work: Mutex<(ExtendedWorkspace, Vec<(f64, f64)>)>,
}

impl Residuals for ExtendedResiduals<'_> {
    fn num_params(&self) -> usize {
        self.problem.num_params()
    }

    fn num_residuals(&self) -> usize {
        self.problem.num_residuals()
    }

    fn residuals(&self, b: &[f64], r: &mut [f64]) {
        let p = self.problem;
        let mut guard = self.work.lock().unwrap_or_else(|e| e.into_inner());
        let (ws, row) = &mut *guard;
        for (i, ri) in r.iter_mut().enumerate() {
            row.clear();
            let (y_lo, data_lo) = match &p.low {
                Some((data_lo, response_lo)) => (response_lo[i], &data_lo[i * p.d..(i + 1) * p.d]),
                None => (0.0, &[][..]),
            };
            row.extend(
                p.row(i)
                    .iter()
                    .enumerate()
                    .map(|(k, &hi)| (hi, data_lo.get(k).copied().unwrap_or(0.0))),
            );
            let (m_hi, m_lo) = p.tape.value_extended(b, row, ws);
            let y = Quad::from_f64(p.response[i]) + Quad::from_f64(y_lo);
            let model = Quad::from_f64(m_hi) + Quad::from_f64(m_lo);
            let residual = (y - model) * Quad::from_f64(p.sqrt_w[i]);
            *ri = residual.0 + residual.1;
        }
    }

    fn jacobian(&self, b: &[f64], jac: &mut DMatrix<f64>) {
        self.problem.jacobian(b, jac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Expr;

    /// Residuals and Jacobian by hand for `a + b x` with weights.
    #[test]
    fn residuals_and_jacobian_are_the_weighted_model() {
        let tape = Expr::parse("a + b * x")
            .unwrap()
            .compile(&["a", "b"], &["x"])
            .unwrap();
        let p =
            FitProblem::new(tape, vec![1.0, 2.0], vec![3.0, 7.0], Some(vec![4.0, 1.0])).unwrap();
        let mut r = [0.0; 2];
        p.residuals(&[1.0, 2.0], &mut r);
        assert_eq!(r, [2.0 * (3.0 - 3.0), 7.0 - 5.0]);
        let mut j = DMatrix::zeros(2, 2);
        p.jacobian(&[1.0, 2.0], &mut j);
        assert_eq!(j, DMatrix::from_row_slice(2, 2, &[-2.0, -2.0, -1.0, -2.0]));
    }

    #[test]
    fn bad_shapes_and_weights_are_errors() {
        let tape = || {
            Expr::parse("a * x")
                .unwrap()
                .compile(&["a"], &["x"])
                .unwrap()
        };
        let e = FitProblem::new(tape(), vec![1.0], vec![1.0, 2.0], None).unwrap_err();
        assert!(e.to_string().contains("data has 1 entries"), "{e}");
        let e =
            FitProblem::new(tape(), vec![1.0, 2.0], vec![1.0, 2.0], Some(vec![1.0])).unwrap_err();
        assert!(e.to_string().contains("weights has 1 entries"), "{e}");
        let e = FitProblem::new(
            tape(),
            vec![1.0, 2.0],
            vec![1.0, 2.0],
            Some(vec![1.0, -1.0]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("weight"), "{e}");
    }

    /// The double-double residuals: the f64 ones to rounding, plus the data's
    /// low parts; bad low parts are errors.
    #[test]
    fn extended_residuals_carry_the_low_parts() {
        let tape = || {
            Expr::parse("a * exp(-b * x)")
                .unwrap()
                .compile(&["a", "b"], &["x"])
                .unwrap()
        };
        let x = vec![0.0, 0.5, 1.0];
        let y: Vec<f64> = x.iter().map(|x: &f64| 2.0 * (-0.3 * x).exp()).collect();
        let w = Some(vec![1.0, 4.0, 0.25]);
        let p = FitProblem::new(tape(), x.clone(), y.clone(), w.clone()).unwrap();
        let b = [2.0, 0.3];
        let (mut plain, mut extended) = (vec![0.0; 3], vec![0.0; 3]);
        p.residuals(&b, &mut plain);
        p.extended().residuals(&b, &mut extended);
        for (e, r) in extended.iter().zip(&plain) {
            assert!((e - r).abs() <= 8.0 * f64::EPSILON, "{e} {r}");
        }
        // A response that is y + 1e-17 exactly: the low part moves each
        // residual by √w · 1e-17, which f64 residuals near 1e-16 cannot hold.
        let lo = vec![1e-17, 1e-17, 1e-17];
        let q = FitProblem::new(tape(), x.clone(), y.clone(), w.clone())
            .unwrap()
            .with_low_parts(vec![0.0; 3], lo)
            .unwrap();
        let mut shifted = vec![0.0; 3];
        q.extended().residuals(&b, &mut shifted);
        for ((s, e), sw) in shifted.iter().zip(&extended).zip([1.0, 2.0, 0.5]) {
            assert!((s - e - sw * 1e-17).abs() < 1e-30, "{s} {e}");
        }
        let mut jac = DMatrix::zeros(3, 2);
        let mut jac_ext = DMatrix::zeros(3, 2);
        p.jacobian(&b, &mut jac);
        q.extended().jacobian(&b, &mut jac_ext);
        assert_eq!(jac, jac_ext);
        let new = || FitProblem::new(tape(), x.clone(), y.clone(), None).unwrap();
        let e = new()
            .with_low_parts(vec![0.0; 2], vec![0.0; 3])
            .unwrap_err();
        assert!(e.to_string().contains("data_lo"), "{e}");
        let e = new()
            .with_low_parts(vec![0.0; 3], vec![0.0; 4])
            .unwrap_err();
        assert!(e.to_string().contains("response_lo"), "{e}");
        let e = new()
            .with_low_parts(vec![0.0; 3], vec![f64::NAN, 0.0, 0.0])
            .unwrap_err();
        assert!(e.to_string().contains("response_lo"), "{e}");
        let e = new()
            .with_low_parts(vec![0.0, 0.1, 0.0], vec![0.0; 3])
            .unwrap_err();
        assert!(e.to_string().contains("data_lo"), "{e}");
    }
}
