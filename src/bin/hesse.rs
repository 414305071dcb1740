//! `hesse`: the command-line tool.
//!
//! - `hesse minimize EXPR --start x=-1.2,y=1 [--method bfgs] [--gtol G] [--ftol F] [--xtol X]
//!   [--max-iter N] [--max-evals N] [--time-limit S] [--trace] [--json]`
//!   (first-order baselines: `--method sgd|momentum|nesterov|adagrad|rmsprop|rmsprop-nesterov|adam|adadelta`
//!   with `--lr --momentum --rho --beta1 --beta2 --eps --schedule --clip-norm --clip-value --average`)
//! - `hesse compare [--gtol G] [--max-iter N] [--json]`
//! - `hesse train --data digits|spirals|teacher|mnist|mnist:DIR --layers 64,32,10 --activation tanh
//!   --loss softmax-ce --optimizer adam --lr 0.001 --batch 128 --epochs 20 --seed 0 [--out DIR]
//!   [--task autoencoder] [--json]`
//! - `hesse fit [MODEL] --data FILE [--start 1|2|b1=..,b2=..] [--response EXPR] [--json]`
//!
//! With `--json` each command prints one JSON object on stdout; non-finite
//! numbers are written as `null` (JSON has no NaN). Bad input (a parse error,
//! a missing start value, an unknown method, an invalid option) prints
//! `error: ...` on stderr and exits with status 2; a method that ran but did
//! not converge exits 0 with `"converged": false`. Ctrl-C during `minimize`,
//! `compare`, `fit` or `train` stops the run at the end of the current iteration,
//! prints the report of the run so far (termination `user_stop`) and exits
//! 130; a second Ctrl-C ends the process at once.

// The submodules live in src/bin/hesse/ (a crate root finds its modules
// beside itself, hence the paths).
#[path = "hesse/applies.rs"]
mod applies;
#[path = "hesse/baselines.rs"]
mod baselines;
#[path = "hesse/compare.rs"]
mod compare;
#[path = "hesse/fit.rs"]
mod fit;
#[path = "hesse/interrupt.rs"]
mod interrupt;
#[path = "hesse/json.rs"]
mod json;
#[path = "hesse/methods.rs"]
mod methods;
#[path = "hesse/minimize.rs"]
mod minimize;
#[path = "hesse/out.rs"]
mod out;
#[path = "hesse/summary.rs"]
mod summary;
#[path = "hesse/train.rs"]
mod train;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Smooth numerical optimization, centred on second-order methods.
#[derive(Debug, Parser)]
#[command(name = "hesse", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Minimize(minimize::MinimizeArgs),
    Compare(compare::CompareArgs),
    Fit(fit::FitArgs),
    Train(train::TrainArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    interrupt::install();
    let result = match &cli.command {
        Command::Minimize(args) => minimize::run(args).map_err(|e| e.to_string()),
        Command::Compare(args) => compare::run(args).map_err(|e| e.to_string()),
        Command::Fit(args) => fit::run(args).map_err(|e| e.to_string()),
        Command::Train(args) => train::run(args).map_err(|e| e.to_string()),
    };
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`hesse compare | head`) is not an error worth a panic.
            let _ = writeln!(stdout, "{}", out.trim_end());
            let _ = stdout.flush();
            if interrupt::interrupted() {
                eprintln!("interrupted (Ctrl-C): the report above is of the run so far");
                return ExitCode::from(130);
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
