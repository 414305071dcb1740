//! Why L-BFGS's compact-form sweeps read one pair per pass and prefetch a
//! page ahead (`src/quasi_newton/kernels.rs`): the sweeps over a history laid
//! out as `hesse::quasi_newton::Lbfgs` lays it out (n = 1e6, m + 1 = 11
//! slots, blocks of 2048 elements of every slot side by side), timed against
//! a plain read of as many bytes.
//!
//! - sweep 1: `sᵢᵀg` and `yᵢᵀg` for the 10 pairs in use, per block of `g`;
//! - sweep 2: `d += aᵢ sᵢ + bᵢ yᵢ` for the 10 pairs, per block of `d`;
//!
//! each with two pairs per pass over a block (four streams of the history)
//! or one pair (two streams), with or without a software prefetch
//! `PREFETCH` bytes ahead of every cache line loaded. The kernels here are
//! simplified copies (their sums are not bit-identical to the library's).
//!
//! Run: `cargo run --release --example sweep_bandwidth [rounds]` (default 15;
//! x86-64 with AVX2 only). Prints medians over interleaved rounds.

#[cfg(target_arch = "x86_64")]
mod sweeps {
    use std::arch::x86_64::*;
    use std::hint::black_box;
    use std::time::Instant;

    const N: usize = 1_000_000;
    const SLOTS: usize = 11;
    const USED: usize = 10;
    const BLOCK: usize = 2048;

    /// Where block `b` of slot `k` lies (as `History::chunk`).
    fn chunk(k: usize, b: usize) -> std::ops::Range<usize> {
        let start = b * BLOCK;
        let len = BLOCK.min(N - start);
        let at = start * SLOTS + k * len;
        at..at + len
    }

    #[inline(always)]
    fn prefetch(p: *const f64, ahead: usize) {
        if ahead > 0 {
            // SAFETY: a prefetch reads nothing and cannot fault.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_byte_add(ahead).cast::<i8>()) }
        }
    }

    #[inline(always)]
    fn sum(v: __m256d) -> f64 {
        let mut a = [0.0; 4];
        // SAFETY: `a` holds four elements.
        unsafe { _mm256_storeu_pd(a.as_mut_ptr(), v) };
        a.iter().sum()
    }

    /// `Σ vᵢᵀg` over the `S` vectors of `v` (two or four), one
    /// accumulator each.
    #[target_feature(enable = "avx2")]
    fn dots<const S: usize>(v: [&[f64]; S], g: &[f64], ahead: usize) -> f64 {
        assert!(v.iter().all(|v| v.len() == g.len()));
        let mut acc = [_mm256_setzero_pd(); S];
        let p = v.map(|v| v.as_ptr());
        for i in (0..g.len() / 8 * 8).step_by(8) {
            // SAFETY: elements `i .. i + 8` of `g` and of every `v` are there
            // (equal lengths, the loop bound).
            unsafe {
                let (z0, z1) = (
                    _mm256_loadu_pd(g.as_ptr().add(i)),
                    _mm256_loadu_pd(g.as_ptr().add(i + 4)),
                );
                for k in 0..S {
                    prefetch(p[k].add(i), ahead);
                    acc[k] = _mm256_add_pd(acc[k], _mm256_mul_pd(_mm256_loadu_pd(p[k].add(i)), z0));
                    acc[k] =
                        _mm256_add_pd(acc[k], _mm256_mul_pd(_mm256_loadu_pd(p[k].add(i + 4)), z1));
                }
            }
        }
        acc.into_iter().map(sum).sum()
    }

    /// `d += Σ cᵢ vᵢ` over the `S` vectors of `v`.
    #[target_feature(enable = "avx2")]
    fn axpys<const S: usize>(c: [f64; S], v: [&[f64]; S], d: &mut [f64], ahead: usize) {
        assert!(v.iter().all(|v| v.len() == d.len()));
        let p = v.map(|v| v.as_ptr());
        let c = c.map(|c| _mm256_set1_pd(c));
        let pd = d.as_mut_ptr();
        for i in (0..d.len() / 8 * 8).step_by(8) {
            // SAFETY: as in `dots`.
            unsafe {
                for h in [i, i + 4] {
                    let mut t = _mm256_loadu_pd(pd.add(h));
                    for k in 0..S {
                        if h == i {
                            prefetch(p[k].add(i), ahead);
                        }
                        t = _mm256_add_pd(t, _mm256_mul_pd(c[k], _mm256_loadu_pd(p[k].add(h))));
                    }
                    _mm256_storeu_pd(pd.add(h), t);
                }
            }
        }
    }

