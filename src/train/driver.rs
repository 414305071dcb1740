//! The driver's loop, its options and its serializable state.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Method, Minibatch, Named, Sampler, StepRecord};
use crate::first_order::{Metrics, MinibatchObjective};
use crate::solver::{Error, check_start};

/// When the driver evaluates the held-out data (and records the history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalEvery {
    /// After the last minibatch of each epoch (the default).
    Epoch,
    /// After every `k ≥ 1` iterations.
    Iterations(u64),
    /// Never: no history, no best iterate, no early stopping.
    Never,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The iteration limit ([`Driver::with_max_iter`]).
    MaxIterations,
    /// The epoch limit ([`Driver::with_max_epochs`]).
    MaxEpochs,
    /// The time limit ([`Driver::with_time_limit`]).
    TimeLimit,
    /// `patience` evaluations without a better held-out loss (GBC alg. 7.1).
    EarlyStopping,
    /// A minibatch loss (or gradient) was NaN or infinite.
    NonFinite,
    /// The callback returned `false`.
    Callback,
    /// The method ended on its own ([`Method::finished`]): a full-batch
    /// minimizer converged or its line search failed.
    Finished,
}

impl StopReason {
    /// Whether a run stopped for this reason can go on under other limits
    /// (the limits and the callback); early stopping and a non-finite loss
    /// are final.
    pub fn resumable(self) -> bool {
        !matches!(
            self,
            StopReason::EarlyStopping | StopReason::NonFinite | StopReason::Finished
        )
    }
}

/// One evaluation point of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Iterations done.
    pub iteration: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// Mean minibatch loss since the previous record, weighted by batch size
    /// (each at the point its gradient was taken).
    #[serde(with = "crate::solver::float_serde")]
    pub train_loss: f64,
    /// Held-out metrics at the evaluation point.
    pub held_out: Option<Metrics>,
    /// The last step's named values.
    pub values: Vec<Named>,
    /// Training time so far, over resumed segments.
    #[serde(with = "crate::solver::float_serde")]
    pub seconds: f64,
}

impl Record {
    /// The value named `name`, if the last step reported it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.iter().find(|v| v.name == name).map(|v| v.value)
    }
}

/// The best held-out evaluation so far (GBC alg. 7.1's `θ*`, `i*`, `v`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// Iterations done at it.
    pub iteration: u64,
    /// Epochs completed at it.
    pub epoch: u64,
    /// Its held-out loss.
    #[serde(with = "crate::solver::float_serde")]
    pub loss: f64,
    /// The parameters evaluated.
    #[serde(with = "crate::solver::float_serde::vec")]
    pub params: Vec<f64>,
}

/// Everything a run needs to go on: parameters, the method with its state,
/// the position in the sampling, the best iterate, the history. Serialize
/// it ([`save`](Self::save)) after any iteration and [`Driver::run`] it
/// again: the same iterates, bit for bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingState<M> {
    /// The current parameters.
    #[serde(with = "crate::solver::float_serde::vec")]
    pub x: Vec<f64>,
    /// The method and its state.
    pub method: M,
    /// Iterations done.
    pub iteration: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// Position in the current epoch's order.
    pub cursor: usize,
    /// The best held-out evaluation.
    pub best: Option<Best>,
    /// Evaluations since the best one.
    pub since_best: u64,
    /// One record per evaluation.
    pub history: Vec<Record>,
    /// Set when the run ended.
    pub stopped: Option<StopReason>,
    /// Training time, over resumed segments.
    #[serde(with = "crate::solver::float_serde")]
    pub seconds: f64,
    /// Σ loss·|batch| and Σ |batch| since the last record.
    #[serde(with = "crate::solver::float_serde")]
    loss_sum: f64,
    loss_count: u64,
}

impl<M> TrainingState<M> {
    /// A state at `x0` before the first iteration.
    pub fn new(x0: Vec<f64>, method: M) -> Self {
        TrainingState {
            x: x0,
            method,
            iteration: 0,
            epoch: 0,
            cursor: 0,
            best: None,
            since_best: 0,
            history: Vec::new(),
            stopped: None,
            seconds: 0.0,
            loss_sum: 0.0,
            loss_count: 0,
        }
    }

    /// The parameters to use: the best held-out iterate if any, else `x`.
    pub fn best_params(&self) -> &[f64] {
        self.best.as_ref().map_or(&self.x, |b| &b.params)
    }

