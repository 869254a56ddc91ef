-- Pacticipant labels, and what the audit log API and retention need (SQLite).

CREATE TABLE pacticipant_labels (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    pacticipant_id INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    UNIQUE (pacticipant_id, name)
);
CREATE INDEX pacticipant_labels_name ON pacticipant_labels (name);

-- The audit log is read newest first, filtered by actor or time.
CREATE INDEX audit_log_actor ON audit_log (actor, id);

-- Retention asks, for every old version, whether it is still deployed or released,
-- and deletes old drift runs.
CREATE INDEX retention_deployed_versions_version ON deployed_versions (version_id);
CREATE INDEX retention_released_versions_version ON released_versions (version_id);
CREATE INDEX retention_versions_created ON versions (created_at);
CREATE INDEX retention_drift_runs_created ON drift_runs (created_at);

-- The versions one retention run deletes. Filled and emptied inside the run's
-- transaction, so it is empty whenever no run is in progress.
CREATE TABLE retention_candidates (
    version_id INTEGER PRIMARY KEY
);
