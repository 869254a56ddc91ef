//! `accord import` through the binary: an `accord broker` with a realistic history is
//! the source (the Pact Broker HAL API is the contract), another one with credentials
//! is the target. Then a source recorded in the Ruby broker's shapes (paged versions,
//! the older relation names, `target` for the application instance, masked secrets).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use accord_e2e::{Running, accord_bin, run};
use base64::Engine;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::describe;

const ADMIN: &str = "import-admin-token";
const READER: &str = "import-read-token";

fn start_broker(dir: &Path, name: &str, tokens: bool) -> Running {
    let mut command = Command::new(accord_bin());
    command
        .args(["broker", "--bind", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}", dir.join(name).display()));
    if tokens {
        command.args(["--token", ADMIN, "--read-only-token", READER]);
    }
    Running::start(command, Duration::from_secs(20))
}

/// `accord import` from `source` into `target` with the admin token.
fn import(source: &str, target: &str, extra: &[&str]) -> Output {
    run(Command::new(accord_bin())
        .args(["import", "--from", source, "--broker-base-url", target])
        .args(["--broker-token", ADMIN])
        .args(extra)
        .env_remove("PACT_BROKER_TOKEN")
        .env_remove("PACT_BROKER_BASE_URL"))
}

fn import_json(source: &str, target: &str) -> Value {
    let output = import(source, target, &["--output", "json"]);
    assert!(output.status.success(), "{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", describe(&output)))
}

/// How many records of each kind a JSON summary says were copied.
fn copied(summary: &Value) -> Vec<u64> {
    [
        "environments",
        "pacticipants",
        "versions",
        "pacts",
        "verifications",
        "deployments",
        "releases",
    ]
    .iter()
    .map(|kind| summary["kinds"][kind]["copied"].as_u64().unwrap())
    .collect()
}

struct Http {
    client: reqwest::Client,
    base: String,
    token: Option<&'static str>,
}

impl Http {
    fn new(base: &str, token: Option<&'static str>) -> Http {
        Http {
            client: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            token,
        }
    }

    fn url(&self, href: &str) -> String {
        if href.starts_with("http") {
            href.to_string()
        } else {
            format!("{}{href}", self.base)
        }
    }

    async fn send(&self, method: reqwest::Method, href: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, self.url(href));
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the broker answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, href: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, href, None).await;
        assert_eq!(status, 200, "GET {href}: {body}");
        body
    }

    async fn write(&self, method: reqwest::Method, href: &str, body: Value) -> Value {
        let (status, answer) = self.send(method, href, Some(body)).await;
        assert!((200..300).contains(&status), "{href}: {status} {answer}");
        answer
    }
}

fn pact(consumer: &str, provider: &str, variant: &str) -> Value {
    json!({
        "consumer": { "name": consumer },
        "provider": { "name": provider },
        "interactions": [{
            "description": format!("a request for {variant}"),
            "request": { "method": "GET", "path": format!("/things/{variant}") },
            "response": { "status": 200, "body": { "name": variant } }
        }],
        "metadata": { "pactSpecification": { "version": "3.0.0" } }
    })
}

async fn publish(
    source: &Http,
    consumer: &str,
    version: &str,
    branch: &str,
    tags: &[&str],
    contracts: &[(&str, &str)],
) {
    let contracts: Vec<Value> = contracts
        .iter()
        .map(|(provider, variant)| {
            let content = base64::engine::general_purpose::STANDARD
                .encode(pact(consumer, provider, variant).to_string());
            json!({ "consumerName": consumer, "providerName": provider, "specification": "pact",
                    "contentType": "application/json", "content": content })
        })
        .collect();
    source
        .write(
            reqwest::Method::POST,
            "/contracts/publish",
            json!({ "pacticipantName": consumer, "pacticipantVersionNumber": version, "branch": branch,
                    "tags": tags, "buildUrl": format!("https://ci.example.com/{consumer}/{version}"),
                    "contracts": contracts }),
        )
        .await;
}

