//! The broker's seed data: a deterministic history of pacticipants, versions, branches,
//! tags, pacts shared across versions, verification results and deployments.
//!
//! The schema comes from the broker itself (`SqliteStore::connect` and
//! `PostgresStore::connect` apply its migrations), and the environments and current
//! deployments are written through its `Store`. The history is written with multi-row
//! `INSERT`s in large transactions: the store writes one version per transaction (with
//! its outbox event and audit row), so seeding hundreds of thousands of versions through
//! it would take far longer than the benchmark itself. Values are bound through sqlx with
//! the same Rust types the store binds, so timestamps and JSON are encoded exactly as the
//! broker writes them.

use std::collections::HashMap;
use std::time::Instant;

use accord_broker::domain::EnvironmentName;
use accord_broker::store::{EnvironmentFields, PostgresStore, SqliteStore, Store};
use anyhow::{Context, bail};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

/// The shape of the data: everything is derived from these numbers, so the load driver
/// can name real pacticipants and versions without reading the database.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub pacticipants: usize,
    pub versions: usize,
    pub verifications: usize,
}

/// Consumer versions publish new pact content once every this many versions.
pub const CONTENT_EVERY: usize = 20;

impl Shape {
    pub fn name(p: usize) -> String {
        format!("svc-{p:04}")
    }

    pub fn version_number(n: usize) -> String {
        format!("1.{}.{}", n / 100, n % 100)
    }

    /// Eight in ten versions are built on `main`, the others on short feature branches.
    pub fn branch(n: usize) -> String {
        if n % 10 < 8 {
            "main".to_string()
        } else {
            format!("feat-{}", n / 10)
        }
    }

    /// Each pacticipant consumes the next two, and every one consumes `svc-0000`, a hub
    /// (think of an authentication service) with a consumer per pacticipant.
    pub fn providers(&self, p: usize) -> Vec<usize> {
        let mut providers = vec![(p + 1) % self.pacticipants, (p + 2) % self.pacticipants, 0];
        providers.sort_unstable();
        providers.dedup();
        providers.retain(|&q| q != p);
        providers
    }

    /// The newest version built on `main`.
    pub fn latest_main_version(&self) -> usize {
        (0..self.versions).rev().find(|n| n % 10 < 8).unwrap_or(0)
    }

    /// Versions deployed to production: every 50th, so the current one lags `main`.
    pub fn production_deployment(n: usize) -> bool {
        n % 50 == 20
    }

    /// Versions deployed to test: every 25th.
    pub fn test_deployment(n: usize) -> bool {
        n % 25 == 10
    }

    /// The versions of `p` in production just after its version `n` was built: the last
    /// deployment, or for released pacticipants the last three releases (all supported).
    pub fn production_versions_at(&self, p: usize, n: usize) -> Vec<usize> {
        let n = n.min(self.versions - 1);
        if p % 10 == 5 {
            (0..=n)
                .rev()
                .filter(|&m| Self::released(p, m))
                .take(3)
                .collect()
        } else {
            (0..=n)
                .rev()
                .find(|&m| Self::production_deployment(m))
                .into_iter()
                .collect()
        }
    }

    /// One pacticipant in ten is released rather than deployed (a mobile app): every
    /// 100th version is released to production.
    pub fn released(p: usize, n: usize) -> bool {
        p % 10 == 5 && n % 100 == 60
    }
}

/// A branch's id, and when its first and last versions were added.
type BranchSpan = (i64, DateTime<Utc>, DateTime<Utc>);

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

/// When version `n` of pacticipant `p` was created: versions of all pacticipants
/// interleave, a minute apart, so ids and times grow together as in a real broker.
fn version_time(shape: &Shape, p: usize, n: usize) -> DateTime<Utc> {
    base_time() + Duration::seconds(((n * shape.pacticipants + p) * 60) as i64)
}

fn version_id(shape: &Shape, p: usize, n: usize) -> i64 {
    (n * shape.pacticipants + p + 1) as i64
}

