//! L2-regularized logistic regression.
//!
//! For samples `(aᵢ, yᵢ)`, `i = 1..m`, `aᵢ ∈ ℝⁿ`, `yᵢ ∈ {−1, +1}`:
//!
//! `f(w) = (1/m) Σᵢ log(1 + exp(−yᵢ wᵀaᵢ)) + (λ/2) ‖w‖²`,
//!
//! `∇f(w) = −(1/m) Σᵢ yᵢ σ(−yᵢ wᵀaᵢ) aᵢ + λ w`,
//! `∇²f(w) = (1/m) Σᵢ σ(zᵢ)(1 − σ(zᵢ)) aᵢ aᵢᵀ + λ I`, `zᵢ = wᵀaᵢ`,
//!
//! with `σ(t) = 1/(1 + e⁻ᵗ)`. For `λ > 0` it is strongly convex, so the
//! minimizer `w*` exists and is unique. The loss is evaluated as the softplus
//! `log(1 + eᵗ) = max(t, 0) + log1p(e^{−|t|})`, which neither overflows nor
//! loses the small values; `σ` is evaluated from the side where `e^{−|t|} ≤ 1`.
//!
//! [`LogisticRegression::breast_cancer`] is the embedded test instance: the
//! Wisconsin diagnostic breast-cancer data (569 samples, 30 features; see
//! `tests/data/SOURCES.md`), each feature standardized to mean 0 and standard
//! deviation 1 (population standard deviation, divisor `m`, as scikit-learn's
//! `StandardScaler`), a constant 1 appended as the last column for the
//! intercept (so `n = 31`, the intercept is `w[30]`, and it is regularized like
//! the other weights), labels `y = +1` for benign (scikit-learn's label 1) and
//! `−1` for malignant (label 0), and `λ = 10⁻²`.

use nalgebra::{DMatrix, DVector};

use super::ProblemError;
use crate::diff::{Real, ScalarFn};
use crate::problem::{Gradient, HessVec, Hessian, Objective};

/// The breast-cancer CSV (header line, then 30 features and a 0/1 label per
/// row), embedded so the problem works from any directory.
const BREAST_CANCER_CSV: &str = include_str!("../../tests/data/breast_cancer.csv");

/// The regularization weight `λ` of [`LogisticRegression::breast_cancer`].
pub const BREAST_CANCER_LAMBDA: f64 = 1e-2;

/// `f(w*)` of [`LogisticRegression::breast_cancer`].
///
/// Computed by Newton's method with a Cholesky solve of the exact Hessian
/// (`tests/problems.rs`, `logistic_f_star_by_newton`), from `w = 0` until the
/// gradient's ∞-norm stopped decreasing (it ended at 2.6e-18), and printed
/// with 17 significant digits (`{:?}`); that test recomputes it.
pub const BREAST_CANCER_F_STAR: f64 = 0.100_446_303_781_205_92;

/// The minimizer `w*` of [`LogisticRegression::breast_cancer`] (30 feature
/// weights, then the intercept), computed with [`BREAST_CANCER_F_STAR`].
pub const BREAST_CANCER_W_STAR: [f64; 31] = [
    -0.40123125237786317,
    -0.44094789898910697,
    -0.39099196675141884,
    -0.429253078262136,
    -0.14162775524320192,
    0.10662413718994611,
    -0.4894175566608706,
    -0.5577209818809502,
    -0.04809408725865679,
    0.26417693465688274,
    -0.6670602322488238,
    0.0741535830026907,
    -0.47142263006086604,
    -0.5354860454948854,
    -0.11015457605100124,
    0.39383939943868906,
    0.053931179590182524,
    -0.1303550456632712,
    0.16362491522676173,
    0.3214070498967616,
    -0.6355120947777683,
    -0.7103939750696682,
    -0.5718740447916351,
    -0.6148089266667857,
    -0.5133250989690539,
    -0.10485816325193398,
    -0.50669453910494,
    -0.6011650255467099,
    -0.5228946259960686,
    -0.20148228037374136,
    0.3453253602078826,
];

