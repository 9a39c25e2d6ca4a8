-- The events outbox: what orchestration tells management, written in the transaction of the change
-- that causes it, read by consumers in id order from a cursor each stores under its name.

-- Ids come from the one row of event_counter, updated in the writing transaction: its row lock
-- (PostgreSQL) or the single writer (SQLite) makes event-writing transactions commit in id order,
-- and a rolled-back transaction gives its ids back, so a reader of `id > cursor` never finds a
-- smaller id appearing after a larger one.
CREATE TABLE event_counter (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL
);
INSERT INTO event_counter (id, last_id) VALUES (1, 0);

-- payload is the JSON of the event's fields; kind is its stable tag.
CREATE TABLE events (
    id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    load_balancer_id TEXT,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX events_created ON events (created_at);

-- Per consumer, the last event id it has handled.
CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