/// A pact of five interactions (about 1.5 KB) whose example values change with `content`.
pub fn seed_pact(consumer: &str, provider: &str, content: usize) -> Value {
    let interactions: Vec<Value> = (0..5)
        .map(|i| {
            json!({
                "description": format!("a request for resource {i} (revision {content})"),
                "providerStates": [{"name": format!("resource {i} exists"), "params": {"id": i}}],
                "request": {"method": "GET", "path": format!("/resources/{i}"),
                            "headers": {"Accept": "application/json"}},
                "response": {
                    "status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"id": i, "name": format!("resource {i}"), "revision": content,
                             "createdAt": "2024-05-01T10:00:00Z"},
                    "matchingRules": {"body": {
                        "$.id": {"matchers": [{"match": "integer"}]},
                        "$.name": {"matchers": [{"match": "type"}]},
                        "$.createdAt": {"matchers": [{"match": "datetime", "format": "yyyy-MM-dd'T'HH:mm:ss'Z'"}]}
                    }}
                }
            })
        })
        .collect();
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

/// A bound value of a seeded row.
#[derive(Debug, Clone)]
enum Val {
    I64(i64),
    Text(String),
    NullText,
    Json(Value),
    Bool(bool),
    NullBool,
    Time(DateTime<Utc>),
    NullTime,
}

/// Where rows go: a pool of one backend.
enum Sink {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Both backends accept at least 32,766 bound parameters per statement.
const MAX_PARAMS: usize = 30_000;

impl Sink {
    async fn insert(&self, table: &str, columns: &[&str], rows: &[Vec<Val>]) -> anyhow::Result<()> {
        let per_batch = (MAX_PARAMS / columns.len()).max(1);
        let head = format!("INSERT INTO {table} ({}) ", columns.join(", "));
        // The same batched insert for both backends, expanded with each one's types.
        macro_rules! insert_batches {
            ($pool:expr, $db:ty) => {{
                let mut tx = $pool.begin().await?;
                for batch in rows.chunks(per_batch) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(&head);
                    qb.push_values(batch, |mut b, row| {
                        for v in row {
                            match v.clone() {
                                Val::I64(x) => b.push_bind(x),
                                Val::Text(x) => b.push_bind(x),
                                Val::NullText => b.push_bind(None::<String>),
                                Val::Json(x) => b.push_bind(sqlx::types::Json(x)),
                                Val::Bool(x) => b.push_bind(x),
                                Val::NullBool => b.push_bind(None::<bool>),
                                Val::Time(x) => b.push_bind(x),
                                Val::NullTime => b.push_bind(None::<DateTime<Utc>>),
                            };
                        }
                    });
                    qb.build()
                        .execute(&mut *tx)
                        .await
                        .with_context(|| format!("inserting into {table}"))?;
                }
                tx.commit().await?;
            }};
        }
        match self {
            Sink::Sqlite(pool) => insert_batches!(pool, sqlx::Sqlite),
            Sink::Postgres(pool) => insert_batches!(pool, sqlx::Postgres),
        }
        Ok(())
    }