/// `f(w) = (1/m) Σᵢ log(1 + exp(−yᵢ wᵀaᵢ)) + (λ/2) ‖w‖²`, labels
/// `yᵢ ∈ {−1, +1}`, samples `aᵢ` the rows of the design matrix.
///
/// Gradient `−(1/m) Σᵢ yᵢ σ(−yᵢ wᵀaᵢ) aᵢ + λ w`, Hessian
/// `(1/m) Σᵢ σ(zᵢ)(1 − σ(zᵢ)) aᵢ aᵢᵀ + λ I` with `zᵢ = wᵀaᵢ`, all evaluated
/// without overflow (softplus with `log1p`, `σ` from the stable side). See
/// the [`problems`](crate::problems) module for the embedded instance.
///
/// ```
/// use hesse::problem::{Gradient, Objective};
/// use hesse::problems::LogisticRegression;
///
/// let p = LogisticRegression::breast_cancer();
/// assert_eq!((p.num_samples(), p.dim()), (569, 31));
/// // At w = 0 every sample costs log 2.
/// assert!((p.value(&p.start()) - 2f64.ln()).abs() < 1e-13);
/// let mut g = vec![0.0; 31];
/// let f = p.value_grad(&p.minimizer().unwrap(), &mut g);
/// assert!((f - p.f_star().unwrap()).abs() < 1e-12);
/// assert!(g.iter().all(|gi| gi.abs() < 1e-10));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// m × n design matrix, one sample per row.
    a: DMatrix<f64>,
    /// Labels ±1.
    y: Vec<f64>,
    lambda: f64,
    /// Known only for the embedded instance at its λ.
    known: Option<(f64, &'static [f64])>,
}

/// `log(1 + eᵗ)` without overflow or cancellation.
fn softplus(t: f64) -> f64 {
    t.max(0.0) + (-t.abs()).exp().ln_1p()
}

/// `σ(t) = 1/(1 + e⁻ᵗ)`, from the side where the exponential is at most 1.
fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

impl LogisticRegression {
    /// The problem for the design matrix `a` (`m × n`, one sample per row,
    /// used as given: add an intercept column and scale beforehand if wanted),
    /// labels `y` in `{−1, +1}` (length `m`) and weight `lambda ≥ 0`.
    pub fn new(a: DMatrix<f64>, y: Vec<f64>, lambda: f64) -> Result<Self, ProblemError> {
        if y.len() != a.nrows() || a.nrows() == 0 {
            return Err(ProblemError::InvalidParameter {
                name: "y",
                value: format!("{} labels for {} samples", y.len(), a.nrows()),
                expected: "one label per row of a, at least one row",
            });
        }
        if let Some(bad) = y.iter().find(|&&v| v != 1.0 && v != -1.0) {
            return Err(ProblemError::InvalidParameter {
                name: "y",
                value: bad.to_string(),
                expected: "labels must be -1 or +1",
            });
        }
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(ProblemError::InvalidParameter {
                name: "lambda",
                value: lambda.to_string(),
                expected: "must be finite and ≥ 0",
            });
        }
        Ok(LogisticRegression {
            a,
            y,
            lambda,
            known: None,
        })
    }

    /// The embedded breast-cancer instance, with known `f*` and `w*`.
    ///
    /// The Wisconsin diagnostic breast-cancer data (Street, Wolberg &
    /// Mangasarian 1993; UCI; scikit-learn's copy, see `tests/data/SOURCES.md`):
    /// 569 samples, 30 features, each standardized to mean 0 and standard
    /// deviation 1 (population standard deviation, divisor `m`, as
    /// scikit-learn's `StandardScaler`), then a constant 1 appended as the last
    /// column for the intercept, so `n = 31` and the intercept is `w[30]`; it
    /// is regularized like the other weights. Labels: `+1` for benign
    /// (scikit-learn's label 1, 357 samples), `−1` for malignant (label 0,
    /// 212). `λ = 10⁻²` ([`BREAST_CANCER_LAMBDA`]); `f*` is
    /// [`BREAST_CANCER_F_STAR`], `w*` is [`BREAST_CANCER_W_STAR`].
    pub fn breast_cancer() -> Self {
        let (a, y) = breast_cancer_design();
        LogisticRegression {
            a,
            y,
            lambda: BREAST_CANCER_LAMBDA,
            known: Some((BREAST_CANCER_F_STAR, &BREAST_CANCER_W_STAR)),
        }
    }

    /// The same data with weight `lambda`; `f*` and `w*` become unknown unless
    /// `lambda` is the one they were computed for.
    pub fn with_lambda(mut self, lambda: f64) -> Result<Self, ProblemError> {
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(ProblemError::InvalidParameter {
                name: "lambda",
                value: lambda.to_string(),
                expected: "must be finite and ≥ 0",
            });
        }
        if lambda != self.lambda {
            self.known = None;
        }
        self.lambda = lambda;
        Ok(self)
    }

    /// The design matrix (`m × n`, one sample per row).
    pub fn design(&self) -> &DMatrix<f64> {
        &self.a
    }

    /// The labels, each `−1` or `+1`.
    pub fn labels(&self) -> &[f64] {
        &self.y
    }

    /// The regularization weight `λ`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The number of samples `m`.
    pub fn num_samples(&self) -> usize {
        self.a.nrows()
    }

    /// The start `w₀ = 0`.
    pub fn start(&self) -> Vec<f64> {
        vec![0.0; self.a.ncols()]
    }

    /// `f(w*)`, where known (the embedded instance at its `λ`).
    pub fn f_star(&self) -> Option<f64> {
        self.known.map(|(f, _)| f)
    }

    /// `w*`, where known (the embedded instance at its `λ`).
    pub fn minimizer(&self) -> Option<Vec<f64>> {
        self.known.map(|(_, w)| w.to_vec())
    }

    /// The margins `zᵢ = wᵀaᵢ`.
    fn margins(&self, w: &[f64]) -> DVector<f64> {
        &self.a * DVector::from_column_slice(w)
    }

    fn penalty(&self, w: &[f64]) -> f64 {
        0.5 * self.lambda * w.iter().map(|v| v * v).sum::<f64>()
    }
}

