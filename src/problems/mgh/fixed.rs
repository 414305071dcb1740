//! MGH problems 1–19: fixed number of variables (Moré, Garbow & Hillstrom
//! 1981, §3, problems (1)–(19)).
//!
//! Each function writes the residuals `fᵢ(x)` of the paper into `r` (the paper
//! calls them `fᵢ`, the objective `f = Σ fᵢ²`). Indices in comments are the
//! paper's, 1-based; the code is 0-based. `m = r.len()` where the paper lets
//! `m` vary.

use std::f64::consts::PI;

use crate::diff::Real;

fn c<D: Real>(v: f64) -> D {
    D::from(v)
}

/// (1) Rosenbrock: `f₁ = 10 (x₂ − x₁²)`, `f₂ = 1 − x₁`.
pub(super) fn rosenbrock<D: Real>(x: &[D], r: &mut [D]) {
    r[0] = (x[1] - x[0] * x[0]) * 10.0;
    r[1] = c::<D>(1.0) - x[0];
}

/// (2) Freudenstein and Roth: `f₁ = −13 + x₁ + ((5 − x₂) x₂ − 2) x₂`,
/// `f₂ = −29 + x₁ + ((x₂ + 1) x₂ − 14) x₂`.
pub(super) fn freudenstein_roth<D: Real>(x: &[D], r: &mut [D]) {
    r[0] = x[0] - 13.0 + ((c::<D>(5.0) - x[1]) * x[1] - 2.0) * x[1];
    r[1] = x[0] - 29.0 + ((x[1] + 1.0) * x[1] - 14.0) * x[1];
}

/// (3) Powell badly scaled: `f₁ = 10⁴ x₁ x₂ − 1`,
/// `f₂ = exp(−x₁) + exp(−x₂) − 1.0001`.
pub(super) fn powell_badly_scaled<D: Real>(x: &[D], r: &mut [D]) {
    r[0] = x[0] * x[1] * 1e4 - 1.0;
    r[1] = (-x[0]).exp() + (-x[1]).exp() - 1.0001;
}

/// (4) Brown badly scaled: `f₁ = x₁ − 10⁶`, `f₂ = x₂ − 2·10⁻⁶`, `f₃ = x₁ x₂ − 2`.
pub(super) fn brown_badly_scaled<D: Real>(x: &[D], r: &mut [D]) {
    r[0] = x[0] - 1e6;
    r[1] = x[1] - 2e-6;
    r[2] = x[0] * x[1] - 2.0;
}

/// (5) Beale: `fᵢ = yᵢ − x₁ (1 − x₂ⁱ)`, `y = (1.5, 2.25, 2.625)`.
pub(super) fn beale<D: Real>(x: &[D], r: &mut [D]) {
    const Y: [f64; 3] = [1.5, 2.25, 2.625];
    for (i, (ri, &yi)) in r.iter_mut().zip(&Y).enumerate() {
        *ri = c::<D>(yi) - x[0] * (c::<D>(1.0) - x[1].powi(i as i32 + 1));
    }
}

/// (6) Jennrich and Sampson: `fᵢ = 2 + 2i − (exp(i x₁) + exp(i x₂))`,
/// `i = 1..m`.
pub(super) fn jennrich_sampson<D: Real>(x: &[D], r: &mut [D]) {
    for (k, ri) in r.iter_mut().enumerate() {
        let i = (k + 1) as f64;
        *ri = c::<D>(2.0 + 2.0 * i) - ((x[0] * i).exp() + (x[1] * i).exp());
    }
}

/// (7) Helical valley: `f₁ = 10 [x₃ − 10 θ(x₁, x₂)]`,
/// `f₂ = 10 [(x₁² + x₂²)^½ − 1]`, `f₃ = x₃`, with
/// `2π θ = arctan(x₂/x₁)` for `x₁ > 0` and `arctan(x₂/x₁) + π` for `x₁ < 0`.
///
/// The paper leaves `θ` undefined at `x₁ = 0`; as MINPACK's test code we take
/// `θ = ±¼` there, with the sign of `x₂` (the one-sided limits agree with it
/// only from one side: `θ` jumps across `x₁ = 0, x₂ < 0`).
pub(super) fn helical_valley<D: Real>(x: &[D], r: &mut [D]) {
    let x1 = x[0].re();
    let theta = if x1 > 0.0 {
        (x[1] / x[0]).atan() / (2.0 * PI)
    } else if x1 < 0.0 {
        (x[1] / x[0]).atan() / (2.0 * PI) + 0.5
    } else {
        c::<D>(0.25f64.copysign(x[1].re()))
    };
    r[0] = (x[2] - theta * 10.0) * 10.0;
    r[1] = ((x[0] * x[0] + x[1] * x[1]).sqrt() - 1.0) * 10.0;
    r[2] = x[2];
}