    fn sweep(
        s: &[f64],
        y: &[f64],
        g: &[f64],
        d: &mut [f64],
        pairs: usize,
        ahead: usize,
        two: bool,
    ) {
        let mut total = 0.0;
        for (b, start) in (0..N).step_by(BLOCK).enumerate() {
            let end = (start + BLOCK).min(N);
            for k in (0..USED).step_by(pairs) {
                let (gb, db) = (&g[start..end], &mut d[start..end]);
                let (s1, y1) = (&s[chunk(k, b)], &y[chunk(k, b)]);
                // SAFETY (all four): the CPU has AVX2 (checked in `main`).
                match (pairs, two) {
                    (2, false) => {
                        let (s2, y2) = (&s[chunk(k + 1, b)], &y[chunk(k + 1, b)]);
                        total += unsafe { dots([s1, y1, s2, y2], gb, ahead) };
                    }
                    (2, true) => {
                        let (s2, y2) = (&s[chunk(k + 1, b)], &y[chunk(k + 1, b)]);
                        unsafe { axpys([0.1, -0.2, 0.3, -0.4], [s1, y1, s2, y2], db, ahead) };
                    }
                    (_, false) => total += unsafe { dots([s1, y1], gb, ahead) },
                    (_, true) => unsafe { axpys([0.1, -0.2], [s1, y1], db, ahead) },
                }
            }
        }
        black_box(total);
    }

    /// `Σ (aᵢ + bᵢ)` with eight independent sums (bound by the reads).
    fn plain_read(a: &[f64], b: &[f64]) -> f64 {
        let mut acc = [0.0f64; 8];
        for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
            for l in 0..8 {
                acc[l] += x[l] + y[l];
            }
        }
        acc.iter().sum()
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    pub fn main() {
        if !std::is_x86_feature_detected!("avx2") {
            println!("this CPU has no AVX2");
            return;
        }
        let rounds: usize = std::env::args()
            .nth(1)
            .and_then(|a| a.parse().ok())
            .unwrap_or(15);
        let s: Vec<f64> = (0..SLOTS * N).map(|i| (i % 13) as f64).collect();
        let y: Vec<f64> = (0..SLOTS * N).map(|i| (i % 7) as f64).collect();
        let g: Vec<f64> = (0..N).map(|i| (i % 5) as f64).collect();
        let mut d = vec![0.0; N];
        // (name, pairs per pass, prefetch distance, sweep 2)
        let variants: [(&str, usize, usize, bool); 7] = [
            ("plain read of S and Y", 0, 0, false),
            ("sweep 1, two pairs per pass", 2, 0, false),
            ("sweep 1, one pair per pass", 1, 0, false),
            ("sweep 1, one pair, prefetch 4 KB", 1, 4096, false),
            ("sweep 2, two pairs per pass", 2, 0, true),
            ("sweep 2, one pair per pass", 1, 0, true),
            ("sweep 2, one pair, prefetch 4 KB", 1, 4096, true),
        ];
        let mut ms = vec![Vec::new(); variants.len()];
        for _ in 0..rounds {
            for (i, &(_, pairs, ahead, two)) in variants.iter().enumerate() {
                let t = Instant::now();
                if pairs == 0 {
                    black_box(plain_read(&s, &y));
                } else {
                    sweep(&s, &y, &g, &mut d, pairs, ahead, two);
                }
                ms[i].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        println!(
            "n = {N}, {USED} pairs of {SLOTS} slots, blocks of {BLOCK}; medians of {rounds} interleaved rounds"
        );
        for (i, (name, pairs, _, two)) in variants.iter().enumerate() {
            let bytes = match (pairs, two) {
                (0, _) => 2 * SLOTS * N * 8,
                (_, false) => (2 * USED + 1) * N * 8,
                (_, true) => (2 * USED + 2) * N * 8,
            };
            let t = median(ms[i].clone());
            println!(
                "  {name:<34} {t:6.2} ms  {:5.1} GB/s",
                bytes as f64 / t / 1e6
            );
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    sweeps::main();
}
