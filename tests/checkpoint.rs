//! Issue 18 item 6: every minimizer, checkpointed at every iteration from 0
//! on, serialized to JSON and resumed, ends on the same bits as an
//! uninterrupted run. Fields that are NaN before the first step (the line
//! searches' and initial steps' memories) must survive JSON, which has no NaN.

use hesse::cg::{Beta, NonlinearCg};
use hesse::first_order::{Adam, CoordinateDescent, FullBatch};
use hesse::linesearch::{
    Backtracking, HagerZhang, HagerZhangInitial, MoreThuente, QuadraticInterpolation,
    ScaledPrevious,
};
use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
use hesse::prelude::*;
use hesse::problems::Rosenbrock;
use hesse::problems::mgh::Mgh;
use hesse::solver::{Checkpoint, Minimizer, Run};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Runs `solver` straight, then for each `k` from 0 to the end: `k` steps,
/// a JSON checkpoint, a resume; asserts the same iterations, evaluations,
/// termination and bits of `x` and `f`.
fn resumes_at_every_iteration<'p, M, P>(name: &str, solver: M, p: &'p P, x0: &[f64])
where
    M: Minimizer<&'p P> + Clone + Serialize + DeserializeOwned,
    P: ?Sized,
{
    let straight = Run::new(solver.clone(), p, x0).unwrap().finish();
    assert!(straight.iterations >= 2, "{name}: {straight:?}");
    for k in 0..=straight.iterations {
        let mut run = Run::new(solver.clone(), p, x0).unwrap();
        for _ in 0..k {
            run.step();
        }
        let json = serde_json::to_string(&run.checkpoint()).unwrap();
        drop(run);
        let back: Checkpoint<M> = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{name}: checkpoint at iteration {k} unreadable: {e}"));
        let resumed = Run::resume(back, p).unwrap().finish();
        assert_eq!(resumed.iterations, straight.iterations, "{name} k={k}");
        assert_eq!(resumed.evals, straight.evals, "{name} k={k}");
        assert_eq!(resumed.termination, straight.termination, "{name} k={k}");
        assert_eq!(resumed.f.to_bits(), straight.f.to_bits(), "{name} k={k}");
        for (a, b) in resumed.x.iter().zip(&straight.x) {
            assert_eq!(a.to_bits(), b.to_bits(), "{name} k={k}");
        }
    }
}

#[test]
fn every_minimizer_resumes_from_every_iteration() {
    let p = Rosenbrock::new(2);
    let x0 = [-1.2, 1.0];
    let it = 30;
    macro_rules! check {
        ($name:expr, $solver:expr) => {
            resumes_at_every_iteration($name, $solver.with_max_iter(it), &p, &x0)
        };
    }
    check!("newton", Newton::default());
    check!(
        "newton-more-thuente",
        Newton::with_line_search(MoreThuente::default())
    );
    check!("newton-tr", NewtonTrustRegion::default());
    check!("newton-cg", NewtonCg::default());
    check!("newton-cg-tr", NewtonCg::trust_region());
    check!("saddle-free", SaddleFreeNewton::default());
    check!("saddle-free-krylov", SaddleFreeNewton::krylov(2));
    check!("bfgs", Bfgs::default());
    check!(
        "bfgs-hz",
        Bfgs::with_line_search(HagerZhang::default())
            .with_initial_step(HagerZhangInitial::default())
    );
    check!("lbfgs", Lbfgs::default());
    check!(
        "lbfgs-hz",
        Lbfgs::with_line_search(HagerZhang::default())
            .with_initial_step(QuadraticInterpolation::default())
    );
    for beta in [
        Beta::FletcherReeves,
        Beta::PolakRibiere,
        Beta::PolakRibierePlus,
        Beta::HestenesStiefel,
        Beta::DaiYuan,
        Beta::HagerZhang,
    ] {
        check!(&format!("cg {beta:?}"), NonlinearCg::new(beta));
    }
    check!("gd", GradientDescent::default());
    check!(
        "gd-hz",
        GradientDescent::with_line_search(HagerZhang::default())
            .with_initial_step(HagerZhangInitial::default())
    );
    check!(
        "gd-quadratic",
        GradientDescent::with_line_search(Backtracking::default())
            .with_initial_step(QuadraticInterpolation::default())
    );
    check!(
        "gd-scaled",
        GradientDescent::with_line_search(MoreThuente::default())
            .with_initial_step(ScaledPrevious::default())
    );
    check!("adam", FullBatch::new(Adam::default()));
    check!("coordinate-descent", CoordinateDescent::default());

    let mgh = Mgh::from_id(1).unwrap();
    resumes_at_every_iteration(
        "lm",
        LevenbergMarquardt::default().with_max_iter(it),
        &mgh,
        &mgh.start(),
    );

    let data = Dataset::two_spirals(40, 0.0, 3).unwrap();
    let mlp = Mlp::new(&[2, 6, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let w0 = mlp.init(Init::Glorot, 1);
    resumes_at_every_iteration(
        "hessian-free",
        HessianFree::default().with_max_iter(10),
        &problem,
        &w0,
    );
    resumes_at_every_iteration(
        "natural-gradient",
        NaturalGradient::default().with_max_iter(10),
        &problem,
        &w0,
    );
}
