-- Scoped API tokens (SQLite). Only a token's SHA-256 is stored: the token itself is
-- shown once, when it is created. Scopes are a JSON array of scope strings
-- ("publish:web", "deploy:web@production", ...).
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT
);
