//! Reader for the IDX files of MNIST (LeCun et al. 1998), gzipped or not.
//!
//! Format (all integers big-endian): two zero bytes, a type byte (`0x08` for
//! unsigned bytes, the only type MNIST uses and the only one read here), the
//! number of dimensions `d`, then `d` u32 sizes, then the data in row-major
//! order. A file that starts with the gzip magic `1f 8b` is decompressed first.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::NnError;

/// The content of an IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// Sizes of the dimensions, outermost first (`[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The bytes, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes, gzipped or not.
///
/// A missing file is [`NnError::Io`] naming it; a file whose header or length
/// does not match the format is [`NnError::Malformed`] naming it and saying
/// what is wrong.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Idx, NnError> {
    let path = path.as_ref();
    let io = |source| NnError::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| NnError::Malformed {
                path: path.to_path_buf(),
                reason: format!("gzip stream is corrupt: {e}"),
            })?;
        out
    } else {
        raw
    };
    parse_idx(&bytes, path)
}

/// Parses IDX bytes (already decompressed); `name` is used in errors.
pub(crate) fn parse_idx(bytes: &[u8], name: &Path) -> Result<Idx, NnError> {
    let bad = |reason: String| NnError::Malformed {
        path: PathBuf::from(name),
        reason,
    };
    if bytes.len() < 4 {
        return Err(bad(format!(
            "{} bytes is too short for an IDX header",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad(format!(
            "not an IDX file: magic starts {:02x} {:02x}, expected 00 00",
            bytes[0], bytes[1]
        )));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!(
            "IDX type 0x{:02x} is not supported (only 0x08, unsigned bytes)",
            bytes[2]
        )));
    }
    let d = bytes[3] as usize;
    let header = 4 + 4 * d;
    if d == 0 || bytes.len() < header {
        return Err(bad(format!(
            "header of {d} dimensions is truncated or empty"
        )));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .ok_or_else(|| bad(format!("dimensions {dims:?} overflow")))?;
    let body = bytes.len() - header;
    if body != count {
        return Err(bad(format!(
            "dimensions {dims:?} need {count} data bytes, the file has {body}"
        )));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}
