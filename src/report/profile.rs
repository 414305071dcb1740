//! Performance profiles (Dolan & Moré 2002) and data profiles (Moré & Wild
//! 2009): how a set of methods compares over a set of problems, in one curve
//! per method.
//!
//! Both start from a table of costs `t[p][s]`: what method `s` spent to solve
//! problem `p`, `None` when it did not solve it.
//!
//! - The **performance profile** of method `s` is the fraction of problems it
//!   solves within a factor `τ` of the best method on that problem:
//!   `ρₛ(τ) = |{p : t[p][s] ≤ τ · minₛ' t[p][s']}| / |P|` (Dolan & Moré 2002,
//!   eq. 1-2). `ρₛ(1)` is how often `s` wins (ties count for every tied
//!   method); `ρₛ(∞)` is how often it solves at all.
//! - The **data profile** of method `s` is the fraction of problems it solves
//!   within a budget of `α` simplex gradients, `n_p + 1` evaluations each:
//!   `dₛ(α) = |{p : t[p][s] / (n_p + 1) ≤ α}| / |P|` (Moré & Wild 2009,
//!   eq. 2.7). It does not depend on the other methods, so adding one does not
//!   change the others' curves, unlike the performance profile.

use std::fmt;

/// Why a profile cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// The cost table has rows of different lengths.
    #[error("problem {problem} has {got} costs but there are {methods} methods")]
    Ragged {
        /// The row index.
        problem: usize,
        /// Costs in that row.
        got: usize,
        /// Methods named.
        methods: usize,
    },
    /// A cost is negative, zero or not finite.
    #[error("cost of method {method} on problem {problem} is {cost}: costs must be finite and > 0")]
    BadCost {
        /// The row index.
        problem: usize,
        /// The column index.
        method: usize,
        /// The offending cost.
        cost: f64,
    },
    /// The sizes for a data profile do not match the problems.
    #[error("{sizes} problem sizes given for {problems} problems")]
    Sizes {
        /// Sizes given.
        sizes: usize,
        /// Problems in the table.
        problems: usize,
    },
}

fn validate(costs: &[Vec<Option<f64>>], methods: usize) -> Result<(), ProfileError> {
    for (p, row) in costs.iter().enumerate() {
        if row.len() != methods {
            return Err(ProfileError::Ragged {
                problem: p,
                got: row.len(),
                methods,
            });
        }
        for (s, c) in row.iter().enumerate() {
            if let Some(c) = *c
                && !(c.is_finite() && c > 0.0)
            {
                return Err(ProfileError::BadCost {
                    problem: p,
                    method: s,
                    cost: c,
                });
            }
        }
    }
    Ok(())
}

/// A step function `x ↦ fraction of problems`, one per method: the sorted
/// abscissae at which a problem is added.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The methods, in the order of the cost table's columns.
    pub methods: Vec<String>,
    /// Per method, the sorted finite abscissae (ratios `τ` or budgets `α`) of
    /// the problems it solved.
    pub points: Vec<Vec<f64>>,
    /// The number of problems (the denominator).
    pub problems: usize,
}

impl Profile {
    fn new(methods: Vec<String>, mut points: Vec<Vec<f64>>, problems: usize) -> Self {
        for p in &mut points {
            p.sort_by(f64::total_cmp);
        }
        Profile {
            methods,
            points,
            problems,
        }
    }

    /// The profile of method `s` at `x`: the fraction of problems with
    /// abscissa `≤ x`.
    pub fn at(&self, s: usize, x: f64) -> f64 {
        if self.problems == 0 {
            return 0.0;
        }
        let count = self.points[s].partition_point(|&t| t <= x);
        count as f64 / self.problems as f64
    }

    /// The fraction of problems method `s` solves at all (the profile's
    /// limit at infinity).
    pub fn solved(&self, s: usize) -> f64 {
        self.at(s, f64::INFINITY)
    }

    /// The largest finite abscissa of any method (where the curves have all
    /// reached their limits), or 1 if no method solved anything.
    pub fn max_abscissa(&self) -> f64 {
        self.points
            .iter()
            .filter_map(|p| p.last().copied())
            .fold(1.0, f64::max)
    }

    /// The step function of method `s` as `(x, y)` corner points, from `x0`
    /// to `x1`, ready to draw.
    pub fn steps(&self, s: usize, x0: f64, x1: f64) -> Vec<(f64, f64)> {
        let mut out = vec![(x0, self.at(s, x0))];
        for &t in &self.points[s] {
            if t > x0 && t <= x1 {
                let below = out.last().map_or(0.0, |&(_, y)| y);
                out.push((t, below));
                out.push((t, self.at(s, t)));
            }
        }
        let last = out.last().map_or(0.0, |&(_, y)| y);
        out.push((x1, last));
        out
    }
}

