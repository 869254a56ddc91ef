//! Logging set-up shared by every subcommand: `tracing` with an `EnvFilter`,
//! human-readable by default and JSON lines with `--log-format json`.

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log filter, in `tracing` EnvFilter syntax (e.g. `debug`, `accord_broker=debug`).
    /// The default shows Accord's own information and only warnings from libraries.
    #[arg(
        long,
        global = true,
        env = "ACCORD_LOG",
        default_value = "warn,accord=info"
    )]
    pub log: String,

    /// Log output format.
    #[arg(long, global = true, env = "ACCORD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Also log every span the filter lets through as it closes, with the time it
    /// was busy and idle: where a slow request spends its time (e.g. `--log
    /// warn,accord_broker=info --log-span-timings` times each request, store call and
    /// pact check of the broker).
    #[arg(long, global = true, env = "ACCORD_LOG_SPAN_TIMINGS")]
    pub log_span_timings: bool,
}

/// Installs the global subscriber. Logs go to stderr: stdout belongs to command output.
pub fn init(args: &LogArgs) {
    let filter = EnvFilter::try_new(&args.log).unwrap_or_else(|err| {
        eprintln!(
            "warning: invalid --log filter {:?} ({err}); using `info`",
            args.log
        );
        EnvFilter::new("info")
    });
    // `init` also routes the `log` records of libraries that use it into `tracing`.
    // Colours only for a person at a terminal, never into a file or a collector.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    subscriber(
        filter,
        args.log_format,
        args.log_span_timings,
        ansi,
        std::io::stderr,
    )
    .init();
}

/// The longest log line written as it is; a longer one has its long values cut.
const MAX_LINE_BYTES: usize = 4096;
/// What is kept of a value in a line that was too long.
const KEPT_VALUE_CHARS: usize = 256;

/// A writer that bounds every log line, so a client cannot fill the disk through the
/// log with a huge value it sent (a 10,000-character content type the pact library
/// warns about, a name, a header). The formatter hands over one whole line per write.
/// A JSON line that is too long keeps its shape: each string over
/// [`KEPT_VALUE_CHARS`] is cut and marked. A text line is cut at [`MAX_LINE_BYTES`] and
/// marked.
struct BoundedLines<M> {
    inner: M,
    json: bool,
}

struct BoundedLine<W> {
    inner: W,
    json: bool,
}

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for BoundedLines<M>
{
    type Writer = BoundedLine<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        BoundedLine {
            inner: self.inner.make_writer(),
            json: self.json,
        }
    }
}

/// `text` cut after `keep` characters, with a mark saying how much was cut.
fn cut(text: &str, keep: usize) -> String {
    match text.char_indices().nth(keep) {
        Some((at, _)) => format!("{}…[cut: {} more bytes]", &text[..at], text.len() - at),
        None => text.to_string(),
    }
}

fn cut_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) if text.len() > KEPT_VALUE_CHARS => {
            *text = cut(text, KEPT_VALUE_CHARS);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(cut_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(cut_strings),
        _ => {}
    }
}

/// The line as it is written: unchanged when short enough.
fn bounded(line: &[u8], json: bool) -> std::borrow::Cow<'_, [u8]> {
    if line.len() <= MAX_LINE_BYTES {
        return std::borrow::Cow::Borrowed(line);
    }
    let text = String::from_utf8_lossy(line);
    if json && let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text.trim_end()) {
        cut_strings(&mut value);
        return std::borrow::Cow::Owned(format!("{value}\n").into_bytes());
    }
    let mut kept = String::new();
    for (at, c) in text.trim_end().char_indices() {
        if at + c.len_utf8() > MAX_LINE_BYTES {
            break;
        }
        kept.push(c);
    }
    let dropped = text.trim_end().len() - kept.len();
    std::borrow::Cow::Owned(format!("{kept}…[log line cut: {dropped} more bytes]\n").into_bytes())
}