    /// Writes the state as JSON to `path` (a checkpoint).
    pub fn save(&self, path: &Path) -> std::io::Result<()>
    where
        M: Serialize,
    {
        let json = serde_json::to_string(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json)
    }

    /// Reads a checkpoint written by [`save`](Self::save).
    pub fn load(path: &Path) -> std::io::Result<Self>
    where
        M: DeserializeOwned,
    {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }

    /// Writes the history as CSV: `iteration,epoch,train_loss,val_loss,
    /// val_accuracy,seconds` and one column per named value (empty where a
    /// record has none).
    pub fn write_history_csv(&self, path: &Path) -> std::io::Result<()> {
        let mut names: Vec<&str> = Vec::new();
        for r in &self.history {
            for v in &r.values {
                if !names.contains(&v.name.as_str()) {
                    names.push(&v.name);
                }
            }
        }
        let mut w = csv::Writer::from_path(path)?;
        let mut header = vec![
            "iteration",
            "epoch",
            "train_loss",
            "val_loss",
            "val_accuracy",
            "seconds",
        ];
        header.extend(names.iter().copied());
        w.write_record(&header)?;
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:e}"));
        for r in &self.history {
            let mut row = vec![
                r.iteration.to_string(),
                r.epoch.to_string(),
                format!("{:e}", r.train_loss),
                opt(r.held_out.map(|m| m.loss)),
                opt(r.held_out.and_then(|m| m.accuracy)),
                format!("{:.6}", r.seconds),
            ];
            row.extend(names.iter().map(|n| opt(r.get(n))));
            w.write_record(&row)?;
        }
        w.flush()
    }
}

/// What the callback sees after each iteration.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'s> {
    /// Iterations done (the one just made included), from 1.
    pub iteration: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// The parameters after the step.
    pub x: &'s [f64],
    /// The minibatch of the step.
    pub batch: &'s [usize],
    /// Its curvature sub-batch.
    pub curvature: &'s [usize],
    /// What the method reported.
    pub record: &'s StepRecord,
    /// The record pushed to the history after this iteration, if any.
    pub evaluated: Option<&'s Record>,
    /// Training time so far.
    pub seconds: f64,
}

/// The minibatch training driver: sampling, curvature sub-batch, held-out
/// evaluation, best iterate, patience, limits, progress, callbacks (see the
/// [module docs](super)).
///
/// Defaults: batch 32, seed 0, the remainder of an epoch dropped
/// ([`Sampler`]), curvature sub-batch as the method chooses, held-out
/// evaluation after each epoch, no early stopping, no limits (give at least
/// one), a progress bar on stderr when it is a terminal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Driver {
    batch_size: usize,
    curvature_batch: Option<usize>,
    seed: u64,
    drop_last: bool,
    max_iter: Option<u64>,
    max_epochs: Option<u64>,
    time_limit: Option<f64>,
    eval_every: EvalEvery,
    patience: Option<u64>,
    progress: bool,
}

impl Default for Driver {
    fn default() -> Self {
        Driver {
            batch_size: 32,
            curvature_batch: None,
            seed: 0,
            drop_last: true,
            max_iter: None,
            max_epochs: None,
            time_limit: None,
            eval_every: EvalEvery::Epoch,
            patience: None,
            progress: true,
        }
    }
}

impl Driver {
    /// The defaults (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Examples per minibatch, `1 ≤ batch ≤` the training examples.
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Examples in the curvature sub-batch (the first of each minibatch),
    /// `1 ≤ c ≤ batch`; default: the method's choice
    /// ([`Method::curvature_batch`]).
    #[must_use]
    pub fn with_curvature_batch(mut self, curvature_batch: usize) -> Self {
        self.curvature_batch = Some(curvature_batch);
        self
    }

    /// The seed of the sampling and of the steps' randomness.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether an epoch's remainder smaller than a batch is dropped (default
    /// `true`) or served as a short last minibatch.
    #[must_use]
    pub fn with_drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Stops after `max_iter` iterations.
    #[must_use]
    pub fn with_max_iter(mut self, max_iter: u64) -> Self {
        self.max_iter = Some(max_iter);
        self
    }

    /// Stops after `max_epochs` epochs.
    #[must_use]
    pub fn with_max_epochs(mut self, max_epochs: u64) -> Self {
        self.max_epochs = Some(max_epochs);
        self
    }

