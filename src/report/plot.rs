//! SVG plots with plotters: convergence curves (f − f* on a log scale against
//! evaluations or time) and profile step curves, each with labelled axes and
//! a legend.

use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::{Cost, Profile, RunRecord};

/// Why a plot could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {message}")]
pub struct PlotError {
    /// The file.
    pub path: String,
    /// What the drawing backend said.
    pub message: String,
}

/// One labelled curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend entry.
    pub label: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// The smallest `f − f*` drawn: values at or below it (a run that reached
/// f* to rounding) are drawn at this floor.
const GAP_FLOOR: f64 = 1e-16;

/// At most this many points per convergence curve: longer histories are
/// thinned to every k-th record (the last always kept), which an SVG of this
/// size cannot tell apart from the whole.
const MAX_POINTS: usize = 1500;

/// Per run with a history, the curve of `max(f − f*, 10⁻¹⁶)` against the
/// cost so far (`cost` applied to each iteration's evaluation counts, or its
/// wall time), thinned to at most 1500 points. Runs without a history give
/// no curve.
pub fn convergence_series(runs: &[&RunRecord], cost: Cost) -> Vec<Series> {
    runs.iter()
        .filter(|r| !r.history.is_empty())
        .map(|r| Series {
            label: r.method.clone(),
            points: r
                .history
                .iter()
                .enumerate()
                .filter(|&(i, _)| {
                    let k = r.history.len().div_ceil(MAX_POINTS);
                    i % k == 0 || i + 1 == r.history.len()
                })
                .map(|(_, h)| h)
                .filter(|h| h.f.is_finite())
                .map(|h| {
                    let x = match cost {
                        Cost::Evaluations(w) => w.cost(&h.evals, r.n),
                        Cost::Seconds => h.seconds,
                    };
                    (x, (h.f - r.f_star).max(GAP_FLOOR))
                })
                .collect(),
        })
        .collect()
}

fn err(path: &Path, e: impl std::fmt::Display) -> PlotError {
    PlotError {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Draws `series` as lines to an SVG file, each axis linear or on a log
/// scale (`log_x`, `log_y`; non-positive values are then left out).
pub fn plot_lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_x: bool,
    log_y: bool,
) -> Result<(), PlotError> {
    let keep = |&&(x, y): &&(f64, f64)| {
        x.is_finite() && y.is_finite() && (!log_x || x > 0.0) && (!log_y || y > 0.0)
    };
    let all = || series.iter().flat_map(|s| s.points.iter().filter(keep));
    let (x0, x1) = widen(bounds(all().map(|p| p.0)), log_x);
    let (y0, y1) = widen(bounds(all().map(|p| p.1)), log_y);
    match (log_x, log_y) {
        (false, false) => {
            let axes = (x0..x1, y0..y1);
            draw(
                path,
                title,
                x_label,
                y_label,
                series,
                axes,
                (log_x, log_y),
                keep,
            )
        }
        (true, false) => {
            let axes = ((x0..x1).log_scale(), y0..y1);
            draw(
                path,
                title,
                x_label,
                y_label,
                series,
                axes,
                (log_x, log_y),
                keep,
            )
        }
        (false, true) => {
            let axes = (x0..x1, (y0..y1).log_scale());
            draw(
                path,
                title,
                x_label,
                y_label,
                series,
                axes,
                (log_x, log_y),
                keep,
            )
        }
        (true, true) => {
            let axes = ((x0..x1).log_scale(), (y0..y1).log_scale());
            draw(
                path,
                title,
                x_label,
                y_label,
                series,
                axes,
                (log_x, log_y),
                keep,
            )
        }
    }
}

/// An axis range that is not empty (and positive on a log scale).
fn widen((mut lo, mut hi): (f64, f64), log: bool) -> (f64, f64) {
    if log {
        lo = lo.max(f64::MIN_POSITIVE);
        hi = hi.max(lo);
        if lo == hi {
            lo /= 10.0;
            hi *= 10.0;
        }
    } else if lo == hi {
        lo -= 0.5;
        hi += 0.5;
    }
    (lo, hi)
}

/// Draws a [`Profile`] as step curves to an SVG file: `x` from 1 to the
/// largest abscissa (plotted as log₂ when `log2_x`, as Dolan & Moré draw
/// performance profiles), `y` the fraction of problems in [0, 1].
pub fn plot_profile(
    path: &Path,
    title: &str,
    x_label: &str,
    profile: &Profile,
    log2_x: bool,
) -> Result<(), PlotError> {
    let x0 = if log2_x {
        1.0
    } else {
        profile
            .points
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(1.0)
    };
    let x1 = (profile.max_abscissa() * 1.1).max(x0 * 2.0);
    let series: Vec<Series> = (0..profile.methods.len())
        .map(|s| Series {
            label: profile.methods[s].clone(),
            points: profile
                .steps(s, x0, x1)
                .into_iter()
                .map(|(x, y)| (if log2_x { x.log2() } else { x }, y))
                .collect(),
        })
        .collect();
    let (a, b) = if log2_x {
        (x0.log2(), x1.log2())
    } else {
        (x0, x1)
    };
    let y_label = format!("fraction of {} problems", profile.problems);
    draw(
        path,
        title,
        x_label,
        &y_label,
        &series,
        (a..b, 0.0..1.02),
        (false, false),
        |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite(),
    )
}

/// A tick label: powers of ten on log axes, short decimals otherwise.
fn tick(v: f64, log: bool) -> String {
    if log {
        format!("{v:.0e}")
    } else if v == v.round() && v.abs() < 1e6 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) }
}

#[allow(clippy::too_many_arguments)]
fn draw<X, Y>(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    (x, y): (X, Y),
    (log_x, log_y): (bool, bool),
    keep: impl Fn(&&(f64, f64)) -> bool,
) -> Result<(), PlotError>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(|e| err(path, e))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&|v| tick(*v, log_x))
        .y_label_formatter(&|v| tick(*v, log_y))
        .draw()
        .map_err(|e| err(path, e))?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                s.points.iter().filter(&keep).copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| err(path, e))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| err(path, e))?;
    root.present().map_err(|e| err(path, e))?;
    Ok(())
}