impl<W: std::io::Write> std::io::Write for BoundedLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write_all(&bounded(buf, self.json))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The subscriber for `format`, writing to `writer`. Both formats carry the fields
/// of every span an event happens in: a broker request's span holds its
/// `request_id` and `trace_id`, so every line a request logs (including errors
/// logged deep in the store) names the request. Text lines prefix them as
/// `request{method=.. path=.. request_id=.. trace_id=..}:`; JSON lines list them
/// under `spans` (outermost first) and the innermost under `span`.
fn subscriber<W>(
    filter: EnvFilter,
    format: LogFormat,
    span_timings: bool,
    ansi: bool,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let span_events = if span_timings {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_span_events(span_events)
        .with_writer(BoundedLines {
            inner: writer,
            json: matches!(format, LogFormat::Json),
        });
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer that keeps what is logged, for the test to read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    /// Logs as a broker request does: an event in the request span, and an error
    /// in a store span inside it. Returns the lines written.
    fn log_a_request(format: LogFormat) -> Vec<String> {
        log_a_request_with(format, false)
    }

    fn log_a_request_with(format: LogFormat, span_timings: bool) -> Vec<String> {
        let captured = Captured::default();
        let subscriber = subscriber(
            EnvFilter::new("info"),
            format,
            span_timings,
            false,
            captured.clone(),
        );
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!(
                "request",
                method = "GET",
                path = "/pacticipants",
                request_id = "req-42",
                trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
            );
            let _request = request.enter();
            tracing::info!("answered");
            let store = tracing::info_span!("pacticipants", pacticipant = "Web");
            let _store = store.enter();
            tracing::error!(error = "database error", "store call failed");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn text_lines_of_a_request_carry_its_request_and_trace_ids() {
        let lines = log_a_request(LogFormat::Text);
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in &lines {
            assert!(line.contains("request_id=\"req-42\""), "{line}");
            assert!(
                line.contains("trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\""),
                "{line}"
            );
        }
    }

    /// With span timings, each span closing is a line with its busy and idle time,
    /// the store call's inside the request's.
    #[test]
    fn span_timings_log_each_span_as_it_closes() {
        let lines = log_a_request_with(LogFormat::Text, true);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[2].contains("pacticipants"), "{}", lines[2]);
        for line in &lines[2..] {
            assert!(line.contains("close"), "{line}");
            assert!(line.contains("time.busy="), "{line}");
            assert!(line.contains("time.idle="), "{line}");
            assert!(line.contains("request_id=\"req-42\""), "{line}");
        }
        assert_eq!(log_a_request_with(LogFormat::Text, false).len(), 2);
    }

    /// A client-supplied value of 10,000 characters (the content type of a published
    /// pact, say) is cut to a short, marked length in both formats; JSON stays JSON.
    #[test]
    fn long_values_are_cut_and_marked() {
        let huge = "application/".to_string() + &"x".repeat(10_000);
        for format in [LogFormat::Text, LogFormat::Json] {
            let captured = Captured::default();
            let subscriber = subscriber(
                EnvFilter::new("info"),
                format,
                false,
                false,
                captured.clone(),
            );
            tracing::subscriber::with_default(subscriber, || {
                tracing::warn!(content_type = %huge, "unknown content type");
                tracing::info!("short");
            });
            let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 2, "{format:?}");
            assert!(
                lines[0].len() <= MAX_LINE_BYTES + 64,
                "{format:?}: {} bytes",
                lines[0].len()
            );
            assert!(lines[0].contains("more bytes]"), "{format:?}: {}", lines[0]);
            assert!(lines[0].contains("unknown content type") || lines[0].contains("application/"));
            assert!(!lines[1].contains("cut"), "short lines are untouched");
            if matches!(format, LogFormat::Json) {
                let value: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
                assert_eq!(value["message"], "unknown content type");
                assert!(value["content_type"].as_str().unwrap().len() < 400);
            }
        }
    }

    #[test]
    fn json_lines_of_a_request_carry_its_request_and_trace_ids() {
        let lines = log_a_request(LogFormat::Json);
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in &lines {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let request = &value["spans"][0];
            assert_eq!(request["name"], "request", "{line}");
            assert_eq!(request["request_id"], "req-42", "{line}");
            assert_eq!(request["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        }
        let error: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(error["level"], "ERROR");
        assert_eq!(error["span"]["name"], "pacticipants");
    }
}
