//! Publishing the service's `order.created` events (structured CloudEvents) to RabbitMQ and
//! Kafka, as a real producer would: `--amqp-url/--amqp-exchange`, `--kafka/--kafka-topic`.
//! The date format switch applies to them too, which is how the README shows the drift
//! monitor catching a producer whose `createdAt` turned into a Unix timestamp.

use std::time::Duration;

use crate::AppState;

/// Where events go.
pub enum Publisher {
    Amqp {
        channel: amqprs::channel::Channel,
        _connection: amqprs::connection::Connection,
        exchange: String,
    },
    Kafka {
        partition: rskafka::client::partition::PartitionClient,
    },
}

impl Publisher {
    /// Connects to RabbitMQ and declares the topic exchange.
    pub async fn amqp(url: &str, exchange: &str) -> anyhow::Result<Self> {
        use amqprs::channel::ExchangeDeclareArguments;
        use amqprs::connection::{Connection, OpenConnectionArguments};
        let parsed = url::Url::parse(url)?;
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let vhost = match parsed.path().trim_start_matches('/') {
            "" => "/".to_string(),
            path => decode(path),
        };
        let mut arguments = OpenConnectionArguments::new(
            parsed.host_str().unwrap_or("localhost"),
            parsed.port().unwrap_or(5672),
            &decode(parsed.username()),
            &parsed.password().map(decode).unwrap_or_default(),
        );
        arguments.virtual_host(&vhost);
        let connection = Connection::open(&arguments).await?;
        let channel = connection.open_channel(None).await?;
        let mut declare = ExchangeDeclareArguments::new(exchange, "topic");
        declare.durable(true);
        channel.exchange_declare(declare.finish()).await?;
        Ok(Publisher::Amqp {
            channel,
            _connection: connection,
            exchange: exchange.to_string(),
        })
    }

    /// Connects to Kafka and creates the topic when it does not exist.
    pub async fn kafka(bootstrap: &str, topic: &str) -> anyhow::Result<Self> {
        use rskafka::client::ClientBuilder;
        use rskafka::client::partition::UnknownTopicHandling;
        let client = ClientBuilder::new(vec![bootstrap.to_string()])
            .build()
            .await?;
        let exists = client.list_topics().await?.iter().any(|t| t.name == topic);
        if !exists {
            client
                .controller_client()?
                .create_topic(topic, 1, 1, 5_000)
                .await?;
        }
        let partition = client
            .partition_client(topic, 0, UnknownTopicHandling::Retry)
            .await?;
        Ok(Publisher::Kafka { partition })
    }

    async fn publish(&self, event: &serde_json::Value) -> anyhow::Result<()> {
        let body = event.to_string().into_bytes();
        match self {
            Publisher::Amqp {
                channel, exchange, ..
            } => {
                use amqprs::BasicProperties;
                use amqprs::channel::BasicPublishArguments;
                let mut properties = BasicProperties::default();
                properties.with_content_type("application/cloudevents+json");
                channel
                    .basic_publish(
                        properties,
                        body,
                        BasicPublishArguments::new(exchange, "order.created"),
                    )
                    .await?;
            }
            Publisher::Kafka { partition } => {
                let record = rskafka::record::Record {
                    key: Some(b"order-1".to_vec()),
                    value: Some(body),
                    headers: [(
                        "content-type".to_string(),
                        b"application/cloudevents+json".to_vec(),
                    )]
                    .into(),
                    timestamp: chrono::Utc::now(),
                };
                partition
                    .produce(
                        vec![record],
                        rskafka::client::partition::Compression::NoCompression,
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

/// Publishes the `order.created` event of order 1 to every publisher, every `period`.
pub async fn publish_every(state: AppState, publishers: Vec<Publisher>, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        state.seed_order(1);
        let Some(event) = state.order_created_event(1) else {
            continue;
        };
        for publisher in &publishers {
            if let Err(err) = publisher.publish(&event).await {
                eprintln!("publishing order.created failed: {err}");
            }
        }
    }
}
