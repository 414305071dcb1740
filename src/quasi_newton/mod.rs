//! Quasi-Newton methods: BFGS and L-BFGS.
