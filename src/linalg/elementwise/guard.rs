//! `vzeroupper` after wide vector code, before legacy-SSE code.
//!
//! On Intel CPUs with AVX (Skylake-SP and later Xeons most of all), legacy
//! SSE instructions executed while the upper halves of the vector registers
//! are dirty pay a penalty on every instruction (a merge with the upper
//! half). faer's matrix products return with them dirty, and this crate is
//! built for baseline x86-64, so all its scalar floating-point code (and
//! glibc's scalar `exp`, `tanh`, …) is legacy SSE: issue 17 measured glibc's
//! `exp` at 141 ns after a product instead of 4.3 ns, and 4.3 ns again after
//! one `vzeroupper`. AMD CPUs have no such penalty. Intel's optimization
//! manual (§15.3, "Mixing AVX code with SSE code") prescribes `vzeroupper`
//! at every transition, which is what [`zero_upper`] does.

/// Clears the upper halves of the vector registers (`vzeroupper`) on the
/// calling thread if the CPU has AVX; nothing elsewhere. Costs about one
/// cycle; call it after a faer product and before scalar floating-point
/// loops.
#[inline]
pub fn zero_upper() {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked just above).
        unsafe { vzeroupper() }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn vzeroupper() {
    std::arch::x86_64::_mm256_zeroupper()
}
