//! The first-order baselines on the command line: `hesse minimize --method
//! sgd|momentum|nesterov|adagrad|rmsprop|rmsprop-nesterov|adam|adadelta` with
//! the textbook's hyper-parameters as flags.
//!
//! Full batch and deterministic: every step uses the exact gradient of the
//! expression ([`FullBatch`]), and with `--gtol 0` a run makes exactly
//! `--max-iter` steps of the rule, so its iterates can be checked by hand.
//! Coordinate descent (one iteration = one cycle of exact minimizations
//! along each variable) is listed with them for the same reason.
//! They are listed in [`BASELINES`](crate::methods::BASELINES), not in
//! `METHODS`, so that `hesse compare` does not run them: with a fixed rate
//! they need tens of thousands of iterations where the suite's methods need
//! tens, and they would swamp its table.

use clap::Args;
use hesse::first_order::{
    AnyOptimizer, Averaging, Clip, CoordinateDescent, FullBatch, Hyper, Optimizer, Schedule,
};
use hesse::problem::Gradient;
use hesse::solver::{Error, Report, Run, inf_norm};

use crate::methods::MethodOptions;

/// Hyper-parameters of the first-order methods (GBC ch. 8 names in brackets).
#[derive(Debug, Clone, Default, Args)]
pub struct FirstOrderArgs {
    /// Learning rate [ε] of the first-order methods (default: sgd, momentum,
    /// nesterov, adagrad 0.01; rmsprop, rmsprop-nesterov, adam 0.001;
    /// adadelta 1, a multiplier on Zeiler's step).
    #[arg(long, allow_hyphen_values = true)]
    pub lr: Option<f64>,

    /// Momentum coefficient [α] in [0, 1) for momentum, nesterov,
    /// rmsprop-nesterov (default 0.9).
    #[arg(long, allow_hyphen_values = true)]
    pub momentum: Option<f64>,

    /// Decay rate [ρ] in [0, 1) for rmsprop, rmsprop-nesterov (default 0.9)
    /// and adadelta (default 0.95).
    #[arg(long, allow_hyphen_values = true)]
    pub rho: Option<f64>,

    /// Adam's first-moment decay [ρ₁] in [0, 1) (default 0.9).
    #[arg(long, allow_hyphen_values = true)]
    pub beta1: Option<f64>,

    /// Adam's second-moment decay [ρ₂] in [0, 1) (default 0.999).
    #[arg(long, allow_hyphen_values = true)]
    pub beta2: Option<f64>,

    /// The small stabilizing constant [δ], PyTorch's eps (defaults: adagrad
    /// 1e-7, rmsprop 1e-6, adam 1e-8, adadelta 1e-6).
    #[arg(long, allow_hyphen_values = true)]
    pub eps: Option<f64>,

    /// Learning-rate schedule over the run's steps (minimize: its iteration
    /// limit; train: epochs × minibatches per epoch): constant,
    /// linear:tau=..,final=.. (ε_τ/ε₀), inverse-time:decay=..,
    /// step:every=..,gamma=.., exponential:gamma=.., cosine:period=..,final=..,
    /// warmup:steps=.. (omitted parameters scale with the number of steps).
    #[arg(long, value_name = "SCHEDULE")]
    pub schedule: Option<String>,

    /// Clip each gradient to this 2-norm, keeping its direction (Pascanu et
    /// al. 2013).
    #[arg(long, value_name = "C", allow_hyphen_values = true)]
    pub clip_norm: Option<f64>,

    /// Clip each gradient coordinate to [-C, C].
    #[arg(long, value_name = "C", allow_hyphen_values = true)]
    pub clip_value: Option<f64>,

    /// Report x, f and the gradient at the average of the iterates: polyak
    /// (running mean) or ema:ALPHA (moving average, ALPHA in [0, 1)).
    #[arg(long, value_name = "polyak|ema:ALPHA")]
    pub average: Option<String>,
}

