//! Pacts for verification: selectors, pending and WIP.

use serde_json::json;

use crate::matrix::verify;
use crate::{Backend, backend_tests, pact, spawn_app};

backend_tests!(
    selectors_pending_and_wip,
    pending_follows_the_provider_branch_and_tags,
    selector_validation,
    get_takes_the_body_as_query_parameters,
    branches_left_without_versions_have_no_head,
    wip_pacts_come_from_branch_and_tag_heads_published_after_the_date,
    wip_pacts_are_the_heads_still_pending_by_the_provider_branch_or_tags
);

/// Whether Foo's main pact is pending for a provider build with `properties`.
async fn foo_pending(app: &crate::TestApp, properties: serde_json::Value) -> bool {
    let mut request = json!({
        "consumerVersionSelectors": [{ "mainBranch": true }],
        "includePendingStatus": true,
    });
    for (key, value) in properties.as_object().unwrap() {
        request[key] = value.clone();
    }
    let response = app
        .post("/pacts/provider/Bar/for-verification", request)
        .await
        .expect(200);
    let pacts = response.body["_embedded"]["pacts"].as_array().unwrap();
    assert_eq!(pacts.len(), 1, "{}", response.text);
    pacts[0]["verificationProperties"]["pending"]
        .as_bool()
        .unwrap()
}