    /// Explicit ids leave PostgreSQL's identity sequences behind; move them past the data
    /// so the broker's own inserts get fresh ids.
    async fn finish(&self) -> anyhow::Result<()> {
        if let Sink::Postgres(pool) = self {
            for table in [
                "pacticipants",
                "versions",
                "branches",
                "branch_versions",
                "tags",
                "pact_versions",
                "pact_publications",
                "verifications",
                "deployed_versions",
                "released_versions",
            ] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )))
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Settles the database as a live one would be after such a load: analysed (by
    /// autovacuum, within minutes) and with the load's pages written out (otherwise the
    /// server's own checkpoint does it during the measurement, and every commit queues
    /// at the disk behind it).
    async fn settle(&self) -> anyhow::Result<()> {
        match self {
            Sink::Postgres(pool) => {
                sqlx::query("VACUUM ANALYZE").execute(pool).await?;
                sqlx::query("CHECKPOINT").execute(pool).await?;
            }
            Sink::Sqlite(pool) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Rows of one table, written in chunks as they are produced so that ten times the data
/// does not need ten times the memory.
struct Table<'a> {
    sink: &'a Sink,
    name: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Val>>,
    total: usize,
}

const CHUNK_ROWS: usize = 50_000;

impl<'a> Table<'a> {
    fn new(sink: &'a Sink, name: &'static str, columns: &'static [&'static str]) -> Self {
        Table {
            sink,
            name,
            columns,
            rows: Vec::new(),
            total: 0,
        }
    }

    async fn push(&mut self, row: Vec<Val>) -> anyhow::Result<()> {
        self.rows.push(row);
        if self.rows.len() >= CHUNK_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        self.sink
            .insert(self.name, self.columns, &self.rows)
            .await?;
        self.total += self.rows.len();
        self.rows.clear();
        Ok(())
    }

    async fn finish(mut self, totals: &mut Vec<(&'static str, usize)>) -> anyhow::Result<()> {
        self.flush().await?;
        totals.push((self.name, self.total));
        Ok(())
    }
}

/// Creates a fresh PostgreSQL database `name` on the server of `admin_url` (dropping an
/// old one of that name) and returns its URL.
pub async fn fresh_postgres(admin_url: &str, name: &str) -> anyhow::Result<String> {
    check_db_name(name)?;
    let pool = sqlx::PgPool::connect(admin_url)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&pool)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await?;
    let mut url = url::Url::parse(admin_url)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Drops the PostgreSQL database `name` on the server of `admin_url`.
pub async fn drop_postgres(admin_url: &str, name: &str) -> anyhow::Result<()> {
    check_db_name(name)?;
    let pool = sqlx::PgPool::connect(admin_url)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&pool)
    .await?;
    Ok(())
}

fn check_db_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        bail!("database name {name:?} must be lower-case letters, digits and underscores");
    }
    Ok(())
}

