//! Where sampled events come from. Every source is read-only towards the application:
//!
//! - **Kafka** ([`Source::Kafka`]): each partition of the topic is read directly
//!   (`rskafka`, pure Rust), without joining a consumer group and without committing
//!   offsets, so production consumers' lag and offsets are untouched; from the latest offset
//!   by default, from the earliest with `from_beginning`, or from a record time.
//! - **RabbitMQ / AMQP 0-9-1** ([`Source::Amqp`]): a tap, the monitor's own exclusive,
//!   auto-deleted, server-named queue bound to the exchange; the application's queues are
//!   never consumed from.
//! - **CloudEvents over HTTP** ([`Source::Http`]): a sink accepting binary, structured and
//!   batch mode.
//! - **Files** ([`Source::File`]): newline-delimited structured CloudEvents or
//!   `{"headers", "value", "topic"}` records (`-` is stdin).
//!
//! [`sample`] runs the sources at once and feeds an [`EventRun`] until `max_events`,
//! `max_wait`, or every source ended, keeping at most `sample_rate` events per second per
//! source.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use super::{EventRun, SampledEvent};

/// Where in a Kafka topic sampling starts.
#[derive(Debug, Clone, PartialEq)]
pub enum KafkaStart {
    /// Only events arriving during the run (the default).
    Latest,
    /// From the earliest record still kept.
    Earliest,
    /// From the first record at or after this time.
    Since(chrono::DateTime<chrono::Utc>),
}

/// SASL credentials for Kafka.
#[derive(Clone)]
pub struct KafkaSasl {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: String,
    pub username: String,
    pub password: secrecy::SecretString,
}

impl std::fmt::Debug for KafkaSasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSasl")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// One source of events.
#[derive(Debug, Clone)]
pub enum Source {
    Kafka {
        bootstrap: String,
        topic: String,
        start: KafkaStart,
        tls: bool,
        sasl: Option<KafkaSasl>,
    },
    Amqp {
        url: String,
        exchange: String,
        binding_key: String,
    },
    Http {
        listen: SocketAddr,
    },
    File {
        path: PathBuf,
    },
}

impl Source {
    /// How reports name the source (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Source::Kafka {
                bootstrap, topic, ..
            } => format!("kafka://{bootstrap}/{topic}"),
            Source::Amqp {
                url,
                exchange,
                binding_key,
            } => format!(
                "{} exchange {exchange} binding {binding_key}",
                accord_contract::redact::redact_urls(url)
            ),
            Source::Http { listen } => format!("cloudevents sink http://{listen}"),
            Source::File { path } => format!("file {}", path.display()),
        }
    }
}

/// When sampling stops, and how much of a busy source it takes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Stop after this many events in all.
    pub max_events: Option<u64>,
    /// Stop after this long.
    pub max_wait: Option<Duration>,
    /// Keep at most this many events per second per source (the others are not read into
    /// the check).
    pub sample_rate: Option<u32>,
}

/// What a source task reports.
#[derive(Debug)]
enum Message {
    Event(SampledEvent),
    /// How many records a Kafka partition holds beyond what the sampler has read.
    Lag(String, i64),
    /// The source is reading (the HTTP sink says where it listens).
    Ready(String),
    Failed(String, String),
    Ended,
}

/// Where a source's reader sends what it reads: every event is stamped with the source's
/// name on its way.
#[derive(Clone)]
struct Outlet {
    sender: mpsc::Sender<Message>,
    name: String,
}

impl Outlet {
    async fn event(&self, mut event: SampledEvent) -> Result<(), mpsc::error::SendError<Message>> {
        event.source.clone_from(&self.name);
        self.sender.send(Message::Event(event)).await
    }

    async fn send(&self, message: Message) -> Result<(), mpsc::error::SendError<Message>> {
        self.sender.send(message).await
    }

    fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// Samples every source into `run` until the limits say stop or every source ended.
/// Sources that fail are recorded in the run (not drift).
pub async fn sample(sources: &[Source], limits: Limits, run: &mut EventRun) {
    let (sender, mut receiver) = mpsc::channel::<Message>(1024);
    let stop = tokio_util::sync::CancellationToken::new();
    let mut tasks = Vec::new();
    for source in sources {
        let sender = sender.clone();
        let stop = stop.clone();
        let source = source.clone();
        tasks.push(tokio::spawn(async move {
            let name = source.describe();
            let outlet = Outlet {
                sender: sender.clone(),
                name: name.clone(),
            };
            let result = tokio::select! {
                result = read(&source, &outlet, limits.sample_rate, &stop) => result,
                () = stop.cancelled() => Ok(()),
            };
            if let Err(message) = result {
                let _ = sender.send(Message::Failed(name, message)).await;
            }
            let _ = sender.send(Message::Ended).await;
        }));
    }
    drop(sender);
    let deadline = limits
        .max_wait
        .map(|wait| tokio::time::Instant::now() + wait);
    let mut running = sources.len();
    while running > 0 {
        let next = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(next) => next,
                Err(_) => break,
            },
            None => receiver.recv().await,
        };
        match next {
            Some(Message::Event(event)) => {
                run.observe(&event);
                if limits.max_events.is_some_and(|max| run.sampled() >= max) {
                    break;
                }
            }
            Some(Message::Ready(what)) => tracing::info!(source = %what, "sampling"),
            Some(Message::Lag(partition, lag)) => run.record_lag(partition, lag),
            Some(Message::Failed(source, message)) => {
                tracing::warn!(%source, %message, "event source failed");
                run.source_failed(&source, message);
            }
            Some(Message::Ended) => running -= 1,
            None => break,
        }
    }
    stop.cancel();
    for task in tasks {
        let _ = task.await;
    }
}

/// Keeps at most `rate` events per second.
struct RateGate {
    rate: Option<u32>,
    window: Instant,
    taken: u32,
}

impl RateGate {
    fn new(rate: Option<u32>) -> Self {
        RateGate {
            rate,
            window: Instant::now(),
            taken: 0,
        }
    }

    fn admit(&mut self) -> bool {
        let Some(rate) = self.rate else {
            return true;
        };
        if self.window.elapsed() >= Duration::from_secs(1) {
            self.window = Instant::now();
            self.taken = 0;
        }
        self.taken += 1;
        self.taken <= rate
    }
}

