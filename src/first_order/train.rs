//! The training loop: epochs of seeded, shuffled minibatches, a held-out
//! evaluation after each epoch, early stopping with patience, a progress bar,
//! history to CSV, and checkpoints that resume bit-identically.
//!
//! Goodfellow, Bengio & Courville (2016), *Deep Learning*: minibatch SGD on
//! the empirical risk `J(θ) = (1/m) Σᵢ L(f(x⁽ⁱ⁾; θ), y⁽ⁱ⁾)` (§8.1.3: examples
//! drawn without replacement by shuffling once per epoch), any [`Optimizer`]
//! for the update, early stopping as alg. 7.1 (§7.8: keep the parameters of
//! the best validation loss, stop after `patience` epochs without
//! improvement).
//!
//! # Determinism
//!
//! Epoch `e`'s order is a shuffle (rand's `SliceRandom`) drawn from
//! `ChaCha8Rng::seed_from_u64(seed)` on stream `e`, so it depends on
//! `(seed, e)` only: no generator state needs saving, and a run stopped after
//! epoch `k` and resumed from its [`TrainState`] makes the same steps in the
//! same order, bit for bit. Wall times are the one thing that differs.
//!
//! The learning-rate [`Schedule`] counts steps (minibatches), not epochs.
//!
//! The loop itself is the one minibatch [`Driver`](crate::train::Driver)
//! every training method runs through; [`Trainer`] keeps its epoch-based
//! interface and [`TrainState`] (the driver's sampling with a short last
//! minibatch per epoch, the optimizer as a
//! [`FirstOrder`](crate::train::FirstOrder) method), with the same iterates
//! as before the driver, bit for bit.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::average::{Averager, Averaging};
use super::clip::Clip;
use super::optimizer::Optimizer;
use super::schedule::Schedule;
use crate::solver::Error;
use crate::train::{
    Best as DriverBest, Driver, EvalEvery, FirstOrder, Named, Record, StopReason, TrainingState,
};

/// An objective that is a mean over examples and can be evaluated on a
/// minibatch: what the training loop needs (networks implement it).
pub trait MinibatchObjective {
    /// Number of parameters `θ`.
    fn n_params(&self) -> usize;

    /// Number of training examples `m`.
    fn n_examples(&self) -> usize;

    /// The mean loss over the examples `batch` (indices `< n_examples()`),
    /// with its gradient written into `grad` (`n_params()` entries):
    /// `(1/|B|) Σ_{i∈B} L_i(θ)` and `(1/|B|) Σ_{i∈B} ∇L_i(θ)`.
    fn value_grad_batch(&self, params: &[f64], batch: &[usize], grad: &mut [f64]) -> f64;

    /// Loss (and accuracy, for classifiers) on held-out data at `params`;
    /// `None` (the default) when there is none, which turns early stopping off.
    fn held_out(&self, params: &[f64]) -> Option<Metrics> {
        let _ = params;
        None
    }
}

/// A loss and, for classifiers, an accuracy in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean loss.
    #[serde(with = "crate::solver::float_serde")]
    pub loss: f64,
    /// Fraction classified correctly, if the task is classification.
    pub accuracy: Option<f64>,
}

/// One epoch of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch, from 1.
    pub epoch: u64,
    /// Mean of the minibatch losses over the epoch (at the parameters each
    /// minibatch saw).
    #[serde(with = "crate::solver::float_serde")]
    pub train_loss: f64,
    /// Held-out metrics after the epoch (at the average when averaging).
    pub held_out: Option<Metrics>,
    /// The learning rate of the epoch's last step.
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
    /// Wall time since the start of training, over resumed segments.
    #[serde(with = "crate::solver::float_serde")]
    pub seconds: f64,
}

