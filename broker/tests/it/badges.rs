//! Pact badges: the latest verification status of a pact as an SVG, in the
//! official broker's words and colours.

use crate::matrix::{publish, verify};
use crate::{Backend, TestApp, backend_tests, spawn_app};

backend_tests!(
    badge_follows_the_latest_verification,
    unknown_pacts_get_a_not_found_badge,
    label_and_initials_shape_the_title,
    tagged_badges_consider_only_tagged_versions,
);

/// A badge: its status code, content type and SVG.
struct Badge {
    status: u16,
    content_type: String,
    svg: String,
}

impl Badge {
    /// The badge's accessible text, `title: status`.
    fn label(&self) -> &str {
        let start = self.svg.find("aria-label=\"").expect("aria-label") + 12;
        self.svg[start..].split('"').next().unwrap()
    }
}

async fn badge(app: &TestApp, path: &str) -> Badge {
    // Image requests from a README carry a browser's image Accept header.
    let response = app
        .client
        .get(format!("{}{}", app.base, path))
        .header("Accept", "image/avif,image/webp,image/svg+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    let svg = response.text().await.unwrap();
    Badge {
        status,
        content_type,
        svg,
    }
}

#[track_caller]
fn assert_badge(badge: &Badge, label: &str, colour: &str) {
    assert_eq!(badge.status, 200, "{}", badge.svg);
    assert!(
        badge.content_type.starts_with("image/svg+xml"),
        "{}",
        badge.content_type
    );
    assert!(badge.svg.starts_with("<svg "), "{}", badge.svg);
    assert_eq!(badge.label(), label);
    assert!(
        badge.svg.contains(&format!("fill=\"{colour}\"")),
        "{colour} missing from {}",
        badge.svg
    );
}

const GREEN: &str = "#4c1";
const RED: &str = "#e05d44";
const ORANGE: &str = "#fe7d37";
const GREY: &str = "#9f9f9f";

async fn badge_follows_the_latest_verification(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = "/pacts/provider/Orders/consumer/Web/latest/badge";
    publish(&app, "Web", "1.0.0", "Orders").await;
    assert_badge(&badge(&app, path).await, "web/orders pact: unknown", GREY);
    verify(&app, "Orders", "Web", "1.0.0", "7", true).await;
    let verified = badge(&app, path).await;
    assert_badge(&verified, "web/orders pact: verified", GREEN);
    // The same with the `.svg` suffix the official broker documents.
    let suffixed = badge(&app, &format!("{path}.svg")).await;
    assert_badge(&suffixed, "web/orders pact: verified", GREEN);
    verify(&app, "Orders", "Web", "1.0.0", "8", false).await;
    assert_badge(&badge(&app, path).await, "web/orders pact: failed", RED);
    verify(&app, "Orders", "Web", "1.0.0", "9", true).await;
    // New content, last verified (successfully) as other content: changed.
    publish(&app, "Web", "1.0.1", "Orders").await;
    assert_badge(&badge(&app, path).await, "web/orders pact: changed", ORANGE);
    verify(&app, "Orders", "Web", "1.0.1", "9", true).await;
    assert_badge(&badge(&app, path).await, "web/orders pact: verified", GREEN);
}

async fn unknown_pacts_get_a_not_found_badge(backend: Backend) {
    let app = spawn_app(backend).await;
    publish(&app, "Web", "1.0.0", "Orders").await;
    for path in [
        // No such pacticipants.
        "/pacts/provider/Nobody/consumer/Web/latest/badge",
        "/pacts/provider/Orders/consumer/Nobody/latest/badge.svg",
        // Both exist, but no pact between them in this direction.
        "/pacts/provider/Web/consumer/Orders/latest/badge",
        // No version with the tag.
        "/pacts/provider/Orders/consumer/Web/latest/prod/badge",
    ] {
        // The official broker answers a badge, never a 404, so a README shows it.
        assert_badge(&badge(&app, path).await, "pact not found: unknown", GREY);
    }
}

async fn label_and_initials_shape_the_title(backend: Backend) {
    let app = spawn_app(backend).await;
    publish(&app, "WebShop", "1.0.0", "order-service").await;
    verify(&app, "order-service", "WebShop", "1.0.0", "7", true).await;
    let base = "/pacts/provider/order-service/consumer/WebShop/latest/badge";
    for (query, label) in [
        ("?label=consumer", "webshop pact: verified"),
        ("?label=PROVIDER", "order-service pact: verified"),
        ("?initials=true", "ws/os pact: verified"),
        ("?label=consumer&initials=true", "ws pact: verified"),
        ("?label=other", "webshop/order-service pact: verified"),
    ] {
        assert_badge(&badge(&app, &format!("{base}{query}")).await, label, GREEN);
    }
}

async fn tagged_badges_consider_only_tagged_versions(backend: Backend) {
    let app = spawn_app(backend).await;
    publish(&app, "Web", "1.0.0", "Orders").await;
    app.put(
        "/pacticipants/Web/versions/1.0.0/tags/prod",
        serde_json::json!({}),
    )
    .await
    .expect(201);
    verify(&app, "Orders", "Web", "1.0.0", "7", true).await;
    // A newer, untagged version whose pact failed verification.
    publish(&app, "Web", "2.0.0", "Orders").await;
    verify(&app, "Orders", "Web", "2.0.0", "8", false).await;
    assert_badge(
        &badge(
            &app,
            "/pacts/provider/Orders/consumer/Web/latest/prod/badge",
        )
        .await,
        "web (prod)/orders pact: verified",
        GREEN,
    );
    assert_badge(
        &badge(
            &app,
            "/pacts/provider/Orders/consumer/Web/latest-untagged/badge.svg",
        )
        .await,
        "web/orders pact: failed",
        RED,
    );
    assert_badge(
        &badge(&app, "/pacts/provider/Orders/consumer/Web/latest/badge").await,
        "web/orders pact: failed",
        RED,
    );
}
