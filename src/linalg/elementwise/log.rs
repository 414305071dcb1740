//! `ln x` and `ln(1 + x)` by fdlibm's reduction and polynomial.
//!
//! Method (fdlibm `e_log.c` and `s_log1p.c`, Sun Microsystems 1993; Tang,
//! "Table-driven implementation of the logarithm function", *ACM TOMS* 16
//! (1990) for the `s = f/(2 + f)` form):
//!
//! 1. `u = 2ᵏ·m` with `m ∈ [√2/2, √2)`, read from the bits of `u` (adding
//!    `1 − √2/2`'s offset to the exponent field, as musl's `log` does), and
//!    `f = m − 1`;
//! 2. `ln m = f − f²/2 + s(f²/2 + R(s²))` with `s = f/(2 + f)` and fdlibm's
//!    degree-7 Remez polynomial `R` (error below `2⁻⁵⁸·⁴⁵`);
//! 3. `ln u = k·ln2_hi + (… + k·ln2_lo)` with the split of `ln 2` of
//!    [`super::exp`].
//!
//! For `ln(1 + x)` the sum `u = 1 + x` is rounded, and its exact error `err`
//! is recovered by Knuth's two-sum; `ln(1 + x) = ln u + err/u` to first
//! order, the correction entering the sum next to `k·ln2_lo`, as fdlibm's
//! `c`. So `ln_1p(x) = x` exactly for `|x| < 2⁻⁵³`, and `−0` stays `−0`.
//!
//! Edges: `ln(±0) = −∞`, `ln(x < 0) = NaN`, `ln(+∞) = +∞`, subnormal `x`
//! scaled by `2⁵⁴` first; `ln_1p(−1) = −∞`, `ln_1p(x < −1) = NaN`,
//! `ln_1p(+∞) = +∞`; a NaN is returned quieted (`x + x`).

// The constants are written as published, with all their digits.
#![allow(clippy::excessive_precision)]

use super::lanes::Lanes;
use super::{exp::LN2_HI, exp::LN2_LO};

/// fdlibm's `Lg1 … Lg7`.
const LG: [f64; 7] = [
    6.666_666_666_666_735_130e-1,
    3.999_999_999_940_941_908e-1,
    2.857_142_874_366_239_149e-1,
    2.222_219_843_214_978_396e-1,
    1.818_357_216_161_805_012e-1,
    1.531_383_769_920_937_332e-1,
    1.479_819_860_511_658_591e-1,
];

/// The bits of `√2/2` rounded: the low end of the range of `m`.
const SQRT_HALF_BITS: i64 = 0x3fe6_a09e_667f_3bcd;
/// `2⁵²` as bits: ORed with a small integer `e`, gives the double `2⁵² + e`.
const TWO52_BITS: u64 = 0x4330_0000_0000_0000;

/// `ln u + c` for a positive, normal, finite `u` and a small correction `c`
/// (`err/u` of the two-sum, or 0), with `k_adj` added to `u`'s exponent.
#[inline(always)]
fn log_core<V: Lanes>(u: V, c: V, k_adj: V) -> V {
    let ix = u.bits_add(0x3ff0_0000_0000_0000 - SQRT_HALF_BITS);
    let k = ix
        .bits_shr::<52>()
        .bits_or(TWO52_BITS)
        .sub(V::splat(4_503_599_627_371_519.0)) // 2⁵² + 1023
        .add(k_adj);
    let m = ix.bits_and(0x000f_ffff_ffff_ffff).bits_add(SQRT_HALF_BITS);
    let one = V::splat(1.0);
    let f = m.sub(one);
    let s = f.div(V::splat(2.0).add(f));
    let z = s.mul(s);
    let mut r = V::splat(LG[6]);
    for &g in LG[..6].iter().rev() {
        r = r.mul_add(z, V::splat(g));
    }
    let r = r.mul(z);
    let hfsq = V::splat(0.5).mul(f).mul(f);
    let lo = k.mul_add(V::splat(LN2_LO), c);
    s.mul_add(hfsq.add(r), lo)
        .sub(hfsq)
        .add(f)
        .add(k.mul(V::splat(LN2_HI)))
}

/// `ln x` lane by lane.
#[inline(always)]
pub(super) fn ln<V: Lanes>(x: V) -> V {
    let zero = V::splat(0.0);
    let sub = x.lt(V::splat(f64::MIN_POSITIVE));
    let u = V::select(sub, x.mul(V::splat(18_014_398_509_481_984.0)), x); // 2⁵⁴
    let k_adj = V::select(sub, V::splat(-54.0), zero);
    let mut res = log_core(u, zero, k_adj);
    let inf = V::splat(f64::INFINITY);
    res = V::select(x.eq(inf), inf, res);
    res = V::select(x.lt(zero), V::splat(f64::NAN), res);
    res = V::select(x.eq(zero), inf.neg(), res);
    V::select(x.is_nan(), x.add(x), res)
}

/// `ln(1 + x)` lane by lane.
#[inline(always)]
pub(super) fn ln_1p<V: Lanes>(x: V) -> V {
    let one = V::splat(1.0);
    let u = one.add(x);
    // Two-sum (Knuth, TAOCP vol. 2, §4.2.2): u + err = 1 + x exactly.
    let bb = u.sub(one);
    let err = one.sub(u.sub(bb)).add(x.sub(bb));
    let zero = V::splat(0.0);
    let mut res = log_core(u, err.div(u), zero);
    let inf = V::splat(f64::INFINITY);
    res = V::select(x.eq(inf), inf, res);
    let m1 = V::splat(-1.0);
    res = V::select(x.eq(m1), inf.neg(), res);
    res = V::select(x.lt(m1), V::splat(f64::NAN), res);
    res = V::select(x.eq(zero), x, res);
    V::select(x.is_nan(), x.add(x), res)
}
