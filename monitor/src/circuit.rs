//! A circuit breaker per host, so that a struggling provider is not hammered.
//!
//! Closed: requests go through; consecutive transport failures are counted. At the
//! threshold the circuit opens: requests are refused without being sent until `open_for`
//! has passed. Then it is half-open: one trial request goes through; success closes the
//! circuit, failure opens it again for another `open_for`.
//!
//! Time comes from `tokio::time`, so tests drive it with `tokio::time::pause()`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::config::CircuitSettings;

/// The state of a circuit, as reported in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    HalfOpen,
    Open,
}

impl CircuitState {
    /// The value of the `circuit_state` gauge: 0 closed, 1 half-open, 2 open.
    pub fn gauge_value(self) -> i64 {
        match self {
            CircuitState::Closed => 0,
            CircuitState::HalfOpen => 1,
            CircuitState::Open => 2,
        }
    }
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
}

/// One host's circuit.
#[derive(Debug)]
pub struct CircuitBreaker {
    settings: CircuitSettings,
    state: Mutex<State>,
}

/// The request was refused because the circuit is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitOpen;

impl CircuitBreaker {
    pub fn new(settings: CircuitSettings) -> Self {
        Self {
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written (every update
        // is one assignment), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Asks to send a request. `Ok` means go ahead and report the outcome with
    /// [`record_success`](Self::record_success) or [`record_failure`](Self::record_failure).
    pub fn try_acquire(&self) -> Result<(), CircuitOpen> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if Instant::now() >= until => {
                *state = State::HalfOpen {
                    trial_in_flight: true,
                };
                Ok(())
            }
            State::Open { .. } => Err(CircuitOpen),
            State::HalfOpen {
                trial_in_flight: false,
            } => {
                *state = State::HalfOpen {
                    trial_in_flight: true,
                };
                Ok(())
            }
            State::HalfOpen {
                trial_in_flight: true,
            } => Err(CircuitOpen),
        }
    }

    /// The request got an answer: the host is reachable.
    pub fn record_success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    /// The request timed out or the connection failed.
    pub fn record_failure(&self) {
        let mut state = self.lock();
        let open = State::Open {
            until: Instant::now() + self.settings.open_for,
        };
        *state = match *state {
            State::Closed { failures } if failures + 1 >= self.settings.failure_threshold => open,
            State::Closed { failures } => State::Closed {
                failures: failures + 1,
            },
            State::HalfOpen { .. } | State::Open { .. } => open,
        };
    }

    /// The current state; an open circuit whose time is up reads as half-open.
    pub fn state(&self) -> CircuitState {
        match *self.lock() {
            State::Closed { .. } => CircuitState::Closed,
            State::Open { until } if Instant::now() >= until => CircuitState::HalfOpen,
            State::Open { .. } => CircuitState::Open,
            State::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }
}

/// The circuits of every host probed so far, kept across checks.
#[derive(Debug)]
pub struct Circuits {
    settings: CircuitSettings,
    hosts: Mutex<BTreeMap<String, Arc<CircuitBreaker>>>,
}

impl Circuits {
    pub fn new(settings: CircuitSettings) -> Self {
        Self {
            settings,
            hosts: Mutex::new(BTreeMap::new()),
        }
    }

    /// The circuit of `host` (`host:port`), created closed on first use.
    pub fn for_host(&self, host: &str) -> Arc<CircuitBreaker> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(CircuitBreaker::new(self.settings)))
            .clone()
    }

    /// Every host's state, sorted by host.
    pub fn states(&self) -> Vec<(String, CircuitState)> {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .iter()
            .map(|(host, breaker)| (host.clone(), breaker.state()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(CircuitSettings {
            failure_threshold: 3,
            open_for: Duration::from_secs(30),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_refuses_requests() {
        let breaker = breaker();
        for _ in 0..2 {
            assert_eq!(breaker.try_acquire(), Ok(()));
            breaker.record_failure();
        }
        assert_eq!(breaker.state(), CircuitState::Closed);
        breaker.try_acquire().unwrap();
        breaker.record_failure();
        assert_eq!(breaker.state(), CircuitState::Open);
        assert_eq!(breaker.try_acquire(), Err(CircuitOpen));
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_count() {
        let breaker = breaker();
        breaker.record_failure();
        breaker.record_failure();
        breaker.record_success();
        breaker.record_failure();
        breaker.record_failure();
        assert_eq!(breaker.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_one_trial_through_after_the_open_period() {
        let breaker = breaker();
        for _ in 0..3 {
            breaker.record_failure();
        }
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(breaker.try_acquire(), Err(CircuitOpen));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        assert_eq!(breaker.try_acquire(), Ok(()));
        // Only one trial at a time.
        assert_eq!(breaker.try_acquire(), Err(CircuitOpen));
        // The trial fails: open again for a full period.
        breaker.record_failure();
        assert_eq!(breaker.state(), CircuitState::Open);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(breaker.try_acquire(), Ok(()));
        breaker.record_success();
        assert_eq!(breaker.state(), CircuitState::Closed);
        assert_eq!(breaker.try_acquire(), Ok(()));
        assert_eq!(breaker.try_acquire(), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn circuits_are_per_host() {
        let circuits = Circuits::new(CircuitSettings {
            failure_threshold: 1,
            open_for: Duration::from_secs(30),
        });
        circuits.for_host("a:80").record_failure();
        assert_eq!(
            circuits.states(),
            vec![("a:80".to_string(), CircuitState::Open)]
        );
        assert_eq!(circuits.for_host("b:80").try_acquire(), Ok(()));
    }
}