/// (8) Bard: `fᵢ = yᵢ − (x₁ + uᵢ / (vᵢ x₂ + wᵢ x₃))`, `uᵢ = i`, `vᵢ = 16 − i`,
/// `wᵢ = min(uᵢ, vᵢ)`, `i = 1..15`.
pub(super) fn bard<D: Real>(x: &[D], r: &mut [D]) {
    const Y: [f64; 15] = [
        0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39,
    ];
    for (k, (ri, &yi)) in r.iter_mut().zip(&Y).enumerate() {
        let u = (k + 1) as f64;
        let v = 16.0 - u;
        let w = u.min(v);
        *ri = c::<D>(yi) - (x[0] + (x[1] * v + x[2] * w).recip() * u);
    }
}

/// (9) Gaussian: `fᵢ = x₁ exp(−x₂ (tᵢ − x₃)² / 2) − yᵢ`, `tᵢ = (8 − i)/2`,
/// `i = 1..15`.
pub(super) fn gaussian<D: Real>(x: &[D], r: &mut [D]) {
    const Y: [f64; 15] = [
        0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989, 0.3521, 0.2420, 0.1295,
        0.0540, 0.0175, 0.0044, 0.0009,
    ];
    for (k, (ri, &yi)) in r.iter_mut().zip(&Y).enumerate() {
        let t = (8.0 - (k + 1) as f64) / 2.0;
        let d = -x[2] + t;
        *ri = x[0] * (-x[1] * d * d * 0.5).exp() - yi;
    }
}

/// (10) Meyer: `fᵢ = x₁ exp(x₂ / (tᵢ + x₃)) − yᵢ`, `tᵢ = 45 + 5i`, `i = 1..16`.
pub(super) fn meyer<D: Real>(x: &[D], r: &mut [D]) {
    const Y: [f64; 16] = [
        34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0, 8261.0, 7030.0,
        6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0,
    ];
    for (k, (ri, &yi)) in r.iter_mut().zip(&Y).enumerate() {
        let t = 45.0 + 5.0 * (k + 1) as f64;
        *ri = x[0] * (x[1] / (x[2] + t)).exp() - yi;
    }
}

/// (11) Gulf research and development:
/// `fᵢ = exp(−|yᵢ − x₂|^{x₃} / x₁) − tᵢ`, `tᵢ = i/100`,
/// `yᵢ = 25 + (−50 ln tᵢ)^{2/3}`, `i = 1..m`.
///
/// The paper prints `|yᵢ mi x₂|`; "mi" is a minus sign (the minimizer
/// `(50, 25, 1.5)` with `f = 0` holds only with it; MINPACK's code agrees).
pub(super) fn gulf<D: Real>(x: &[D], r: &mut [D]) {
    for (k, ri) in r.iter_mut().enumerate() {
        let t = (k + 1) as f64 / 100.0;
        let y = 25.0 + (-50.0 * t.ln()).powf(2.0 / 3.0);
        let a = (-x[1] + y).abs().powd(x[2]);
        *ri = (-(a / x[0])).exp() - t;
    }
}

/// (12) Box three-dimensional:
/// `fᵢ = exp(−tᵢ x₁) − exp(−tᵢ x₂) − x₃ (exp(−tᵢ) − exp(−10 tᵢ))`,
/// `tᵢ = i/10`, `i = 1..m`.
pub(super) fn box_3d<D: Real>(x: &[D], r: &mut [D]) {
    for (k, ri) in r.iter_mut().enumerate() {
        let t = (k + 1) as f64 / 10.0;
        *ri = (x[0] * -t).exp() - (x[1] * -t).exp() - x[2] * ((-t).exp() - (-10.0 * t).exp());
    }
}

/// (13) Powell singular: `f₁ = x₁ + 10 x₂`, `f₂ = √5 (x₃ − x₄)`,
/// `f₃ = (x₂ − 2 x₃)²`, `f₄ = √10 (x₁ − x₄)²`.
pub(super) fn powell_singular<D: Real>(x: &[D], r: &mut [D]) {
    let a = x[1] - x[2] * 2.0;
    let b = x[0] - x[3];
    r[0] = x[0] + x[1] * 10.0;
    r[1] = (x[2] - x[3]) * 5f64.sqrt();
    r[2] = a * a;
    r[3] = b * b * 10f64.sqrt();
}

/// (14) Wood: `f₁ = 10 (x₂ − x₁²)`, `f₂ = 1 − x₁`, `f₃ = √90 (x₄ − x₃²)`,
/// `f₄ = 1 − x₃`, `f₅ = √10 (x₂ + x₄ − 2)`, `f₆ = 10^{−½} (x₂ − x₄)`.
pub(super) fn wood<D: Real>(x: &[D], r: &mut [D]) {
    r[0] = (x[1] - x[0] * x[0]) * 10.0;
    r[1] = c::<D>(1.0) - x[0];
    r[2] = (x[3] - x[2] * x[2]) * 90f64.sqrt();
    r[3] = c::<D>(1.0) - x[2];
    r[4] = (x[1] + x[3] - 2.0) * 10f64.sqrt();
    r[5] = (x[1] - x[3]) / 10f64.sqrt();
}

