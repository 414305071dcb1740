//! Ctrl-C: the first SIGINT asks the run to stop at the end of the current
//! iteration (`minimize`, `compare`, `fit`) or step (`train`); the command then
//! prints its report of the run so far (termination `user_stop`), writes its
//! files, and exits with status 130 (128 + SIGINT, the shell's convention).
//! The handler restores the default action, so a second Ctrl-C ends the
//! process at once.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// A run's observer (`Run::with_observer`): stop after the current
/// iteration once Ctrl-C was pressed (termination `user_stop`).
pub fn observer(_: &hesse::solver::State) -> hesse::solver::Control {
    if interrupted() {
        hesse::solver::Control::Stop
    } else {
        hesse::solver::Control::Continue
    }
}

/// Installs the SIGINT handler (Linux; elsewhere Ctrl-C keeps its default
/// action and ends the process).
pub fn install() {
    #[cfg(target_os = "linux")]
    {
        extern "C" fn on_sigint(_: libc::c_int) {
            INTERRUPTED.store(true, Ordering::Relaxed);
            // Async-signal-safe: an atomic store and signal(2).
            // SAFETY: restoring the default disposition of SIGINT.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
            }
        }
        // SAFETY: the handler only stores to an atomic and calls signal(2),
        // both async-signal-safe.
        unsafe {
            let before = libc::signal(
                libc::SIGINT,
                on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
            // A process started with SIGINT ignored (a background job of a
            // shell without job control, nohup) keeps ignoring it.
            if before == libc::SIG_IGN {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
            }
        }
    }
}
