-- The outbox of what happened, and the audit log (SQLite).
--
-- broker_events rows are written in the same transaction as the change they
-- describe, so a committed publish, verification or drift run always has its
-- event: webhooks are expanded from this table after the commit, never from the
-- request. The ids are not foreign keys on purpose: an event outlives the rows
-- it names (a deleted version still had its pact published).

CREATE TABLE broker_events (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    -- contract_published | verification_published | drift_changed
    kind                TEXT NOT NULL,
    consumer_id         INTEGER,
    provider_id         INTEGER,
    consumer_version_id INTEGER,
    pact_version_id     INTEGER,
    provider_version_id INTEGER,
    verification_id     INTEGER,
    drift_run_id        INTEGER,
    -- The request that caused it, passed on to webhook calls.
    request_id          TEXT,
    traceparent         TEXT,
    -- Kind-specific facts as JSON (see store::EventDetail).
    detail              TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    -- Set once the event has been turned into webhook deliveries.
    dispatched_at       TEXT
);
CREATE INDEX broker_events_pending ON broker_events (id) WHERE dispatched_at IS NULL;

-- One row per committed write made through the API: who, what, when.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    actor       TEXT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    request_id  TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);
