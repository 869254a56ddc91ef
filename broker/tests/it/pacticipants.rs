//! Pacticipants, versions, branches and tags.

use serde_json::json;

use crate::{Backend, backend_tests, spawn_app};

backend_tests!(
    pacticipant_lifecycle,
    versions_branches_and_tags,
    validation_names_the_field,
    collections_are_paginated
);

async fn pacticipant_lifecycle(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .post(
            "/pacticipants",
            json!({ "name": "Foo", "repositoryUrl": "https://git/foo", "mainBranch": "trunk" }),
        )
        .await
        .expect(201);
    assert_eq!(
        created.header("location"),
        Some(format!("{}/pacticipants/Foo", app.base).as_str())
    );
    assert_eq!(created.body["repositoryUrl"], "https://git/foo");
    assert_eq!(created.body["mainBranch"], "trunk");
    assert_eq!(created.body["displayName"], "Foo");
    assert_eq!(
        created.body["_links"]["pb:branch-version"]["href"],
        format!(
            "{}/pacticipants/Foo/branches/{{branch}}/versions/{{version}}",
            app.base
        )
    );
    app.post("/pacticipants", json!({ "name": "Foo" }))
        .await
        .expect(409);

    // PATCH creates when missing (legacy behaviour), then merges.
    app.patch("/pacticipants/Bar", json!({ "displayName": "The Bar" }))
        .await
        .expect(201);
    let patched = app
        .patch("/pacticipants/Bar", json!({ "mainBranch": "main" }))
        .await
        .expect(200);
    assert_eq!(patched.body["displayName"], "The Bar");
    assert_eq!(patched.body["mainBranch"], "main");

    // PUT replaces but never creates.
    app.put("/pacticipants/Nobody", json!({})).await.expect(404);
    let replaced = app
        .put("/pacticipants/Bar", json!({ "mainBranch": "develop" }))
        .await
        .expect(200);
    assert_eq!(replaced.body["displayName"], "Bar");

    let list = app.get("/pacticipants").await.expect(200);
    assert_eq!(list.body["pacticipants"].as_array().unwrap().len(), 2);
    assert_eq!(list.body["_embedded"]["pacticipants"][0]["name"], "Bar");
    let links = &list.body["_links"];
    assert_eq!(links["pb:pacticipants"][0]["title"], "Pacticipant");
    assert_eq!(links["pb:pacticipants"][0]["name"], "Bar");
    assert_eq!(links["pacticipants"][0]["title"], "Bar");
    assert_eq!(
        links["pacticipants"][0]["name"],
        "DEPRECATED - please use pb:pacticipants"
    );
    assert_eq!(
        links["pacticipants"][0]["href"],
        links["pb:pacticipants"][0]["href"]
    );

    app.delete("/pacticipants/Bar").await.expect(204);
    app.get("/pacticipants/Bar").await.expect(404);
    let missing = app.get("/pacticipants/Nobody").await.expect(404);
    assert_eq!(
        missing.body["error"],
        "No pacticipant with name 'Nobody' found"
    );
}

