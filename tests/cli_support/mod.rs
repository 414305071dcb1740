//! Helpers shared by the command-line tests (`mod cli_support;`).

#[cfg(target_os = "linux")]
use std::process::Command;

/// Resets SIGINT to its default action in the child: `hesse` keeps an
/// inherited "ignore" on purpose (as `nohup` users expect), and a CI runner
/// may start this test process as a background job, which ignores SIGINT.
#[cfg(target_os = "linux")]
pub fn with_default_sigint(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe, as `pre_exec` requires.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        })
    }
}