impl EpochRecord {
    /// Writes `history` as CSV to `path`: `epoch,train_loss,val_loss,
    /// val_accuracy,lr,seconds`, one row per record (the held-out columns
    /// empty without held-out data).
    pub fn write_csv(path: &Path, history: &[EpochRecord]) -> std::io::Result<()> {
        let mut w = csv::Writer::from_path(path)?;
        w.write_record([
            "epoch",
            "train_loss",
            "val_loss",
            "val_accuracy",
            "lr",
            "seconds",
        ])?;
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:e}"));
        for r in history {
            w.write_record([
                r.epoch.to_string(),
                format!("{:e}", r.train_loss),
                opt(r.held_out.map(|m| m.loss)),
                opt(r.held_out.and_then(|m| m.accuracy)),
                format!("{:e}", r.lr),
                format!("{:.6}", r.seconds),
            ])?;
        }
        w.flush()
    }
}

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainStop {
    /// All epochs ran.
    Epochs,
    /// `patience` epochs without a better held-out loss (GBC alg. 7.1).
    EarlyStopping,
    /// A minibatch loss or gradient was NaN or infinite.
    NonFinite,
}

/// The best held-out epoch so far (GBC alg. 7.1's `θ*`, `i*`, `v`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// The epoch, from 1.
    pub epoch: u64,
    /// Its held-out loss.
    #[serde(with = "crate::solver::float_serde")]
    pub loss: f64,
    /// The parameters after it.
    #[serde(with = "crate::solver::float_serde::vec")]
    pub params: Vec<f64>,
}

/// Everything a run needs to continue: parameters, optimizer state, counters,
/// history. Serialize it ([`save`](TrainState::save)) after any epoch and
/// [`Trainer::resume`] from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState<O> {
    /// The current parameters `θ` (the last iterate, not the average).
    #[serde(with = "crate::solver::float_serde::vec")]
    pub params: Vec<f64>,
    /// The optimizer with its state.
    pub optimizer: O,
    /// Epochs completed.
    pub epoch: u64,
    /// Steps (minibatches) taken: the schedule's `k`.
    pub step: u64,
    /// The base learning rate `ε₀`.
    #[serde(with = "crate::solver::float_serde")]
    pub eps0: f64,
    /// The iterate average, if kept.
    pub averager: Option<Averager>,
    /// The best held-out epoch.
    pub best: Option<Best>,
    /// Epochs since the best one.
    pub since_best: u64,
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
    /// Set once training has ended.
    pub stopped: Option<TrainStop>,
}

impl<O> TrainState<O> {
    /// The parameters to use: those of the best held-out epoch when there is
    /// held-out data (GBC alg. 7.1), else the average when averaging, else `θ`.
    pub fn best_params(&self) -> &[f64] {
        if let Some(b) = &self.best {
            &b.params
        } else if let Some(a) = self.averager.as_ref().filter(|a| a.count() > 0) {
            a.average()
        } else {
            &self.params
        }
    }

    /// Writes the state as JSON to `path` (a checkpoint).
    pub fn save(&self, path: &Path) -> std::io::Result<()>
    where
        O: Serialize,
    {
        let json = serde_json::to_string(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json)
    }

    /// Reads a checkpoint written by [`save`](TrainState::save).
    pub fn load(path: &Path) -> std::io::Result<Self>
    where
        O: DeserializeOwned,
    {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }

    /// Writes the history as CSV: `epoch,train_loss,val_loss,val_accuracy,lr,seconds`
    /// (empty fields where there is no held-out data or accuracy).
    pub fn write_history_csv(&self, path: &Path) -> std::io::Result<()> {
        EpochRecord::write_csv(path, &self.history)
    }
}

/// The training loop's options and optimizer.
///
/// ```
/// use hesse::first_order::{Momentum, MinibatchObjective, Trainer};
/// // Mean of (θ − yᵢ)²/2 over y = 0, 1, ..., 9: the minimizer is 4.5.
/// struct Mean;
/// impl MinibatchObjective for Mean {
///     fn n_params(&self) -> usize { 1 }
///     fn n_examples(&self) -> usize { 10 }
///     fn value_grad_batch(&self, p: &[f64], batch: &[usize], g: &mut [f64]) -> f64 {
///         let m = batch.len() as f64;
///         g[0] = batch.iter().map(|&i| p[0] - i as f64).sum::<f64>() / m;
///         batch.iter().map(|&i| (p[0] - i as f64).powi(2) / 2.0).sum::<f64>() / m
///     }
/// }
/// let state = Trainer::new(Momentum::new(0.1, 0.5))
///     .with_batch_size(10)
///     .with_epochs(100)
///     .train(&Mean, vec![0.0])
///     .unwrap();
/// assert!((state.params[0] - 4.5).abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct Trainer<O> {
    optimizer: O,
    batch_size: usize,
    epochs: u64,
    seed: u64,
    patience: Option<u64>,
    schedule: Schedule,
    clip: Option<Clip>,
    averaging: Option<Averaging>,
    progress: bool,
}

