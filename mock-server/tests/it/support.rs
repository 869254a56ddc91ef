//! Helpers shared by the integration tests.

use std::path::Path;

use serde_json::Value;

/// Reads a pact file written by a test.
pub fn read_pact(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// An HTTP client that does not pool connections between tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// A small real provider for the record and verifier tests: an order service.
pub struct Provider {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Provider {
    pub async fn start() -> Self {
        use axum::routing::{get, post};
        use axum::{Json, Router};
        use serde_json::json;

        let app = Router::new()
            .route(
                "/orders/{id}",
                get(|axum::extract::Path(id): axum::extract::Path<u64>| async move {
                    if id == 404 {
                        (axum::http::StatusCode::NOT_FOUND, Json(json!({"error": "no such order"})))
                    } else {
                        (
                            axum::http::StatusCode::OK,
                            Json(json!({"id": id, "status": "shipped", "total": 12.5,
                                "lines": [{"sku": "BOOK-42", "quantity": 2}, {"sku": "PEN-1", "quantity": 1}]})),
                        )
                    }
                }),
            )
            .route(
                "/orders",
                post(|Json(body): Json<serde_json::Value>| async move {
                    (
                        axum::http::StatusCode::CREATED,
                        Json(json!({"id": 99, "sku": body["sku"], "quantity": body["quantity"]})),
                    )
                }),
            )
            // The state change endpoint the official verifier calls before each interaction.
            .route("/_pact/state", post(|| async { Json(json!({})) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, signal) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = signal.await;
                })
                .await
                .unwrap();
        });
        Provider {
            url,
            stop: Some(stop),
        }
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
