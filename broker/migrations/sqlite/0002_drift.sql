-- Results of the drift monitor (an Accord extension of the Pact Broker API).
--
-- Each report the monitor posts is one run of one provider in one environment (or
-- none). Findings are kept once per provider, environment and fingerprint while
-- they are open: a later run that no longer sees a finding resolves it, so the
-- "current drift" of a provider is its open findings.

CREATE TABLE drift_runs (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_id          INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    environment_id       INTEGER REFERENCES environments (id) ON DELETE CASCADE,
    base_url             TEXT NOT NULL,
    started_at           TEXT NOT NULL,
    finished_at          TEXT NOT NULL,
    probes               INTEGER NOT NULL,
    interactions_checked INTEGER NOT NULL,
    finding_count        INTEGER NOT NULL,
    probe_error_count    INTEGER NOT NULL,
    skipped_count        INTEGER NOT NULL,
    -- False for a run that arrived after a run that finished later: it is kept, but
    -- the drift state is not rolled back to it.
    applied              BOOLEAN NOT NULL,
    report               TEXT NOT NULL,
    created_at           TEXT NOT NULL
);
CREATE INDEX drift_runs_scope ON drift_runs (provider_id, environment_id, id);
-- A report posted twice (a retry after a lost answer) is one run.
CREATE UNIQUE INDEX drift_runs_once
    ON drift_runs (provider_id, COALESCE(environment_id, 0), started_at, finished_at);

CREATE TABLE drift_findings (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_id      INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    environment_id   INTEGER REFERENCES environments (id) ON DELETE CASCADE,
    fingerprint      TEXT NOT NULL,
    consumers        TEXT NOT NULL,
    interaction      TEXT NOT NULL,
    request          TEXT NOT NULL,
    pointer          TEXT NOT NULL,
    class            TEXT NOT NULL,
    expected         TEXT NOT NULL,
    actual           TEXT NOT NULL,
    occurrences      INTEGER NOT NULL,
    hint             TEXT,
    first_seen_at    TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL,
    last_run_id      INTEGER REFERENCES drift_runs (id) ON DELETE SET NULL,
    -- The latest run that could not check this finding again (its probe failed or
    -- the interaction was skipped), and why.
    unchecked_run_id INTEGER REFERENCES drift_runs (id) ON DELETE SET NULL,
    unchecked_reason TEXT,
    resolved_at      TEXT,
    resolved_run_id  INTEGER REFERENCES drift_runs (id) ON DELETE SET NULL
);
CREATE INDEX drift_findings_scope ON drift_findings (provider_id, environment_id);
-- At most one open finding per provider, environment and fingerprint.
CREATE UNIQUE INDEX drift_findings_open
    ON drift_findings (provider_id, COALESCE(environment_id, 0), fingerprint)
    WHERE resolved_at IS NULL;
