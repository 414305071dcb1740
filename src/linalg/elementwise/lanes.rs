//! The handful of lane-wise operations the kernels are written in, for one
//! `f64` (the portable path), four (AVX2 + FMA) and eight (AVX-512F).
//!
//! Every operation is one IEEE 754 operation per lane with one rounding
//! (add, sub, mul, div, fused multiply-add), an exact bit operation, a
//! comparison or a select, so a kernel written once over [`Lanes`] computes
//! the same bits in every lane of every path: the path chosen at run time
//! changes the speed only. The portable path's [`Lanes::mul_add`] is
//! [`f64::mul_add`] (one rounding, as the vector FMA instructions).
//!
//! The vector types are only built inside the `#[target_feature]` functions
//! of [`super`], after `is_x86_feature_detected!` said the CPU has the
//! features; their methods are `#[inline(always)]` so that they compile to
//! single instructions there.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Lane-wise operations on `N` doubles. Bit operations act on the 64-bit
/// patterns of the lanes (wrapping).
pub(super) trait Lanes: Copy {
    /// A lane mask (the result of a comparison).
    type Mask: Copy;
    /// Lanes per value.
    const N: usize;
    /// Loads `N` doubles from `p` (unaligned).
    ///
    /// # Safety
    /// `p` must be valid for reading `N` doubles.
    unsafe fn load(p: *const f64) -> Self;
    /// Stores the lanes to `p` (unaligned).
    ///
    /// # Safety
    /// `p` must be valid for writing `N` doubles.
    unsafe fn store(self, p: *mut f64);
    fn splat(x: f64) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    /// `self · a + b` with one rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `|self|` (clears the sign bit).
    fn abs(self) -> Self;
    /// `−self` (flips the sign bit).
    fn neg(self) -> Self;
    /// `self < o` (false where either is NaN).
    fn lt(self, o: Self) -> Self::Mask;
    /// `self >= o` (false where either is NaN).
    fn ge(self, o: Self) -> Self::Mask;
    /// `self == o` (false where either is NaN).
    fn eq(self, o: Self) -> Self::Mask;
    /// `self` is NaN.
    fn is_nan(self) -> Self::Mask;
    /// `a` where `m`, else `b`.
    fn select(m: Self::Mask, a: Self, b: Self) -> Self;
    /// Bits `+ c`.
    fn bits_add(self, c: i64) -> Self;
    /// Bits `− o`'s bits.
    fn bits_sub(self, o: Self) -> Self;
    /// Bits `& c`.
    fn bits_and(self, c: u64) -> Self;
    /// Bits `| c`.
    fn bits_or(self, c: u64) -> Self;
    /// Bits shifted right by `S` (logical).
    fn bits_shr<const S: u32>(self) -> Self;
    /// Bits shifted left by `S`.
    fn bits_shl<const S: u32>(self) -> Self;
}

/// One lane: plain `f64` arithmetic.
#[derive(Clone, Copy)]
pub(super) struct Scalar(pub f64);

