//! Pacticipant labels, as the Pact Broker serves them.

use serde_json::json;

use crate::{Backend, backend_tests, spawn_app};

backend_tests!(labels_are_added_listed_embedded_and_removed);

async fn labels_are_added_listed_embedded_and_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    // Labelling needs the pacticipant to exist.
    app.put("/pacticipants/Foo/labels/team-a", json!({}))
        .await
        .expect(404);
    for name in ["Foo", "Bar"] {
        app.post("/pacticipants", json!({ "name": name }))
            .await
            .expect(201);
    }

    let created = app
        .put("/pacticipants/Foo/labels/team-a", json!({}))
        .await
        .expect(201);
    assert_eq!(created.body["name"], "team-a");
    assert!(created.body["createdAt"].as_str().is_some());
    let self_href = created.body["_links"]["self"]["href"].as_str().unwrap();
    assert!(self_href.ends_with("/pacticipants/Foo/labels/team-a"));
    assert_eq!(created.header("location"), Some(self_href));
    assert!(
        created.body["_links"]["pb:pacticipant"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/pacticipants/Foo")
    );
    // Labelling again changes nothing.
    app.put("/pacticipants/Foo/labels/team-a", json!({}))
        .await
        .expect(200);
    app.put("/pacticipants/Foo/labels/team%20b", json!({}))
        .await
        .expect(201);
    app.put("/pacticipants/Bar/labels/team%20b", json!({}))
        .await
        .expect(201);

    let shown = app.get("/pacticipants/Foo/labels/team-a").await.expect(200);
    assert_eq!(shown.body["name"], "team-a");
    app.get("/pacticipants/Bar/labels/team-a").await.expect(404);

    // The pacticipant embeds its labels.
    let shown_foo = app.get("/pacticipants/Foo").await.expect(200);
    let labels: Vec<&str> = shown_foo.body["_embedded"]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["team b", "team-a"]);
    assert!(
        shown_foo.body["_embedded"]["labels"][1]["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/pacticipants/Foo/labels/team-a")
    );
    let listed = app.get("/pacticipants").await.expect(200);
    let bar = listed.body["_embedded"]["pacticipants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Bar")
        .unwrap()
        .clone();
    assert_eq!(bar["_embedded"]["labels"][0]["name"], "team b");

    // Pacticipants by label, reached through the list's templated relation.
    let template = listed.body["_links"]["pb:pacticipants-with-label"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    let with_a = app
        .get(&template.replace("{label}", "team-a"))
        .await
        .expect(200);
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["_embedded"]["pacticipants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&with_a.body), ["Foo"]);
    let with_b = app.get("/pacticipants/label/team%20b").await.expect(200);
    assert_eq!(names(&with_b.body), ["Bar", "Foo"]);

    // Removing.
    app.delete("/pacticipants/Foo/labels/team-a")
        .await
        .expect(204);
    app.delete("/pacticipants/Foo/labels/team-a")
        .await
        .expect(404);
    let with_a = app.get("/pacticipants/label/team-a").await.expect(200);
    assert!(names(&with_a.body).is_empty());

    // Bad names are refused, naming the field.
    let blank = app
        .put("/pacticipants/Foo/labels/%20", json!({}))
        .await
        .expect(400);
    assert!(
        blank.body["errors"]["label"][0].as_str().is_some(),
        "{}",
        blank.text
    );

    // Deleting a pacticipant deletes its labels.
    app.delete("/pacticipants/Bar").await.expect(204);
    app.post("/pacticipants", json!({ "name": "Bar" }))
        .await
        .expect(201);
    let bar = app.get("/pacticipants/Bar").await.expect(200);
    assert_eq!(bar.body["_embedded"]["labels"], json!([]));
    let with_b = app.get("/pacticipants/label/team%20b").await.expect(200);
    assert_eq!(names(&with_b.body), ["Foo"]);
}
