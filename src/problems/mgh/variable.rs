//! MGH problems 20–35: variable number of variables (Moré, Garbow & Hillstrom
//! 1981, §3, problems (20)–(35)).
//!
//! As in `fixed.rs`: residuals `fᵢ` of the paper into `r`, `n = x.len()`,
//! `m = r.len()`, paper indices 1-based in comments.

use crate::diff::Real;

fn c<D: Real>(v: f64) -> D {
    D::from(v)
}

/// (20) Watson, `2 ≤ n ≤ 31`, `m = 31`: for `i = 1..29`, `tᵢ = i/29`,
/// `fᵢ = Σ_{j=2}^{n} (j − 1) xⱼ tᵢ^{j−2} − (Σ_{j=1}^{n} xⱼ tᵢ^{j−1})² − 1`;
/// `f₃₀ = x₁`, `f₃₁ = x₂ − x₁² − 1`.
pub(super) fn watson<D: Real>(x: &[D], r: &mut [D]) {
    for (k, ri) in r.iter_mut().take(29).enumerate() {
        let t = (k + 1) as f64 / 29.0;
        let mut s1 = D::zero();
        let mut s2 = x[0];
        let mut tp = 1.0; // t^{j−2} for the 1-based j of the loop
        for (j0, &xj) in x.iter().enumerate().skip(1) {
            s1 += xj * (j0 as f64 * tp);
            tp *= t;
            s2 += xj * tp;
        }
        *ri = s1 - s2 * s2 - 1.0;
    }
    r[29] = x[0];
    r[30] = x[1] - x[0] * x[0] - 1.0;
}

/// (21) Extended Rosenbrock, `n` even, `m = n`:
/// `f_{2i−1} = 10 (x_{2i} − x_{2i−1}²)`, `f_{2i} = 1 − x_{2i−1}`.
pub(super) fn extended_rosenbrock<D: Real>(x: &[D], r: &mut [D]) {
    for (p, rp) in x.chunks_exact(2).zip(r.chunks_exact_mut(2)) {
        rp[0] = (p[1] - p[0] * p[0]) * 10.0;
        rp[1] = c::<D>(1.0) - p[0];
    }
}

/// (22) Extended Powell singular, `n` a multiple of 4, `m = n`: on each block
/// of four, `f₁ = x₁ + 10 x₂`, `f₂ = √5 (x₃ − x₄)`, `f₃ = (x₂ − 2 x₃)²`,
/// `f₄ = √10 (x₁ − x₄)²`.
pub(super) fn extended_powell_singular<D: Real>(x: &[D], r: &mut [D]) {
    for (p, rp) in x.chunks_exact(4).zip(r.chunks_exact_mut(4)) {
        let a = p[1] - p[2] * 2.0;
        let b = p[0] - p[3];
        rp[0] = p[0] + p[1] * 10.0;
        rp[1] = (p[2] - p[3]) * 5f64.sqrt();
        rp[2] = a * a;
        rp[3] = b * b * 10f64.sqrt();
    }
}

/// The penalty weight `a = 10⁻⁵` of problems (23) and (24).
const PENALTY_A: f64 = 1e-5;

/// (23) Penalty I, `m = n + 1`: `fᵢ = a^½ (xᵢ − 1)` for `i = 1..n`,
/// `f_{n+1} = Σ xⱼ² − ¼`, `a = 10⁻⁵`.
pub(super) fn penalty1<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len();
    let sqrt_a = PENALTY_A.sqrt();
    for (ri, &xi) in r.iter_mut().zip(x) {
        *ri = (xi - 1.0) * sqrt_a;
    }
    r[n] = x.iter().fold(D::zero(), |s, &xj| s + xj * xj) - 0.25;
}

/// (24) Penalty II, `m = 2n`: `f₁ = x₁ − 0.2`;
/// `fᵢ = a^½ (exp(xᵢ/10) + exp(x_{i−1}/10) − yᵢ)` for `2 ≤ i ≤ n`,
/// `yᵢ = exp(i/10) + exp((i−1)/10)`;
/// `fᵢ = a^½ (exp(x_{i−n+1}/10) − exp(−1/10))` for `n < i < 2n`;
/// `f_{2n} = Σⱼ (n − j + 1) xⱼ² − 1`; `a = 10⁻⁵`.
pub(super) fn penalty2<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len();
    let sqrt_a = PENALTY_A.sqrt();
    r[0] = x[0] - 0.2;
    for i in 2..=n {
        let y = (i as f64 / 10.0).exp() + ((i - 1) as f64 / 10.0).exp();
        r[i - 1] = ((x[i - 1] / 10.0).exp() + (x[i - 2] / 10.0).exp() - y) * sqrt_a;
    }
    for i in n + 1..2 * n {
        r[i - 1] = ((x[i - n] / 10.0).exp() - (-0.1f64).exp()) * sqrt_a;
    }
    r[2 * n - 1] = x
        .iter()
        .enumerate()
        .fold(D::zero(), |s, (j0, &xj)| s + xj * xj * (n - j0) as f64)
        - 1.0;
}

