//! The `--out DIR` check of `compare` and `train`: a directory the command
//! cannot write is an error before the run, not after minutes of it.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Creates `dir` (and its parents) and checks that the command can write
/// `files` in it: a new file can be created there, and each of `files` that
/// already exists is a file open for writing. Nothing that exists is
/// changed: an existing file is opened without truncation, and the probe
/// file made to test the directory is removed at once.
///
/// Errors: the path that cannot be written and why.
pub fn check_writable(dir: &Path, files: &[&str]) -> Result<(), (PathBuf, io::Error)> {
    fs::create_dir_all(dir).map_err(|e| (dir.to_path_buf(), e))?;
    // Permission bits do not tell (root ignores them, a read-only mount
    // overrides them): try.
    let probe = dir.join(format!(".hesse-write-check-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .map_err(|e| (dir.to_path_buf(), e))?;
    let _ = fs::remove_file(&probe);
    for name in files {
        let path = dir.join(name);
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                return Err((
                    path,
                    io::Error::other("a directory is in the way of the file"),
                ));
            }
            Ok(_) => {
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| (path.clone(), e))?;
            }
            Err(_) => {}
        }
    }
    Ok(())
}
