//! Interoperability with other optimization libraries.
//!
//! - [`argmin`](mod@argmin) (cargo feature `argmin`): argmin problems solved
//!   by hesse, hesse problems solved by argmin.

#[cfg(feature = "argmin")]
pub mod argmin;
