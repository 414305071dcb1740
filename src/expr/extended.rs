//! A [`Tape`] evaluated in double-double arithmetic (about 32 significant
//! digits, Dekker 1971; the `qd` crate), and decimal numbers read to that
//! precision.
//!
//! What for: the statistics of a fit whose residuals are far below the data
//! (NIST StRD's Lanczos1: residuals of 8·10⁻¹⁴ on data of order 1). In
//! `f64` both the data, rounded from their decimals to binary, and the model
//! evaluation move each residual by a few 10⁻¹⁶, 0.3% of it there, and the
//! residual sum of squares by 10⁻³: the certified standard errors, which
//! scale with its square root, are out of reach (LRE 3.2, for every `f64`
//! fitter). With the data split into `f64` and the rest
//! ([`decimal_parts`]) and the model evaluated here, the residuals are exact
//! to `f64` rounding of their own size.
//!
//! Which operations are double-double: `+ − × ÷`, negation, squares and
//! integer powers, `sqrt`, `exp`, `ln`/`log`, `log2`, `log10`, `abs`, and
//! real powers `a^b = exp(b ln a)` for `a > 0`. The others (trigonometric,
//! hyperbolic, `erf`, `atan2`, `min`, `max`, `hypot`) are evaluated in `f64`
//! on the high part, as is any operation whose double-double result is not
//! finite or leaves the `f64` one by more than a relative 10⁻¹⁴ (overflow,
//! underflow, a pole); constants of the expression are its `f64` values
//! (exact for integers and dyadic fractions such as `0.5`).

use qd::Quad;

use super::Function;
use super::tape::{Op, Tape};

/// A decimal number as written in a data file (`2.513400000000E+00`,
/// `-0.05`, `7`), as `(hi, lo)`: `hi` its `f64` value (Rust's correctly
/// rounded parse) and `lo` the rest, `value − hi` to about 32 significant
/// digits of `value`. `None` if `s` is not a decimal number of at most 19
/// significant digits with an exponent of at most 300 in magnitude (the
/// caller keeps `f64` then); `lo = 0` when `hi` is the value exactly.
///
/// ```
/// use hesse::expr::decimal_parts;
/// let (hi, lo) = decimal_parts("0.1").unwrap();
/// assert_eq!(hi, 0.1);
/// // 0.1 − fl(0.1) = −5.551115123125783e−18 (fl(0.1) is above 0.1).
/// assert!((lo + 5.551115123125783e-18).abs() < 1e-32);
/// assert_eq!(decimal_parts("2.5"), Some((2.5, 0.0)));
/// assert_eq!(decimal_parts("nan"), None);
/// ```
pub fn decimal_parts(s: &str) -> Option<(f64, f64)> {
    let s = s.trim();
    let hi: f64 = s.parse().ok()?;
    if !hi.is_finite() {
        return None;
    }
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(k) => (&s[..k], s[k + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())) || exponent.abs() > 300 {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let trailing = digits.len() - digits.trim_end_matches('0').len();
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return Some((hi, 0.0));
    }
    if digits.len() > 19 {
        return None;
    }
    // value = m · 10^p, m an integer below 10¹⁹ (split into two exact f64s).
    let m: u64 = digits.parse().ok()?;
    let p = exponent - frac.len() as i32 + trailing as i32;
    let m_hi = (m >> 32 << 32) as f64;
    let m_lo = (m & 0xffff_ffff) as f64;
    let mut value = Quad::from_f64(m_hi) + Quad::from_f64(m_lo);
    value = scale_by_power_of_ten(value, p);
    if negative {
        value = -value;
    }
    let lo = value - Quad::from_f64(hi);
    let lo = lo.0 + lo.1;
    // A rest of more than an ulp of `hi` means the power of ten left the
    // range where it is exact enough (subnormal `hi`, say): keep `f64`.
    (lo.abs() <= hi.abs() * f64::EPSILON).then_some((hi, lo))
}

/// `v · 10^p` in double-double: by exact powers of ten (`10²²` is the
/// largest exact in `f64`) in steps, each multiplication or division
/// rounding at about 10⁻³².
fn scale_by_power_of_ten(mut v: Quad, p: i32) -> Quad {
    let mut left = p.unsigned_abs();
    while left > 0 {
        let step = left.min(22);
        let ten = Quad::from_f64(10f64.powi(step as i32));
        v = if p < 0 { v / ten } else { v * ten };
        left -= step;
    }
    v
}

/// Work space of [`Tape::value_extended`]: one double-double per slot.
#[derive(Debug, Clone, Default)]
pub struct ExtendedWorkspace {
    v: Vec<Quad>,
}

