//! How long the keeper waits before trying a failed refresh again: a pure decision.

use std::time::Duration;

/// Capped exponential backoff with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure, before jitter.
    pub first: Duration,
    /// The longest wait, before jitter.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 30 s, doubling up to 15 min: a provider that is down for an hour sees a few requests
    /// per account, and one that is back is used again within minutes.
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(30),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// The wait after `failures` failures in a row (1 for the first), scaled by `random`
    /// (a number in [0, 1), injected so tests can choose it) into the upper half of the
    /// step: jitter spreads keepers that failed together, and no wait is near zero.
    pub fn after(&self, failures: u32, random: f64) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let step = self
            .first
            .checked_mul(1 << doublings)
            .unwrap_or(self.cap)
            .min(self.cap);
        step.mul_f64(0.5 + 0.5 * random.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn waits_double_up_to_the_cap() {
        let b = Backoff::default();
        let top: Vec<_> = (1..=7).map(|n| b.after(n, 1.0)).collect();
        assert_eq!(top, [S(30), S(60), S(120), S(240), S(480), S(900), S(900)]);
        assert_eq!(b.after(1000, 1.0), S(900), "no overflow");
        assert_eq!(b.after(0, 1.0), S(30), "zero counts as the first");
    }

    #[test]
    fn jitter_stays_in_the_upper_half_of_the_step() {
        let b = Backoff::default();
        assert_eq!(b.after(2, 0.0), S(30));
        assert_eq!(b.after(2, 0.5), S(45));
        assert_eq!(b.after(2, 7.0), S(60), "out-of-range randomness is clamped");
    }
}
