//! No allocation inside a network evaluation after the first: a counting
//! global allocator around repeated gradient, Hessian-vector, Gauss-Newton
//! and minibatch products.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use hesse::nn::{Activation, Dataset, Init, Layer, Loss, Mlp};
use hesse::problem::{GaussNewtonVec, Gradient, HessVec};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn evaluations_allocate_nothing_after_the_first() {
    // Single-threaded kernels: faer's thread pool would allocate for its jobs.
    faer::set_global_parallelism(faer::Par::Seq);
    let data = Dataset::two_spirals(40, 0.1, 3).unwrap();
    let mlp = Mlp::from_layers(
        2,
        vec![
            Layer::new(16, Activation::Tanh).with_batch_norm(),
            Layer::new(16, Activation::Softplus).with_skip(),
            Layer::new(2, Activation::Identity),
        ],
        Loss::SoftmaxCrossEntropy,
    )
    .unwrap();
    let problem = mlp.problem(&data).unwrap();
    let n = mlp.num_params();
    let x = mlp.init(Init::Glorot, 1);
    let y = mlp.init(Init::Glorot, 2);
    let v = mlp.init(Init::Uniform, 3);
    let (mut g, mut hv) = (vec![0.0; n], vec![0.0; n]);
    let batch_a: Vec<usize> = (0..16).collect();
    let batch_b: Vec<usize> = (40..56).collect();
    let mut round = |p: &[f64], batch: &[usize]| {
        problem.value_grad(p, &mut g);
        problem.hess_vec(p, &v, &mut hv);
        problem.gauss_newton_vec(p, &v, &mut hv);
        problem.value_grad_batch(p, batch, &mut g).unwrap();
        problem.hess_vec_batch(p, batch, &v, &mut hv).unwrap();
        problem
            .gauss_newton_vec_batch(p, batch, &v, &mut hv)
            .unwrap();
    };
    round(&x, &batch_a);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    round(&y, &batch_b);
    round(&x, &batch_a);
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "allocations after the first round");
}
