//! The compiled form of an expression: a flat tape of operations in SSA form,
//! with reverse-mode gradients and forward-over-reverse Hessian-vector
//! products.
//!
//! Notation after Griewank & Walther (2008): the forward sweep computes the
//! slot values `v_k`; the reverse sweep the adjoints `v̄_k = ∂f/∂v_k`, starting
//! from `v̄_out = 1` and adding `v̄_k ∂φ_k/∂v_j` into each argument `j` of
//! operation `k` (G&W §3.2, the incremental reverse mode). For `∇²f ṽ` a
//! tangent `v̇_k = ∇v_k · ṽ` rides along the forward sweep (G&W §3.1) and the
//! tangent of each adjoint, `v̄̇_k`, along the reverse sweep:
//! `v̄̇_j += v̄̇_k ∂φ_k/∂v_j + v̄_k Σ_i ∂²φ_k/∂v_j∂v_i v̇_i` (G&W §5.4). The
//! parameters' `v̄` is `∇f` and their `v̄̇` is `∇²f ṽ`.
//!
//! Slots: `[parameters | data | constants | one per operation]`. Compiling
//! folds operations whose arguments are all constant, shares common
//! subexpressions (hash-consing), and rewrites `a^2` as a square, `a^n` for
//! a small integer constant `n` as `powi`, `a*a` as a square, and drops `+0`,
//! `*1`, `/1`, `^1`.

use std::collections::HashMap;

use nalgebra::DMatrix;

use super::error::CompileError;
use super::{BinOp, Expr, Function, Function2, Node};

/// One operation; arguments are slot indices (`I = u32` on the tape, a
/// symbolic [`Ref`] while compiling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Op<I> {
    Add(I, I),
    Sub(I, I),
    Mul(I, I),
    Div(I, I),
    /// `a^b` with a variable exponent.
    Pow(I, I),
    Neg(I),
    /// `a²`.
    Square(I),
    /// `a^n` for an integer constant `n`.
    Powi(I, i32),
    /// `a^c` for the constant in the second slot.
    Powf(I, I),
    Call(Function, I),
    Call2(Function2, I, I),
}

impl<I: Copy> Op<I> {
    fn map<J>(self, f: impl Fn(I) -> J) -> Op<J> {
        match self {
            Op::Add(a, b) => Op::Add(f(a), f(b)),
            Op::Sub(a, b) => Op::Sub(f(a), f(b)),
            Op::Mul(a, b) => Op::Mul(f(a), f(b)),
            Op::Div(a, b) => Op::Div(f(a), f(b)),
            Op::Pow(a, b) => Op::Pow(f(a), f(b)),
            Op::Neg(a) => Op::Neg(f(a)),
            Op::Square(a) => Op::Square(f(a)),
            Op::Powi(a, n) => Op::Powi(f(a), n),
            Op::Powf(a, c) => Op::Powf(f(a), f(c)),
            Op::Call(g, a) => Op::Call(g, f(a)),
            Op::Call2(g, a, b) => Op::Call2(g, f(a), f(b)),
        }
    }
}

/// A slot while compiling: the slots of constants and operations are only
/// numbered once their counts are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Ref {
    Input(u32),
    Const(u32),
    Op(u32),
}

#[derive(Debug, Clone, Copy)]
enum Val {
    C(f64),
    R(Ref),
}

/// The largest `|n|` for which `a^n` uses `powi` (repeated squaring).
const MAX_POWI: f64 = 64.0;

/// An expression compiled for a chosen order of parameters and data.
///
/// Evaluation writes into a [`Workspace`] (from [`Tape::workspace`]) and
/// allocates nothing. Costs, for a tape of `m` operations: [`value`](Tape::value)
/// one forward sweep; [`value_grad`](Tape::value_grad) one forward and one
/// reverse sweep, about 3× a value whatever the number of parameters;
/// [`hess_vec`](Tape::hess_vec) about 3× a `value_grad`;
/// [`hessian`](Tape::hessian) one `value_grad` plus `n` tangent sweeps.
///
/// # Panics
/// The evaluation methods panic if a slice has the wrong length, printing both
/// lengths (a programming error, not bad input).
#[derive(Debug, Clone, PartialEq)]
pub struct Tape {
    pub(super) params: Vec<String>,
    pub(super) data: Vec<String>,
    pub(super) consts: Vec<f64>,
    pub(super) ops: Vec<Op<u32>>,
    pub(super) out: u32,
}

