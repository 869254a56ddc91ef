-- A provider version can carry one contract of each kind: an OpenAPI document (`oas`)
-- for its HTTP API and an AsyncAPI document (`asyncapi`) for the events it sends.
-- Publishing again for the same version and kind replaces that one. SQLite cannot drop
-- a column's UNIQUE constraint, so the table is rebuilt.
CREATE TABLE provider_contracts_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    specification       TEXT NOT NULL,
    content_type        TEXT NOT NULL,
    content             TEXT NOT NULL,
    sha                 TEXT NOT NULL,
    self_verification   TEXT NOT NULL,
    self_success        BOOLEAN NOT NULL,
    created_at          TEXT NOT NULL,
    UNIQUE (provider_version_id, specification)
);
INSERT INTO provider_contracts_new
    SELECT id, provider_version_id, specification, content_type, content, sha,
           self_verification, self_success, created_at
    FROM provider_contracts;
DROP TABLE provider_contracts;
ALTER TABLE provider_contracts_new RENAME TO provider_contracts;