async fn read(
    source: &Source,
    sender: &Outlet,
    rate: Option<u32>,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<(), String> {
    let mut gate = RateGate::new(rate);
    let emit = |event: SampledEvent, gate: &mut RateGate| {
        let admitted = gate.admit();
        async move {
            if admitted {
                sender.event(event).await.is_ok()
            } else {
                !sender.is_closed()
            }
        }
    };
    match source {
        Source::File { path } => {
            let reader: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if path.as_os_str() == "-" {
                Box::new(tokio::io::stdin())
            } else {
                Box::new(
                    tokio::fs::File::open(path)
                        .await
                        .map_err(|err| format!("cannot open {}: {err}", path.display()))?,
                )
            };
            let mut lines = tokio::io::BufReader::new(reader).lines();
            let mut number = 0u64;
            while let Some(line) = lines
                .next_line()
                .await
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?
            {
                number += 1;
                if line.trim().is_empty() {
                    continue;
                }
                let event = file_event(&line, format!("{} line {number}", path.display()));
                if !emit(event, &mut gate).await {
                    break;
                }
            }
            Ok(())
        }
        Source::Http { listen } => serve_sink(*listen, sender, rate, stop).await,
        Source::Amqp {
            url,
            exchange,
            binding_key,
        } => read_amqp(url, exchange, binding_key, sender, rate).await,
        Source::Kafka {
            bootstrap,
            topic,
            start,
            tls,
            sasl,
        } => read_kafka(bootstrap, topic, start, *tls, sasl.as_ref(), sender, rate).await,
    }
}

/// A line of an events file: a structured CloudEvent, or a `{"headers", "value", "topic"}`
/// record; anything else is kept as an opaque payload.
fn file_event(line: &str, location: String) -> SampledEvent {
    let mut event = SampledEvent {
        location,
        payload: line.as_bytes().to_vec(),
        ..SampledEvent::default()
    };
    let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else {
        return event;
    };
    if record.contains_key("specversion") || !record.contains_key("value") {
        return event;
    }
    if let Some(Value::Object(headers)) = record.get("headers") {
        for (key, value) in headers {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            event.headers.insert(key.clone(), text);
        }
    }
    event.channel = ["topic", "routingKey", "routing_key"]
        .iter()
        .find_map(|key| record.get(*key).and_then(Value::as_str))
        .map(str::to_string);
    event.payload = match &record["value"] {
        Value::String(text) => text.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    };
    event
}

/// The CloudEvents HTTP sink: binary mode (`ce-*` headers, the body is `data`), structured
/// (`application/cloudevents+json`) and batch (`application/cloudevents-batch+json`).
async fn serve_sink(
    listen: SocketAddr,
    sender: &Outlet,
    rate: Option<u32>,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<(), String> {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode, Uri};

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|err| format!("cannot listen on {listen}: {err}"))?;
    let bound = listener
        .local_addr()
        .map_err(|err| format!("cannot listen on {listen}: {err}"))?;
    let _ = sender
        .send(Message::Ready(format!("cloudevents sink http://{bound}")))
        .await;
    tracing::info!("CloudEvents sink listening on http://{bound}");
    let gate = std::sync::Arc::new(std::sync::Mutex::new(RateGate::new(rate)));
    let events = sender.clone();
    let app = axum::Router::new()
        .fallback(axum::routing::post(
            move |uri: Uri, headers: HeaderMap, body: Bytes| {
                let events = events.clone();
                let gate = gate.clone();
                async move {
                    let content_type = headers
                        .get(axum::http::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    let location = format!("http sink {}", uri.path());
                    let mut batch = Vec::new();
                    if content_type.starts_with("application/cloudevents-batch+json") {
                        let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
                            return (
                                StatusCode::BAD_REQUEST,
                                "a batch must be a JSON array of structured CloudEvents",
                            );
                        };
                        for item in items {
                            batch.push(SampledEvent {
                                source: String::new(), // stamped by the outlet
                                location: location.clone(),
                                channel: Some(uri.path().to_string()),
                                headers: BTreeMap::new(),
                                payload: item.to_string().into_bytes(),
                            });
                        }
                    } else {
                        let mut event = SampledEvent {
                            source: String::new(), // stamped by the outlet
                            location,
                            channel: Some(uri.path().to_string()),
                            headers: BTreeMap::new(),
                            payload: body.to_vec(),
                        };
                        if !content_type.starts_with("application/cloudevents+json") {
                            for (name, value) in &headers {
                                if let Ok(value) = value.to_str() {
                                    event
                                        .headers
                                        .insert(name.as_str().to_string(), value.to_string());
                                }
                            }
                        }
                        batch.push(event);
                    }
                    for event in batch {
                        let admitted = gate.lock().map(|mut gate| gate.admit()).unwrap_or(false);
                        if admitted {
                            let _ = events.event(event).await;
                        }
                    }
                    (StatusCode::ACCEPTED, "")
                }
            },
        ))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024));
    let stopped = stop.clone();
    accord_net::serve(
        listener,
        app,
        accord_net::ServeOptions::default(),
        async move { stopped.cancelled().await },
    )
    .await
    .map_err(|err| format!("the CloudEvents sink failed: {err}"))
}