/// Work vectors for evaluating a [`Tape`]: values, adjoints and their
/// tangents, one entry per slot. Sized by the first evaluation that needs
/// them; a workspace may be reused across tapes (it is resized, allocating,
/// when the tape is larger).
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    v: Vec<f64>,
    a: Vec<f64>,
    t: Vec<f64>,
    at: Vec<f64>,
}

struct Builder {
    consts: Vec<f64>,
    const_ids: HashMap<u64, u32>,
    ops: Vec<Op<Ref>>,
    op_ids: HashMap<Op<Ref>, u32>,
}

impl Builder {
    fn constant(&mut self, c: f64) -> Ref {
        let next = self.consts.len() as u32;
        let id = *self.const_ids.entry(c.to_bits()).or_insert(next);
        if id == next {
            self.consts.push(c);
        }
        Ref::Const(id)
    }

    fn r(&mut self, v: Val) -> Ref {
        match v {
            Val::C(c) => self.constant(c),
            Val::R(r) => r,
        }
    }

    fn emit(&mut self, op: Op<Ref>) -> Val {
        // Commutative operations in a canonical order, so `x*y` and `y*x` share.
        let op = match op {
            Op::Add(a, b) if b < a => Op::Add(b, a),
            Op::Mul(a, b) if b < a => Op::Mul(b, a),
            Op::Mul(a, b) if a == b => Op::Square(a),
            op => op,
        };
        let next = self.ops.len() as u32;
        let id = *self.op_ids.entry(op).or_insert(next);
        if id == next {
            self.ops.push(op);
        }
        Val::R(Ref::Op(id))
    }

    fn binary(&mut self, op: BinOp, a: Val, b: Val) -> Val {
        use Val::{C, R};
        match (op, a, b) {
            (_, C(x), C(y)) => C(op.apply(x, y)),
            (BinOp::Add, C(z), v) | (BinOp::Add | BinOp::Sub, v, C(z)) if z == 0.0 => v,
            (BinOp::Sub, C(z), R(r)) if is_zero(z) => self.emit(Op::Neg(r)),
            (BinOp::Mul, C(one), v) | (BinOp::Mul | BinOp::Div, v, C(one)) if one == 1.0 => v,
            (BinOp::Mul, C(m), R(r)) | (BinOp::Mul, R(r), C(m)) if m == -1.0 => {
                self.emit(Op::Neg(r))
            }
            (BinOp::Pow, R(r), C(c)) => {
                if c == 1.0 {
                    R(r)
                } else if c == 0.0 {
                    C(1.0) // x^0 = 1 for every x, NaN included (IEEE pow).
                } else if c == 2.0 {
                    self.emit(Op::Square(r))
                } else if c == 0.5 {
                    self.emit(Op::Call(Function::Sqrt, r))
                } else if c.fract() == 0.0 && c.abs() <= MAX_POWI {
                    self.emit(Op::Powi(r, c as i32))
                } else {
                    let c = self.constant(c);
                    self.emit(Op::Powf(r, c))
                }
            }
            (BinOp::Pow, C(base), R(r)) if base == std::f64::consts::E => {
                self.emit(Op::Call(Function::Exp, r))
            }
            _ => {
                let (a, b) = (self.r(a), self.r(b));
                self.emit(match op {
                    BinOp::Add => Op::Add(a, b),
                    BinOp::Sub => Op::Sub(a, b),
                    BinOp::Mul => Op::Mul(a, b),
                    BinOp::Div => Op::Div(a, b),
                    BinOp::Pow => Op::Pow(a, b),
                })
            }
        }
    }
}

