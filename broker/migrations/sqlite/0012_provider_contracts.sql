-- Provider contracts (SQLite): the OpenAPI document a provider version publishes, with
-- the result of the provider's own check that it honours it. One per provider version:
-- publishing again for the same version replaces it. What the broker finds comparing it
-- with consumer pacts is stored as verifications (`verified_by` names the contract).
CREATE TABLE provider_contracts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_version_id INTEGER NOT NULL UNIQUE REFERENCES versions (id) ON DELETE CASCADE,
    specification       TEXT NOT NULL,
    content_type        TEXT NOT NULL,
    content             TEXT NOT NULL,
    sha                 TEXT NOT NULL,
    self_verification   TEXT NOT NULL,
    self_success        BOOLEAN NOT NULL,
    created_at          TEXT NOT NULL
);
