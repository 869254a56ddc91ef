//! `accord stub`: serving pact files, including those written by the official clients.

use std::net::SocketAddr;
use std::path::PathBuf;

use accord_mock_server::Error;
use accord_mock_server::stub::{DEFAULT_STATE_HEADER, StubApplication, StubConfig, load_pact};
use pact_models::bodies::OptionalBody;
use serde_json::{Value, json};

use accord_mock_server::browser::AllowedOrigins;
use accord_net::ServeOptions;

use crate::support::client;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/official")
}

fn config(pacts: Vec<String>) -> StubConfig {
    StubConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        pacts,
        state_header: DEFAULT_STATE_HEADER.into(),
        cors: false,
        allowed_origins: AllowedOrigins::default(),
        serve: ServeOptions::default(),
    }
}

/// Replays every interaction of a pact against a stub serving it, and checks each answer is
/// the interaction's response.
async fn replay(pact_file: PathBuf) {
    let source = pact_file.display().to_string();
    let loaded = load_pact(&source)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(
        !loaded.interactions.is_empty(),
        "{source} has no interactions"
    );
    let stub = StubApplication::build(config(vec![source.clone()]))
        .await
        .unwrap();
    let http = client();
    for interaction in &loaded.interactions {
        let request = &interaction.request;
        let mut url = format!("{}{}", stub.url(), request.path);
        if let Some(query) = &request.query {
            url.push('?');
            url.push_str(&pact_models::query_strings::build_query_string(
                query.clone(),
            ));
        }
        let mut call = http.request(request.method.parse().unwrap(), &url);
        for (name, values) in request.headers.iter().flatten() {
            call = call.header(name, values.join(", "));
        }
        if let Some(state) = interaction.provider_states.first() {
            call = call.header(DEFAULT_STATE_HEADER, &state.name);
        }
        if let OptionalBody::Present(bytes, _, _) = &request.body {
            call = call.body(bytes.clone());
        }
        let answer = call.send().await.unwrap();
        let what = format!("{source}: {:?}", interaction.description);
        let expected = &interaction.response;
        assert_eq!(answer.status().as_u16(), expected.status, "{what}");
        for (name, values) in expected.headers.iter().flatten() {
            let got = answer
                .headers()
                .get(name.as_str())
                .map(|v| v.to_str().unwrap().to_string());
            assert_eq!(got, Some(values.join(", ")), "{what}: header {name}");
        }
        let text = answer.text().await.unwrap();
        match &expected.body {
            OptionalBody::Present(bytes, _, _) => {
                let want = String::from_utf8_lossy(bytes);
                match serde_json::from_str::<Value>(&want) {
                    Ok(json) if expected.generators.is_empty() => {
                        assert_eq!(
                            serde_json::from_str::<Value>(&text).unwrap(),
                            json,
                            "{what}"
                        )
                    }
                    Ok(_) => assert!(serde_json::from_str::<Value>(&text).is_ok(), "{what}"),
                    Err(_) => assert_eq!(text, want, "{what}"),
                }
            }
            _ => assert!(text.is_empty(), "{what}: unexpected body {text}"),
        }
    }
    stub.stop().await;
}

#[tokio::test]
async fn serves_pacts_written_by_pact_python_v2_v3_v4() {
    for spec in ["v2", "v3", "v4"] {
        replay(fixtures().join(format!(
            "pact-python/pacts/pactpython-{spec}-consumer-pactpython-{spec}-provider.json"
        )))
        .await;
    }
}

#[tokio::test]
async fn serves_pacts_written_by_pact_js_v2_v3_v4() {
    for spec in ["v2", "v3", "v4"] {
        replay(fixtures().join(format!(
            "pact-js/pacts/pactjs-{spec}-consumer-pactjs-{spec}-provider.json"
        )))
        .await;
    }
}

#[tokio::test]
async fn matching_uses_the_pact_matchers() {
    let file =
        fixtures().join("pact-python/pacts/pactpython-v3-consumer-pactpython-v3-provider.json");
    let stub = StubApplication::build(config(vec![file.display().to_string()]))
        .await
        .unwrap();
    let http = client();
    // Other values than the examples, allowed by the request matchers.
    let created = http
        .post(format!("{}/orders", stub.url()))
        .json(&json!({"sku": "PEN-7", "quantity": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let refused = http
        .post(format!("{}/orders", stub.url()))
        .json(&json!({"sku": "pen", "quantity": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 500);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["mismatches"][0]["path"], "$.sku", "{body}");
    let searched = http
        .get(format!("{}/orders?status=closed&page=2", stub.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(searched.status(), 200);
}

#[tokio::test]
async fn a_header_selects_the_provider_state() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.json");
    std::fs::write(
        &file,
        json!({
            "consumer": {"name": "c"}, "provider": {"name": "p"},
            "interactions": [
                {"description": "empty", "providerStates": [{"name": "no orders"}],
                 "request": {"method": "GET", "path": "/orders"},
                 "response": {"status": 200, "body": []}},
                {"description": "one", "providerStates": [{"name": "one order"}],
                 "request": {"method": "GET", "path": "/orders"},
                 "response": {"status": 200, "body": [{"id": 1}]}}
            ],
            "metadata": {"pactSpecification": {"version": "3.0.0"}}
        })
        .to_string(),
    )
    .unwrap();
    let stub = StubApplication::build(config(vec![file.display().to_string()]))
        .await
        .unwrap();
    let http = client();
    let url = format!("{}/orders", stub.url());
    let get = |state: Option<&str>| {
        let mut call = http.get(&url);
        if let Some(state) = state {
            call = call.header("X-Accord-State", state);
        }
        call.send()
    };
    let default: Value = get(None).await.unwrap().json().await.unwrap();
    assert_eq!(default, json!([]));
    let one: Value = get(Some("one order")).await.unwrap().json().await.unwrap();
    assert_eq!(one, json!([{"id": 1}]));
    let none = get(Some("two orders")).await.unwrap();
    assert_eq!(none.status(), 500);
    let body: Value = none.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("provider state \"two orders\""),
        "{body}"
    );
}

#[tokio::test]
async fn pacts_can_be_fetched_from_a_url() {
    let server = wiremock::MockServer::start().await;
    let pact = std::fs::read_to_string(
        fixtures().join("pact-js/pacts/pactjs-v3-consumer-pactjs-v3-provider.json"),
    )
    .unwrap();
    wiremock::Mock::given(wiremock::matchers::path("/pacts/latest"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string(pact))
        .mount(&server)
        .await;
    let stub = StubApplication::build(config(vec![format!("{}/pacts/latest", server.uri())]))
        .await
        .unwrap();
    assert!(stub.interaction_count() > 0);

    let err = StubApplication::build(config(vec![format!("{}/missing", server.uri())]))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, Error::FetchStatus { .. }), "{err}");
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn an_unparseable_pact_names_the_file_and_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.json");
    std::fs::write(
        &file,
        "{\n  \"consumer\": {\"name\": \"c\"},\n  \"provider\": \n}",
    )
    .unwrap();
    let err = StubApplication::build(config(vec![file.display().to_string()]))
        .await
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(matches!(err, Error::Contract(_)), "{message}");
    assert!(message.contains("broken.json"), "{message}");
    assert!(message.contains("line 4"), "{message}");

    let missing = StubApplication::build(config(vec!["/nonexistent/pact.json".into()]))
        .await
        .err()
        .unwrap();
    assert!(
        missing.to_string().contains("/nonexistent/pact.json"),
        "{missing}"
    );
}