pub(super) fn compile(expr: &Expr, params: &[&str], data: &[&str]) -> Result<Tape, CompileError> {
    let inputs: Vec<&str> = params.iter().chain(data).copied().collect();
    for (i, name) in inputs.iter().enumerate() {
        if inputs[..i].contains(name) {
            return Err(CompileError::Duplicate(name.to_string()));
        }
    }
    let mut slot_of_var = Vec::with_capacity(expr.variables().len());
    let mut unbound = Vec::new();
    for var in expr.variables() {
        match inputs.iter().position(|n| n == var) {
            Some(i) => slot_of_var.push(i as u32),
            None => unbound.push(var.clone()),
        }
    }
    if !unbound.is_empty() {
        return Err(CompileError::Unbound(unbound));
    }

    let mut b = Builder {
        consts: Vec::new(),
        const_ids: HashMap::new(),
        ops: Vec::new(),
        op_ids: HashMap::new(),
    };
    let mut vals: Vec<Val> = Vec::with_capacity(expr.nodes().len());
    for node in expr.nodes() {
        let val = match *node {
            Node::Num(c) => Val::C(c),
            Node::Var(i) => Val::R(Ref::Input(slot_of_var[i as usize])),
            Node::Neg(a) => match vals[a as usize] {
                Val::C(c) => Val::C(-c),
                Val::R(r) => b.emit(Op::Neg(r)),
            },
            Node::Call(f, a) => match vals[a as usize] {
                Val::C(c) => Val::C(f.apply(c)),
                Val::R(r) => b.emit(Op::Call(f, r)),
            },
            Node::Bin(op, x, y) => b.binary(op, vals[x as usize], vals[y as usize]),
            Node::Call2(f, x, y) => match (vals[x as usize], vals[y as usize]) {
                (Val::C(p), Val::C(q)) => Val::C(f.apply(p, q)),
                (p, q) => {
                    let (p, q) = (b.r(p), b.r(q));
                    b.emit(Op::Call2(f, p, q))
                }
            },
        };
        vals.push(val);
    }
    let root = *vals.last().unwrap_or(&Val::C(f64::NAN));
    let out = b.r(root);

    let n_in = inputs.len() as u32;
    let n_c = b.consts.len() as u32;
    let slot = |r: Ref| match r {
        Ref::Input(i) => i,
        Ref::Const(j) => n_in + j,
        Ref::Op(k) => n_in + n_c + k,
    };
    Ok(Tape {
        params: params.iter().map(|s| s.to_string()).collect(),
        data: data.iter().map(|s| s.to_string()).collect(),
        consts: b.consts,
        ops: b.ops.iter().map(|op| op.map(slot)).collect(),
        out: slot(out),
    })
}

/// `c == 0` (either sign).
fn is_zero(c: f64) -> bool {
    c == 0.0
}

/// `∂(a^b)/∂b = a^b ln a`, taken as 0 at `a = 0` (its limit for `b > 0`).
#[inline]
fn ln_base(a: f64) -> f64 {
    if a == 0.0 { 0.0 } else { a.ln() }
}

impl Tape {
    /// The parameters, in the order of gradients and of `params` arguments.
    pub fn params(&self) -> &[String] {
        &self.params
    }

    /// The data variables, in the order of `data` arguments.
    pub fn data(&self) -> &[String] {
        &self.data
    }

    /// The number of operations (after folding and sharing).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the tape has no operation (a constant or a lone variable).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// A workspace sized for this tape.
    pub fn workspace(&self) -> Workspace {
        let n = self.n_slots();
        Workspace {
            v: vec![0.0; n],
            a: vec![0.0; n],
            t: vec![0.0; n],
            at: vec![0.0; n],
        }
    }

    pub(super) fn n_slots(&self) -> usize {
        self.params.len() + self.data.len() + self.consts.len() + self.ops.len()
    }

    pub(super) fn base(&self) -> usize {
        self.params.len() + self.data.len() + self.consts.len()
    }

    pub(super) fn check(&self, what: &str, got: usize, expected: usize) {
        assert!(
            got == expected,
            "{what} has {got} entries, the tape has {expected}"
        );
    }

    /// The forward sweep: fills `v` (already of length `n_slots`).
    ///
    /// Every evaluation starts here, and every node calls glibc's scalar
    /// (legacy-SSE) `exp`, `ln`, `tanh`, …: the upper halves of the vector
    /// registers are cleared first, or on Intel CPUs with AVX-512 each call
    /// after a solver's faer factorization pays the AVX-SSE transition
    /// penalty (issue 17: 8.9x on a 600-call tape, `benches/transition_guard.rs`).
    fn forward(&self, params: &[f64], data: &[f64], v: &mut [f64]) {
        crate::linalg::elementwise::zero_upper();
        self.check("params", params.len(), self.params.len());
        self.check("data", data.len(), self.data.len());
        let (np, nd) = (self.params.len(), self.data.len());
        v[..np].copy_from_slice(params);
        v[np..np + nd].copy_from_slice(data);
        v[np + nd..self.base()].copy_from_slice(&self.consts);
        let base = self.base();
        for (k, op) in self.ops.iter().enumerate() {
            let x = match *op {
                Op::Add(a, b) => v[a as usize] + v[b as usize],
                Op::Sub(a, b) => v[a as usize] - v[b as usize],
                Op::Mul(a, b) => v[a as usize] * v[b as usize],
                Op::Div(a, b) => v[a as usize] / v[b as usize],
                Op::Pow(a, b) | Op::Powf(a, b) => v[a as usize].powf(v[b as usize]),
                Op::Neg(a) => -v[a as usize],
                Op::Square(a) => v[a as usize] * v[a as usize],
                Op::Powi(a, n) => v[a as usize].powi(n),
                Op::Call(f, a) => f.apply(v[a as usize]),
                Op::Call2(f, a, b) => f.apply(v[a as usize], v[b as usize]),
            };
            v[base + k] = x;
        }
    }

