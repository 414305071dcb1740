//! The cost of the first touch of L-BFGS's history at n = 1e6, m = 10: two
//! fresh `(m + 1) n`-double vectors (176 MB), written once front to back (as
//! the pair passes of a solve's first `m + 1` iterations write them), with
//! the pages faulted in one trap at a time (plain `vec![0.0; len]`) against
//! mapped in one call beforehand (`madvise(MADV_POPULATE_WRITE)`, Linux ≥ 5.14;
//! `Lbfgs` makes these calls on a helper thread, range by range, while the
//! run goes on). Also the write alone into memory already mapped, the part
//! no allocation strategy saves.
//!
//! Run: `cargo run --release --example first_touch [rounds] [n]`
//! (defaults 7 and 1e6); prints medians of the calling thread's CPU time
//! and of wall time over interleaved rounds.

use std::hint::black_box;
use std::time::Instant;

use cpu_time::ThreadTime;

/// Maps the whole pages of `v` now (a no-op elsewhere than on Linux).
fn populate(v: &mut [f64]) -> bool {
    #[cfg(target_os = "linux")]
    {
        let page = 4096;
        let start = (v.as_mut_ptr() as usize).next_multiple_of(page);
        let end = (v.as_mut_ptr() as usize + std::mem::size_of_val(v)) / page * page;
        if end <= start {
            return false;
        }
        // SAFETY: the range lies inside `v`, which we own; MADV_POPULATE_WRITE
        // maps pages without changing their contents.
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                end - start,
                libc::MADV_POPULATE_WRITE,
            ) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = v;
        false
    }
}

/// Writes every element, front to back.
fn write(v: &mut [f64], a: f64) {
    for (i, x) in v.iter_mut().enumerate() {
        *x = a * i as f64;
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(7);
    let n: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let len = 11 * n;
    let mb = 2.0 * len as f64 * 8.0 / 1e6;
    let names = [
        "fault per page, write",
        "populate, then write",
        "populate alone",
        "write into mapped memory",
    ];
    let mut cpu = vec![Vec::new(); names.len()];
    let mut wall = vec![Vec::new(); names.len()];
    let mut mapped = [vec![0.0; len], vec![0.0; len]];
    for v in &mut mapped {
        write(v, 1.0);
    }
    let mut ok = true;
    for r in 0..rounds {
        for (c, _) in names.iter().enumerate() {
            let (t, w) = (ThreadTime::now(), Instant::now());
            match c {
                0..=2 => {
                    let mut s = vec![0.0; len];
                    let mut y = vec![0.0; len];
                    if c >= 1 {
                        ok &= populate(&mut s) && populate(&mut y);
                    }
                    if c <= 1 {
                        write(&mut s, r as f64);
                        write(&mut y, r as f64);
                    }
                    black_box((&s, &y));
                }
                _ => {
                    for v in &mut mapped {
                        write(v, r as f64);
                    }
                    black_box(&mapped);
                }
            }
            cpu[c].push(t.elapsed().as_secs_f64() * 1e3);
            wall[c].push(w.elapsed().as_secs_f64() * 1e3);
        }
    }
    println!(
        "two vectors of {len} doubles ({mb:.0} MB), {rounds} interleaved rounds; populate worked: {ok}"
    );
    for (c, name) in names.iter().enumerate() {
        println!(
            "  {name:<26} median CPU {:7.1} ms, wall {:7.1} ms   (CPU per round {:.0?})",
            median(cpu[c].clone()),
            median(wall[c].clone()),
            cpu[c]
        );
    }
}
