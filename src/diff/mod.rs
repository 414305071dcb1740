//! Derivatives a user does not have to write: finite differences, dual numbers, a derivative checker.