    /// The reverse sweep: fills the adjoints `a` from the values `v`.
    fn reverse(&self, v: &[f64], a: &mut [f64]) {
        a.fill(0.0);
        a[self.out as usize] = 1.0;
        let base = self.base();
        for (k, op) in self.ops.iter().enumerate().rev() {
            let r = base + k;
            let w = a[r];
            if w == 0.0 {
                // Nothing flows back; skipping also keeps a NaN partial
                // (ln at 0 behind a zero factor) out of the gradient.
                continue;
            }
            match *op {
                Op::Add(x, y) => {
                    a[x as usize] += w;
                    a[y as usize] += w;
                }
                Op::Sub(x, y) => {
                    a[x as usize] += w;
                    a[y as usize] -= w;
                }
                Op::Mul(x, y) => {
                    let (vx, vy) = (v[x as usize], v[y as usize]);
                    a[x as usize] += w * vy;
                    a[y as usize] += w * vx;
                }
                Op::Div(x, y) => {
                    let inv = 1.0 / v[y as usize];
                    a[x as usize] += w * inv;
                    a[y as usize] -= w * v[r] * inv;
                }
                Op::Pow(x, y) => {
                    let (p, s) = (v[x as usize], v[y as usize]);
                    a[x as usize] += w * s * p.powf(s - 1.0);
                    a[y as usize] += w * v[r] * ln_base(p);
                }
                Op::Neg(x) => a[x as usize] -= w,
                Op::Square(x) => a[x as usize] += 2.0 * w * v[x as usize],
                Op::Powi(x, n) => a[x as usize] += w * f64::from(n) * v[x as usize].powi(n - 1),
                Op::Powf(x, c) => {
                    let c = v[c as usize];
                    a[x as usize] += w * c * v[x as usize].powf(c - 1.0);
                }
                Op::Call(f, x) => a[x as usize] += w * f.d1(v[x as usize], v[r]),
                Op::Call2(f, x, y) => {
                    let (dx, dy) = f.d1(v[x as usize], v[y as usize], v[r]);
                    a[x as usize] += w * dx;
                    a[y as usize] += w * dy;
                }
            }
        }
    }

    /// The tangent sweep: `t_k = ∇v_k · dir` from the values `v`, the
    /// direction being already in `t[..n_params]`.
    fn tangent(&self, v: &[f64], t: &mut [f64]) {
        let np = self.params.len();
        t[np..self.base()].fill(0.0);
        let base = self.base();
        for (k, op) in self.ops.iter().enumerate() {
            let r = base + k;
            let x = match *op {
                Op::Add(a, b) => t[a as usize] + t[b as usize],
                Op::Sub(a, b) => t[a as usize] - t[b as usize],
                Op::Mul(a, b) => t[a as usize] * v[b as usize] + v[a as usize] * t[b as usize],
                Op::Div(a, b) => (t[a as usize] - v[r] * t[b as usize]) / v[b as usize],
                Op::Pow(a, b) => {
                    let (p, s) = (v[a as usize], v[b as usize]);
                    let (ta, tb) = (t[a as usize], t[b as usize]);
                    let da = if ta == 0.0 {
                        0.0
                    } else {
                        ta * s * p.powf(s - 1.0)
                    };
                    let db = if tb == 0.0 {
                        0.0
                    } else {
                        tb * v[r] * ln_base(p)
                    };
                    da + db
                }
                Op::Neg(a) => -t[a as usize],
                Op::Square(a) => 2.0 * v[a as usize] * t[a as usize],
                Op::Powi(a, n) => f64::from(n) * v[a as usize].powi(n - 1) * t[a as usize],
                Op::Powf(a, c) => {
                    let c = v[c as usize];
                    c * v[a as usize].powf(c - 1.0) * t[a as usize]
                }
                Op::Call(f, a) => {
                    let ta = t[a as usize];
                    if ta == 0.0 {
                        0.0
                    } else {
                        f.d1(v[a as usize], v[r]) * ta
                    }
                }
                Op::Call2(f, a, b) => {
                    let (ta, tb) = (t[a as usize], t[b as usize]);
                    if ta == 0.0 && tb == 0.0 {
                        0.0
                    } else {
                        let (da, db) = f.d1(v[a as usize], v[b as usize], v[r]);
                        // A zero tangent contributes nothing, even where the
                        // partial is NaN (atan2 at the origin).
                        let part = |d: f64, t: f64| if t == 0.0 { 0.0 } else { d * t };
                        part(da, ta) + part(db, tb)
                    }
                }
            };
            t[r] = x;
        }
    }