impl Tape {
    /// `f(params; data)` in double-double arithmetic (about 32 digits:
    /// `+ − × ÷`, negation, squares, integer powers, `sqrt`, `exp`, `ln`,
    /// `log2`, `log10`, `abs`, and `a^b = exp(b ln a)` for `a > 0`; the other
    /// functions, and any operation whose double-double value is not finite
    /// or leaves the `f64` one by more than a relative 10⁻¹⁴, in `f64` on the
    /// high part; constants as their `f64`s), with each data value
    /// given as `(hi, lo)` (from [`decimal_parts`], or `(x, 0.0)`), returned
    /// as `(hi, lo)`: `hi` the value rounded to `f64`, `lo` the rest.
    ///
    /// ```
    /// use hesse::expr::{Expr, ExtendedWorkspace};
    /// let tape = Expr::parse("y - exp(-b * x)").unwrap().compile(&["b"], &["x", "y"]).unwrap();
    /// let mut ws = ExtendedWorkspace::default();
    /// // y = exp(−0.1) to 32 digits, x = 0.1: the residual is 0 to ~1e-32,
    /// // where f64 gives a few 1e-17.
    /// let y = (0.9048374180359596, -5.543959909995408e-17);
    /// let x = hesse::expr::decimal_parts("0.1").unwrap();
    /// let (hi, _) = tape.value_extended(&[1.0], &[x, y], &mut ws);
    /// assert!(hi.abs() < 1e-30, "{hi}");
    /// ```
    ///
    /// # Panics
    /// If `params` or `data` has the wrong length, as [`Tape::value`].
    pub fn value_extended(
        &self,
        params: &[f64],
        data: &[(f64, f64)],
        ws: &mut ExtendedWorkspace,
    ) -> (f64, f64) {
        crate::linalg::elementwise::zero_upper();
        self.check("params", params.len(), self.params.len());
        self.check("data", data.len(), self.data.len());
        let v = &mut ws.v;
        v.clear();
        v.extend(params.iter().map(|&p| Quad::from_f64(p)));
        v.extend(data.iter().map(|&(hi, lo)| Quad(hi, 0.0) + Quad(lo, 0.0)));
        v.extend(self.consts.iter().map(|&c| Quad::from_f64(c)));
        for op in &self.ops {
            let x = extended_op(*op, v);
            v.push(x);
        }
        let out = v[self.out as usize];
        let hi = out.0 + out.1;
        (hi, (out - Quad::from_f64(hi)).0)
    }
}

/// One operation of the forward sweep in double-double, or in `f64` on the
/// high parts where the module docs say so.
fn extended_op(op: Op<u32>, v: &[Quad]) -> Quad {
    let at = |i: u32| v[i as usize];
    let hi = |i: u32| v[i as usize].0;
    let (exact, plain) = match op {
        Op::Add(a, b) => return at(a) + at(b),
        Op::Sub(a, b) => return at(a) - at(b),
        Op::Mul(a, b) => return at(a) * at(b),
        Op::Neg(a) => return -at(a),
        Op::Square(a) => return at(a) * at(a),
        Op::Div(a, b) => (Some(at(a) / at(b)), hi(a) / hi(b)),
        Op::Powi(a, n) => (Some(powi(at(a), n)), hi(a).powi(n)),
        Op::Pow(a, b) | Op::Powf(a, b) => {
            let plain = hi(a).powf(hi(b));
            let exact = (hi(a) > 0.0).then(|| (at(b) * at(a).ln()).exp());
            (exact, plain)
        }
        Op::Call(f, a) => {
            let u = at(a);
            let exact = match f {
                Function::Exp => Some(u.exp()),
                Function::Ln if u.0 > 0.0 => Some(u.ln()),
                Function::Log2 if u.0 > 0.0 => Some(u.log2()),
                Function::Log10 if u.0 > 0.0 => Some(u.log10()),
                Function::Sqrt if u.0 > 0.0 => Some(u.sqrt()),
                Function::Abs => Some(u.abs()),
                _ => None,
            };
            (exact, f.apply(u.0))
        }
        Op::Call2(f, a, b) => (None, f.apply(hi(a), hi(b))),
    };
    match exact {
        // The double-double value where it is finite and agrees with f64's
        // (qd's exp flushes below e⁻⁷⁰⁹ to 0 where f64's is subnormal, its
        // division by 0 is NaN where f64's is ±∞).
        Some(x) if x.0.is_finite() && (x.0 - plain).abs() <= 1e-14 * plain.abs() => x,
        _ => Quad::from_f64(plain),
    }
}