async fn verify(
    source: &Http,
    consumer: &str,
    version: &str,
    provider: &str,
    provider_version: &str,
    success: bool,
) {
    source
        .write(
            reqwest::Method::PUT,
            &format!("/pacticipants/{provider}/branches/main/versions/{provider_version}"),
            json!({}),
        )
        .await;
    let pact = source
        .get(&format!(
            "/pacts/provider/{provider}/consumer/{consumer}/version/{version}"
        ))
        .await;
    let href = pact["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    source
        .write(
            reqwest::Method::POST,
            &href,
            json!({ "success": success, "providerApplicationVersion": provider_version,
                    "buildUrl": format!("https://ci.example.com/{provider}/{provider_version}") }),
        )
        .await;
}

async fn environment(source: &Http, name: &str, production: bool) -> String {
    let created = source
        .write(
            reqwest::Method::POST,
            "/environments",
            json!({ "name": name, "production": production }),
        )
        .await;
    created["uuid"].as_str().unwrap().to_string()
}

async fn record(source: &Http, kind: &str, pacticipant: &str, version: &str, environment: &str) {
    source
        .write(
            reqwest::Method::POST,
            &format!(
                "/pacticipants/{pacticipant}/versions/{version}/{kind}/environment/{environment}"
            ),
            json!({}),
        )
        .await;
}

/// web and mobile consume orders and payments, on main and on a feature branch, with
/// results both ways, two environments, deployments, a release, a label, and a
/// webhook with a password.
async fn seed(source: &Http) {
    publish(
        source,
        "web",
        "1.0.0",
        "main",
        &["prod"],
        &[("orders", "a")],
    )
    .await;
    // The same content again: one pact content, two publications.
    publish(source, "web", "1.1.0", "main", &[], &[("orders", "a")]).await;
    publish(
        source,
        "web",
        "1.2.0",
        "main",
        &[],
        &[("orders", "b"), ("payments", "p")],
    )
    .await;
    publish(source, "web", "2.0.0-x", "feat-x", &[], &[("orders", "c")]).await;
    publish(source, "mobile", "3.0.0", "main", &[], &[("payments", "m")]).await;
    verify(source, "web", "1.0.0", "orders", "5.0.0", true).await;
    verify(source, "web", "1.2.0", "orders", "5.1.0", false).await;
    // Failed, then passed on a re-run: the latest result counts.
    verify(source, "mobile", "3.0.0", "payments", "9.0.0", false).await;
    verify(source, "mobile", "3.0.0", "payments", "9.0.0", true).await;
    verify(source, "web", "1.2.0", "payments", "9.0.0", true).await;
    let production = environment(source, "production", true).await;
    let test = environment(source, "test", false).await;
    record(source, "deployed-versions", "orders", "5.0.0", &production).await;
    record(source, "deployed-versions", "web", "1.0.0", &production).await;
    record(source, "deployed-versions", "orders", "5.1.0", &test).await;
    record(source, "released-versions", "mobile", "3.0.0", &production).await;
    record(
        source,
        "deployed-versions",
        "payments",
        "9.0.0",
        &production,
    )
    .await;
    source
        .write(
            reqwest::Method::PUT,
            "/pacticipants/web/labels/team-a",
            json!({}),
        )
        .await;
    source
        .write(
            reqwest::Method::POST,
            "/webhooks",
            json!({ "description": "build orders", "provider": { "name": "orders" },
                    "events": [{ "name": "contract_requiring_verification_published" }],
                    "request": { "method": "POST", "url": "https://ci.example.com/build",
                                 "username": "ci", "password": "s3cret-ci-password" } }),
        )
        .await;
}

/// What a broker says of a pacticipant's versions, comparably.
async fn versions(http: &Http, pacticipant: &str) -> Vec<Value> {
    let listed = http
        .get(&format!("/pacticipants/{pacticipant}/versions"))
        .await;
    listed["_embedded"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let names = |key: &str| -> BTreeSet<String> {
                v["_embedded"][key]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .map(|i| i["name"].as_str().unwrap().to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            json!({ "number": v["number"], "createdAt": v["createdAt"], "buildUrl": v["buildUrl"],
                    "branches": names("branchVersions"), "tags": names("tags") })
        })
        .collect()
}

/// Every matrix row of a pair, comparably.
async fn rows(http: &Http, consumer: &str, provider: &str) -> BTreeSet<String> {
    let matrix = http
        .get(&format!(
            "/matrix?q%5B%5D%5Bpacticipant%5D={consumer}&q%5B%5D%5Bpacticipant%5D={provider}"
        ))
        .await;
    matrix["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            format!(
                "{} {} {} {} {}",
                row["consumer"]["version"]["number"],
                row["pact"]["createdAt"],
                row["provider"]["version"]["number"],
                row["verificationResult"]["success"],
                row["verificationResult"]["verifiedAt"]
            )
        })
        .collect()
}