    /// The second-order reverse sweep: the adjoints' tangents `at` from the
    /// values `v`, the final adjoints `a` and the tangents `t`.
    fn reverse2(&self, v: &[f64], a: &[f64], t: &[f64], at: &mut [f64]) {
        at.fill(0.0);
        let base = self.base();
        for (k, op) in self.ops.iter().enumerate().rev() {
            let r = base + k;
            let (w, wt) = (a[r], at[r]);
            if w == 0.0 && wt == 0.0 {
                continue;
            }
            match *op {
                Op::Add(x, y) => {
                    at[x as usize] += wt;
                    at[y as usize] += wt;
                }
                Op::Sub(x, y) => {
                    at[x as usize] += wt;
                    at[y as usize] -= wt;
                }
                Op::Mul(x, y) => {
                    let (x, y) = (x as usize, y as usize);
                    at[x] += wt * v[y] + w * t[y];
                    at[y] += wt * v[x] + w * t[x];
                }
                Op::Div(x, y) => {
                    // q = x/y: ∂q/∂x = 1/y, ∂q/∂y = −q/y,
                    // ∂²q/∂x∂y = −1/y², ∂²q/∂y² = 2q/y².
                    let (x, y) = (x as usize, y as usize);
                    let (q, inv) = (v[r], 1.0 / v[y]);
                    let inv2 = inv * inv;
                    at[x] += wt * inv - w * inv2 * t[y];
                    at[y] += -wt * q * inv + w * inv2 * (2.0 * q * t[y] - t[x]);
                }
                Op::Pow(x, y) => {
                    // q = p^s: ∂p = s p^(s−1), ∂s = q ln p, ∂²pp = s(s−1) p^(s−2),
                    // ∂²ps = p^(s−1) (1 + s ln p), ∂²ss = q ln² p.
                    let (x, y) = (x as usize, y as usize);
                    let (p, s, q) = (v[x], v[y], v[r]);
                    let l = ln_base(p);
                    let pm1 = p.powf(s - 1.0);
                    let dp = s * pm1;
                    let ds = q * l;
                    let dpp = if s == 1.0 {
                        0.0
                    } else {
                        s * (s - 1.0) * p.powf(s - 2.0)
                    };
                    let dps = pm1 * (1.0 + s * l);
                    let dss = q * l * l;
                    at[x] += wt * dp + w * (dpp * t[x] + dps * t[y]);
                    at[y] += wt * ds + w * (dps * t[x] + dss * t[y]);
                }
                Op::Neg(x) => at[x as usize] -= wt,
                Op::Square(x) => {
                    let x = x as usize;
                    at[x] += 2.0 * (wt * v[x] + w * t[x]);
                }
                Op::Powi(x, n) => {
                    let x = x as usize;
                    let nf = f64::from(n);
                    let d1 = nf * v[x].powi(n - 1);
                    let d2 = if n == 1 {
                        0.0
                    } else {
                        nf * (nf - 1.0) * v[x].powi(n - 2)
                    };
                    at[x] += wt * d1 + w * d2 * t[x];
                }
                Op::Powf(x, c) => {
                    let x = x as usize;
                    let c = v[c as usize];
                    let d1 = c * v[x].powf(c - 1.0);
                    let d2 = c * (c - 1.0) * v[x].powf(c - 2.0);
                    at[x] += wt * d1 + w * d2 * t[x];
                }
                Op::Call(f, x) => {
                    let x = x as usize;
                    let (d1, d2) = f.d2(v[x], v[r]);
                    let second = if t[x] == 0.0 { 0.0 } else { w * d2 * t[x] };
                    at[x] += wt * d1 + second;
                }
                Op::Call2(f, x, y) => {
                    let (x, y) = (x as usize, y as usize);
                    let (dx, dy, dxx, dxy, dyy) = f.d2(v[x], v[y], v[r]);
                    let part = |d: f64, t: f64| if t == 0.0 { 0.0 } else { d * t };
                    let first = |d: f64| if wt == 0.0 { 0.0 } else { wt * d };
                    at[x] += first(dx) + w * (part(dxx, t[x]) + part(dxy, t[y]));
                    at[y] += first(dy) + w * (part(dxy, t[x]) + part(dyy, t[y]));
                }
            }
        }
    }

