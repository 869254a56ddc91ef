//! The one global tracing subscriber of this test process: log lines written by any
//! broker (warnings, and the webhook worker's lines, which must never show a webhook's
//! secrets), and the SQL statements each request ran, counted by request id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

pub struct Telemetry {
    pub logs: Arc<Mutex<Vec<u8>>>,
    statements: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl Telemetry {
    /// The SQL statements (their first words) the request sent with
    /// `X-Request-Id: id` ran, in order.
    pub fn statements(&self, request_id: &str) -> Vec<String> {
        self.statements
            .lock()
            .unwrap()
            .get(request_id)
            .cloned()
            .unwrap_or_default()
    }
}

pub fn telemetry() -> &'static Telemetry {
    static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
    TELEMETRY.get_or_init(|| {
        let logs: Arc<Mutex<Vec<u8>>> = Arc::default();
        let statements: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
        let writer = Arc::clone(&logs);
        let fmt = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || Capture(Arc::clone(&writer)))
            .with_filter(EnvFilter::new("warn,accord_broker::webhooks=info"));
        // sqlx reports each statement it ran at debug level under `sqlx::query`; the
        // broker's request span carries the request id.
        let counter = StatementCounter(Arc::clone(&statements)).with_filter(
            Targets::new()
                .with_target("sqlx::query", Level::DEBUG)
                .with_target("accord_broker::startup", Level::INFO),
        );
        let subscriber = tracing_subscriber::registry().with(fmt).with(counter);
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other test sets a global subscriber");
        Telemetry { logs, statements }
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The request id of a `request` span.
struct RequestId(String);

struct StatementCounter(Arc<Mutex<HashMap<String, Vec<String>>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for StatementCounter {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "request" {
            return;
        }
        let mut visitor = RequestIdVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(request_id), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        // A connection the pool opens during a request runs its set-up (`PRAGMA`s on
        // SQLite) there: that is not the request's work.
        let mut statement = StatementVisitor(String::new());
        event.record(&mut statement);
        if statement
            .0
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("PRAGMA")
        {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            if let Some(RequestId(id)) = span.extensions().get::<RequestId>() {
                self.0
                    .lock()
                    .unwrap()
                    .entry(id.clone())
                    .or_default()
                    .push(statement.0.clone());
                return;
            }
        }
    }
}

struct RequestIdVisitor(Option<String>);

impl Visit for RequestIdVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "request_id" {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "request_id" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_string());
        }
    }
}

/// The statement of a `sqlx::query` event (its `summary`, else `db.statement`).
struct StatementVisitor(String);

impl Visit for StatementVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if (field.name() == "summary" || field.name() == "db.statement") && self.0.is_empty() {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if (field.name() == "summary" || field.name() == "db.statement") && self.0.is_empty() {
            self.0 = format!("{value:?}").trim_matches('"').to_string();
        }
    }
}
