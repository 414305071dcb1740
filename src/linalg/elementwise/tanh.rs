//! `tanh x`: Cephes' rational approximation near 0, `1 − 2/(e^{2|x|} + 1)`
//! elsewhere.
//!
//! Method (Moshier, Cephes Math Library `tanh.c`, 1984-2000; Cody & Waite
//! 1980, ch. 13): for `|x| < 0.625`, `tanh x = x + x·z·P(z)/Q(z)` with
//! `z = x²` and Cephes' degree-2/3 rational approximation (relative error
//! below `2.5·10⁻¹⁷` there), which keeps full relative accuracy down to the
//! subnormals (`tanh x = x` there; `±0` returned as is); for `|x| ≥ 0.625`,
//! `tanh|x| = 1 − 2/(e^{2|x|} + 1)` with [`super::exp`], the sign copied
//! from `x` (`±1` beyond 19.06, `tanh ±∞ = ±1`). Both are computed in every
//! lane and one is selected, so there is no branch. A NaN is returned
//! quieted (`x + x`).

// The constants are written as published, with all their digits.
#![allow(clippy::excessive_precision)]

use super::exp::exp;
use super::lanes::Lanes;

/// Cephes' `P` and `Q` (`Q` monic).
const P: [f64; 3] = [
    -9.643_991_794_250_522_386_28e-1,
    -9.928_772_310_019_185_865_64e1,
    -1.614_687_684_417_084_479_52e3,
];
const Q: [f64; 3] = [
    1.128_116_784_916_329_314_02e2,
    2.235_488_390_601_004_485_83e3,
    4.844_063_053_251_254_860_48e3,
];

/// `tanh x` lane by lane.
#[inline(always)]
pub(super) fn tanh<V: Lanes>(x: V) -> V {
    let z = x.mul(x);
    let p = V::splat(P[0])
        .mul_add(z, V::splat(P[1]))
        .mul_add(z, V::splat(P[2]));
    let q = z
        .add(V::splat(Q[0]))
        .mul_add(z, V::splat(Q[1]))
        .mul_add(z, V::splat(Q[2]));
    let small = x.mul(z).mul(p).div(q).add(x);
    let ax = x.abs();
    let one = V::splat(1.0);
    let e = exp(ax.add(ax));
    let big = one.sub(V::splat(2.0).div(e.add(one)));
    let big = V::select(x.lt(V::splat(0.0)), big.neg(), big);
    let res = V::select(ax.lt(V::splat(0.625)), small, big);
    // tanh(±0) = ±0 (the sum above gives +0 for −0).
    let res = V::select(x.eq(V::splat(0.0)), x, res);
    // tanh(±0) = ±0 (the sum above gives +0 for −0).
    let res = V::select(x.eq(V::splat(0.0)), x, res);
    V::select(x.is_nan(), x.add(x), res)
}
