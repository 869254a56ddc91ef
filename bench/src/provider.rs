//! A small, fast provider for the verifier and monitor benchmarks: `GET /items/{id}`
//! answers the item the generated pacts expect, and `POST /_pact/provider-states`
//! accepts every state change. An optional delay stands in for a provider that does real
//! work per request. It stops on Ctrl-C or SIGTERM, or after `max_seconds` at the latest.

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, http::StatusCode};
use serde_json::{Value, json};

/// The body `GET /items/{id}` answers; the generated pacts expect exactly this shape.
pub fn item(id: u64) -> Value {
    json!({
        "id": id,
        "name": format!("item {id}"),
        "price": 12.5,
        "inStock": true,
        "tags": ["alpha", "beta"],
        "createdAt": "2024-05-01T10:00:00Z",
        "status": "active",
        "updatedOn": "2024-05-02",
        "owner": {"id": 1000 + id, "email": format!("owner{id}@example.com"), "name": "Ada Lovelace"},
        "lines": (0..7)
            .map(|l| json!({"sku": format!("SKU-{id}-{l}"), "quantity": l + 1, "unitPrice": 3.25, "note": "handle with care"}))
            .collect::<Vec<_>>(),
        "links": {"self": format!("/items/{id}"), "owner": format!("/owners/{}", 1000 + id)}
    })
}

async fn get_item(State(delay): State<Duration>, Path(id): Path<u64>) -> Json<Value> {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Json(item(id))
}

async fn state_change(Json(_body): Json<Value>) -> (StatusCode, Json<Value>) {
    (StatusCode::OK, Json(json!({})))
}

/// The message endpoint: `{"description": "an item.updated event N"}` answers item N with
/// its metadata in `Pact-Message-Metadata`, as the generated message pacts expect.
async fn produce_message(Json(request): Json<Value>) -> axum::response::Response {
    use axum::response::IntoResponse;
    use base64::Engine;
    let id = request["description"]
        .as_str()
        .and_then(|d| d.strip_prefix("an item.updated event "))
        .and_then(|n| n.parse::<u64>().ok());
    let Some(id) = id else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "unknown message"})),
        )
            .into_response();
    };
    let metadata = json!({"kafka_topic": "items", "contentType": "application/json"});
    let encoded = base64::engine::general_purpose::STANDARD.encode(metadata.to_string());
    (
        [
            ("Content-Type", "application/json".to_string()),
            ("Pact-Message-Metadata", encoded),
        ],
        item(id).to_string(),
    )
        .into_response()
}

pub async fn run(port: u16, delay: Duration, max_seconds: u64) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/items/{id}", get(get_item))
        .route("/_pact/messages", post(produce_message))
        .route("/_pact/provider-states", post(state_change))
        .with_state(delay);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "bench provider listening on http://{}",
        listener.local_addr()?
    );
    let stop = async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = tokio::time::sleep(Duration::from_secs(max_seconds)) => {
                eprintln!("bench provider: stopping after {max_seconds} s");
            }
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await?;
    Ok(())
}