/// (25) Variably dimensioned, `m = n + 2`: `fᵢ = xᵢ − 1` for `i = 1..n`,
/// `f_{n+1} = Σⱼ j (xⱼ − 1)`, `f_{n+2} = (Σⱼ j (xⱼ − 1))²`.
pub(super) fn variably_dimensioned<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len();
    let mut s = D::zero();
    for (j0, (ri, &xj)) in r.iter_mut().zip(x).enumerate() {
        *ri = xj - 1.0;
        s += (xj - 1.0) * (j0 + 1) as f64;
    }
    r[n] = s;
    r[n + 1] = s * s;
}

/// (26) Trigonometric, `m = n`:
/// `fᵢ = n − Σⱼ cos xⱼ + i (1 − cos xᵢ) − sin xᵢ`.
pub(super) fn trigonometric<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len() as f64;
    let sum_cos = x.iter().fold(D::zero(), |s, xj| s + xj.cos());
    for (k, (ri, &xi)) in r.iter_mut().zip(x).enumerate() {
        let i = (k + 1) as f64;
        *ri = -sum_cos + n + (c::<D>(1.0) - xi.cos()) * i - xi.sin();
    }
}

/// (27) Brown almost-linear, `m = n`: `fᵢ = xᵢ + Σⱼ xⱼ − (n + 1)` for
/// `i < n`, `fₙ = Πⱼ xⱼ − 1`.
pub(super) fn brown_almost_linear<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len();
    let sum = x.iter().fold(D::zero(), |s, &xj| s + xj);
    for (ri, &xi) in r.iter_mut().zip(x).take(n - 1) {
        *ri = xi + sum - (n + 1) as f64;
    }
    r[n - 1] = x.iter().fold(c::<D>(1.0), |p, &xj| p * xj) - 1.0;
}

/// (28) Discrete boundary value, `m = n`: `h = 1/(n + 1)`, `tᵢ = i h`,
/// `fᵢ = 2 xᵢ − x_{i−1} − x_{i+1} + h² (xᵢ + tᵢ + 1)³ / 2`, `x₀ = x_{n+1} = 0`.
pub(super) fn discrete_boundary_value<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len();
    let h = 1.0 / (n + 1) as f64;
    for i in 0..n {
        let t = (i + 1) as f64 * h;
        let left = if i > 0 { x[i - 1] } else { D::zero() };
        let right = if i + 1 < n { x[i + 1] } else { D::zero() };
        r[i] = x[i] * 2.0 - left - right + (x[i] + t + 1.0).powi(3) * (h * h / 2.0);
    }
}

/// (29) Discrete integral equation, `m = n`: `h = 1/(n + 1)`, `tᵢ = i h`,
/// `fᵢ = xᵢ + h [(1 − tᵢ) Σ_{j≤i} tⱼ (xⱼ + tⱼ + 1)³
/// + tᵢ Σ_{j>i} (1 − tⱼ)(xⱼ + tⱼ + 1)³] / 2`.
pub(super) fn discrete_integral_equation<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len();
    let h = 1.0 / (n + 1) as f64;
    let t = |j: usize| (j + 1) as f64 * h;
    let cube = |j: usize| (x[j] + t(j) + 1.0).powi(3);
    for i in 0..n {
        let mut lower = D::zero();
        for j in 0..=i {
            lower += cube(j) * t(j);
        }
        let mut upper = D::zero();
        for j in i + 1..n {
            upper += cube(j) * (1.0 - t(j));
        }
        r[i] = x[i] + (lower * (1.0 - t(i)) + upper * t(i)) * (h / 2.0);
    }
}

/// (30) Broyden tridiagonal, `m = n`:
/// `fᵢ = (3 − 2 xᵢ) xᵢ − x_{i−1} − 2 x_{i+1} + 1`, `x₀ = x_{n+1} = 0`.
pub(super) fn broyden_tridiagonal<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len();
    for i in 0..n {
        let left = if i > 0 { x[i - 1] } else { D::zero() };
        let right = if i + 1 < n { x[i + 1] } else { D::zero() };
        r[i] = (c::<D>(3.0) - x[i] * 2.0) * x[i] - left - right * 2.0 + 1.0;
    }
}