    fn ensure(&self, ws: &mut Workspace, second_order: bool) {
        let n = self.n_slots();
        ws.v.resize(n, 0.0);
        ws.a.resize(n, 0.0);
        if second_order {
            ws.t.resize(n, 0.0);
            ws.at.resize(n, 0.0);
        }
    }

    /// `f(params; data)`.
    pub fn value(&self, params: &[f64], data: &[f64], ws: &mut Workspace) -> f64 {
        self.ensure(ws, false);
        self.forward(params, data, &mut ws.v);
        ws.v[self.out as usize]
    }

    /// Writes `∇f` with respect to the parameters into `grad` and returns
    /// `f`: one forward and one reverse sweep.
    pub fn value_grad(
        &self,
        params: &[f64],
        data: &[f64],
        grad: &mut [f64],
        ws: &mut Workspace,
    ) -> f64 {
        self.check("grad", grad.len(), self.params.len());
        self.ensure(ws, false);
        self.forward(params, data, &mut ws.v);
        self.reverse(&ws.v, &mut ws.a);
        grad.copy_from_slice(&ws.a[..self.params.len()]);
        ws.v[self.out as usize]
    }

    /// Writes `∇²f dir` (second derivatives with respect to the parameters)
    /// into `hv` and returns `f`, by forward-over-reverse.
    pub fn hess_vec(
        &self,
        params: &[f64],
        data: &[f64],
        dir: &[f64],
        hv: &mut [f64],
        ws: &mut Workspace,
    ) -> f64 {
        self.check("dir", dir.len(), self.params.len());
        self.check("hv", hv.len(), self.params.len());
        self.ensure(ws, true);
        self.forward(params, data, &mut ws.v);
        self.reverse(&ws.v, &mut ws.a);
        ws.t[..dir.len()].copy_from_slice(dir);
        self.tangent(&ws.v, &mut ws.t);
        self.reverse2(&ws.v, &ws.a, &ws.t, &mut ws.at);
        hv.copy_from_slice(&ws.at[..self.params.len()]);
        ws.v[self.out as usize]
    }

    /// Writes the dense Hessian with respect to the parameters into `h`
    /// (`n × n`, already of that size) and returns `f`: one forward and one
    /// reverse sweep, then a tangent and a second-order reverse sweep per
    /// column. The result is symmetrized, `(H + Hᵀ)/2`, which removes
    /// rounding differences between the columns.
    pub fn hessian(
        &self,
        params: &[f64],
        data: &[f64],
        h: &mut DMatrix<f64>,
        ws: &mut Workspace,
    ) -> f64 {
        let n = self.params.len();
        assert!(
            h.nrows() == n && h.ncols() == n,
            "h is {}×{}, the tape has {n} parameters",
            h.nrows(),
            h.ncols()
        );
        self.ensure(ws, true);
        self.forward(params, data, &mut ws.v);
        self.reverse(&ws.v, &mut ws.a);
        let Workspace { v, a, t, at } = ws;
        for j in 0..n {
            // Direction e_j.
            t[..n].fill(0.0);
            t[j] = 1.0;
            self.tangent(v, t);
            self.reverse2(v, a, t, at);
            h.column_mut(j).copy_from_slice(&at[..n]);
        }
        for j in 0..n {
            for i in 0..j {
                let s = 0.5 * (h[(i, j)] + h[(j, i)]);
                h[(i, j)] = s;
                h[(j, i)] = s;
            }
        }
        v[self.out as usize]
    }
}
