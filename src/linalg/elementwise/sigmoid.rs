//! The logistic sigmoid `σ(x) = 1/(1 + e^{−x})` and softplus
//! `ln(1 + eˣ)`, from one `e^{−|x|}` each, without overflow.
//!
//! `σ(x) = 1/(1 + e)` for `x ≥ 0` and `e/(1 + e)` for `x < 0`, with
//! `e = e^{−|x|} ∈ (0, 1]` (so `σ(±∞) = 1, 0` and `σ(±0) = ½`);
//! `softplus(x) = max(x, 0) + ln(1 + e)` ([`super::exp`], [`super::ln_1p`]),
//! so `softplus(+∞) = +∞`, `softplus(−∞) = 0`, and for `x → −∞` the result
//! is `ln(1 + e) ≈ e` with full relative accuracy down to the subnormals.
//! These are the formulas the scalar versions used before
//! (`nn::activation`), now computed in lanes with no branch. A NaN is
//! returned quieted (`x + x`).

use super::exp::exp;
use super::lanes::Lanes;
use super::log::ln_1p;

/// `σ(x)` lane by lane.
#[inline(always)]
pub(super) fn logistic<V: Lanes>(x: V) -> V {
    let e = exp(x.abs().neg());
    let one = V::splat(1.0);
    let pos = x.ge(V::splat(0.0));
    let res = V::select(pos, one, e).div(one.add(e));
    V::select(x.is_nan(), x.add(x), res)
}

/// `ln(1 + eˣ)` lane by lane.
#[inline(always)]
pub(super) fn softplus<V: Lanes>(x: V) -> V {
    let e = exp(x.abs().neg());
    let zero = V::splat(0.0);
    let res = V::select(x.ge(zero), x, zero).add(ln_1p(e));
    V::select(x.is_nan(), x.add(x), res)
}