impl<O: Optimizer + Clone> Trainer<O> {
    /// A loop with `optimizer`, batch size 32, 10 epochs, seed 0, no early
    /// stopping, constant rate, no clipping or averaging, and a progress bar
    /// on stderr when stderr is a terminal.
    pub fn new(optimizer: O) -> Self {
        Trainer {
            optimizer,
            batch_size: 32,
            epochs: 10,
            seed: 0,
            patience: None,
            schedule: Schedule::Constant,
            clip: None,
            averaging: None,
            progress: true,
        }
    }

    /// Examples per minibatch (the last one of an epoch may be smaller).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Number of epochs.
    #[must_use]
    pub fn with_epochs(mut self, epochs: u64) -> Self {
        self.epochs = epochs;
        self
    }

    /// The shuffling seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Stops after `patience` epochs without a better held-out loss.
    #[must_use]
    pub fn with_patience(mut self, patience: u64) -> Self {
        self.patience = Some(patience);
        self
    }

    /// The learning-rate schedule, over steps.
    #[must_use]
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Clips each minibatch gradient.
    #[must_use]
    pub fn with_clip(mut self, clip: Clip) -> Self {
        self.clip = Some(clip);
        self
    }

    /// Keeps an average of the iterates, at which the held-out data is evaluated.
    #[must_use]
    pub fn with_averaging(mut self, averaging: Averaging) -> Self {
        self.averaging = Some(averaging);
        self
    }

    /// Whether to show a progress bar (only ever on a terminal). Default on.
    #[must_use]
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Checks the options against `objective` and makes the state at `params0`.
    pub fn start<P: MinibatchObjective + ?Sized>(
        &self,
        objective: &P,
        params0: Vec<f64>,
    ) -> Result<TrainState<O>, Error> {
        self.validate(objective)?;
        crate::solver::check_start(&params0, objective.n_params())?;
        let mut optimizer = self.optimizer.clone();
        optimizer.reset();
        Ok(TrainState {
            params: params0,
            eps0: optimizer.learning_rate(),
            optimizer,
            epoch: 0,
            step: 0,
            averager: self.averaging.map(Averager::new),
            best: None,
            since_best: 0,
            history: Vec::new(),
            stopped: None,
        })
    }

    fn validate<P: MinibatchObjective + ?Sized>(&self, objective: &P) -> Result<(), Error> {
        self.optimizer.validate()?;
        self.schedule.validate()?;
        if let Some(c) = &self.clip {
            c.validate()?;
        }
        if let Some(a) = self.averaging {
            Averager::new(a).validate()?;
        }
        let m = objective.n_examples();
        if self.batch_size == 0 || self.batch_size > m {
            return Err(Error::InvalidOption {
                name: "batch",
                value: self.batch_size.to_string(),
                expected: if m == 0 {
                    "the objective has no examples"
                } else {
                    "must be >= 1 and <= the number of training examples"
                },
            });
        }
        if self.epochs == 0 {
            return Err(Error::invalid_option("epochs", 0, "must be >= 1"));
        }
        Ok(())
    }

    /// Trains from `params0` for all epochs (or until early stopping).
    pub fn train<P: MinibatchObjective + ?Sized>(
        &self,
        objective: &P,
        params0: Vec<f64>,
    ) -> Result<TrainState<O>, Error> {
        let state = self.start(objective, params0)?;
        self.resume(objective, state)
    }

    /// Continues `state` to the end.
    pub fn resume<P: MinibatchObjective + ?Sized>(
        &self,
        objective: &P,
        mut state: TrainState<O>,
    ) -> Result<TrainState<O>, Error> {
        self.run_until(objective, &mut state, self.epochs)?;
        Ok(state)
    }