async fn versions_branches_and_tags(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .put(
            "/pacticipants/Foo/versions/1.0.0",
            json!({ "buildUrl": "https://ci/1" }),
        )
        .await
        .expect(201);
    assert_eq!(created.body["buildUrl"], "https://ci/1");
    assert!(
        created.body["createdAt"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );
    app.put(
        "/pacticipants/Foo/versions/1.0.0",
        json!({ "buildUrl": "https://ci/2" }),
    )
    .await
    .expect(200);

    app.put("/pacticipants/Foo/branches/main/versions/1.0.0", json!({}))
        .await
        .expect(201);
    app.put("/pacticipants/Foo/branches/main/versions/1.0.0", json!({}))
        .await
        .expect(200);
    app.put("/pacticipants/Foo/branches/main/versions/2.0.0", json!({}))
        .await
        .expect(201);
    let version = app
        .get("/pacticipants/Foo/versions/1.0.0")
        .await
        .expect(200);
    assert_eq!(
        version.body["_embedded"]["branchVersions"][0]["name"],
        "main"
    );
    assert_eq!(
        version.body["_embedded"]["branchVersions"][0]["latest"],
        false
    );
    assert_eq!(
        version.body["_embedded"]["branches"],
        version.body["_embedded"]["branchVersions"]
    );
    assert!(version.body["_links"]["pb:record-deployment"].is_array());

    // "main" became the main branch automatically.
    let consumer = app.get("/pacticipants/Foo").await.expect(200);
    assert_eq!(consumer.body["mainBranch"], "main");
    assert_eq!(
        consumer.body["_embedded"]["latestVersion"]["number"],
        "2.0.0"
    );

    let head = app
        .get("/pacticipants/Foo/branches/main/latest-version")
        .await
        .expect(200);
    assert_eq!(head.body["number"], "2.0.0");
    let branch = app.get("/pacticipants/Foo/branches/main").await.expect(200);
    assert_eq!(branch.body["_links"]["pb:latest-version"]["name"], "2.0.0");
    let branch_versions = app
        .get("/pacticipants/Foo/branches/main/versions")
        .await
        .expect(200);
    assert_eq!(
        branch_versions.body["_embedded"]["versions"][0]["number"],
        "2.0.0"
    );

    app.put("/pacticipants/Foo/versions/1.0.0/tags/prod", json!({}))
        .await
        .expect(201);
    app.put("/pacticipants/Foo/versions/1.0.0/tags/prod", json!({}))
        .await
        .expect(200);
    let tag = app
        .get("/pacticipants/Foo/versions/1.0.0/tags/prod")
        .await
        .expect(200);
    assert_eq!(tag.body["name"], "prod");
    let latest_prod = app
        .get("/pacticipants/Foo/latest-version/prod")
        .await
        .expect(200);
    assert_eq!(latest_prod.body["number"], "1.0.0");
    app.delete("/pacticipants/Foo/versions/1.0.0/tags/prod")
        .await
        .expect(204);
    app.get("/pacticipants/Foo/versions/1.0.0/tags/prod")
        .await
        .expect(404);

    // A tag on a fresh version without a branch also becomes its branch.
    app.put("/pacticipants/Baz/versions/9/tags/feat-x", json!({}))
        .await
        .expect(201);
    let tagged = app.get("/pacticipants/Baz/versions/9").await.expect(200);
    assert_eq!(
        tagged.body["_embedded"]["branchVersions"][0]["name"],
        "feat-x"
    );

    app.delete("/pacticipants/Foo/branches/main/versions/2.0.0")
        .await
        .expect(204);
    let head = app
        .get("/pacticipants/Foo/branches/main/latest-version")
        .await
        .expect(200);
    assert_eq!(head.body["number"], "1.0.0");
    app.delete("/pacticipants/Foo/branches/main")
        .await
        .expect(204);
    app.get("/pacticipants/Foo/branches/main").await.expect(404);
    app.get("/pacticipants/Foo/versions/1.0.0")
        .await
        .expect(200);

    let versions = app.get("/pacticipants/Foo/versions").await.expect(200);
    assert_eq!(
        versions.body["_embedded"]["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.delete("/pacticipants/Foo/versions/1.0.0")
        .await
        .expect(204);
    app.get("/pacticipants/Foo/versions/1.0.0")
        .await
        .expect(404);
}

async fn validation_names_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post("/pacticipants", json!({ "displayName": "x" }))
        .await
        .expect(400);
    assert_eq!(response.body["errors"]["name"][0], "is missing");
    let response = app
        .post(
            "/pacticipants",
            json!({ "name": "Foo", "mainBranch": "has space" }),
        )
        .await
        .expect(400);
    assert!(
        response.body["errors"]["mainBranch"][0]
            .as_str()
            .unwrap()
            .contains("spaces")
    );
    let malformed = app
        .request(reqwest::Method::POST, "/pacticipants", None, "")
        .await;
    // An empty body reads as {}: the name is missing.
    assert_eq!(malformed.status.as_u16(), 400);
    let response = app
        .client
        .post(format!("{}/pacticipants", app.base))
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
    let response = app
        .client
        .post(format!("{}/pacticipants", app.base))
        .header("Content-Type", "text/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
}

async fn collections_are_paginated(backend: Backend) {
    let app = spawn_app(backend).await;
    for name in ["Alpha", "Beta", "Gamma"] {
        app.post("/pacticipants", json!({ "name": name }))
            .await
            .expect(201);
    }
    let last = app.get("/pacticipants?size=2&page=2").await.expect(200);
    let names: Vec<&str> = last.body["_embedded"]["pacticipants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Gamma"]);
    assert_eq!(
        last.body["page"],
        json!({ "number": 2, "size": 2, "totalElements": 3, "totalPages": 2 })
    );
    assert!(last.body["_links"].get("next").is_none());
    let first = app
        .get(last.body["_links"]["previous"]["href"].as_str().unwrap())
        .await
        .expect(200);
    assert_eq!(
        first.body["_embedded"]["pacticipants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(first.body["pacticipants"].as_array().unwrap().len(), 2);
    // Without page parameters the whole collection comes, without a page object.
    let all = app.get("/pacticipants").await.expect(200);
    assert_eq!(
        all.body["_embedded"]["pacticipants"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(all.body.get("page").is_none());

    for number in ["1", "2", "3"] {
        app.put(
            &format!("/pacticipants/Alpha/branches/b{number}/versions/{number}"),
            json!({}),
        )
        .await
        .expect(201);
    }
    // The legacy parameter names work too; versions come newest first.
    let versions = app
        .get("/pacticipants/Alpha/versions?pageSize=2&pageNumber=1")
        .await
        .expect(200);
    let numbers: Vec<&str> = versions.body["_embedded"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["3", "2"]);
    let next = app
        .get(versions.body["_links"]["next"]["href"].as_str().unwrap())
        .await
        .expect(200);
    assert_eq!(next.body["_embedded"]["versions"][0]["number"], "1");
    let branches = app
        .get("/pacticipants/Alpha/branches?size=1")
        .await
        .expect(200);
    assert_eq!(
        branches.body["_embedded"]["branches"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(branches.body["page"]["totalElements"], 3);

    let invalid = app.get("/pacticipants?size=0").await.expect(400);
    assert!(
        invalid.body["errors"]["size"][0]
            .as_str()
            .unwrap()
            .contains("1 or more")
    );
}