/// (15) Kowalik and Osborne:
/// `fᵢ = yᵢ − x₁ (uᵢ² + uᵢ x₂) / (uᵢ² + uᵢ x₃ + x₄)`, `i = 1..11`.
pub(super) fn kowalik_osborne<D: Real>(x: &[D], r: &mut [D]) {
    const Y: [f64; 11] = [
        0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246,
    ];
    const U: [f64; 11] = [
        4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625,
    ];
    for ((ri, &yi), &u) in r.iter_mut().zip(&Y).zip(&U) {
        *ri = c::<D>(yi) - x[0] * (x[1] * u + u * u) / (x[2] * u + x[3] + u * u);
    }
}

/// (16) Brown and Dennis:
/// `fᵢ = (x₁ + tᵢ x₂ − exp(tᵢ))² + (x₃ + x₄ sin(tᵢ) − cos(tᵢ))²`, `tᵢ = i/5`,
/// `i = 1..m`.
pub(super) fn brown_dennis<D: Real>(x: &[D], r: &mut [D]) {
    for (k, ri) in r.iter_mut().enumerate() {
        let t = (k + 1) as f64 / 5.0;
        let a = x[0] + x[1] * t - t.exp();
        let b = x[2] + x[3] * t.sin() - t.cos();
        *ri = a * a + b * b;
    }
}

/// (17) Osborne 1:
/// `fᵢ = yᵢ − (x₁ + x₂ exp(−tᵢ x₄) + x₃ exp(−tᵢ x₅))`, `tᵢ = 10 (i − 1)`,
/// `i = 1..33`.
pub(super) fn osborne1<D: Real>(x: &[D], r: &mut [D]) {
    const Y: [f64; 33] = [
        0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751, 0.718, 0.685,
        0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490, 0.478, 0.467, 0.457, 0.448,
        0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406,
    ];
    for (k, (ri, &yi)) in r.iter_mut().zip(&Y).enumerate() {
        let t = 10.0 * k as f64;
        *ri = c::<D>(yi) - (x[0] + x[1] * (x[3] * -t).exp() + x[2] * (x[4] * -t).exp());
    }
}

/// (18) Biggs EXP6:
/// `fᵢ = x₃ exp(−tᵢ x₁) − x₄ exp(−tᵢ x₂) + x₆ exp(−tᵢ x₅) − yᵢ`, `tᵢ = i/10`,
/// `yᵢ = exp(−tᵢ) − 5 exp(−10 tᵢ) + 3 exp(−4 tᵢ)`, `i = 1..m`.
pub(super) fn biggs_exp6<D: Real>(x: &[D], r: &mut [D]) {
    for (k, ri) in r.iter_mut().enumerate() {
        let t = (k + 1) as f64 / 10.0;
        let y = (-t).exp() - 5.0 * (-10.0 * t).exp() + 3.0 * (-4.0 * t).exp();
        *ri = x[2] * (x[0] * -t).exp() - x[3] * (x[1] * -t).exp() + x[5] * (x[4] * -t).exp() - y;
    }
}

/// (19) Osborne 2:
/// `fᵢ = yᵢ − (x₁ exp(−tᵢ x₅) + x₂ exp(−(tᵢ − x₉)² x₆)
/// + x₃ exp(−(tᵢ − x₁₀)² x₇) + x₄ exp(−(tᵢ − x₁₁)² x₈))`, `tᵢ = (i − 1)/10`,
/// `i = 1..65`.
pub(super) fn osborne2<D: Real>(x: &[D], r: &mut [D]) {
    const Y: [f64; 65] = [
        1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746, 0.679, 0.608,
        0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649, 0.694, 0.644, 0.624, 0.661,
        0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395, 0.375, 0.372, 0.391, 0.396, 0.405, 0.428,
        0.429, 0.523, 0.562, 0.607, 0.653, 0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559,
        0.597, 0.625, 0.739, 0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054,
    ];
    for (k, (ri, &yi)) in r.iter_mut().zip(&Y).enumerate() {
        let t = k as f64 / 10.0;
        let bump = |height: D, width: D, centre: D| {
            let d = -centre + t;
            height * (-(d * d) * width).exp()
        };
        *ri = c::<D>(yi)
            - (x[0] * (x[4] * -t).exp()
                + bump(x[1], x[5], x[8])
                + bump(x[2], x[6], x[9])
                + bump(x[3], x[7], x[10]));
    }
}