/// `a^n` by repeated squaring, `1/a^|n|` for `n < 0`.
fn powi(a: Quad, n: i32) -> Quad {
    let mut result = Quad::ONE;
    let mut base = a;
    let mut k = n.unsigned_abs();
    while k > 0 {
        if k & 1 == 1 {
            result *= base;
        }
        base *= base;
        k >>= 1;
    }
    if n < 0 { Quad::ONE / result } else { result }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Expr;

    #[test]
    fn decimals_split_into_f64_and_the_rest() {
        // 1/3 is not decimal; 0.3 = fl(0.3) + 1.1102230246251566e-17.
        let (hi, lo) = decimal_parts("0.3").unwrap();
        assert_eq!(hi, 0.3);
        assert!((lo - 1.1102230246251566e-17).abs() < 1e-32, "{lo:e}");
        let (hi, lo) = decimal_parts("-3.0E-01").unwrap();
        assert_eq!(hi, -0.3);
        assert!((lo + 1.1102230246251566e-17).abs() < 1e-32, "{lo:e}");
        // Exact values have no rest, whatever the spelling.
        for s in ["0", "-0.0", "1e3", "2.500000000000E+00", "+7", "1024.0"] {
            let (hi, lo) = decimal_parts(s).unwrap();
            assert_eq!((hi, lo), (s.parse().unwrap(), 0.0), "{s}");
        }
        // A NIST value: Lanczos1's y₂ = 2.044333373291, to ~1e-32 relative.
        let (hi, lo) = decimal_parts("2.044333373291E+00").unwrap();
        assert_eq!(hi, 2.044333373291);
        assert!(lo != 0.0 && lo.abs() <= hi * f64::EPSILON / 2.0);
        let sum = Quad::from_f64(hi) + Quad::from_f64(lo);
        let exact = Quad::from_f64(2044333373291.0) / Quad::from_f64(1e12);
        assert!(((sum - exact).0 / hi).abs() < 1e-30);
        for s in [
            "nan", "inf", "-inf", "1e400", "abc", "", "1.2.3", "0x10", "1e-400",
        ] {
            assert_eq!(decimal_parts(s), None, "{s}");
        }
    }

    #[test]
    fn extended_values_agree_with_f64_and_carry_the_rest() {
        let mut ws = ExtendedWorkspace::default();
        let cases = [
            ("a * exp(-b * x) + c / x^3", vec![1.5, 0.7, 2.0], 0.37),
            (
                "sqrt(x) * ln(a) - log10(b) * log2(c) + abs(-x)",
                vec![1.5, 0.7, 2.0],
                0.37,
            ),
            ("(a + x)^(-1 / b) * c", vec![1.5, 0.7, 2.0], 0.37),
            (
                "atan(a / (x - b)) / pi + min(c, x)",
                vec![1.5, 0.7, 2.0],
                0.37,
            ),
        ];
        for (src, params, x) in cases {
            let tape = Expr::parse(src)
                .unwrap()
                .compile(&["a", "b", "c"], &["x"])
                .unwrap();
            let plain = tape.value(&params, &[x], &mut tape.workspace());
            let (hi, lo) = tape.value_extended(&params, &[(x, 0.0)], &mut ws);
            assert!(
                (hi - plain).abs() <= 4.0 * f64::EPSILON * plain.abs(),
                "{src}: {hi} {plain}"
            );
            assert!(lo.abs() <= f64::EPSILON * hi.abs(), "{src}: {lo}");
        }
        // Cancellation f64 cannot see: (1 + 1e-20) − 1 with the 1e-20 in
        // the data's low part.
        let tape = Expr::parse("x - 1").unwrap().compile(&[], &["x"]).unwrap();
        let (hi, _) = tape.value_extended(&[], &[(1.0, 1e-20)], &mut ws);
        assert!((hi - 1e-20).abs() < 1e-34, "{hi:e}");
        // Where double-double has no value, f64's: ln of a negative, 1/0,
        // an underflowing exp.
        let tape = Expr::parse("ln(x) + 1 / (x - x) + exp(-800 * x * x)")
            .unwrap()
            .compile(&[], &["x"])
            .unwrap();
        let plain = tape.value(&[], &[-1.0], &mut tape.workspace());
        let (hi, _) = tape.value_extended(&[], &[(-1.0, 0.0)], &mut ws);
        assert_eq!(hi.is_nan(), plain.is_nan());
        let tape = Expr::parse("1 / x").unwrap().compile(&[], &["x"]).unwrap();
        assert_eq!(
            tape.value_extended(&[], &[(0.0, 0.0)], &mut ws).0,
            f64::INFINITY
        );
        let tape = Expr::parse("exp(x)").unwrap().compile(&[], &["x"]).unwrap();
        assert_eq!(
            tape.value_extended(&[], &[(-740.0, 0.0)], &mut ws).0,
            (-740f64).exp()
        );
    }
}
