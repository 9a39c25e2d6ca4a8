-- The device inventory: each device management knows (from the configuration, the API, or seen
-- by a provider), how to reach it (addresses as a JSON array; credentials write-only through the
-- API), its maintenance state (and, while unreachable, the state it returns to), the facts last
-- read from it (JSON) and when (ms since the Unix epoch).
CREATE TABLE mgmt_devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    provider TEXT,
    ha_peer TEXT,
    addresses TEXT NOT NULL,
    username TEXT,
    password TEXT,
    ca_bundle TEXT,
    verify_tls BIGINT NOT NULL,
    config_dir TEXT,
    haproxy_binary TEXT,
    state TEXT NOT NULL,
    resume_state TEXT,
    failures BIGINT NOT NULL,
    last_error TEXT,
    facts TEXT,
    last_seen_ms BIGINT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX mgmt_devices_provider ON mgmt_devices (provider, name);

-- Which load balancers each device carries, as providers reported them.
CREATE TABLE mgmt_device_load_balancers (
    device_id TEXT NOT NULL REFERENCES mgmt_devices (id) ON DELETE CASCADE,
    load_balancer_id TEXT NOT NULL,
    seen_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, load_balancer_id)
);
CREATE INDEX mgmt_device_load_balancers_lb ON mgmt_device_load_balancers (load_balancer_id);

-- Day-2 requests from orchestration already handled, by event id, so that a batch read twice
-- does not fail a pair over twice.
CREATE TABLE mgmt_device_requests (
    event_id BIGINT PRIMARY KEY,
    handled_ms BIGINT NOT NULL
);