async fn pact_content(http: &Http, consumer: &str, version: &str, provider: &str) -> Value {
    let mut document = http
        .get(&format!(
            "/pacts/provider/{provider}/consumer/{consumer}/version/{version}"
        ))
        .await;
    document.as_object_mut().unwrap().remove("_links");
    document
}

async fn currently_deployed(http: &Http, environment: &str) -> BTreeSet<String> {
    let environments = http.get(&format!("/environments?name={environment}")).await;
    let uuid = environments["_embedded"]["environments"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let deployed = http
        .get(&format!(
            "/environments/{uuid}/deployed-versions/currently-deployed"
        ))
        .await;
    deployed["_embedded"]["deployedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {}",
                d["uuid"],
                d["_embedded"]["pacticipant"]["name"],
                d["_embedded"]["version"]["number"],
                d["createdAt"]
            )
        })
        .collect()
}

async fn deployable(http: &Http, pacticipant: &str, version: &str, environment: &str) -> Value {
    let answer = http
        .get(&format!(
            "/can-i-deploy?pacticipant={pacticipant}&version={version}&environment={environment}"
        ))
        .await;
    answer["summary"]["deployable"].clone()
}

async fn to_verify(http: &Http, provider: &str) -> BTreeSet<String> {
    let answer = http
        .write(
            reqwest::Method::POST,
            &format!("/pacts/provider/{provider}/for-verification"),
            json!({ "consumerVersionSelectors": [{ "mainBranch": true }, { "deployedOrReleased": true }],
                    "includePendingStatus": true, "includeWipPactsSince": "2020-01-01",
                    "providerVersionBranch": "main" }),
        )
        .await;
    answer["_embedded"]["pacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} pending={} wip={}",
                p["_links"]["self"]["name"],
                p["verificationProperties"]["pending"],
                p["verificationProperties"]["wip"]
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_history_moves_in_and_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let source_broker = start_broker(dir.path(), "source.db", false);
    let target_broker = start_broker(dir.path(), "target.db", true);
    let source = Http::new(&source_broker.url, None);
    let target = Http::new(&target_broker.url, Some(ADMIN));
    seed(&source).await;

    // A dry run reads both and copies nothing.
    let dry = import(&source_broker.url, &target_broker.url, &["--dry-run"]);
    assert!(dry.status.success(), "{}", describe(&dry));
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        text.contains("Dry run: nothing was copied"),
        "{}",
        describe(&dry)
    );
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["versions", "8", "8"]),
        "{}",
        describe(&dry)
    );
    assert_eq!(target.get("/pacticipants").await["pacticipants"], json!([]));

    let first = import(&source_broker.url, &target_broker.url, &[]);
    assert!(first.status.success(), "{}", describe(&first));
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(
        text.contains("Check: both brokers give the same answers"),
        "{}",
        describe(&first)
    );
    // The webhook's password never left the source: the copy is disabled and listed.
    assert!(
        text.contains("build orders") && text.contains("password"),
        "{}",
        describe(&first)
    );
    assert!(!text.contains("s3cret") && !String::from_utf8_lossy(&first.stderr).contains("s3cret"));

    for pacticipant in ["web", "mobile", "orders", "payments"] {
        assert_eq!(
            versions(&target, pacticipant).await,
            versions(&source, pacticipant).await,
            "{pacticipant}"
        );
    }
    for (consumer, version, provider) in [
        ("web", "1.0.0", "orders"),
        ("web", "1.1.0", "orders"),
        ("web", "1.2.0", "payments"),
        ("web", "2.0.0-x", "orders"),
        ("mobile", "3.0.0", "payments"),
    ] {
        assert_eq!(
            pact_content(&target, consumer, version, provider).await,
            pact_content(&source, consumer, version, provider).await,
            "{consumer} {version} -> {provider}"
        );
    }
    for (consumer, provider) in [
        ("web", "orders"),
        ("web", "payments"),
        ("mobile", "payments"),
    ] {
        let expected = rows(&source, consumer, provider).await;
        assert!(expected.iter().any(|r| r.contains("true")), "{expected:?}");
        assert_eq!(
            rows(&target, consumer, provider).await,
            expected,
            "{consumer} -> {provider}"
        );
    }
    for environment in ["production", "test"] {
        assert_eq!(
            currently_deployed(&target, environment).await,
            currently_deployed(&source, environment).await
        );
    }
    for (pacticipant, version) in [
        ("web", "1.0.0"),
        ("web", "1.2.0"),
        ("web", "2.0.0-x"),
        ("orders", "5.1.0"),
        ("mobile", "3.0.0"),
    ] {
        for environment in ["production", "test"] {
            assert_eq!(
                deployable(&target, pacticipant, version, environment).await,
                deployable(&source, pacticipant, version, environment).await,
                "{pacticipant} {version} to {environment}"
            );
        }
    }
    for provider in ["orders", "payments"] {
        assert_eq!(
            to_verify(&target, provider).await,
            to_verify(&source, provider).await,
            "{provider}"
        );
    }
    let web = target.get("/pacticipants/web").await;
    assert_eq!(web["_embedded"]["labels"][0]["name"], json!("team-a"));
    let hooks = target.get("/webhooks").await;
    let hook = &hooks["_embedded"]["webhooks"][0];
    assert_eq!(hook["description"], json!("build orders"));
    assert_eq!(hook["enabled"], json!(false));

    // Again: nothing new, nothing copied.
    let again = import_json(&source_broker.url, &target_broker.url);
    assert_eq!(copied(&again), [0; 7], "{again}");
    assert_eq!(again["webhooks"]["alreadyThere"], json!(1));
    assert_eq!(again["check"]["differences"], json!([]));

    // What the source gains afterwards is all that the next run copies.
    publish(&source, "web", "1.3.0", "main", &[], &[("orders", "d")]).await;
    verify(&source, "web", "1.3.0", "orders", "5.2.0", true).await;
    let later = import_json(&source_broker.url, &target_broker.url);
    assert_eq!(copied(&later), [0, 0, 2, 1, 1, 0, 0], "{later}");
    assert_eq!(
        rows(&target, "web", "orders").await,
        rows(&source, "web", "orders").await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn import_refuses_what_it_cannot_do_with_the_right_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let source_broker = start_broker(dir.path(), "source.db", false);
    let target_broker = start_broker(dir.path(), "target.db", true);
    seed(&Http::new(&source_broker.url, None)).await;
    let attempt = |args: &[&str]| {
        run(Command::new(accord_bin())
            .arg("import")
            .args(args)
            .env_remove("PACT_BROKER_TOKEN")
            .env_remove("PACT_BROKER_BASE_URL"))
    };
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        // A read-only credential cannot write the target: nothing is copied.
        (
            vec![
                "--from",
                &source_broker.url,
                "-b",
                &target_broker.url,
                "-k",
                READER,
            ],
            2,
            "error while copying",
        ),
        (
            vec![
                "--from",
                &source_broker.url,
                "-b",
                &target_broker.url,
                "-k",
                ADMIN,
                "--from-user",
                "no-colon",
            ],
            64,
            "USER:PASSWORD",
        ),
        (
            vec![
                "--from",
                &source_broker.url,
                "-b",
                &target_broker.url,
                "-k",
                ADMIN,
                "--from-token",
                " ",
            ],
            64,
            "blank",
        ),
        (
            // Credentials in the source's URL are used, never shown.
            vec![
                "--from",
                "http://someone:hunter2-secret@127.0.0.1:9",
                "-b",
                &target_broker.url,
                "-k",
                ADMIN,
                "--retries",
                "0",
            ],
            2,
            "reading the source broker",
        ),
    ];
    for (args, code, says) in cases {
        let output = attempt(&args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            describe(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(says),
            "{args:?}: {}",
            describe(&output)
        );
        let everything = describe(&output);
        assert!(
            !everything.contains(ADMIN) && !everything.contains("hunter2"),
            "{everything}"
        );
    }
    let target = Http::new(&target_broker.url, Some(ADMIN));
    assert_eq!(target.get("/pacticipants").await["pacticipants"], json!([]));

    // A target that is not an Accord broker takes no imports.
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "_links": { "pb:pacticipants": { "href": "/pacticipants" } } }),
            ),
        )
        .mount(&other)
        .await;
    let output = attempt(&[
        "--from",
        &source_broker.url,
        "-b",
        &other.uri(),
        "-k",
        ADMIN,
    ]);
    assert_eq!(output.status.code(), Some(64), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("accord:import"),
        "{}",
        describe(&output)
    );
}