/// A pact stays pending until the provider branch (or tags) that will publish results
/// has verified it; results from before the branch (or tag) was first used count.
async fn pending_follows_the_provider_branch_and_tags(backend: Backend) {
    let app = spawn_app(backend).await;
    let main = json!({ "providerVersionBranch": "main" });
    app.publish("Foo", "1", "Bar", Some("main"), &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    assert!(foo_pending(&app, main.clone()).await, "never verified");
    assert!(
        foo_pending(&app, json!({})).await,
        "never verified by anyone"
    );

    // Bar p1 (on dev) verifies it while Bar has no main branch: any result counts.
    app.put("/pacticipants/Bar/branches/dev/versions/p1", json!({}))
        .await
        .expect(201);
    verify(&app, "Bar", "Foo", "1", "p1", true).await;
    assert!(
        !foo_pending(&app, main.clone()).await,
        "main has no versions yet"
    );
    assert!(!foo_pending(&app, json!({})).await);

    // main begins after that result, which still counts for this content.
    app.put("/pacticipants/Bar/branches/main/versions/p2", json!({}))
        .await
        .expect(201);
    assert!(
        !foo_pending(&app, main.clone()).await,
        "verified before main began"
    );

    // New content verified from dev only, after main began: pending for main.
    app.publish("Foo", "2", "Bar", Some("main"), &pact("Foo", "Bar", "b"))
        .await
        .expect(200);
    verify(&app, "Bar", "Foo", "2", "p1", true).await;
    assert!(
        foo_pending(&app, main.clone()).await,
        "only dev verified it"
    );
    assert!(!foo_pending(&app, json!({ "providerVersionBranch": "dev" })).await);
    assert!(!foo_pending(&app, json!({})).await, "any provider version");
    verify(&app, "Bar", "Foo", "2", "p2", true).await;
    assert!(!foo_pending(&app, main.clone()).await, "main verified it");

    // Tags: p2 is tagged prod; new content verified by p1 only is pending for prod.
    app.put("/pacticipants/Bar/versions/p2/tags/prod", json!({}))
        .await
        .expect(201);
    let prod = json!({ "providerVersionTags": ["prod"] });
    assert!(
        !foo_pending(&app, prod.clone()).await,
        "p2 (prod) verified it"
    );
    app.publish("Foo", "3", "Bar", Some("main"), &pact("Foo", "Bar", "c"))
        .await
        .expect(200);
    verify(&app, "Bar", "Foo", "3", "p1", true).await;
    assert!(
        foo_pending(&app, prod.clone()).await,
        "no prod version verified it"
    );
    assert!(
        !foo_pending(&app, json!({ "providerVersionTags": ["never-used"] })).await,
        "a tag never used accepts any result"
    );
}

async fn selectors_pending_and_wip(backend: Backend) {
    let app = spawn_app(backend).await;
    app.publish("Foo", "1", "Bar", Some("main"), &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    app.publish("Foo", "2", "Bar", Some("feat-x"), &pact("Foo", "Bar", "b"))
        .await
        .expect(200);
    app.publish("Zed", "7", "Bar", Some("main"), &pact("Zed", "Bar", "z"))
        .await
        .expect(200);

    // Clients GET first, then POST to the self link.
    let start = app
        .get("/pacts/provider/Bar/for-verification")
        .await
        .expect(200);
    let post_url = start.body["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    let request = json!({
        "consumerVersionSelectors": [{ "mainBranch": true }],
        "providerVersionBranch": "main",
        "includePendingStatus": true,
    });
    let response = app.post(&post_url, request.clone()).await.expect(200);
    let pacts = response.body["_embedded"]["pacts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(pacts.len(), 2, "{}", response.text);
    assert_eq!(pacts[0]["shortDescription"], "latest from main branch");
    assert_eq!(pacts[0]["verificationProperties"]["pending"], true);
    assert!(
        pacts[0]["verificationProperties"]["notices"][0]["text"]
            .as_str()
            .unwrap()
            .contains("main")
    );
    assert_eq!(
        pacts[0]["_links"]["self"]["name"],
        "Pact between Foo (1) and Bar"
    );

    // Verify Foo's main pact from the provider's main branch, as the verifier does.
    let pact_url = pacts[0]["_links"]["self"]["href"].as_str().unwrap();
    let fetched = app.get(pact_url).await.expect(200);
    let provider = app
        .get(
            fetched.body["_links"]["pb:provider"]["href"]
                .as_str()
                .unwrap(),
        )
        .await
        .expect(200);
    let branch_version = provider.body["_links"]["pb:branch-version"]["href"]
        .as_str()
        .unwrap()
        .replace("{branch}", "main")
        .replace("{version}", "100");
    app.put(&branch_version, json!({})).await.expect(201);
    let publish = fetched.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap();
    assert!(
        publish.contains("/metadata/"),
        "results go back through the metadata URL: {publish}"
    );
    app.post(
        publish,
        json!({ "success": true, "providerApplicationVersion": "100" }),
    )
    .await
    .expect(201);

    let response = app.post(&post_url, request).await.expect(200);
    let pacts = response.body["_embedded"]["pacts"].as_array().unwrap();
    assert_eq!(pacts[0]["verificationProperties"]["pending"], false);
    assert_eq!(
        pacts[1]["verificationProperties"]["pending"], true,
        "Zed's pact was never verified"
    );

    // WIP: feat-x's head is new and unverified.
    let response = app
        .post(
            &post_url,
            json!({
                "consumerVersionSelectors": [{ "mainBranch": true, "consumer": "Foo" }],
                "providerVersionBranch": "main",
                "includePendingStatus": true,
                "includeWipPactsSince": "2000-01-01",
            }),
        )
        .await
        .expect(200);
    let pacts = response.body["_embedded"]["pacts"].as_array().unwrap();
    let wip: Vec<_> = pacts
        .iter()
        .filter(|p| p["verificationProperties"]["wip"] == true)
        .collect();
    assert!(
        wip.iter()
            .any(|p| p["shortDescription"] == "latest from branch feat-x"),
        "{}",
        response.text
    );
    assert!(
        wip.iter()
            .all(|p| p["verificationProperties"]["pending"] == true)
    );
    // Foo's main pact was explicitly selected and verified, so it is not WIP; Zed's
    // main pact was not selected and never verified, so it is.
    assert!(
        !wip.iter()
            .any(|p| p["_links"]["self"]["name"] == "Pact between Foo (1) and Bar")
    );
    assert!(
        wip.iter()
            .any(|p| p["_links"]["self"]["name"] == "Pact between Zed (7) and Bar")
    );

    // Identical content selected twice is verified once, with both reasons.
    app.publish("Foo", "3", "Bar", Some("release"), &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    let response = app
        .post(
            &post_url,
            json!({ "consumerVersionSelectors": [{ "branch": "main" }, { "branch": "release" }] }),
        )
        .await
        .expect(200);
    let pacts = response.body["_embedded"]["pacts"].as_array().unwrap();
    let foo_pacts: Vec<_> = pacts
        .iter()
        .filter(|p| {
            p["_links"]["self"]["name"]
                .as_str()
                .unwrap()
                .starts_with("Pact between Foo")
        })
        .collect();
    assert_eq!(foo_pacts.len(), 1, "{}", response.text);
    assert_eq!(
        foo_pacts[0]["shortDescription"],
        "latest from branch main, latest from branch release"
    );
    assert!(
        foo_pacts[0]["verificationProperties"]
            .get("pending")
            .is_none()
    );

    // Deployed versions.
    let env = app
        .post(
            "/environments",
            json!({ "name": "prod", "production": true }),
        )
        .await
        .expect(201);
    let uuid = env.body["uuid"].as_str().unwrap();
    app.post(
        &format!("/pacticipants/Zed/versions/7/deployed-versions/environment/{uuid}"),
        json!({}),
    )
    .await
    .expect(201);
    let response = app
        .post(
            &post_url,
            json!({ "consumerVersionSelectors": [{ "deployedOrReleased": true }] }),
        )
        .await
        .expect(200);
    let pacts = response.body["_embedded"]["pacts"].as_array().unwrap();
    assert_eq!(pacts.len(), 1, "{}", response.text);
    assert_eq!(pacts[0]["shortDescription"], "deployed to prod");
}

async fn selector_validation(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post("/pacts/provider/Nobody/for-verification", json!({}))
        .await
        .expect(404);
    app.publish("Foo", "1", "Bar", None, &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    let refused = app
        .post(
            "/pacts/provider/Bar/for-verification",
            json!({ "consumerVersionSelectors": [{ "latest": true }, { "tag": "x", "branch": "y" }], "includePendingStatus": "yes" }),
        )
        .await
        .expect(400);
    assert_eq!(
        refused.body["errors"]["consumerVersionSelectors"][0],
        "tag and branch cannot be combined (at index 1)"
    );
    assert_eq!(
        refused.body["errors"]["includePendingStatus"][0],
        "must be a boolean"
    );
    // Defaults: no main branch, so the latest pact.
    let response = app
        .post("/pacts/provider/Bar/for-verification", json!({}))
        .await
        .expect(200);
    assert_eq!(
        response.body["_embedded"]["pacts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn get_takes_the_body_as_query_parameters(backend: Backend) {
    let app = spawn_app(backend).await;
    app.publish("Foo", "1", "Bar", Some("main"), &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    app.publish("Foo", "2", "Bar", Some("feat-x"), &pact("Foo", "Bar", "b"))
        .await
        .expect(200);

    let got = app
        .get("/pacts/provider/Bar/for-verification?consumer_version_selectors[][branch]=feat-x&provider_version_branch=main&include_pending_status=true")
        .await
        .expect(200);
    let posted = app
        .post(
            "/pacts/provider/Bar/for-verification",
            json!({
                "consumerVersionSelectors": [{ "branch": "feat-x" }],
                "providerVersionBranch": "main",
                "includePendingStatus": true,
            }),
        )
        .await
        .expect(200);
    assert_eq!(got.body, posted.body);
    let pacts = got.body["_embedded"]["pacts"].as_array().unwrap();
    assert_eq!(pacts.len(), 1);
    assert_eq!(
        pacts[0]["_links"]["self"]["name"],
        "Pact between Foo (2) and Bar"
    );
    assert_eq!(pacts[0]["verificationProperties"]["pending"], true);

    // Without parameters: the default selectors (the main branch head here).
    let defaults = app
        .get("/pacts/provider/Bar/for-verification")
        .await
        .expect(200);
    let pacts = defaults.body["_embedded"]["pacts"].as_array().unwrap();
    assert_eq!(pacts.len(), 1);
    assert_eq!(
        pacts[0]["_links"]["self"]["name"],
        "Pact between Foo (1) and Bar"
    );
    assert!(pacts[0]["verificationProperties"].get("pending").is_none());

    // Query values are validated like body fields.
    let invalid = app
        .get("/pacts/provider/Bar/for-verification?include_pending_status=maybe&consumer_version_selectors[][latest]=often")
        .await
        .expect(400);
    assert_eq!(
        invalid.body["errors"]["includePendingStatus"][0],
        "must be a boolean"
    );
    assert!(
        invalid.body["errors"]["consumerVersionSelectors"][0]
            .as_str()
            .unwrap()
            .contains("latest must be a boolean")
    );
}

/// A branch whose only version was deleted has no head: work-in-progress pacts and
/// branch selectors pass over it, and the other branches still answer.
async fn branches_left_without_versions_have_no_head(backend: Backend) {
    let app = spawn_app(backend).await;
    app.publish("Foo", "1", "Bar", Some("main"), &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    app.publish("Foo", "2", "Bar", Some("feat-x"), &pact("Foo", "Bar", "b"))
        .await
        .expect(200);
    app.publish("Foo", "3", "Bar", Some("feat-y"), &pact("Foo", "Bar", "c"))
        .await
        .expect(200);
    app.delete("/pacticipants/Foo/versions/2").await.expect(204);
    app.get("/pacticipants/Foo/branches/feat-x")
        .await
        .expect(200);
    let response = app
        .post(
            "/pacts/provider/Bar/for-verification",
            json!({
                "consumerVersionSelectors": [{ "mainBranch": true }, { "branch": "feat-x" }],
                "providerVersionBranch": "main",
                "includePendingStatus": true,
                "includeWipPactsSince": "2020-01-01",
            }),
        )
        .await
        .expect(200);
    let pacts = response.body["_embedded"]["pacts"].as_array().unwrap();
    let described: Vec<&str> = pacts
        .iter()
        .map(|p| p["shortDescription"].as_str().unwrap())
        .collect();
    assert_eq!(
        described,
        ["latest from main branch", "latest from branch feat-y"],
        "{}",
        response.text
    );
    assert_eq!(pacts[1]["verificationProperties"]["wip"], json!(true));
}

/// Work-in-progress candidates are the heads of every branch and every tag (not only
/// those the selectors name) whose pact for the provider was published after the
/// date; a head without a pact for the provider, an older head and verified content
/// are not work in progress; one content that heads two branches and a tag is one
/// entry with every reason.
async fn wip_pacts_come_from_branch_and_tag_heads_published_after_the_date(backend: Backend) {
    let app = spawn_app(backend).await;
    let post_url = "/pacts/provider/Bar/for-verification";
    // main: verified by Bar's main; feat-a and feat-b share new content; 3 is tagged.
    app.publish("Foo", "1", "Bar", Some("main"), &pact("Foo", "Bar", "main"))
        .await
        .expect(200);
    app.publish(
        "Foo",
        "2",
        "Bar",
        Some("feat-a"),
        &pact("Foo", "Bar", "new"),
    )
    .await
    .expect(200);
    app.put("/pacticipants/Foo/branches/feat-b/versions/2", json!({}))
        .await
        .expect(201);
    app.publish("Foo", "3", "Bar", None, &pact("Foo", "Bar", "tagged"))
        .await
        .expect(200);
    app.put("/pacticipants/Foo/versions/3/tags/beta", json!({}))
        .await
        .expect(201);
    app.put("/pacticipants/Foo/versions/2/tags/rc", json!({}))
        .await
        .expect(201);
    // A branch whose head has a pact for another provider only.
    app.publish(
        "Foo",
        "4",
        "Other",
        Some("feat-c"),
        &pact("Foo", "Other", "x"),
    )
    .await
    .expect(200);
    app.put("/pacticipants/Bar/branches/main/versions/100", json!({}))
        .await
        .expect(201);
    verify(&app, "Bar", "Foo", "1", "100", true).await;

    let ask = |since: &str| {
        json!({
            "consumerVersionSelectors": [{ "mainBranch": true }],
            "providerVersionBranch": "main",
            "includePendingStatus": true,
            "includeWipPactsSince": since,
        })
    };
    let response = app.post(post_url, ask("2000-01-01")).await.expect(200);
    let pacts = response.body["_embedded"]["pacts"].as_array().unwrap();
    let mut wip: Vec<String> = pacts
        .iter()
        .filter(|p| p["verificationProperties"]["wip"] == true)
        .map(|p| p["shortDescription"].as_str().unwrap().to_string())
        .collect();
    wip.sort();
    assert_eq!(
        wip,
        [
            // The first tag of a version without a branch also became its branch.
            "latest from branch beta, latest with tag beta",
            "latest from branch feat-a, latest from branch feat-b, latest with tag rc",
        ],
        "{}",
        response.text
    );
    let main = pacts
        .iter()
        .find(|p| p["shortDescription"] == "latest from main branch")
        .expect("the main branch pact");
    assert_eq!(main["verificationProperties"]["pending"], false);
    assert!(main["verificationProperties"].get("wip").is_none());

    // Nothing was published after a date in the future.
    let response = app.post(post_url, ask("2999-01-01")).await.expect(200);
    let pacts = response.body["_embedded"]["pacts"].as_array().unwrap();
    assert_eq!(pacts.len(), 1, "{}", response.text);
    assert!(pacts[0]["verificationProperties"].get("wip").is_none());
}

/// Which heads are work in progress follows the pending rule exactly, by the provider
/// branch or by its tags: a success from the branch, from before the branch began, or
/// from a tagged version verifies; a success from another branch, a failure or no
/// result at all does not.
async fn wip_pacts_are_the_heads_still_pending_by_the_provider_branch_or_tags(backend: Backend) {
    let app = spawn_app(backend).await;
    let step = || tokio::time::sleep(std::time::Duration::from_millis(5));
    // One content per consumer branch, each head of its branch.
    for (version, branch) in [
        ("1", "a"),
        ("2", "b"),
        ("3", "c"),
        ("4", "d"),
        ("5", "e"),
        ("6", "f"),
    ] {
        app.publish(
            "Foo",
            version,
            "Bar",
            Some(branch),
            &pact("Foo", "Bar", branch),
        )
        .await
        .expect(200);
    }
    // a: verified by a provider version from before Bar's main branch (and its tag)
    // began.
    verify(&app, "Bar", "Foo", "1", "old", true).await;
    step().await;
    app.put("/pacticipants/Bar/branches/main/versions/m1", json!({}))
        .await
        .expect(201);
    app.put("/pacticipants/Bar/versions/m1/tags/prod", json!({}))
        .await
        .expect(201);
    step().await;
    // b: verified on main (and by a prod version).
    verify(&app, "Bar", "Foo", "2", "m1", true).await;
    // c: verified only on another branch.
    app.put("/pacticipants/Bar/branches/feature/versions/f1", json!({}))
        .await
        .expect(201);
    verify(&app, "Bar", "Foo", "3", "f1", true).await;
    // d: failed on main. e: never verified.
    verify(&app, "Bar", "Foo", "4", "m1", false).await;
    // f: verified by a prod version that is not on main.
    app.put("/pacticipants/Bar/versions/t1/tags/prod", json!({}))
        .await
        .expect(201);
    verify(&app, "Bar", "Foo", "6", "t1", true).await;

    let wip_branches = |by: serde_json::Value| {
        let app = &app;
        async move {
            let mut request = json!({
                "consumerVersionSelectors": [{ "branch": "none-such" }],
                "includePendingStatus": true,
                "includeWipPactsSince": "2000-01-01",
            });
            for (key, value) in by.as_object().unwrap() {
                request[key] = value.clone();
            }
            let response = app
                .post("/pacts/provider/Bar/for-verification", request)
                .await
                .expect(200);
            let mut described: Vec<String> = response.body["_embedded"]["pacts"]
                .as_array()
                .unwrap()
                .iter()
                .inspect(|p| {
                    assert_eq!(p["verificationProperties"]["wip"], true, "{p}");
                    assert_eq!(p["verificationProperties"]["pending"], true, "{p}");
                })
                .map(|p| p["shortDescription"].as_str().unwrap().to_string())
                .collect();
            described.sort();
            described
        }
    };
    assert_eq!(
        wip_branches(json!({ "providerVersionBranch": "main" })).await,
        [
            "latest from branch c",
            "latest from branch d",
            "latest from branch e",
            "latest from branch f"
        ]
    );
    assert_eq!(
        wip_branches(json!({ "providerVersionTags": ["prod"] })).await,
        [
            "latest from branch c",
            "latest from branch d",
            "latest from branch e"
        ]
    );
    // A provider branch with no versions yet: any success verifies.
    assert_eq!(
        wip_branches(json!({ "providerVersionBranch": "brand-new" })).await,
        ["latest from branch d", "latest from branch e"]
    );
}
