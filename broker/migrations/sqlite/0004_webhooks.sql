-- Webhooks, their durable delivery queue and execution logs (SQLite).
--
-- A webhook says what to call on which events. The dispatcher turns each
-- broker_events row into webhook_deliveries in one transaction (and marks the
-- event dispatched), so a delivery is never lost between the change that caused
-- it and its execution. Workers claim due deliveries with a lease (claimed_by,
-- claimed_until_ms): a broker that stops mid-delivery leaves a lease that expires,
-- and another broker claims the delivery again. Scheduling times are epoch
-- milliseconds so both backends compare them as plain numbers.

CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid            TEXT NOT NULL UNIQUE,
    description     TEXT,
    consumer_id     INTEGER REFERENCES pacticipants (id) ON DELETE CASCADE,
    consumer_label  TEXT,
    provider_id     INTEGER REFERENCES pacticipants (id) ON DELETE CASCADE,
    provider_label  TEXT,
    enabled         BOOLEAN NOT NULL,
    -- JSON array of event names.
    events          TEXT NOT NULL,
    -- JSON: method, url, headers, body, username, password (the template).
    request         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The stable delivery id: the X-Accord-Delivery-Id header of every attempt,
    -- and the triggered webhook's uuid in the API.
    uuid                TEXT NOT NULL UNIQUE,
    webhook_id          INTEGER REFERENCES webhooks (id) ON DELETE SET NULL,
    webhook_uuid        TEXT NOT NULL,
    webhook_description TEXT,
    event_id            INTEGER,
    event_name          TEXT NOT NULL,
    consumer_id         INTEGER,
    provider_id         INTEGER,
    consumer_version_id INTEGER,
    verification_id     INTEGER,
    -- JSON: the rendered request (method, url, headers, body, username, password).
    request             TEXT NOT NULL,
    request_id          TEXT,
    traceparent         TEXT,
    -- pending | retrying | succeeded | dead
    status              TEXT NOT NULL,
    attempts            INTEGER NOT NULL,
    max_attempts        INTEGER NOT NULL,
    next_attempt_ms     INTEGER NOT NULL,
    claimed_by          TEXT,
    claimed_until_ms    INTEGER,
    last_status         INTEGER,
    last_error          TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, id);
CREATE INDEX webhook_deliveries_consumer_version ON webhook_deliveries (consumer_version_id);
CREATE INDEX webhook_deliveries_verification ON webhook_deliveries (verification_id);

-- One row per attempt: the execution log.
CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    worker       TEXT NOT NULL,
    success      BOOLEAN NOT NULL,
    status       INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    log          TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
