//! The one minibatch training driver (`hesse::train`): every method sees the
//! same minibatches for the same seed, checkpoints resume bit for bit, the
//! driver's stopping rules.

use hesse::first_order::Adam;
use hesse::natural::{HessianFree, Kfac, NaturalGradient};
use hesse::nn::{Activation, Dataset, Init, Loss, Mlp, MlpProblem, MlpTraining};
use hesse::prelude::*;
use hesse::quasi_newton::Lbfgs;
use hesse::solver::{Run, Termination};
use hesse::train::registry::{self, MethodOptions};
use hesse::train::{
    AdaHessian, Driver, EvalEvery, FirstOrder, FullBatchMinimizer, Method, Shampoo, Soap, Sophia,
    SophiaEstimator, StopReason, TrainingState,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn spirals() -> (Mlp, Dataset) {
    let data = Dataset::two_spirals(60, 0.0, 2).unwrap();
    let mlp = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    (mlp, data)
}

#[test]
fn every_method_sees_the_same_minibatches_for_the_same_seed() {
    let (mlp, data) = spirals();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 0);
    // 120 examples, batches of 25: 4 per epoch (20 dropped); 10 iterations
    // cross two epoch boundaries.
    let driver = Driver::new()
        .with_batch_size(25)
        .with_seed(11)
        .with_max_iter(10)
        .with_eval_every(EvalEvery::Never)
        .with_progress(false);
    let mut sequences = Vec::new();
    for name in registry::NAMES {
        let method = registry::build::<MlpProblem<'_>>(name, &MethodOptions::default()).unwrap();
        let mut batches: Vec<Vec<usize>> = Vec::new();
        let mut state = driver.start(&problem, method, x0.clone()).unwrap();
        driver
            .run(&problem, &mut state, &mut |p| {
                assert_eq!(p.curvature, &p.batch[..p.curvature.len()]);
                batches.push(p.batch.to_vec());
                true
            })
            .unwrap();
        assert_eq!(state.stopped, Some(StopReason::MaxIterations), "{name}");
        assert_eq!(batches.len(), 10, "{name}");
        sequences.push((name, batches));
    }
    let (first, reference) = &sequences[0];
    for (name, batches) in &sequences[1..] {
        assert_eq!(batches, reference, "{name} against {first}");
    }
    // Each epoch's batches are disjoint; the next epoch is a new order.
    let epoch0: Vec<usize> = reference[..4].concat();
    let mut sorted = epoch0.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 100);
    assert_ne!(reference[4], reference[0]);
    // The sampler the driver exposes gives the same batches.
    let mut sampler = driver.sampler(data.len());
    assert_eq!(sampler.batch(1, 25).0, &reference[5][..]);
    // Another seed, other batches.
    let other = Driver::new().with_batch_size(25).with_seed(12);
    assert_ne!(other.sampler(data.len()).batch(0, 0).0, &reference[0][..]);
}

