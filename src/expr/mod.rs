//! A small expression language with exact derivatives, for `hesse minimize` and `hesse fit`.