/// (31) Broyden banded, `m = n`:
/// `fᵢ = xᵢ (2 + 5 xᵢ²) + 1 − Σ_{j ∈ Jᵢ} xⱼ (1 + xⱼ)`,
/// `Jᵢ = {j ≠ i : max(1, i − m_l) ≤ j ≤ min(n, i + m_u)}`, `m_l = 5`, `m_u = 1`.
pub(super) fn broyden_banded<D: Real>(x: &[D], r: &mut [D]) {
    const M_L: usize = 5;
    const M_U: usize = 1;
    let n = x.len();
    for i in 0..n {
        let mut band = D::zero();
        for (j, &xj) in x
            .iter()
            .enumerate()
            .take((i + M_U + 1).min(n))
            .skip(i.saturating_sub(M_L))
        {
            if j != i {
                band += xj * (xj + 1.0);
            }
        }
        r[i] = x[i] * (x[i] * x[i] * 5.0 + 2.0) + 1.0 - band;
    }
}

/// (32) Linear function, full rank, `m ≥ n`:
/// `fᵢ = xᵢ − (2/m) Σⱼ xⱼ − 1` for `i ≤ n`, `fᵢ = −(2/m) Σⱼ xⱼ − 1` for `i > n`.
pub(super) fn linear_full_rank<D: Real>(x: &[D], r: &mut [D]) {
    let m = r.len() as f64;
    let s = x.iter().fold(D::zero(), |s, &xj| s + xj) * (2.0 / m);
    for (i, ri) in r.iter_mut().enumerate() {
        let xi = x.get(i).copied().unwrap_or_else(D::zero);
        *ri = xi - s - 1.0;
    }
}

/// (33) Linear function, rank 1, `m ≥ n`: `fᵢ = i (Σⱼ j xⱼ) − 1`.
pub(super) fn linear_rank1<D: Real>(x: &[D], r: &mut [D]) {
    let s = x
        .iter()
        .enumerate()
        .fold(D::zero(), |s, (j0, &xj)| s + xj * (j0 + 1) as f64);
    for (k, ri) in r.iter_mut().enumerate() {
        *ri = s * (k + 1) as f64 - 1.0;
    }
}

/// (34) Linear function, rank 1 with zero columns and rows, `m ≥ n`:
/// `f₁ = −1`, `fᵢ = (i − 1) (Σ_{j=2}^{n−1} j xⱼ) − 1` for `2 ≤ i ≤ m − 1`,
/// `fₘ = −1`.
pub(super) fn linear_rank1_zero<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len();
    let m = r.len();
    let s = (1..n.saturating_sub(1)).fold(D::zero(), |s, j0| s + x[j0] * (j0 + 1) as f64);
    for (k, ri) in r.iter_mut().enumerate() {
        *ri = if k == 0 || k == m - 1 {
            c::<D>(-1.0)
        } else {
            s * k as f64 - 1.0
        };
    }
}

/// (35) Chebyquad, `m ≥ n`: `fᵢ = (1/n) Σⱼ Tᵢ(xⱼ) − ∫₀¹ Tᵢ(x) dx`, with `Tᵢ` the
/// `i`-th Chebyshev polynomial shifted to `[0, 1]` and `∫₀¹ Tᵢ = −1/(i² − 1)`
/// for even `i`, `0` for odd `i`.
pub(super) fn chebyquad<D: Real>(x: &[D], r: &mut [D]) {
    let n = x.len() as f64;
    r.iter_mut().for_each(|ri| *ri = D::zero());
    for &xj in x {
        // Three-term recurrence on y = 2x − 1: T₀ = 1, T₁ = y,
        // T_{k+1} = 2 y T_k − T_{k−1}.
        let y = xj * 2.0 - 1.0;
        let (mut t_prev, mut t_k) = (c::<D>(1.0), y);
        for ri in r.iter_mut() {
            *ri += t_k;
            let t_next = y * t_k * 2.0 - t_prev;
            t_prev = t_k;
            t_k = t_next;
        }
    }
    for (k, ri) in r.iter_mut().enumerate() {
        let i = (k + 1) as f64;
        *ri /= n;
        if (k + 1) % 2 == 0 {
            *ri += 1.0 / (i * i - 1.0);
        }
    }
}
