//! Webhooks: calling other systems when pacts, verifications or drift change.
//!
//! The flow, each step durable in the database:
//! 1. a write (publish, verification, drift run) appends an event to the outbox in
//!    its own transaction (`store::events`);
//! 2. the [`dispatcher`] turns each event into deliveries for the matching
//!    webhooks, rendering their [`template`]s, and marks the event dispatched, in
//!    one transaction;
//! 3. the [`worker`] claims due deliveries under a lease, calls the receiver
//!    (through the [`policy`] allow-list), and records each attempt with its
//!    execution log; failures are retried with exponential backoff and full
//!    jitter, and a delivery out of attempts lands in the dead-letter list, from
//!    which an operator can replay it.
//!
//! Requests that trigger webhooks never wait for them: a receiver that is down
//! cannot slow or fail a publish. Both loops run in every broker; several brokers
//! over one database share the work without sending a delivery twice, except when
//! a broker stops mid-attempt (at least once, with the same delivery id).

pub mod dispatcher;
pub mod model;
pub mod policy;
pub mod secrets;
pub mod template;
pub mod worker;

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use policy::WebhookConfig;
pub use secrets::SecretsKey;

use crate::store::Store;

/// The dispatcher and worker of one broker, ready to start.
pub struct Background {
    store: Arc<dyn Store>,
    config: Arc<WebhookConfig>,
    base: String,
}

/// The running loops; [`Running::stop`] ends them.
pub struct Running {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// `base` is the broker's URL for links in templates (`pactUrl`).
    pub fn new(store: Arc<dyn Store>, config: WebhookConfig, base: String) -> Self {
        Self {
            store,
            config: Arc::new(config),
            base,
        }
    }

    /// Starts the dispatcher and the worker as tasks.
    pub fn start(&self) -> Running {
        let stop = CancellationToken::new();
        let id = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let dispatcher = {
            let store = self.store.clone();
            let config = self.config.clone();
            let base = self.base.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                loop {
                    let dispatcher = dispatcher::Dispatcher {
                        store: store.as_ref(),
                        config: &config,
                        base: &base,
                    };
                    let result = tokio::select! {
                        () = stop.cancelled() => return,
                        result = dispatcher.run_once(100) => result,
                    };
                    let busy = match result {
                        Ok(count) => count >= 100,
                        Err(err) => {
                            tracing::warn!(error = %err, "could not dispatch webhook events");
                            false
                        }
                    };
                    if !busy {
                        tokio::select! {
                            () = stop.cancelled() => return,
                            () = tokio::time::sleep(config.poll_interval) => {}
                        }
                    }
                }
            })
        };
        let worker = worker::Worker {
            store: self.store.clone(),
            config: self.config.clone(),
            client: worker::http_client(&self.config),
            id,
        };
        let worker = tokio::spawn(worker.run(stop.clone()));
        Running {
            stop,
            tasks: vec![dispatcher, worker],
        }
    }
}

impl Running {
    /// Stops the loops and waits for them to end.
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
