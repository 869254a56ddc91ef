//! What the SQL both backends share is built from: column lists and join clauses
//! (macros, so `concat!` can use them) and [`Conditions`] for queries built at run time.
//!
//! SQLite and PostgreSQL agree on the subset of SQL the broker needs (`$n`
//! parameters, `ON CONFLICT ... DO NOTHING`, `RETURNING`, partial unique indexes),
//! so the queries are written once, in `shared/` (see `shared/mod.rs`), and compiled
//! for each backend. This
//! departs from "each store with its own SQL" on purpose: one body keeps the two
//! backends from drifting apart in behaviour, while everything that really differs
//! (connection options, WAL, locking, schema types and migrations) stays in
//! `sqlite.rs` and `postgres.rs`. Each backend compiles the queries with its own types,
//! so every query is checked against that backend's encoders and decoders; there is
//! no `sqlx::Any`.

/// Column lists shared by several queries (macros so `concat!` can use them).
macro_rules! pacticipant_select {
    () => {
        "SELECT id, name, display_name, repository_url, repository_name, repository_namespace, \
         main_branch, created_at, updated_at FROM pacticipants"
    };
}
macro_rules! version_select {
    () => {
        "SELECT v.id, v.pacticipant_id, p.name AS pacticipant_name, v.number, v.build_url, \
         v.created_at FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id"
    };
}
macro_rules! tag_select {
    () => {
        "SELECT t.version_id, v.number AS version_number, t.name, t.created_at \
         FROM tags t JOIN versions v ON v.id = t.version_id"
    };
}
macro_rules! branch_version_select {
    () => {
        "SELECT bv.id, bv.branch_id, b.name AS branch_name, bv.version_id, v.number AS version_number, \
         bv.created_at, \
         (bv.id = (SELECT bv2.id FROM branch_versions bv2 WHERE bv2.branch_id = bv.branch_id \
          ORDER BY bv2.id DESC LIMIT 1)) AS latest \
         FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id JOIN versions v ON v.id = bv.version_id"
    };
}
/// Whether the tag `t` is on the latest version of its pacticipant that carries a tag
/// of that name: one seek in the (pacticipant_id, name, version_id) index.
macro_rules! tag_is_latest {
    () => {
        "(t.version_id = (SELECT MAX(t2.version_id) FROM tags t2 \
         WHERE t2.pacticipant_id = t.pacticipant_id AND t2.name = t.name))"
    };
}
/// The head of each branch of some pacticipants (`... WHERE b.pacticipant_id` is
/// followed by their ids): the version last added, one index seek each on
/// `(branch_id, id)`; `NULL` for a branch whose versions were all deleted.
macro_rules! branch_heads_select {
    () => {
        "SELECT b.pacticipant_id, b.name, \
         (SELECT bv.version_id FROM branch_versions bv WHERE bv.branch_id = b.id ORDER BY bv.id DESC LIMIT 1) AS version_id \
         FROM branches b WHERE b.pacticipant_id"
    };
}
/// The latest version with each tag of some pacticipants (followed by their ids and
/// `GROUP BY t.pacticipant_id, t.name`): one range of the
/// `(pacticipant_id, name, version_id)` index.
macro_rules! tag_heads_select {
    () => {
        "SELECT t.pacticipant_id, t.name AS tag_name, MAX(t.version_id) AS version_id \
         FROM tags t WHERE t.pacticipant_id"
    };
}
macro_rules! publication_select {
    () => {
        "SELECT pp.id, cv.pacticipant_id AS consumer_id, c.name AS consumer_name, pp.provider_id, \
         pr.name AS provider_name, pp.consumer_version_id, cv.number AS consumer_version_number, \
         pp.pact_version_id, pv.sha, pp.created_at \
         FROM pact_publications pp \
         JOIN versions cv ON cv.id = pp.consumer_version_id \
         JOIN pacticipants c ON c.id = cv.pacticipant_id \
         JOIN pacticipants pr ON pr.id = pp.provider_id \
         JOIN pact_versions pv ON pv.id = pp.pact_version_id"
    };
}
macro_rules! verification_select {
    () => {
        "SELECT vr.id, vr.pact_version_id, pv.sha, pv.consumer_id, c.name AS consumer_name, \
         pv.provider_id, pr.name AS provider_name, vr.provider_version_id, \
         prv.number AS provider_version_number, vr.success, vr.build_url, vr.test_results, \
         vr.verified_by, vr.wip, vr.pending, vr.created_at \
         FROM verifications vr \
         JOIN pact_versions pv ON pv.id = vr.pact_version_id \
         JOIN pacticipants c ON c.id = pv.consumer_id \
         JOIN pacticipants pr ON pr.id = pv.provider_id \
         JOIN versions prv ON prv.id = vr.provider_version_id"
    };
}
macro_rules! environment_select {
    () => {
        "SELECT id, uuid, name, display_name, production, contacts, created_at, updated_at FROM environments"
    };
}
macro_rules! deployed_select {
    () => {
        "SELECT d.id, d.uuid, d.version_id, v.number AS version_number, d.pacticipant_id, \
         p.name AS pacticipant_name, d.environment_id, d.application_instance, d.created_at, \
         d.undeployed_at FROM deployed_versions d JOIN versions v ON v.id = d.version_id \
         JOIN pacticipants p ON p.id = d.pacticipant_id"
    };
}
macro_rules! released_select {
    () => {
        "SELECT r.id, r.uuid, r.version_id, v.number AS version_number, r.pacticipant_id, \
         p.name AS pacticipant_name, r.environment_id, r.created_at, r.support_ended_at \
         FROM released_versions r JOIN versions v ON v.id = r.version_id \
         JOIN pacticipants p ON p.id = r.pacticipant_id"
    };
}

macro_rules! drift_run_select {
    () => {
        "SELECT r.id, r.provider_id, p.name AS provider_name, r.environment_id, e.name AS environment_name, \
         r.base_url, r.started_at, r.finished_at, r.probes, r.interactions_checked, r.finding_count, \
         r.probe_error_count, r.skipped_count, r.applied, r.created_at \
         FROM drift_runs r JOIN pacticipants p ON p.id = r.provider_id \
         LEFT JOIN environments e ON e.id = r.environment_id"
    };
}
macro_rules! drift_finding_select {
    () => {
        "SELECT f.id, f.provider_id, p.name AS provider_name, f.environment_id, e.name AS environment_name, \
         f.fingerprint, f.consumers, f.interaction, f.request, f.pointer, f.class, f.expected, f.actual, \
         f.occurrences, f.hint, f.first_seen_at, f.last_seen_at, f.last_run_id, f.unchecked_run_id, \
         f.unchecked_reason, f.resolved_at, f.resolved_run_id \
         FROM drift_findings f JOIN pacticipants p ON p.id = f.provider_id \
         LEFT JOIN environments e ON e.id = f.environment_id"
    };
}

/// Joins the conditions of a query built at run time: ` WHERE ` before the first,
/// ` AND ` before the others.
#[derive(Default)]
pub(super) struct Conditions {
    started: bool,
}

impl Conditions {
    pub(super) fn next<'q, DB: sqlx::Database>(
        &mut self,
        query: &'q mut sqlx::QueryBuilder<DB>,
    ) -> &'q mut sqlx::QueryBuilder<DB> {
        let separator = if self.started { " AND " } else { " WHERE " };
        self.started = true;
        query.push(separator)
    }
}
