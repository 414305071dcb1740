//! Linear algebra: operators, dense factorizations (faer), Krylov solvers.