    /// Stops once `seconds` of training time have passed (checked after
    /// each iteration).
    #[must_use]
    pub fn with_time_limit(mut self, seconds: f64) -> Self {
        self.time_limit = Some(seconds);
        self
    }

    /// When the held-out data is evaluated (default [`EvalEvery::Epoch`]).
    #[must_use]
    pub fn with_eval_every(mut self, eval_every: EvalEvery) -> Self {
        self.eval_every = eval_every;
        self
    }

    /// Stops after `patience` evaluations without a better held-out loss.
    #[must_use]
    pub fn with_patience(mut self, patience: u64) -> Self {
        self.patience = Some(patience);
        self
    }

    /// Whether to show a progress bar (only ever on a terminal). Default on.
    #[must_use]
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// The sampler of this driver for `n` training examples: the minibatches
    /// every method sees.
    pub fn sampler(&self, n: usize) -> Sampler {
        Sampler::new(n, self.batch_size, self.seed, self.drop_last)
    }

    fn validate(&self, m: usize) -> Result<(), Error> {
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
        if let Some(c) = self.curvature_batch
            && (c == 0 || c > self.batch_size)
        {
            return Err(Error::invalid_option(
                "curvature_batch",
                c,
                "must be in 1..=batch",
            ));
        }
        if let Some(t) = self.time_limit
            && (t.is_nan() || t < 0.0)
        {
            return Err(Error::invalid_option("time_limit", t, "must be >= 0"));
        }
        if self.eval_every == EvalEvery::Iterations(0) {
            return Err(Error::invalid_option("eval_every", 0, "must be >= 1"));
        }
        if self.max_iter.is_none() && self.max_epochs.is_none() && self.time_limit.is_none() {
            return Err(Error::invalid_option(
                "max_iter",
                "none",
                "give an iteration, epoch or time limit",
            ));
        }
        Ok(())
    }

    /// Checks the options, starts `method` and makes the state at `x0`.
    pub fn start<P, M>(
        &self,
        problem: &P,
        mut method: M,
        x0: Vec<f64>,
    ) -> Result<TrainingState<M>, Error>
    where
        P: MinibatchObjective + ?Sized,
        M: Method<P>,
    {
        self.validate(problem.n_examples())?;
        check_start(&x0, problem.n_params())?;
        method.start(problem, &x0)?;
        Ok(TrainingState::new(x0, method))
    }

    /// Trains `method` from `x0` to the end.
    pub fn train<P, M>(
        &self,
        problem: &P,
        method: M,
        x0: Vec<f64>,
    ) -> Result<TrainingState<M>, Error>
    where
        P: MinibatchObjective + ?Sized,
        M: Method<P>,
    {
        let mut state = self.start(problem, method, x0)?;
        self.run(problem, &mut state, &mut |_| true)?;
        Ok(state)
    }

