//! Line searches against published results and on hostile 1-D functions.

use hesse::linesearch::{FnLine, LineSearch, MoreThuente};

/// MT (5.1): φ(α) = −α/(α² + β), β = 2.
fn mt1(a: f64) -> (f64, f64) {
    let b = 2.0;
    (-a / (a * a + b), (a * a - b) / (a * a + b).powi(2))
}
/// MT (5.2): φ(α) = (α + β)⁵ − 2(α + β)⁴, β = 0.004.
fn mt2(a: f64) -> (f64, f64) {
    let s = a + 0.004;
    (s.powi(5) - 2.0 * s.powi(4), s.powi(3) * (5.0 * s - 8.0))
}
/// MT (5.3): φ(α) = φ₀(α) + 2(1 − β)/(lπ) sin(lπα/2), β = 0.01, l = 39.
fn mt3(a: f64) -> (f64, f64) {
    let (b, l) = (0.01, 39.0);
    let pi = std::f64::consts::PI;
    let (f0, g0) = if a <= 1.0 - b {
        (1.0 - a, -1.0)
    } else if a >= 1.0 + b {
        (a - 1.0, 1.0)
    } else {
        ((a - 1.0).powi(2) / (2.0 * b) + b / 2.0, (a - 1.0) / b)
    };
    (
        f0 + 2.0 * (1.0 - b) / (l * pi) * (l * pi * a / 2.0).sin(),
        g0 + (1.0 - b) * (l * pi * a / 2.0).cos(),
    )
}
/// MT (5.4)-(5.6): φ(α) = γ(β₁) √((1 − α)² + β₂²) + γ(β₂) √(α² + β₁²),
/// γ(β) = √(1 + β²) − β.
fn yanai(a: f64, b1: f64, b2: f64) -> (f64, f64) {
    let gam = |b: f64| (1.0 + b * b).sqrt() - b;
    let r1 = ((1.0 - a).powi(2) + b2 * b2).sqrt();
    let r2 = (a * a + b1 * b1).sqrt();
    (
        gam(b1) * r1 + gam(b2) * r2,
        gam(b1) * (a - 1.0) / r1 + gam(b2) * a / r2,
    )
}

#[test]
fn explore() {
    let fs: Vec<(&str, Box<dyn Fn(f64) -> (f64, f64)>, f64, f64)> = vec![
        ("1", Box::new(mt1), 1e-3, 0.1),
        ("2", Box::new(mt2), 0.1, 0.1),
        ("3", Box::new(mt3), 0.1, 0.1),
        ("4", Box::new(|a| yanai(a, 0.001, 0.001)), 0.001, 0.001),
        ("5", Box::new(|a| yanai(a, 0.01, 0.001)), 0.001, 0.001),
        ("6", Box::new(|a| yanai(a, 0.001, 0.01)), 0.001, 0.001),
    ];
    for (name, f, c1, c2) in &fs {
        for a0 in [1e-3, 1e-1, 1e1, 1e3] {
            let (p0, d0) = f(0.0);
            let mut phi = FnLine::new(|a| f(a));
            let r = MoreThuente::default()
                .with_c1(*c1)
                .with_c2(*c2)
                .search(&mut phi, p0, d0, a0);
            match r {
                Ok(r) => println!(
                    "{name} {a0:e}: evals {} alpha {:.5} dphi {:.4e}",
                    r.evals,
                    r.alpha,
                    r.dphi.unwrap()
                ),
                Err(e) => println!("{name} {a0:e}: {e}"),
            }
        }
    }
}