/// Parses the embedded CSV, standardizes each feature, appends the intercept
/// column and maps labels 1 → +1 (benign), 0 → −1 (malignant).
fn breast_cancer_design() -> (DMatrix<f64>, Vec<f64>) {
    let rows: Vec<Vec<f64>> = BREAST_CANCER_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|t| t.trim().parse::<f64>().expect("embedded CSV holds numbers"))
                .collect()
        })
        .collect();
    let m = rows.len();
    let d = rows[0].len() - 1;
    let mut a = DMatrix::zeros(m, d + 1);
    for j in 0..d {
        let mean = rows.iter().map(|r| r[j]).sum::<f64>() / m as f64;
        let var = rows.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / m as f64;
        let sd = var.sqrt();
        for (i, r) in rows.iter().enumerate() {
            a[(i, j)] = (r[j] - mean) / sd;
        }
    }
    a.column_mut(d).fill(1.0);
    let y = rows
        .iter()
        .map(|r| if r[d] == 1.0 { 1.0 } else { -1.0 })
        .collect();
    (a, y)
}

impl Objective for LogisticRegression {
    fn dim(&self) -> usize {
        self.a.ncols()
    }
    fn value(&self, w: &[f64]) -> f64 {
        let z = self.margins(w);
        let loss: f64 = z
            .iter()
            .zip(&self.y)
            .map(|(zi, yi)| softplus(-yi * zi))
            .sum();
        loss / self.num_samples() as f64 + self.penalty(w)
    }
}

impl Gradient for LogisticRegression {
    fn value_grad(&self, w: &[f64], g: &mut [f64]) -> f64 {
        let m = self.num_samples() as f64;
        let z = self.margins(w);
        let mut loss = 0.0;
        // cᵢ = ∂/∂zᵢ of the i-th loss term, divided by m: −yᵢ σ(−yᵢ zᵢ) / m.
        let c = DVector::from_iterator(
            z.len(),
            z.iter().zip(&self.y).map(|(zi, yi)| {
                loss += softplus(-yi * zi);
                -yi * sigmoid(-yi * zi) / m
            }),
        );
        let at_c = self.a.tr_mul(&c);
        for ((gj, atcj), wj) in g.iter_mut().zip(at_c.iter()).zip(w) {
            *gj = atcj + self.lambda * wj;
        }
        loss / m + self.penalty(w)
    }
}

impl Hessian for LogisticRegression {
    fn hessian(&self, w: &[f64], h: &mut DMatrix<f64>) {
        let m = self.num_samples() as f64;
        let z = self.margins(w);
        // Aᵀ D A / m with D = diag(σ(zᵢ)(1 − σ(zᵢ))): scale the rows of A.
        let mut da = self.a.clone();
        for (i, zi) in z.iter().enumerate() {
            let s = sigmoid(*zi);
            da.row_mut(i).scale_mut(s * (1.0 - s) / m);
        }
        self.a.tr_mul_to(&da, h);
        for j in 0..h.ncols() {
            h[(j, j)] += self.lambda;
        }
    }
}