/// `n` steps straight against `n/2`, a JSON round trip of the whole state,
/// and `n/2` more: the same parameter bits.
fn resumes_bit_for_bit<M>(method: M, n: u64, curvature: Option<usize>)
where
    M: for<'a> Method<MlpProblem<'a>> + Serialize + DeserializeOwned + Clone,
{
    let data = Dataset::digits().unwrap();
    let mlp = Mlp::new(&[64, 12, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 3);
    let driver = |k: u64| {
        let d = Driver::new()
            .with_batch_size(200)
            .with_seed(7)
            .with_max_iter(k)
            .with_eval_every(EvalEvery::Never)
            .with_progress(false);
        match curvature {
            Some(c) => d.with_curvature_batch(c),
            None => d,
        }
    };
    let straight = driver(n)
        .train(&problem, method.clone(), x0.clone())
        .unwrap();
    let half = driver(n / 2).train(&problem, method, x0.clone()).unwrap();
    assert_eq!(half.iteration, n / 2);
    let json = serde_json::to_string(&half).unwrap();
    let mut resumed: TrainingState<M> = serde_json::from_str(&json).unwrap();
    driver(n)
        .run(&problem, &mut resumed, &mut |_| true)
        .unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let name = straight.method.name();
    assert_eq!(resumed.iteration, n, "{name}");
    assert_eq!(bits(&resumed.x), bits(&straight.x), "{name}");
    assert_ne!(bits(&straight.x), bits(&x0), "{name} moved");
    assert!(problem.value(&straight.x) < problem.value(&x0), "{name}");
}

#[test]
fn kfac_resumes_bit_for_bit() {
    // 26 steps: λ updates (T₁ = 5), γ searches and refreshes (T₂ = T₃ = 20,
    // and at 1, 2, 4, 8, 16), on both sides of the split at 13.
    resumes_bit_for_bit(Kfac::default().with_initial_damping(1.0), 26, None);
}

#[test]
fn hessian_free_resumes_bit_for_bit() {
    let hf = HessianFree::default()
        .with_max_cg_iter(10)
        .with_preconditioner(true);
    resumes_bit_for_bit(hf, 8, Some(50));
}

#[test]
fn natural_gradient_resumes_bit_for_bit() {
    let ng = NaturalGradient::default().with_max_cg_iter(10);
    resumes_bit_for_bit(ng, 8, Some(50));
}

#[test]
fn first_order_and_adahessian_resume_bit_for_bit() {
    resumes_bit_for_bit(FirstOrder::new(Adam::new(0.01)), 20, None);
    resumes_bit_for_bit(AdaHessian::default(), 20, None);
    // Estimates at 1, 4, 7, ...: the split at 11 falls between two.
    let delayed = AdaHessian::default()
        .with_learning_rate(0.03)
        .with_hessian_period(3)
        .with_weight_decay(1e-3);
    resumes_bit_for_bit(delayed, 22, Some(100));
}

#[test]
fn sophia_resumes_bit_for_bit() {
    // 26 steps, k = 10: estimates at 1, 11, 21 on both sides of the split
    // at 13; both estimators, with weight decay.
    for estimator in [SophiaEstimator::Hutchinson, SophiaEstimator::Gnb] {
        let sophia = Sophia::new(estimator)
            .with_learning_rate(0.01)
            .with_weight_decay(0.01);
        resumes_bit_for_bit(sophia, 26, Some(100));
    }
}

#[test]
fn full_batch_lbfgs_on_the_driver_is_its_own_run_and_resumes_bit_for_bit() {
    let data = Dataset::digits().unwrap();
    let mlp = Mlp::new(&[64, 12, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 3);
    // The driver's iterates are those of the minimizer's own run, bit for bit.
    let mut xs = Vec::new();
    let on_driver = Driver::new()
        .with_batch_size(data.len())
        .with_max_iter(15)
        .with_eval_every(EvalEvery::Never)
        .with_progress(false);
    let mut state = on_driver
        .start(
            &problem,
            FullBatchMinimizer::new(Lbfgs::default()),
            x0.clone(),
        )
        .unwrap();
    on_driver
        .run(&problem, &mut state, &mut |p| {
            xs.push(p.x.to_vec());
            true
        })
        .unwrap();
    let mut run = Run::new(Lbfgs::default(), &problem, &x0).unwrap();
    for (k, x) in xs.iter().enumerate() {
        assert!(run.step().is_none(), "iteration {k}");
        assert_eq!(&run.state().x, x, "iteration {}", k + 1);
    }
    resumes_bit_for_bit(FullBatchMinimizer::new(Lbfgs::default()), 12, None);
    // A run that converges stops the driver, with the minimizer's reason.
    let state = Driver::new()
        .with_batch_size(data.len())
        .with_max_iter(1000)
        .with_eval_every(EvalEvery::Never)
        .with_progress(false)
        .train(
            &problem,
            FullBatchMinimizer::new(Lbfgs::default().with_gtol(1e-3)),
            x0,
        )
        .unwrap();
    assert_eq!(state.stopped, Some(StopReason::Finished));
    assert_eq!(
        state.method.termination(),
        Some(Termination::GradientTolerance)
    );
    assert!(state.iteration < 1000);
}

#[test]
fn shampoo_and_soap_resume_bit_for_bit() {
    // 26 steps: roots and eigenbasis refreshes at 10 and 20 on both sides
    // of the split at 13 (SOAP's basis-initializing first step included).
    resumes_bit_for_bit(Shampoo::default().with_momentum(0.5), 26, None);
    resumes_bit_for_bit(Soap::default().with_learning_rate(0.01), 26, None);
}

#[test]
fn early_stopping_keeps_the_best_held_out_iterate_and_writes_the_history() {
    let (mlp, data) = spirals();
    let (train, val) = data.split(0.25, 1).unwrap();
    let objective = MlpTraining::new(&mlp, &train, Some(&val)).unwrap();
    let driver = Driver::new()
        .with_batch_size(10)
        .with_seed(1)
        .with_max_epochs(400)
        .with_eval_every(EvalEvery::Iterations(3))
        .with_patience(5)
        .with_progress(false);
    // A rate large enough that the held-out loss stops improving.
    let state = driver
        .train(
            &objective,
            FirstOrder::new(Adam::new(0.3)),
            mlp.init(Init::Glorot, 1),
        )
        .unwrap();
    let best = state.best.as_ref().unwrap();
    let min = state
        .history
        .iter()
        .map(|r| r.held_out.unwrap().loss)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best.loss, min);
    assert_eq!(state.best_params(), &best.params[..]);
    if state.stopped == Some(StopReason::EarlyStopping) {
        assert_eq!(state.since_best, 5);
    }
    assert!(state.history.iter().all(|r| r.iteration % 3 == 0));
    assert!(state.history.iter().all(|r| r.get("lr") == Some(0.3)));
    let dir = std::env::temp_dir().join(format!("hesse-driver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("history.csv");
    state.write_history_csv(&csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("iteration,epoch,train_loss,val_loss,val_accuracy,seconds,lr\n"));
    assert_eq!(text.lines().count(), state.history.len() + 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_callback_and_the_limits_stop_and_bad_options_are_errors() {
    let (mlp, data) = spirals();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 0);
    let base = Driver::new().with_batch_size(20).with_progress(false);
    let adam = || FirstOrder::new(Adam::new(0.01));
    let mut state = base
        .clone()
        .with_max_iter(50)
        .start(&problem, adam(), x0.clone())
        .unwrap();
    base.clone()
        .with_max_iter(50)
        .run(&problem, &mut state, &mut |p| p.iteration < 7)
        .unwrap();
    assert_eq!(
        (state.iteration, state.stopped),
        (7, Some(StopReason::Callback))
    );
    let s = base
        .clone()
        .with_max_epochs(2)
        .train(&problem, adam(), x0.clone())
        .unwrap();
    assert_eq!(
        (s.epoch, s.iteration, s.stopped),
        (2, 12, Some(StopReason::MaxEpochs))
    );
    assert_eq!(s.history.len(), 2);
    let s = base
        .clone()
        .with_time_limit(0.0)
        .train(&problem, adam(), x0.clone())
        .unwrap();
    assert_eq!((s.iteration, s.stopped), (0, Some(StopReason::TimeLimit)));
    // A NaN start is an error; so are no limit, a batch of 0 or larger than
    // the data, and a curvature batch larger than the batch.
    let mut nan = x0.clone();
    nan[0] = f64::NAN;
    assert!(
        base.clone()
            .with_max_iter(1)
            .train(&problem, adam(), nan)
            .is_err()
    );
    assert!(base.clone().train(&problem, adam(), x0.clone()).is_err());
    for d in [
        base.clone().with_max_iter(1).with_batch_size(0),
        base.clone().with_max_iter(1).with_batch_size(121),
        base.clone().with_max_iter(1).with_curvature_batch(21),
    ] {
        assert!(d.train(&problem, adam(), x0.clone()).is_err());
    }
}