    /// Runs epochs until `state.epoch == until` (at most the trainer's
    /// epochs) or training stops; a checkpoint can be saved in between.
    ///
    /// The loop is the [`Driver`]'s, with this trainer's sampling (a short
    /// last minibatch per epoch) and the optimizer as a [`FirstOrder`] method.
    pub fn run_until<P: MinibatchObjective + ?Sized>(
        &self,
        objective: &P,
        state: &mut TrainState<O>,
        until: u64,
    ) -> Result<(), Error> {
        self.validate(objective)?;
        crate::solver::check_start(&state.params, objective.n_params())?;
        let until = until.min(self.epochs);
        let driver = self.driver().with_max_epochs(until);
        let per_epoch = objective.n_examples().div_ceil(self.batch_size) as u64;
        let mut run = self.to_driver_state(state, per_epoch);
        driver.run(objective, &mut run, &mut |_| true)?;
        self.write_back(state, run);
        Ok(())
    }

    /// The driver with this trainer's sampling, evaluation and patience.
    fn driver(&self) -> Driver {
        let mut d = Driver::new()
            .with_batch_size(self.batch_size)
            .with_seed(self.seed)
            .with_drop_last(false)
            .with_eval_every(EvalEvery::Epoch)
            .with_progress(self.progress);
        if let Some(p) = self.patience {
            d = d.with_patience(p);
        }
        d
    }

    fn method(&self, optimizer: O) -> FirstOrder<O> {
        let mut m = FirstOrder::new(optimizer).with_schedule(self.schedule);
        if let Some(c) = self.clip {
            m = m.with_clip(c);
        }
        if let Some(a) = self.averaging {
            m = m.with_averaging(a);
        }
        m
    }

    fn to_driver_state(&self, s: &TrainState<O>, per_epoch: u64) -> TrainingState<FirstOrder<O>> {
        let method = self
            .method(s.optimizer.clone())
            .resumed(s.eps0, s.step, s.averager.clone());
        let mut run = TrainingState::new(s.params.clone(), method);
        run.iteration = s.step;
        run.epoch = s.epoch;
        run.best = s.best.as_ref().map(|b| DriverBest {
            iteration: b.epoch * per_epoch,
            epoch: b.epoch,
            loss: b.loss,
            params: b.params.clone(),
        });
        run.since_best = s.since_best;
        run.history = s
            .history
            .iter()
            .map(|r| Record {
                iteration: r.epoch * per_epoch,
                epoch: r.epoch,
                train_loss: r.train_loss,
                held_out: r.held_out,
                values: vec![Named {
                    name: "lr".into(),
                    value: r.lr,
                }],
                seconds: r.seconds,
            })
            .collect();
        run.stopped = s.stopped.map(|t| match t {
            TrainStop::Epochs => StopReason::MaxEpochs,
            TrainStop::EarlyStopping => StopReason::EarlyStopping,
            TrainStop::NonFinite => StopReason::NonFinite,
        });
        run.seconds = s.history.last().map_or(0.0, |r| r.seconds);
        run
    }

    fn write_back(&self, s: &mut TrainState<O>, run: TrainingState<FirstOrder<O>>) {
        let (optimizer, eps0, step, averager) = run.method.into_parts();
        s.params = run.x;
        s.optimizer = optimizer;
        s.eps0 = eps0;
        s.step = step;
        s.averager = averager;
        s.epoch = run.epoch;
        s.best = run.best.map(|b| Best {
            epoch: b.epoch,
            loss: b.loss,
            params: b.params,
        });
        s.since_best = run.since_best;
        s.history = run
            .history
            .into_iter()
            .map(|r| EpochRecord {
                epoch: r.epoch,
                train_loss: r.train_loss,
                held_out: r.held_out,
                lr: r.get("lr").unwrap_or(f64::NAN),
                seconds: r.seconds,
            })
            .collect();
        s.stopped = match run.stopped {
            Some(StopReason::EarlyStopping) => Some(TrainStop::EarlyStopping),
            Some(StopReason::NonFinite) => Some(TrainStop::NonFinite),
            _ if s.epoch >= self.epochs => Some(TrainStop::Epochs),
            _ => None,
        };
    }
}