/// A source answering as the Ruby broker does, recorded from the API's documented shapes.
async fn ruby_broker() -> MockServer {
    let server = MockServer::start().await;
    let base = server.uri();
    let get = |route: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path(route.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    let version = |number: &str, at: &str, branch: &str, tags: &[&str]| {
        let tags: Vec<Value> = tags.iter().map(|t| json!({ "name": t, "_links": { "self": { "title": "Tag", "name": t, "href": format!("{base}/pacticipants/Foo/versions/{number}/tags/{t}") } } })).collect();
        json!({
            "number": number, "buildUrl": null, "createdAt": at,
            "_embedded": {
                "branchVersions": [{ "name": branch, "latest": false, "_links": { "self": { "title": "Branch version", "href": format!("{base}/pacticipants/Foo/branches/{branch}/versions/{number}") } } }],
                "tags": tags
            },
            "_links": { "self": { "title": "Version", "name": number, "href": format!("{base}/pacticipants/Foo/versions/{number}") } }
        })
    };
    get("/", json!({ "_links": {
        "pb:pacticipants": { "href": format!("{base}/pacticipants"), "title": "Pacticipants" },
        "pb:environments": { "href": format!("{base}/environments"), "title": "Environments" },
        "pb:latest-pact-versions": { "href": format!("{base}/pacts/latest"), "title": "Latest pact versions" }
    } }))
    .mount(&server)
    .await;
    let pacticipant = |name: &str, labels: &[&str]| {
        let labels: Vec<Value> = labels
            .iter()
            .map(|l| json!({ "name": l, "_links": {} }))
            .collect();
        json!({ "name": name, "displayName": name, "repositoryUrl": null, "mainBranch": "master",
                "createdAt": "2021-03-01T10:00:00+00:00", "_embedded": { "labels": labels },
                "_links": { "self": { "href": format!("{base}/pacticipants/{name}") },
                            "pb:versions": { "href": format!("{base}/pacticipants/{name}/versions") } } })
    };
    get("/pacticipants", json!({ "_embedded": { "pacticipants": [pacticipant("Foo", &["frontend"]), pacticipant("Bar", &[])] } }))
        .mount(&server)
        .await;
    // Foo's versions come in two pages, newest first.
    Mock::given(method("GET"))
        .and(path("/pacticipants/Foo/versions"))
        .and(query_param("pageNumber", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "_embedded": { "versions": [version("1.2.0", "2021-03-03T10:00:00+00:00", "master", &[]), version("1.1.0", "2021-03-02T10:00:00+00:00", "master", &["prod"])] },
            "page": { "number": 1, "size": 2, "totalElements": 3, "totalPages": 2 },
            "_links": { "next": { "href": format!("{base}/pacticipants/Foo/versions?pageNumber=2&pageSize=2") } }
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/pacticipants/Foo/versions"))
        .and(query_param("pageNumber", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            // A version number no broker should have taken: it is left out and listed.
            "_embedded": { "versions": [version("1.0.0", "2021-03-01T10:00:00+00:00", "master", &[]),
                                        version("0.9.0\nbroken", "2021-02-28T10:00:00+00:00", "master", &[])] },
            "page": { "number": 2, "size": 2, "totalElements": 3, "totalPages": 2 },
            "_links": { "previous": { "href": format!("{base}/pacticipants/Foo/versions?pageNumber=1&pageSize=2") } }
        })))
        .mount(&server)
        .await;
    let bar_version = json!({ "number": "7.0.0", "createdAt": "2021-03-02T12:00:00+00:00",
        "_embedded": { "branchVersions": [{ "name": "master", "latest": true }], "tags": [] }, "_links": {} });
    get(
        "/pacticipants/Bar/versions",
        json!({ "_embedded": { "versions": [bar_version] }, "_links": {} }),
    )
    .mount(&server)
    .await;
    get("/pacts/latest", json!({ "pacts": [{
        "createdAt": "2021-03-03T10:01:00+00:00",
        "_embedded": { "consumer": { "name": "Foo", "_embedded": { "version": { "number": "1.2.0" } } }, "provider": { "name": "Bar" } },
        "_links": { "self": [{ "href": format!("{base}/pacts/provider/Bar/consumer/Foo/latest") }] }
    }] }))
    .mount(&server)
    .await;
    let listing = |number: &str, at: &str| {
        json!({
            "createdAt": at,
            "_embedded": { "consumerVersion": { "number": number, "_links": { "self": { "href": format!("{base}/pacticipants/Foo/versions/{number}") } } } },
            "_links": { "self": { "href": format!("{base}/pacts/provider/Bar/consumer/Foo/version/{number}"), "title": "Pact" } }
        })
    };
    get("/pacts/provider/Bar/consumer/Foo/versions", json!({
        "_embedded": { "pacts": [listing("1.2.0", "2021-03-03T10:01:00+00:00"), listing("1.1.0", "2021-03-02T10:01:00+00:00")] },
        "_links": {}
    }))
    .mount(&server)
    .await;
    for (number, variant, at) in [
        ("1.1.0", "a", "2021-03-02T10:01:00+00:00"),
        ("1.2.0", "b", "2021-03-03T10:01:00+00:00"),
    ] {
        let mut document = pact("Foo", "Bar", variant);
        document["createdAt"] = json!(at);
        document["_links"] = json!({ "self": { "href": format!("{base}/pacts/provider/Bar/consumer/Foo/version/{number}") } });
        get(
            &format!("/pacts/provider/Bar/consumer/Foo/version/{number}"),
            document,
        )
        .mount(&server)
        .await;
    }
    let result_href = format!(
        "{base}/pacts/provider/Bar/consumer/Foo/pact-version/0123abc/verification-results/42"
    );
    get("/matrix", json!({ "matrix": [
        { "consumer": { "name": "Foo", "version": { "number": "1.2.0" } }, "provider": { "name": "Bar", "version": null },
          "pact": { "createdAt": "2021-03-03T10:01:00+00:00" }, "verificationResult": null },
        { "consumer": { "name": "Foo", "version": { "number": "1.1.0" } }, "provider": { "name": "Bar", "version": { "number": "7.0.0" } },
          "pact": { "createdAt": "2021-03-02T10:01:00+00:00" },
          "verificationResult": { "success": true, "verifiedAt": "2021-03-02T12:30:00+00:00", "_links": { "self": { "href": result_href } } } }
    ], "summary": { "deployable": null, "reason": "" } }))
    .mount(&server)
    .await;
    get("/pacts/provider/Bar/consumer/Foo/pact-version/0123abc/verification-results/42", json!({
        "providerName": "Bar", "providerApplicationVersion": "7.0.0", "success": true,
        "verificationDate": "2021-03-02T12:30:00+00:00", "buildUrl": "https://ci.example.com/bar/7",
        "testResults": { "summary": { "testCount": 1, "failureCount": 0 } }
    }))
    .mount(&server)
    .await;
    // Environments with the relation names older brokers use, and `target` for the
    // application instance.
    get("/environments", json!({ "_embedded": { "environments": [{
        "uuid": "c6d3a4e2-1111-4222-8333-444455556666", "name": "production", "displayName": "Production", "production": true,
        "createdAt": "2021-02-01T10:00:00+00:00",
        "_links": {
            "pb:currently-deployed-versions": { "href": format!("{base}/environments/c6d3/deployed-versions/currently-deployed") },
            "pb:currently-supported-versions": { "href": format!("{base}/environments/c6d3/released-versions/currently-supported") }
        }
    }] } }))
    .mount(&server)
    .await;
    get("/environments/c6d3/deployed-versions/currently-deployed", json!({ "_embedded": { "deployedVersions": [{
        "uuid": "8e1f0c9a-aaaa-4bbb-8ccc-dddddddddddd", "currentlyDeployed": true, "target": "eu-1", "createdAt": "2021-03-02T13:00:00+00:00",
        "_embedded": { "pacticipant": { "name": "Bar" }, "version": { "number": "7.0.0" } }
    }] } }))
    .mount(&server)
    .await;
    get(
        "/environments/c6d3/released-versions/currently-supported",
        json!({ "_embedded": { "releasedVersions": [] } }),
    )
    .mount(&server)
    .await;
    get("/webhooks", json!({ "_links": { "pb:webhooks": [{ "href": format!("{base}/webhooks/AbCdEfGhIjKlMnOpQrSt"), "title": "A webhook", "name": "notify" }] } }))
        .mount(&server)
        .await;
    get("/webhooks/AbCdEfGhIjKlMnOpQrSt", json!({
        "description": "notify", "events": [{ "name": "contract_content_changed" }], "enabled": true,
        "request": { "method": "POST", "url": "https://hooks.example.com/notify", "headers": { "Authorization": "**********" } },
        "createdAt": "2021-03-01T10:00:00+00:00",
        "_links": { "self": { "href": format!("{base}/webhooks/AbCdEfGhIjKlMnOpQrSt") } }
    }))
    .mount(&server)
    .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_in_the_ruby_brokers_shapes_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let source = ruby_broker().await;
    let target_broker = start_broker(dir.path(), "target.db", true);
    let target = Http::new(&target_broker.url, Some(ADMIN));
    // The recorded source answers no can-i-deploy questions of its own.
    let output = import(
        &source.uri(),
        &target_broker.url,
        &["--output", "json", "--check-sample", "0"],
    );
    assert!(output.status.success(), "{}", describe(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(copied(&summary), [1, 2, 4, 2, 1, 1, 0], "{summary}");
    assert_eq!(
        summary["webhooks"]["needSecrets"][0]["secrets"],
        json!(["header Authorization"])
    );
    assert_eq!(summary["check"], Value::Null);
    let skipped = summary["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{summary}");
    assert_eq!(skipped[0]["kind"], json!("versions"));
    assert!(
        skipped[0]["reason"].as_str().unwrap().contains("new line"),
        "{summary}"
    );

    // Every page of versions, oldest first, with their times and tags.
    let foo = versions(&target, "Foo").await;
    let numbers: Vec<&str> = foo.iter().map(|v| v["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["1.2.0", "1.1.0", "1.0.0"]);
    assert_eq!(foo[1]["createdAt"], json!("2021-03-02T10:00:00+00:00"));
    assert_eq!(foo[1]["tags"], json!(["prod"]));
    let head = target
        .get("/pacticipants/Foo/branches/master/latest-version")
        .await;
    assert_eq!(head["number"], json!("1.2.0"));
    assert_eq!(
        target.get("/pacticipants/Foo").await["_embedded"]["labels"][0]["name"],
        json!("frontend")
    );
    let pact = pact_content(&target, "Foo", "1.1.0", "Bar").await;
    assert_eq!(
        pact["interactions"][0]["description"],
        json!("a request for a")
    );
    assert_eq!(pact["createdAt"], json!("2021-03-02T10:01:00+00:00"));
    let rows = rows(&target, "Foo", "Bar").await;
    assert!(
        rows.contains(
            "\"1.1.0\" \"2021-03-02T10:01:00+00:00\" \"7.0.0\" true \"2021-03-02T12:30:00+00:00\""
        ),
        "{rows:?}"
    );
    let deployed = target
        .get("/environments/c6d3a4e2-1111-4222-8333-444455556666/deployed-versions/currently-deployed")
        .await;
    assert_eq!(
        deployed["_embedded"]["deployedVersions"][0]["applicationInstance"],
        json!("eu-1")
    );
    let hook = target.get("/webhooks/AbCdEfGhIjKlMnOpQrSt").await;
    assert_eq!(hook["enabled"], json!(false));
    assert_eq!(
        hook["request"]["url"],
        json!("https://hooks.example.com/notify")
    );
}

fn start_broker_with(dir: &Path, name: &str, extra: &[&str]) -> Running {
    let mut command = Command::new(accord_bin());
    command
        .args(["broker", "--bind", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}", dir.join(name).display()))
        .args(["--token", ADMIN])
        .args(extra);
    Running::start(command, Duration::from_secs(20))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_left_a_record_behind_is_completed_by_the_same_command() {
    let dir = tempfile::tempdir().unwrap();
    let source_broker = start_broker(dir.path(), "source.db", false);
    let source = Http::new(&source_broker.url, None);
    seed(&source).await;
    // A pact too large for the target as first started: it is left out and listed, the
    // rest is copied, and the check says what differs.
    let large = "x".repeat(40_000);
    publish(
        &source,
        "mobile",
        "3.1.0",
        "main",
        &[],
        &[("payments", large.as_str())],
    )
    .await;
    let mut target_broker = start_broker_with(dir.path(), "target.db", &["--body-limit", "32768"]);
    let first = import(&source_broker.url, &target_broker.url, &[]);
    assert_eq!(first.status.code(), Some(1), "{}", describe(&first));
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        said.contains("mobile 3.1.0 payments") && said.contains("--body-limit"),
        "{}",
        describe(&first)
    );
    assert!(
        said.contains("the brokers answer differently"),
        "{}",
        describe(&first)
    );
    let target = Http::new(&target_broker.url, Some(ADMIN));
    assert_eq!(
        versions(&target, "mobile").await,
        versions(&source, "mobile").await
    );
    target_broker.stop();

    // The same command again, against the same database without the limit.
    let target_broker = start_broker_with(dir.path(), "target.db", &[]);
    let target = Http::new(&target_broker.url, Some(ADMIN));
    let resumed = import_json(&source_broker.url, &target_broker.url);
    let counts = copied(&resumed);
    assert_eq!(counts[2], 0, "no version is copied twice: {resumed}");
    assert_eq!(
        counts[3], 1,
        "only the pact left behind is copied: {resumed}"
    );
    assert_eq!(resumed["check"]["differences"], json!([]), "{resumed}");
    for pacticipant in ["web", "mobile", "orders", "payments"] {
        assert_eq!(
            versions(&target, pacticipant).await,
            versions(&source, pacticipant).await,
            "{pacticipant}"
        );
    }
    for (consumer, provider) in [
        ("web", "orders"),
        ("web", "payments"),
        ("mobile", "payments"),
    ] {
        assert_eq!(
            rows(&target, consumer, provider).await,
            rows(&source, consumer, provider).await
        );
    }
    assert_eq!(
        pact_content(&target, "mobile", "3.1.0", "payments").await,
        pact_content(&source, "mobile", "3.1.0", "payments").await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_needs_credentials_is_read_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let source_broker = start_broker_with(
        dir.path(),
        "source.db",
        &[
            "--basic-auth-read-only-username",
            "reader",
            "--basic-auth-read-only-password",
            "reader-pw-9",
            // The seed's webhook has a password: a broker with credentials keeps it encrypted.
            "--secrets-key",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ],
    );
    seed(&Http::new(&source_broker.url, Some(ADMIN))).await;
    let target_broker = start_broker_with(dir.path(), "target.db", &[]);

    let refused = import(&source_broker.url, &target_broker.url, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("reading the source broker"),
        "{}",
        describe(&refused)
    );

    let summary = import_json_with(
        &source_broker.url,
        &target_broker.url,
        &["--from-user", "reader:reader-pw-9"],
    );
    assert_eq!(copied(&summary), [2, 4, 8, 6, 5, 4, 1], "{summary}");
    assert_eq!(summary["check"]["differences"], json!([]), "{summary}");
    assert!(!summary.to_string().contains("reader-pw-9"));
}

fn import_json_with(source: &str, target: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--output", "json"];
    args.extend_from_slice(extra);
    let output = import(source, target, &args);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        !describe(&output).contains("reader-pw-9"),
        "{}",
        describe(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", describe(&output)))
}
