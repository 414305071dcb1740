//! `eˣ` by Cody-Waite range reduction and a degree-13 Taylor polynomial.
//!
//! Method (Cody & Waite, *Software Manual for the Elementary Functions*,
//! 1980, ch. 6; Muller, *Elementary Functions*, 3rd ed., 2016, §11.2):
//!
//! 1. `n = round(x / ln 2)` by the round-to-nearest shifter trick
//!    (`t = x·log₂e + 1.5·2⁵²` in one fused multiply-add; `n = t − 1.5·2⁵²`,
//!    and the low bits of `t` hold `n` as an integer);
//! 2. `r = x − n·ln2_hi − n·ln2_lo` in two fused multiply-adds, with fdlibm's
//!    split of `ln 2` (`ln2_hi` has 32 significant bits), so `|r| ≤ ln 2 / 2`
//!    up to rounding;
//! 3. `eʳ = Σ_{k≤13} rᵏ/k!` by Horner's rule in fused multiply-adds: the
//!    first omitted term is below `(ln 2 / 2)¹⁴/14! ≈ 4·10⁻¹⁸`, 0.04 ulp;
//! 4. `eˣ = eʳ · 2^⌊n/2⌋ · 2^{n−⌊n/2⌋}`: two exact powers of two, so the only
//!    rounding of a subnormal result is the last product's, and the overflow
//!    to `+∞` happens in that product too.
//!
//! `x` is first clamped to `[−746, 710]`, outside of which `eˣ` rounds to 0
//! or overflows anyway (thresholds −745.13 and 709.78), so `±∞` give `0` and
//! `+∞`; a NaN is returned as itself, quieted (`x + x`). Measured error
//! against glibc's `exp` (itself < 1 ulp) over the whole range: see the tests
//! of [`super`].

// The constants are written as published, with all their digits.
#![allow(clippy::excessive_precision)]

use super::lanes::Lanes;

/// `log₂ e`.
const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// `1.5 · 2⁵²`: adding it rounds a double below `2⁵¹` in magnitude to an
/// integer and leaves that integer in the low bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;
/// fdlibm's `ln2_hi` (`0x3fe62e42fee00000`) and `ln2_lo`.
pub(super) const LN2_HI: f64 = 6.931_471_803_691_238_164_9e-1;
pub(super) const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
/// `1/k!` for `k = 13, 12, …, 2` (then 1 and 1).
const INV_FACT: [f64; 12] = [
    1.0 / 6_227_020_800.0,
    1.0 / 479_001_600.0,
    1.0 / 39_916_800.0,
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
];

/// `eˣ` lane by lane.
#[inline(always)]
pub(super) fn exp<V: Lanes>(x: V) -> V {
    let lo = V::splat(-746.0);
    let hi = V::splat(710.0);
    let xc = V::select(x.lt(lo), lo, x);
    let xc = V::select(xc.ge(hi), hi, xc);
    let shifter = V::splat(SHIFTER);
    let t = xc.mul_add(V::splat(LOG2_E), shifter);
    let n = t.sub(shifter);
    let r = n.neg().mul_add(V::splat(LN2_HI), xc);
    let r = n.neg().mul_add(V::splat(LN2_LO), r);
    let mut p = V::splat(INV_FACT[0]);
    for &c in &INV_FACT[1..] {
        p = p.mul_add(r, V::splat(c));
    }
    let one = V::splat(1.0);
    p = p.mul_add(r, one);
    p = p.mul_add(r, one);
    // k = n + 2048 as an integer; h = ⌊k/2⌋ = ⌊n/2⌋ + 1024.
    let k = t.bits_sub(shifter).bits_add(2048);
    let h = k.bits_shr::<1>();
    let s1 = h.bits_add(-1).bits_shl::<52>();
    let s2 = k.bits_sub(h).bits_add(-1).bits_shl::<52>();
    let e = p.mul(s1).mul(s2);
    V::select(x.is_nan(), x.add(x), e)
}
