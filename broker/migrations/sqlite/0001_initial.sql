-- The broker's schema. Versions, branch versions and verifications are ordered by
-- their ids: creation order is the broker's notion of "latest".

CREATE TABLE pacticipants (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    name                 TEXT NOT NULL UNIQUE,
    display_name         TEXT,
    repository_url       TEXT,
    repository_name      TEXT,
    repository_namespace TEXT,
    main_branch          TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

CREATE TABLE versions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    pacticipant_id INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    number         TEXT NOT NULL,
    build_url      TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (pacticipant_id, number)
);

CREATE TABLE branches (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    pacticipant_id INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (pacticipant_id, name)
);

CREATE TABLE branch_versions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id  INTEGER NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    UNIQUE (branch_id, version_id)
);
CREATE INDEX branch_versions_version ON branch_versions (version_id);

CREATE TABLE tags (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (version_id, name)
);
CREATE INDEX tags_name ON tags (name);

CREATE TABLE pact_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer_id INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    provider_id INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    sha         TEXT NOT NULL,
    content     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (consumer_id, provider_id, sha)
);

CREATE TABLE pact_publications (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer_version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    provider_id         INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    pact_version_id     INTEGER NOT NULL REFERENCES pact_versions (id) ON DELETE CASCADE,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (consumer_version_id, provider_id)
);
CREATE INDEX pact_publications_provider ON pact_publications (provider_id);
CREATE INDEX pact_publications_pact_version ON pact_publications (pact_version_id);

CREATE TABLE verifications (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    pact_version_id     INTEGER NOT NULL REFERENCES pact_versions (id) ON DELETE CASCADE,
    provider_version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    success             BOOLEAN NOT NULL,
    build_url           TEXT,
    test_results        TEXT,
    verified_by         TEXT,
    wip                 BOOLEAN NOT NULL,
    pending             BOOLEAN,
    created_at          TEXT NOT NULL
);
CREATE INDEX verifications_pact_version ON verifications (pact_version_id);
CREATE INDEX verifications_provider_version ON verifications (provider_version_id);

CREATE TABLE environments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL UNIQUE,
    display_name TEXT,
    production   BOOLEAN NOT NULL,
    contacts     TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE deployed_versions (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                 TEXT NOT NULL UNIQUE,
    version_id           INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    pacticipant_id       INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    environment_id       INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    application_instance TEXT,
    created_at           TEXT NOT NULL,
    undeployed_at        TEXT
);
-- At most one current deployment per pacticipant, environment and instance, even
-- when two brokers record deployments at the same moment.
CREATE UNIQUE INDEX deployed_versions_current
    ON deployed_versions (pacticipant_id, environment_id, COALESCE(application_instance, ''))
    WHERE undeployed_at IS NULL;

CREATE TABLE released_versions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid             TEXT NOT NULL UNIQUE,
    version_id       INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    pacticipant_id   INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    environment_id   INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    created_at       TEXT NOT NULL,
    support_ended_at TEXT,
    UNIQUE (version_id, environment_id)
);
