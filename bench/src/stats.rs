//! Latency summaries: every sample is kept (the loops are bounded), sorted, and read at
//! the nearest rank.

use std::time::Duration;

/// Percentiles of a set of samples.
#[derive(Debug, Clone)]
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            sorted[rank - 1]
        };
        let total: Duration = sorted.iter().sum();
        Some(Summary {
            count: sorted.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: sorted[sorted.len() - 1],
            mean: total / sorted.len() as u32,
        })
    }

    /// One line: `name  count  p50  p90  p99  max  mean` in milliseconds.
    pub fn line(&self, name: &str) -> String {
        format!(
            "{name:<44} n={:<5} p50 {:>8}  p90 {:>8}  p99 {:>8}  max {:>8}  mean {:>8}",
            self.count,
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max),
            ms(self.mean),
        )
    }
}

/// A duration in milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