    /// Runs `state` until a limit, early stopping, a non-finite loss or the
    /// callback (`false` stops) ends it. A state stopped by a limit or the
    /// callback goes on under this driver's limits (a resumed checkpoint).
    pub fn run<P, M>(
        &self,
        problem: &P,
        state: &mut TrainingState<M>,
        on_step: &mut dyn FnMut(&Progress<'_>) -> bool,
    ) -> Result<(), Error>
    where
        P: MinibatchObjective + ?Sized,
        M: Method<P>,
    {
        let m = problem.n_examples();
        self.validate(m)?;
        check_start(&state.x, problem.n_params())?;
        if state.cursor >= m {
            // A position no run on these examples reaches (the cursor of an
            // epoch's next minibatch is below m): a checkpoint resumed on
            // other data would read an empty minibatch.
            return Err(Error::InvalidProblem(format!(
                "the training state is at example {} of epoch {}, past the {m} training \
                 examples of the objective: resume a checkpoint on the data it was saved with",
                state.cursor, state.epoch
            )));
        }
        if state.stopped.is_some_and(StopReason::resumable) {
            state.stopped = None;
        }
        let mut sampler = self.sampler(m);
        let started = Instant::now();
        let seconds_before = state.seconds;
        if state.stopped.is_none() {
            state.stopped = self.limit(state);
        }
        let bar = self.progress_bar(state, sampler.per_epoch() as u64);
        while state.stopped.is_none() {
            let iteration = state.iteration + 1;
            let seed = sampler.step_seed(iteration);
            let (batch, last) = sampler.batch(state.epoch, state.cursor);
            let c = self
                .curvature_batch
                .unwrap_or_else(|| state.method.curvature_batch(batch.len()))
                .clamp(1, batch.len());
            let mb = Minibatch {
                iteration,
                examples: batch,
                curvature: &batch[..c],
                seed,
            };
            let record = state.method.step(problem, &mut state.x, &mb)?;
            if !record.loss.is_finite() {
                state.stopped = Some(StopReason::NonFinite);
                break;
            }
            state.iteration = iteration;
            state.loss_sum += record.loss * batch.len() as f64;
            state.loss_count += batch.len() as u64;
            if last {
                state.epoch += 1;
                state.cursor = 0;
            } else {
                state.cursor += batch.len();
            }
            state.seconds = seconds_before + started.elapsed().as_secs_f64();
            let evaluate = match self.eval_every {
                EvalEvery::Epoch => last,
                EvalEvery::Iterations(k) => iteration.is_multiple_of(k),
                EvalEvery::Never => false,
            };
            if evaluate {
                self.evaluate(problem, state, &record);
            }
            bar.inc(1);
            let mut message = format!("epoch {} loss {:.4e}", state.epoch + 1, record.loss);
            for (name, v) in &record.values {
                message += &format!(" {name} {v:.2e}");
            }
            bar.set_message(message);
            let go_on = on_step(&Progress {
                iteration,
                epoch: state.epoch,
                x: &state.x,
                batch,
                curvature: mb.curvature,
                record: &record,
                evaluated: if evaluate { state.history.last() } else { None },
                seconds: state.seconds,
            });
            if state.stopped.is_none() {
                state.stopped = if !go_on {
                    Some(StopReason::Callback)
                } else if state.method.finished() {
                    Some(StopReason::Finished)
                } else {
                    self.limit(state)
                };
            }
        }
        bar.finish_and_clear();
        Ok(())
    }

    /// Held-out metrics, best iterate, patience, and the history record.
    fn evaluate<P, M>(&self, problem: &P, state: &mut TrainingState<M>, record: &StepRecord)
    where
        P: MinibatchObjective + ?Sized,
        M: Method<P>,
    {
        let eval_at = state.method.eval_point().unwrap_or(&state.x);
        let held_out = problem.held_out(eval_at);
        if let Some(h) = held_out {
            if state.best.as_ref().is_none_or(|b| h.loss < b.loss) {
                state.best = Some(Best {
                    iteration: state.iteration,
                    epoch: state.epoch,
                    loss: h.loss,
                    params: eval_at.to_vec(),
                });
                state.since_best = 0;
            } else {
                state.since_best += 1;
            }
        }
        state.history.push(Record {
            iteration: state.iteration,
            epoch: state.epoch,
            train_loss: state.loss_sum / state.loss_count as f64,
            held_out,
            values: record
                .values
                .iter()
                .map(|&(name, value)| Named {
                    name: name.to_string(),
                    value,
                })
                .collect(),
            seconds: state.seconds,
        });
        state.loss_sum = 0.0;
        state.loss_count = 0;
        if held_out.is_some() && self.patience.is_some_and(|p| state.since_best >= p) {
            state.stopped = Some(StopReason::EarlyStopping);
        }
    }

    /// The first limit `state` has reached, if any.
    fn limit<M>(&self, state: &TrainingState<M>) -> Option<StopReason> {
        if self.max_epochs.is_some_and(|e| state.epoch >= e) {
            Some(StopReason::MaxEpochs)
        } else if self.max_iter.is_some_and(|k| state.iteration >= k) {
            Some(StopReason::MaxIterations)
        } else if self.time_limit.is_some_and(|t| state.seconds >= t) {
            Some(StopReason::TimeLimit)
        } else {
            None
        }
    }

    fn progress_bar<M>(&self, state: &TrainingState<M>, per_epoch: u64) -> indicatif::ProgressBar {
        if !self.progress || !std::io::stderr().is_terminal() {
            return indicatif::ProgressBar::hidden();
        }
        let by_iter = self.max_iter.map(|k| k.saturating_sub(state.iteration));
        let by_epoch = self
            .max_epochs
            .map(|e| e.saturating_sub(state.epoch) * per_epoch);
        let total = match (by_iter, by_epoch) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(0),
        };
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps {per_sec} eta {eta} {msg}",
        ) {
            bar.set_style(style);
        }
        bar
    }
}