impl Lanes for Scalar {
    type Mask = bool;
    const N: usize = 1;
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the caller's contract.
        Scalar(unsafe { p.read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the caller's contract.
        unsafe { p.write_unaligned(self.0) }
    }
    #[inline(always)]
    fn splat(x: f64) -> Self {
        Scalar(x)
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Scalar(self.0 + o.0)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Scalar(self.0 - o.0)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Scalar(self.0 * o.0)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        Scalar(self.0 / o.0)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Scalar(self.0.mul_add(a.0, b.0))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Scalar(self.0.abs())
    }
    #[inline(always)]
    fn neg(self) -> Self {
        Scalar(-self.0)
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        self.0 < o.0
    }
    #[inline(always)]
    fn ge(self, o: Self) -> bool {
        self.0 >= o.0
    }
    #[inline(always)]
    fn eq(self, o: Self) -> bool {
        self.0 == o.0
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.0.is_nan()
    }
    #[inline(always)]
    fn select(m: bool, a: Self, b: Self) -> Self {
        if m { a } else { b }
    }
    #[inline(always)]
    fn bits_add(self, c: i64) -> Self {
        Scalar(f64::from_bits(self.0.to_bits().wrapping_add(c as u64)))
    }
    #[inline(always)]
    fn bits_sub(self, o: Self) -> Self {
        Scalar(f64::from_bits(self.0.to_bits().wrapping_sub(o.0.to_bits())))
    }
    #[inline(always)]
    fn bits_and(self, c: u64) -> Self {
        Scalar(f64::from_bits(self.0.to_bits() & c))
    }
    #[inline(always)]
    fn bits_or(self, c: u64) -> Self {
        Scalar(f64::from_bits(self.0.to_bits() | c))
    }
    #[inline(always)]
    fn bits_shr<const S: u32>(self) -> Self {
        Scalar(f64::from_bits(self.0.to_bits() >> S))
    }
    #[inline(always)]
    fn bits_shl<const S: u32>(self) -> Self {
        Scalar(f64::from_bits(self.0.to_bits() << S))
    }
}

/// Four lanes in a `ymm` register (AVX2 + FMA).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(super) struct Avx2(__m256d);

// SAFETY (every block below): `Avx2` values exist only inside functions
// compiled with `#[target_feature(enable = "avx2,fma")]` and called after
// `is_x86_feature_detected!` confirmed both (see `super`); the methods are
// inlined there.
#[cfg(target_arch = "x86_64")]
impl Lanes for Avx2 {
    type Mask = __m256d;
    const N: usize = 4;
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        Avx2(unsafe { _mm256_loadu_pd(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        unsafe { _mm256_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    fn splat(x: f64) -> Self {
        Avx2(unsafe { _mm256_set1_pd(x) })
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Avx2(unsafe { _mm256_add_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Avx2(unsafe { _mm256_sub_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Avx2(unsafe { _mm256_mul_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        Avx2(unsafe { _mm256_div_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Avx2(unsafe { _mm256_fmadd_pd(self.0, a.0, b.0) })
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.bits_and(!(1u64 << 63))
    }
    #[inline(always)]
    fn neg(self) -> Self {
        Avx2(unsafe { _mm256_xor_pd(self.0, _mm256_set1_pd(-0.0)) })
    }
    #[inline(always)]
    fn lt(self, o: Self) -> __m256d {
        unsafe { _mm256_cmp_pd::<_CMP_LT_OQ>(self.0, o.0) }
    }
    #[inline(always)]
    fn ge(self, o: Self) -> __m256d {
        unsafe { _mm256_cmp_pd::<_CMP_GE_OQ>(self.0, o.0) }
    }
    #[inline(always)]
    fn eq(self, o: Self) -> __m256d {
        unsafe { _mm256_cmp_pd::<_CMP_EQ_OQ>(self.0, o.0) }
    }
    #[inline(always)]
    fn is_nan(self) -> __m256d {
        unsafe { _mm256_cmp_pd::<_CMP_UNORD_Q>(self.0, self.0) }
    }
    #[inline(always)]
    fn select(m: __m256d, a: Self, b: Self) -> Self {
        Avx2(unsafe { _mm256_blendv_pd(b.0, a.0, m) })
    }
    #[inline(always)]
    fn bits_add(self, c: i64) -> Self {
        unsafe {
            let v = _mm256_castpd_si256(self.0);
            Avx2(_mm256_castsi256_pd(_mm256_add_epi64(
                v,
                _mm256_set1_epi64x(c),
            )))
        }
    }
    #[inline(always)]
    fn bits_sub(self, o: Self) -> Self {
        unsafe {
            Avx2(_mm256_castsi256_pd(_mm256_sub_epi64(
                _mm256_castpd_si256(self.0),
                _mm256_castpd_si256(o.0),
            )))
        }
    }
    #[inline(always)]
    fn bits_and(self, c: u64) -> Self {
        Avx2(unsafe { _mm256_and_pd(self.0, _mm256_set1_pd(f64::from_bits(c))) })
    }
    #[inline(always)]
    fn bits_or(self, c: u64) -> Self {
        Avx2(unsafe { _mm256_or_pd(self.0, _mm256_set1_pd(f64::from_bits(c))) })
    }
    #[inline(always)]
    fn bits_shr<const S: u32>(self) -> Self {
        unsafe {
            let v = _mm256_castpd_si256(self.0);
            let count = _mm_cvtsi32_si128(S as i32);
            Avx2(_mm256_castsi256_pd(_mm256_srl_epi64(v, count)))
        }
    }
    #[inline(always)]
    fn bits_shl<const S: u32>(self) -> Self {
        unsafe {
            let v = _mm256_castpd_si256(self.0);
            let count = _mm_cvtsi32_si128(S as i32);
            Avx2(_mm256_castsi256_pd(_mm256_sll_epi64(v, count)))
        }
    }
}

/// Eight lanes in a `zmm` register (AVX-512F).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(super) struct Avx512(__m512d);

// SAFETY (every block below): as for `Avx2`, with
// `#[target_feature(enable = "avx512f")]`.
#[cfg(target_arch = "x86_64")]
impl Lanes for Avx512 {
    type Mask = __mmask8;
    const N: usize = 8;
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        Avx512(unsafe { _mm512_loadu_pd(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        unsafe { _mm512_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    fn splat(x: f64) -> Self {
        Avx512(unsafe { _mm512_set1_pd(x) })
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Avx512(unsafe { _mm512_add_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Avx512(unsafe { _mm512_sub_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Avx512(unsafe { _mm512_mul_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        Avx512(unsafe { _mm512_div_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Avx512(unsafe { _mm512_fmadd_pd(self.0, a.0, b.0) })
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.bits_and(!(1u64 << 63))
    }
    #[inline(always)]
    fn neg(self) -> Self {
        unsafe {
            Avx512(_mm512_castsi512_pd(_mm512_xor_si512(
                _mm512_castpd_si512(self.0),
                _mm512_set1_epi64(i64::MIN),
            )))
        }
    }
    #[inline(always)]
    fn lt(self, o: Self) -> __mmask8 {
        unsafe { _mm512_cmp_pd_mask::<_CMP_LT_OQ>(self.0, o.0) }
    }
    #[inline(always)]
    fn ge(self, o: Self) -> __mmask8 {
        unsafe { _mm512_cmp_pd_mask::<_CMP_GE_OQ>(self.0, o.0) }
    }
    #[inline(always)]
    fn eq(self, o: Self) -> __mmask8 {
        unsafe { _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(self.0, o.0) }
    }
    #[inline(always)]
    fn is_nan(self) -> __mmask8 {
        unsafe { _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(self.0, self.0) }
    }
    #[inline(always)]
    fn select(m: __mmask8, a: Self, b: Self) -> Self {
        Avx512(unsafe { _mm512_mask_blend_pd(m, b.0, a.0) })
    }
    #[inline(always)]
    fn bits_add(self, c: i64) -> Self {
        unsafe {
            Avx512(_mm512_castsi512_pd(_mm512_add_epi64(
                _mm512_castpd_si512(self.0),
                _mm512_set1_epi64(c),
            )))
        }
    }
    #[inline(always)]
    fn bits_sub(self, o: Self) -> Self {
        unsafe {
            Avx512(_mm512_castsi512_pd(_mm512_sub_epi64(
                _mm512_castpd_si512(self.0),
                _mm512_castpd_si512(o.0),
            )))
        }
    }
    #[inline(always)]
    fn bits_and(self, c: u64) -> Self {
        unsafe {
            Avx512(_mm512_castsi512_pd(_mm512_and_si512(
                _mm512_castpd_si512(self.0),
                _mm512_set1_epi64(c as i64),
            )))
        }
    }
    #[inline(always)]
    fn bits_or(self, c: u64) -> Self {
        unsafe {
            Avx512(_mm512_castsi512_pd(_mm512_or_si512(
                _mm512_castpd_si512(self.0),
                _mm512_set1_epi64(c as i64),
            )))
        }
    }
    #[inline(always)]
    fn bits_shr<const S: u32>(self) -> Self {
        unsafe {
            Avx512(_mm512_castsi512_pd(_mm512_srli_epi64::<S>(
                _mm512_castpd_si512(self.0),
            )))
        }
    }
    #[inline(always)]
    fn bits_shl<const S: u32>(self) -> Self {
        unsafe {
            Avx512(_mm512_castsi512_pd(_mm512_slli_epi64::<S>(
                _mm512_castpd_si512(self.0),
            )))
        }
    }
}