impl FirstOrderArgs {
    /// The flags given, by name.
    fn given(&self) -> Vec<&'static str> {
        let mut g = self.hyper().given();
        let loop_options = [
            ("schedule", self.schedule.is_some()),
            ("clip-norm", self.clip_norm.is_some()),
            ("clip-value", self.clip_value.is_some()),
            ("average", self.average.is_some()),
        ];
        g.extend(
            loop_options
                .into_iter()
                .filter_map(|(name, on)| on.then_some(name)),
        );
        g
    }

    /// The rule's hyper-parameters given (the rest keep the rule's
    /// defaults: [`AnyOptimizer::build`]).
    pub fn hyper(&self) -> Hyper {
        Hyper {
            lr: self.lr,
            momentum: self.momentum,
            rho: self.rho,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
        }
    }

    /// The clipping `--clip-norm` or `--clip-value` asks for (not both).
    pub fn clip(&self) -> Result<Option<Clip>, Error> {
        match (self.clip_norm, self.clip_value) {
            (Some(_), Some(_)) => Err(Error::InvalidProblem(
                "give --clip-norm or --clip-value, not both".into(),
            )),
            (Some(c), None) => Ok(Some(Clip::Norm(c))),
            (None, Some(c)) => Ok(Some(Clip::Value(c))),
            (None, None) => Ok(None),
        }
    }

    /// The averaging `--average polyak|ema:ALPHA` asks for.
    pub fn averaging(&self) -> Result<Option<Averaging>, Error> {
        match self.average.as_deref() {
            None => Ok(None),
            Some("polyak") => Ok(Some(Averaging::Polyak)),
            Some(spec) => match spec.strip_prefix("ema:").map(str::parse::<f64>) {
                Some(Ok(a)) => Ok(Some(Averaging::Ema(a))),
                _ => Err(Error::invalid_option(
                    "average",
                    spec,
                    "expected polyak or ema:ALPHA, as in ema:0.99",
                )),
            },
        }
    }

    /// Checks that every flag given applies to `method` (the table in
    /// [`applies`](crate::applies)); `noun` and `universe` as there.
    pub fn check_applies(&self, method: &str, noun: &str, universe: &[&str]) -> Result<(), String> {
        crate::applies::check(method, &self.given(), noun, universe)
    }
}

/// The schedule, clipping and averaging of a run.
#[derive(Debug, Clone, Copy)]
struct Setup {
    schedule: Schedule,
    clip: Option<Clip>,
    average: Option<Averaging>,
}

/// Runs the baseline `name` full-batch on `problem`.
pub fn run_baseline<P: Gradient>(
    name: &str,
    problem: &P,
    x0: &[f64],
    options: &MethodOptions,
    args: &FirstOrderArgs,
) -> Result<Report, Error> {
    args.check_applies(name, "method", &crate::methods::MethodName::names())
        .map_err(Error::InvalidProblem)?;
    let schedule = match &args.schedule {
        Some(spec) => Schedule::parse(spec, options.max_iter)?,
        None => Schedule::Constant,
    };
    let clip = args.clip()?;
    let average = args.averaging()?;
    let setup = Setup {
        schedule,
        clip,
        average,
    };
    fn full<O: Optimizer + Clone, P: Gradient>(
        opt: O,
        setup: Setup,
        options: &MethodOptions,
        problem: &P,
        x0: &[f64],
    ) -> Result<Report, Error> {
        let mut solver = FullBatch::new(opt)
            .with_schedule(setup.schedule)
            .with_stop(options.stop());
        if let Some(c) = setup.clip {
            solver = solver.with_clip(c);
        }
        if let Some(a) = setup.average {
            solver = solver.with_averaging(a);
        }
        // `FullBatch::minimize` through the shared driver (the trace, Ctrl-C):
        // run, then report at the average of the iterates when one is kept
        // (one more evaluation).
        let run = crate::methods::drive(Run::new(solver, problem, x0)?, options.trace);
        let mut report = run.report();
        if let Some(avg) = run.solver().averager()
            && avg.count() > 0
        {
            let x = avg.average().to_vec();
            let mut g = vec![0.0; x.len()];
            report.f = problem.value_grad(&x, &mut g);
            report.evals.f += 1;
            report.evals.g += 1;
            report.grad_norm = inf_norm(&g);
            report.x = x;
        }
        Ok(report)
    }
    match name {
        name if AnyOptimizer::NAMES.contains(&name) => full(
            AnyOptimizer::build(name, &args.hyper())?,
            setup,
            options,
            problem,
            x0,
        ),
        "coordinate-descent" => crate::methods::minimize_traced(
            CoordinateDescent::default().with_stop(options.stop()),
            problem,
            x0,
            options.trace,
        ),
        other => Err(Error::InvalidProblem(format!(
            "{other} is not a first-order baseline"
        ))),
    }
}