/// Dolan & Moré (2002) performance profile from a cost table `costs[p][s]`
/// (`None` = not solved).
///
/// A problem no method solved counts in the denominator (each method's curve
/// stays below 1 by it), as Dolan & Moré define ρ over all of P.
///
/// ```
/// use hesse::report::performance_profile;
///
/// let costs = vec![
///     vec![Some(10.0), Some(20.0)],
///     vec![Some(30.0), Some(15.0)],
///     vec![None, Some(5.0)],
/// ];
/// let p = performance_profile(&["a".into(), "b".into()], &costs).unwrap();
/// assert_eq!(p.at(0, 1.0), 1.0 / 3.0); // a wins once
/// assert_eq!(p.at(1, 1.0), 2.0 / 3.0); // b wins twice
/// assert_eq!(p.at(0, 2.0), 2.0 / 3.0); // a within 2x of the best on two
/// assert_eq!(p.solved(0), 2.0 / 3.0);
/// ```
pub fn performance_profile(
    methods: &[String],
    costs: &[Vec<Option<f64>>],
) -> Result<Profile, ProfileError> {
    validate(costs, methods.len())?;
    let mut points = vec![Vec::new(); methods.len()];
    for row in costs {
        let best = row.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        if !best.is_finite() {
            continue;
        }
        for (s, c) in row.iter().enumerate() {
            if let Some(c) = c {
                points[s].push(c / best);
            }
        }
    }
    Ok(Profile::new(methods.to_vec(), points, costs.len()))
}

/// Moré & Wild (2009) data profile from a cost table `costs[p][s]` in
/// evaluations and the problems' dimensions `n[p]`: the abscissa is the
/// budget in simplex gradients, `cost / (n_p + 1)`.
///
/// ```
/// use hesse::report::data_profile;
///
/// let costs = vec![vec![Some(30.0)], vec![Some(9.0)], vec![None]];
/// let d = data_profile(&["a".into()], &costs, &[2, 2, 5]).unwrap();
/// assert_eq!(d.at(0, 3.0), 1.0 / 3.0); // 9 / 3 = 3 simplex gradients
/// assert_eq!(d.at(0, 10.0), 2.0 / 3.0);
/// ```
pub fn data_profile(
    methods: &[String],
    costs: &[Vec<Option<f64>>],
    n: &[usize],
) -> Result<Profile, ProfileError> {
    validate(costs, methods.len())?;
    if n.len() != costs.len() {
        return Err(ProfileError::Sizes {
            sizes: n.len(),
            problems: costs.len(),
        });
    }
    let mut points = vec![Vec::new(); methods.len()];
    for (row, &np) in costs.iter().zip(n) {
        for (s, c) in row.iter().enumerate() {
            if let Some(c) = c {
                points[s].push(c / (np as f64 + 1.0));
            }
        }
    }
    Ok(Profile::new(methods.to_vec(), points, costs.len()))
}

impl fmt::Display for Profile {
    /// A small table: per method, the profile at a few abscissae.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let xs = [1.0, 2.0, 4.0, 8.0, 16.0, f64::INFINITY];
        write!(out, "{:<20}", "method")?;
        for x in xs {
            if x.is_finite() {
                write!(out, " {:>7}", format!("≤{x}"))?;
            } else {
                write!(out, " {:>7}", "∞")?;
            }
        }
        writeln!(out)?;
        for (s, m) in self.methods.iter().enumerate() {
            write!(out, "{m:<20}")?;
            for x in xs {
                write!(out, " {:>7.3}", self.at(s, x))?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|i| format!("m{i}")).collect()
    }

    #[test]
    fn ties_count_for_every_tied_method() {
        let costs = vec![vec![Some(5.0), Some(5.0), Some(10.0)]];
        let p = performance_profile(&names(3), &costs).unwrap();
        assert_eq!(p.at(0, 1.0), 1.0);
        assert_eq!(p.at(1, 1.0), 1.0);
        assert_eq!(p.at(2, 1.0), 0.0);
        assert_eq!(p.at(2, 2.0), 1.0);
    }

    #[test]
    fn unsolved_problems_stay_in_the_denominator() {
        let costs = vec![vec![None, None], vec![Some(1.0), None]];
        let p = performance_profile(&names(2), &costs).unwrap();
        assert_eq!(p.solved(0), 0.5);
        assert_eq!(p.solved(1), 0.0);
        assert_eq!(p.max_abscissa(), 1.0);
    }

    #[test]
    fn profiles_are_monotone_step_functions() {
        let costs = vec![
            vec![Some(1.0), Some(3.0)],
            vec![Some(4.0), Some(2.0)],
            vec![Some(7.0), None],
        ];
        let p = performance_profile(&names(2), &costs).unwrap();
        let steps = p.steps(0, 1.0, 4.0);
        assert!(
            steps
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        assert_eq!(steps.first(), Some(&(1.0, 2.0 / 3.0)));
        assert_eq!(steps.last(), Some(&(4.0, 1.0)));
    }

    #[test]
    fn bad_tables_are_errors() {
        assert!(matches!(
            performance_profile(&names(2), &[vec![Some(1.0)]]),
            Err(ProfileError::Ragged { .. })
        ));
        assert!(matches!(
            performance_profile(&names(1), &[vec![Some(0.0)]]),
            Err(ProfileError::BadCost { .. })
        ));
        assert!(matches!(
            performance_profile(&names(1), &[vec![Some(f64::NAN)]]),
            Err(ProfileError::BadCost { .. })
        ));
        assert!(matches!(
            data_profile(&names(1), &[vec![Some(1.0)]], &[]),
            Err(ProfileError::Sizes { .. })
        ));
    }
}
