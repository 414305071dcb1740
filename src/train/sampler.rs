//! The one sampling scheme: a seeded shuffle per epoch, read with a cursor.
//!
//! Epoch `e`'s order is a shuffle of `0..m` (rand's `SliceRandom`) drawn
//! from `ChaCha8Rng::seed_from_u64(seed)` on stream `e`, so it depends on
//! `(seed, e)` only; minibatches are its consecutive runs of `batch`
//! examples (GBC §8.1.3: sampling without replacement by shuffling once per
//! epoch). A run's position is `(epoch, cursor)`, two integers: no generator
//! state is saved in a checkpoint, and a resumed run reads the same
//! minibatches.
//!
//! Why this scheme, and not a fresh shuffle per iteration (what
//! Hessian-free and natural-gradient training did before): every example is
//! seen once per epoch, so the minibatch losses average to the training
//! loss over an epoch and no example waits by chance; it is the scheme of
//! the first-order literature and of K-FAC's reference implementations, and
//! the cheapest (one shuffle per epoch, not one per iteration).
//!
//! When `batch` does not divide `m`, the remainder of an epoch is either
//! dropped (`drop_last`, PyTorch's name; the default of the [`Driver`]:
//! curvature methods fit a model to each minibatch and a small last batch
//! gives a poor one) or served as a shorter last minibatch (the
//! epoch-based [`Trainer`](crate::first_order::Trainer)'s behaviour).
//!
//! [`Driver`]: super::Driver

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Minibatches of a seeded per-epoch shuffle (see the [module docs](self)).
///
/// ```
/// use hesse::train::Sampler;
/// let mut s = Sampler::new(10, 4, 7, true);
/// let (b0, end0) = s.batch(0, 0);
/// assert_eq!((b0.len(), end0), (4, false));
/// let (b1, end1) = s.batch(0, 4);
/// assert_eq!((b1.len(), end1), (4, true)); // the last 2 examples are dropped
/// let mut all: Vec<usize> = s.order(0).to_vec();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>());
/// ```
#[derive(Debug, Clone)]
pub struct Sampler {
    n: usize,
    batch: usize,
    seed: u64,
    drop_last: bool,
    order: Vec<usize>,
    epoch: Option<u64>,
}

impl Sampler {
    /// Minibatches of `batch` (`1 ≤ batch ≤ n`) of `n` examples.
    pub fn new(n: usize, batch: usize, seed: u64, drop_last: bool) -> Self {
        Sampler {
            n,
            batch: batch.clamp(1, n.max(1)),
            seed,
            drop_last,
            order: Vec::new(),
            epoch: None,
        }
    }

    /// Minibatches per epoch.
    pub fn per_epoch(&self) -> usize {
        if self.drop_last {
            self.n / self.batch
        } else {
            self.n.div_ceil(self.batch)
        }
    }

    /// Epoch `epoch`'s order of the examples.
    pub fn order(&mut self, epoch: u64) -> &[usize] {
        if self.epoch != Some(epoch) {
            self.order.clear();
            self.order.extend(0..self.n);
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
            rng.set_stream(epoch);
            self.order.shuffle(&mut rng);
            self.epoch = Some(epoch);
        }
        &self.order
    }

    /// The minibatch at position `cursor` of epoch `epoch`, and whether it is
    /// the epoch's last (then the next one is at `(epoch + 1, 0)`, else at
    /// `(epoch, cursor + len)`).
    pub fn batch(&mut self, epoch: u64, cursor: usize) -> (&[usize], bool) {
        let (n, b, drop_last) = (self.n, self.batch, self.drop_last);
        let order = self.order(epoch);
        let end = (cursor + b).min(n);
        let last = if drop_last { end + b > n } else { end >= n };
        (&order[cursor.min(end)..end], last)
    }

    /// The seed of iteration `iteration`'s own randomness
    /// ([`Minibatch::seed`](super::Minibatch::seed)): a function of the run's
    /// seed and the iteration only, on a generator apart from the shuffles'.
    pub fn step_seed(&self, iteration: u64) -> u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x9e37_79b9_7f4a_7c15);
        rng.set_stream(iteration);
        rng.random::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_cover_every_example_once_and_depend_on_seed_and_epoch_only() {
        for drop_last in [false, true] {
            let mut s = Sampler::new(23, 5, 3, drop_last);
            let mut seen = Vec::new();
            let mut cursor = 0;
            loop {
                let (b, last) = s.batch(2, cursor);
                seen.extend_from_slice(b);
                cursor += b.len();
                if last {
                    break;
                }
            }
            assert_eq!(seen.len(), if drop_last { 20 } else { 23 });
            assert_eq!(
                seen.len(),
                s.per_epoch() * 5 - if drop_last { 0 } else { 2 }
            );
            let mut sorted = seen.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), seen.len());
            // The same epoch from a fresh sampler (a resumed run): the same order.
            let mut t = Sampler::new(23, 5, 3, drop_last);
            assert_eq!(t.order(2)[..seen.len()], seen[..]);
            assert_ne!(t.order(1).to_vec(), t.order(2).to_vec());
        }
        let s = Sampler::new(23, 5, 3, true);
        assert_ne!(s.step_seed(1), s.step_seed(2));
        assert_eq!(s.step_seed(4), Sampler::new(9, 2, 3, false).step_seed(4));
    }
}