impl HessVec for LogisticRegression {
    fn hess_vec(&self, w: &[f64], v: &[f64], hv: &mut [f64]) {
        let m = self.num_samples() as f64;
        let z = self.margins(w);
        let mut av = &self.a * DVector::from_column_slice(v);
        for (avi, zi) in av.iter_mut().zip(z.iter()) {
            let s = sigmoid(*zi);
            *avi *= s * (1.0 - s) / m;
        }
        let at = self.a.tr_mul(&av);
        for ((o, atj), vj) in hv.iter_mut().zip(at.iter()).zip(v) {
            *o = atj + self.lambda * vj;
        }
    }
}

/// The same `f`, generic over the number type, for checking the hand-written
/// derivatives against dual numbers.
impl ScalarFn for LogisticRegression {
    fn dim(&self) -> usize {
        self.a.ncols()
    }
    fn eval<D: Real>(&self, w: &[D]) -> D {
        let m = self.num_samples();
        let mut loss = D::zero();
        for i in 0..m {
            let mut zi = D::zero();
            for (j, &wj) in w.iter().enumerate() {
                zi += wj * self.a[(i, j)];
            }
            let t = -zi * self.y[i];
            // softplus(t) = max(t, 0) + log1p(exp(−|t|))
            let pos = if t.re() > 0.0 { t } else { D::zero() };
            loss += pos + (-t.abs()).exp().ln_1p();
        }
        let norm2 = w.iter().fold(D::zero(), |s, &wj| s + wj * wj);
        loss / m as f64 + norm2 * (0.5 * self.lambda)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problems::dual;

    #[test]
    fn embedded_data_standardized() {
        let p = LogisticRegression::breast_cancer();
        let a = p.design();
        assert_eq!(a.shape(), (569, 31));
        for j in 0..30 {
            let col = a.column(j);
            let mean = col.mean();
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 569.0;
            assert!(mean.abs() < 1e-14, "feature {j}: mean {mean}");
            assert!((var - 1.0).abs() < 1e-12, "feature {j}: variance {var}");
        }
        assert!(a.column(30).iter().all(|&v| v == 1.0));
        let benign = p.labels().iter().filter(|&&v| v == 1.0).count();
        assert_eq!(benign, 357);
    }

    #[test]
    fn derivatives_match_dual_numbers() {
        let p = LogisticRegression::breast_cancer();
        let n = 31;
        let w: Vec<f64> = (0..n).map(|j| 0.3 * ((j as f64) * 0.7).sin()).collect();
        let v: Vec<f64> = (0..n).map(|j| ((j as f64) * 1.3).cos()).collect();
        let (mut g, mut gd) = (vec![0.0; n], vec![0.0; n]);
        let f = p.value_grad(&w, &mut g);
        let fd = dual::value_grad(&p, &w, &mut gd);
        assert!((f - fd).abs() <= 1e-14 * f.abs());
        assert!((f - p.value(&w)).abs() <= 1e-15 * f.abs());
        for j in 0..n {
            assert!(
                (g[j] - gd[j]).abs() <= 1e-13,
                "g[{j}]: {} vs {}",
                g[j],
                gd[j]
            );
        }
        let (mut h, mut hd) = (DMatrix::zeros(n, n), DMatrix::zeros(n, n));
        p.hessian(&w, &mut h);
        dual::hessian(&p, &w, &mut hd);
        assert!(
            (&h - &hd).amax() <= 1e-13,
            "Hessian differs by {}",
            (&h - &hd).amax()
        );
        let mut hv = vec![0.0; n];
        p.hess_vec(&w, &v, &mut hv);
        let dense = &h * DVector::from_column_slice(&v);
        for j in 0..n {
            assert!((hv[j] - dense[j]).abs() <= 1e-13);
        }
    }

    #[test]
    fn stable_far_from_the_origin() {
        // Margins of ±1e3: a naive log(1 + exp(t)) overflows.
        let p = LogisticRegression::breast_cancer();
        let mut w = vec![0.0; 31];
        w[30] = 1e3;
        let mut g = vec![0.0; 31];
        let f = p.value_grad(&w, &mut g);
        assert!(f.is_finite() && g.iter().all(|v| v.is_finite()));
    }
}