/// Seeds an empty database at `database_url` with `shape`.
pub async fn seed(database_url: &str, shape: Shape) -> anyhow::Result<()> {
    let started = Instant::now();
    let (store, sink): (Box<dyn Store>, Sink) = if database_url.starts_with("sqlite:") {
        let store = SqliteStore::connect(database_url).await?;
        let options: sqlx::sqlite::SqliteConnectOptions = database_url.parse()?;
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal))
            .await?;
        (Box::new(store), Sink::Sqlite(pool))
    } else {
        let store = PostgresStore::connect(database_url).await?;
        (
            Box::new(store),
            Sink::Postgres(sqlx::PgPool::connect(database_url).await?),
        )
    };
    let count: i64 = match &sink {
        Sink::Sqlite(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM versions")
                .fetch_one(pool)
                .await?
        }
        Sink::Postgres(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM versions")
                .fetch_one(pool)
                .await?
        }
    };
    if count > 0 {
        bail!("{database_url} already holds data: seed a fresh database");
    }
    let s = &shape;
    let p_count = s.pacticipants;
    let t0 = base_time() - Duration::days(1);
    let mut totals: Vec<(&'static str, usize)> = Vec::new();

    // Pacticipants, all with `main` as their main branch.
    let mut table = Table::new(
        &sink,
        "pacticipants",
        &["id", "name", "main_branch", "created_at", "updated_at"],
    );
    for p in 0..p_count {
        table
            .push(vec![
                Val::I64(p as i64 + 1),
                Val::Text(Shape::name(p)),
                Val::Text("main".into()),
                Val::Time(t0),
                Val::Time(t0),
            ])
            .await?;
    }
    table.finish(&mut totals).await?;

    // Versions, in id order (all pacticipants' n-th versions, then the (n+1)-th).
    let mut table = Table::new(
        &sink,
        "versions",
        &[
            "id",
            "pacticipant_id",
            "number",
            "build_url",
            "created_at",
            "updated_at",
        ],
    );
    for n in 0..s.versions {
        for p in 0..p_count {
            let at = version_time(s, p, n);
            table
                .push(vec![
                    Val::I64(version_id(s, p, n)),
                    Val::I64(p as i64 + 1),
                    Val::Text(Shape::version_number(n)),
                    Val::Text(format!(
                        "https://ci.example.com/{}/builds/{n}",
                        Shape::name(p)
                    )),
                    Val::Time(at),
                    Val::Time(at),
                ])
                .await?;
        }
    }
    table.finish(&mut totals).await?;

    // Branches (computed first: branch versions refer to them), branch versions, tags.
    let mut branch_ids: HashMap<(usize, String), BranchSpan> = HashMap::new();
    for n in 0..s.versions {
        for p in 0..p_count {
            let at = version_time(s, p, n);
            let next_id = branch_ids.len() as i64 + 1;
            let entry = branch_ids
                .entry((p, Shape::branch(n)))
                .or_insert((next_id, at, at));
            entry.2 = at;
        }
    }
    let mut branches: Vec<(&(usize, String), &BranchSpan)> = branch_ids.iter().collect();
    branches.sort_by_key(|b| b.1.0);
    let mut table = Table::new(
        &sink,
        "branches",
        &["id", "pacticipant_id", "name", "created_at", "updated_at"],
    );
    for (&(p, ref name), &(id, created, updated)) in branches {
        table
            .push(vec![
                Val::I64(id),
                Val::I64(p as i64 + 1),
                Val::Text(name.clone()),
                Val::Time(created),
                Val::Time(updated),
            ])
            .await?;
    }
    table.finish(&mut totals).await?;
    let mut table = Table::new(
        &sink,
        "branch_versions",
        &["id", "branch_id", "version_id", "created_at"],
    );
    let mut tags = Table::new(
        &sink,
        "tags",
        &["id", "version_id", "name", "created_at", "pacticipant_id"],
    );
    let mut tag_id = 0;
    for n in 0..s.versions {
        for p in 0..p_count {
            let at = version_time(s, p, n);
            let name = Shape::branch(n);
            let branch_id = branch_ids[&(p, name.clone())].0;
            table
                .push(vec![
                    Val::I64(version_id(s, p, n)),
                    Val::I64(branch_id),
                    Val::I64(version_id(s, p, n)),
                    Val::Time(at),
                ])
                .await?;
            // One version in four carries its branch name as a tag (the legacy way).
            if n % 4 == 0 {
                tag_id += 1;
                tags.push(vec![
                    Val::I64(tag_id),
                    Val::I64(version_id(s, p, n)),
                    Val::Text(name),
                    Val::Time(at),
                    Val::I64(p as i64 + 1),
                ])
                .await?;
            }
        }
    }
    table.finish(&mut totals).await?;
    tags.finish(&mut totals).await?;
    drop(branch_ids);

    // Pact content (new every CONTENT_EVERY versions) and the publications sharing it.
    let mut content_ids: HashMap<(usize, usize, usize), i64> = HashMap::new();
    let mut pact_versions = Table::new(
        &sink,
        "pact_versions",
        &[
            "id",
            "consumer_id",
            "provider_id",
            "sha",
            "content",
            "created_at",
        ],
    );
    let mut publications = Table::new(
        &sink,
        "pact_publications",
        &[
            "id",
            "consumer_version_id",
            "provider_id",
            "pact_version_id",
            "created_at",
            "updated_at",
        ],
    );
    let mut publication_id = 0;
    for n in 0..s.versions {
        for p in 0..p_count {
            let at = version_time(s, p, n);
            for q in s.providers(p) {
                let content = n / CONTENT_EVERY;
                let id = match content_ids.get(&(p, q, content)) {
                    Some(id) => *id,
                    None => {
                        let id = content_ids.len() as i64 + 1;
                        content_ids.insert((p, q, content), id);
                        let pact = seed_pact(&Shape::name(p), &Shape::name(q), content);
                        pact_versions
                            .push(vec![
                                Val::I64(id),
                                Val::I64(p as i64 + 1),
                                Val::I64(q as i64 + 1),
                                Val::Text(accord_contract::content_hash(&pact)),
                                Val::Text(pact.to_string()),
                                Val::Time(at),
                            ])
                            .await?;
                        id
                    }
                };
                // Content is written before the publications that refer to it.
                if publications.rows.len() + 1 >= CHUNK_ROWS {
                    pact_versions.flush().await?;
                }
                publication_id += 1;
                publications
                    .push(vec![
                        Val::I64(publication_id),
                        Val::I64(version_id(s, p, n)),
                        Val::I64(q as i64 + 1),
                        Val::I64(id),
                        Val::Time(at),
                        Val::Time(at),
                    ])
                    .await?;
            }
        }
    }
    pact_versions.finish(&mut totals).await?;
    publications.finish(&mut totals).await?;

    // Verification results, as provider pipelines produce them. When a consumer publishes
    // new content, the provider version deployed in production verifies it (the broker's
    // "contract requiring verification" webhook). And every `stride`-th build of a provider
    // verifies, for each consumer, the newest content on the consumer's main branch and the
    // content of the consumer version in production (the usual mainBranch and
    // deployedOrReleased selectors). `stride` is chosen so the total comes close to the
    // requested number (the oldest builds' results are left out to meet it exactly). One
    // result in twenty fails; ids follow time as in a real broker.
    let integrations: usize = (0..p_count).map(|p| s.providers(p).len()).sum();
    let mut consumers_of: Vec<Vec<usize>> = vec![Vec::new(); p_count];
    for p in 0..p_count {
        for q in s.providers(p) {
            consumers_of[q].push(p);
        }
    }
    let webhook_count = content_ids.len(); // about; the exact number is known below
    // At least one result per consumer and build; the selection below trims the rest.
    let per_round = integrations * s.versions;
    let wanted_builds = s.verifications.saturating_sub(webhook_count);
    let stride = (per_round / wanted_builds.max(1)).max(1);
    let latest_main = s.latest_main_version();
    let mut results: Vec<(DateTime<Utc>, i64, i64, usize, usize)> =
        Vec::with_capacity(s.verifications);
    let mut contents: Vec<(&(usize, usize, usize), &i64)> = content_ids.iter().collect();
    contents.sort_by_key(|c| *c.1);
    for (&(p, q, content), &pact_version_id) in contents {
        let published = content * CONTENT_EVERY;
        for n in s.production_versions_at(q, published) {
            let at = version_time(s, p, published) + Duration::seconds(45);
            results.push((at, pact_version_id, version_id(s, q, n), q, n));
        }
    }
    let mut builds = Vec::new();
    for q in 0..p_count {
        for n in (0..=latest_main).rev().step_by(stride) {
            let mut verified = Vec::new();
            for &p in &consumers_of[q] {
                let head = (0..=n).rev().find(|m| m % 10 < 8).unwrap_or(0);
                let mut wanted = vec![head / CONTENT_EVERY];
                for deployed in s.production_versions_at(p, n) {
                    wanted.push(deployed / CONTENT_EVERY);
                }
                for content in wanted {
                    let id = content_ids[&(p, q, content)];
                    if !verified.contains(&id) {
                        verified.push(id);
                    }
                }
            }
            let at = version_time(s, q, n) + Duration::seconds(30);
            for id in verified {
                builds.push((at, id, version_id(s, q, n), q, n));
            }
        }
    }
    // The stride errs on the side of too many: keep the newest builds' results, so the
    // recent history (what can-i-deploy and pending status look at) is complete.
    let keep = s
        .verifications
        .saturating_sub(results.len())
        .min(builds.len());
    builds.sort_by_key(|b| std::cmp::Reverse(b.0));
    results.extend(builds.into_iter().take(keep));
    drop(content_ids);
    results.sort_by_key(|r| (r.0, r.1));
    let mut table = Table::new(
        &sink,
        "verifications",
        &[
            "id",
            "pact_version_id",
            "provider_version_id",
            "success",
            "build_url",
            "test_results",
            "verified_by",
            "wip",
            "pending",
            "created_at",
        ],
    );
    for (i, (at, pact_version_id, provider_version_id, q, n)) in results.into_iter().enumerate() {
        let success = (i.wrapping_mul(2_654_435_761) >> 7) % 20 != 0;
        table
            .push(vec![
                Val::I64(i as i64 + 1),
                Val::I64(pact_version_id),
                Val::I64(provider_version_id),
                Val::Bool(success),
                Val::Text(format!("https://ci.example.com/{}/builds/{n}", Shape::name(q))),
                Val::Json(json!({"summary": {"testCount": 5, "failureCount": if success { 0 } else { 1 }}})),
                Val::Json(json!({"implementation": "Accord", "version": "0.1.0"})),
                Val::Bool(false),
                Val::NullBool,
                Val::Time(at),
            ])
            .await?;
    }
    table.finish(&mut totals).await?;

    // Environments through the store, then the deployment and release history.
    let mut environment_ids = Vec::new();
    for (name, production) in [("test", false), ("production", true)] {
        let env = store
            .create_environment(&EnvironmentFields {
                name: EnvironmentName::parse("name", name)?,
                display_name: None,
                production,
                contacts: None,
            })
            .await?;
        environment_ids.push(env.id);
    }
    let mut deployed = Vec::new();
    let mut current: Vec<(i64, i64)> = Vec::new();
    let mut released = Vec::new();
    for p in 0..p_count {
        for (environment_id, deployed_here) in [
            (
                environment_ids[0],
                Shape::test_deployment as fn(usize) -> bool,
            ),
            (environment_ids[1], Shape::production_deployment),
        ] {
            if p % 10 == 5 && environment_id == environment_ids[1] {
                continue;
            }
            let ns: Vec<usize> = (0..s.versions).filter(|&n| deployed_here(n)).collect();
            for (i, &n) in ns.iter().enumerate() {
                let at = version_time(s, p, n) + Duration::minutes(5);
                if i + 1 == ns.len() {
                    // The current deployment is recorded by the store itself.
                    current.push((version_id(s, p, n), environment_id));
                    continue;
                }
                let until = version_time(s, p, ns[i + 1]) + Duration::minutes(5);
                deployed.push(vec![
                    Val::Text(uuid_like(p, n, environment_id)),
                    Val::I64(version_id(s, p, n)),
                    Val::I64(p as i64 + 1),
                    Val::I64(environment_id),
                    Val::NullText,
                    Val::Time(at),
                    Val::Time(until),
                ]);
            }
        }
        let ns: Vec<usize> = (0..s.versions).filter(|&n| Shape::released(p, n)).collect();
        for (i, &n) in ns.iter().enumerate() {
            let at = version_time(s, p, n) + Duration::minutes(5);
            // The last three releases are still supported.
            let ended = (i + 3 < ns.len()).then(|| at + Duration::days(30));
            released.push(vec![
                Val::Text(uuid_like(p, n, 99)),
                Val::I64(version_id(s, p, n)),
                Val::I64(p as i64 + 1),
                Val::I64(environment_ids[1]),
                Val::Time(at),
                ended.map_or(Val::NullTime, Val::Time),
            ]);
        }
    }
    let deployed: Vec<Vec<Val>> = deployed
        .into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            row.insert(0, Val::I64(i as i64 + 1));
            row
        })
        .collect();
    sink.insert(
        "deployed_versions",
        &[
            "id",
            "uuid",
            "version_id",
            "pacticipant_id",
            "environment_id",
            "application_instance",
            "created_at",
            "undeployed_at",
        ],
        &deployed,
    )
    .await?;
    let released: Vec<Vec<Val>> = released
        .into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            row.insert(0, Val::I64(i as i64 + 1));
            row
        })
        .collect();
    sink.insert(
        "released_versions",
        &[
            "id",
            "uuid",
            "version_id",
            "pacticipant_id",
            "environment_id",
            "created_at",
            "support_ended_at",
        ],
        &released,
    )
    .await?;
    totals.push(("released_versions", released.len()));
    sink.finish().await?;
    for (version_id, environment_id) in &current {
        store
            .record_deployment(*version_id, *environment_id, None)
            .await?;
    }
    totals.push(("deployed_versions", deployed.len() + current.len()));
    sink.settle().await?;

    let summary: Vec<String> = totals.iter().map(|(t, n)| format!("{n} {t}")).collect();
    eprintln!(
        "seeded in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        summary.join(", ")
    );
    Ok(())
}

/// A stable UUID-shaped identifier for a seeded deployment or release.
fn uuid_like(p: usize, n: usize, kind: i64) -> String {
    format!(
        "00000000-0000-4000-8000-{:04}{:06}{:02}",
        p % 10_000,
        n % 1_000_000,
        kind % 100
    )
}
