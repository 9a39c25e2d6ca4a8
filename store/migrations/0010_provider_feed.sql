-- The status feed of a provider driver (Fulcrum behind a real Octavia): the load balancers that
-- Octavia delegates, and, for each of them, the statuses and listener statistics that Octavia must
-- learn, in the order they were committed, under a cursor the driver's agent resumes from.

-- The load balancers written through the provider API; only their changes go to the feed.
CREATE TABLE provider_load_balancers (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

-- Cursors come from the one row of provider_feed_counter, updated in the writing transaction, as
-- the events outbox does (its row lock on PostgreSQL makes feed-writing transactions commit in
-- cursor order; a rolled-back transaction gives its cursors back): a reader of `id > cursor`
-- never finds a smaller cursor appearing after a larger one.
CREATE TABLE provider_feed_counter (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL
);
INSERT INTO provider_feed_counter (id, last_id) VALUES (1, 0);

-- status: JSON in the shape of octavia-lib's update_loadbalancer_status (or NULL);
-- statistics: JSON in the shape of update_listener_statistics (or NULL).
CREATE TABLE provider_feed (
    id BIGINT PRIMARY KEY,
    loadbalancer_id TEXT NOT NULL,
    status TEXT,
    statistics TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX provider_feed_created ON provider_feed (created_at);