async fn read_amqp(
    url: &str,
    exchange: &str,
    binding_key: &str,
    sender: &Outlet,
    rate: Option<u32>,
) -> Result<(), String> {
    use amqprs::channel::{BasicConsumeArguments, QueueBindArguments, QueueDeclareArguments};
    use amqprs::connection::{Connection, OpenConnectionArguments};

    let shown = accord_contract::redact::redact_urls(url);
    let parsed =
        url::Url::parse(url).map_err(|err| format!("{shown} is not an AMQP URL: {err}"))?;
    if parsed.scheme() != "amqp" {
        return Err(format!(
            "{shown}: only amqp:// URLs are supported (amqps:// is not yet)"
        ));
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = match parsed.username() {
        "" => "guest".to_string(),
        name => decode(name),
    };
    let password = parsed
        .password()
        .map(decode)
        .unwrap_or_else(|| "guest".into());
    // The vhost is the path without its leading slash, percent-decoded (`%2f` is `/`).
    let vhost = match parsed.path().trim_start_matches('/') {
        "" => "/".to_string(),
        path => decode(path),
    };
    let mut arguments = OpenConnectionArguments::new(
        parsed.host_str().unwrap_or("localhost"),
        parsed.port().unwrap_or(5672),
        &user,
        &password,
    );
    arguments.virtual_host(&vhost);
    let connection = Connection::open(&arguments)
        .await
        .map_err(|err| format!("cannot connect to {shown}: {err}"))?;
    let channel = connection
        .open_channel(None)
        .await
        .map_err(|err| format!("cannot open a channel on {shown}: {err}"))?;
    // The tap: a server-named, exclusive, auto-deleted queue of the monitor's own.
    let mut declare = QueueDeclareArguments::exclusive_server_named();
    declare.auto_delete(true);
    let (queue, _, _) = channel
        .queue_declare(declare.finish())
        .await
        .map_err(|err| format!("cannot declare the monitor's tap queue on {shown}: {err}"))?
        .ok_or_else(|| "the broker named no queue".to_string())?;
    channel
        .queue_bind(QueueBindArguments::new(&queue, exchange, binding_key))
        .await
        .map_err(|err| {
            format!("cannot bind the tap to exchange {exchange:?} with {binding_key:?} on {shown}: {err}")
        })?;
    let mut consume = BasicConsumeArguments::new(&queue, "accord-monitor");
    consume.manual_ack(false);
    let (_tag, mut messages) = channel
        .basic_consume_rx(consume.finish())
        .await
        .map_err(|err| format!("cannot read the tap queue on {shown}: {err}"))?;
    let _ = sender
        .send(Message::Ready(format!("{shown} exchange {exchange}")))
        .await;
    let mut gate = RateGate::new(rate);
    while let Some(message) = messages.recv().await {
        if !gate.admit() {
            continue;
        }
        let routing_key = message
            .deliver
            .as_ref()
            .map(|deliver| deliver.routing_key().to_string());
        let mut headers = BTreeMap::new();
        if let Some(properties) = &message.basic_properties {
            if let Some(table) = properties.headers() {
                for (key, value) in table.as_ref() {
                    headers.insert(key.to_string(), value.to_string());
                }
            }
            if let Some(content_type) = properties.content_type() {
                headers.insert("content-type".to_string(), content_type.to_string());
            }
        }
        let event = SampledEvent {
            source: String::new(), // stamped by the outlet
            location: format!(
                "exchange {exchange} routing key {}",
                routing_key.as_deref().unwrap_or_default()
            ),
            channel: routing_key,
            headers,
            payload: message.content.unwrap_or_default(),
        };
        if sender.event(event).await.is_err() {
            break;
        }
    }
    let _ = channel.close().await;
    let _ = connection.close().await;
    Ok(())
}

async fn read_kafka(
    bootstrap: &str,
    topic: &str,
    start: &KafkaStart,
    tls: bool,
    sasl: Option<&KafkaSasl>,
    sender: &Outlet,
    rate: Option<u32>,
) -> Result<(), String> {
    use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};
    use rskafka::client::{ClientBuilder, Credentials, SaslConfig};
    use secrecy::ExposeSecret;

    let mut builder = ClientBuilder::new(vec![bootstrap.to_string()]).client_id("accord-monitor");
    if tls {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        builder = builder.tls_config(std::sync::Arc::new(config));
    }
    if let Some(sasl) = sasl {
        let credentials = Credentials::new(
            sasl.username.clone(),
            sasl.password.expose_secret().to_string(),
        );
        builder = builder.sasl_config(match sasl.mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => SaslConfig::Plain(credentials),
            "SCRAM-SHA-256" => SaslConfig::ScramSha256(credentials),
            "SCRAM-SHA-512" => SaslConfig::ScramSha512(credentials),
            other => {
                return Err(format!(
                    "SASL mechanism {other:?} is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
                ));
            }
        });
    }
    let client = tokio::time::timeout(Duration::from_secs(10), builder.build())
        .await
        .map_err(|_| format!("cannot reach Kafka at {bootstrap}: timed out"))?
        .map_err(|err| format!("cannot reach Kafka at {bootstrap}: {err}"))?;
    let topics = client
        .list_topics()
        .await
        .map_err(|err| format!("cannot list the topics of {bootstrap}: {err}"))?;
    let Some(found) = topics.into_iter().find(|t| t.name == topic) else {
        return Err(format!("topic {topic:?} does not exist on {bootstrap}"));
    };
    let _ = sender
        .send(Message::Ready(format!("kafka://{bootstrap}/{topic}")))
        .await;
    let mut readers = Vec::new();
    for partition in found.partitions {
        let client = client
            .partition_client(topic.to_string(), partition, UnknownTopicHandling::Error)
            .await
            .map_err(|err| format!("cannot read {topic}/{partition}: {err}"))?;
        let at = match start {
            KafkaStart::Latest => OffsetAt::Latest,
            KafkaStart::Earliest => OffsetAt::Earliest,
            KafkaStart::Since(time) => OffsetAt::Timestamp(*time),
        };
        let offset = client
            .get_offset(at)
            .await
            .map_err(|err| format!("cannot find the start offset of {topic}/{partition}: {err}"))?;
        let sender = sender.clone();
        let topic = topic.to_string();
        readers.push(async move {
            let mut gate = RateGate::new(rate);
            let mut offset = offset;
            loop {
                let (records, high_watermark) =
                    match client.fetch_records(offset, 1..1_048_576, 500).await {
                        Ok(fetched) => fetched,
                        Err(err) => return Err(format!("cannot fetch {topic}/{partition}: {err}")),
                    };
                // The lag first: what the partition holds beyond this fetch.
                let fetched_to = records
                    .iter()
                    .map(|record| record.offset + 1)
                    .max()
                    .unwrap_or(offset);
                let lag = (high_watermark - fetched_to).max(0);
                let partition_name = format!("kafka://{bootstrap}/{topic}/{partition}");
                if sender
                    .send(Message::Lag(partition_name, lag))
                    .await
                    .is_err()
                {
                    return Ok(());
                }
                for record in records {
                    offset = offset.max(record.offset + 1);
                    if !gate.admit() {
                        continue;
                    }
                    let headers = record
                        .record
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                        .collect();
                    let event = SampledEvent {
                        source: String::new(), // stamped by the outlet
                        location: format!(
                            "kafka topic {topic} partition {partition} offset {}",
                            record.offset
                        ),
                        channel: Some(topic.clone()),
                        headers,
                        payload: record.record.value.unwrap_or_default(),
                    };
                    if sender.event(event).await.is_err() {
                        return Ok(());
                    }
                }
                if sender.is_closed() {
                    return Ok(());
                }
            }
        });
    }
    futures::future::try_join_all(readers).await.map(|_| ())
}
