-- License pools: the registration keys (kind `keys`) or the count of seats (kind `seats`) that
-- license devices of one kind, when they end (`YYYY-MM-DD`), how many days ahead of that an
-- alert is raised, and whether a device of that kind takes a license from it when registered.
CREATE TABLE mgmt_license_pools (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    device_kind TEXT NOT NULL,
    kind TEXT NOT NULL,
    seats BIGINT,
    expires_on TEXT NOT NULL,
    alert_ahead_days BIGINT NOT NULL,
    assign_on_registration BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);

-- The registration keys of `keys` pools, sealed (as device passwords are); the SHA-256 of a key
-- keeps it in one pool once, the masked form is what the API shows. `refused` holds what a
-- device answered when it refused the key.
CREATE TABLE mgmt_license_keys (
    id TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL REFERENCES mgmt_license_pools (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL UNIQUE,
    sealed TEXT NOT NULL,
    masked TEXT NOT NULL,
    refused TEXT,
    added_ms BIGINT NOT NULL
);
CREATE INDEX mgmt_license_keys_pool ON mgmt_license_keys (pool_id, added_ms);

-- Licenses given to devices: a key (of a `keys` pool) or a seat number (of a `seats` pool),
-- `installing` while the device takes it, then `active`, and `revoked` once given back (kept as
-- history). While not revoked, a device holds one per pool, and a key or a seat is held once.
CREATE TABLE mgmt_license_assignments (
    id TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL REFERENCES mgmt_license_pools (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    key_id TEXT,
    seat BIGINT,
    state TEXT NOT NULL,
    assigned_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE UNIQUE INDEX mgmt_license_assignments_device ON mgmt_license_assignments (pool_id, device_id)
    WHERE state <> 'revoked';
CREATE UNIQUE INDEX mgmt_license_assignments_key ON mgmt_license_assignments (key_id)
    WHERE state <> 'revoked';
CREATE UNIQUE INDEX mgmt_license_assignments_seat ON mgmt_license_assignments (pool_id, seat)
    WHERE state <> 'revoked';
CREATE INDEX mgmt_license_assignments_of_device ON mgmt_license_assignments (device_id);
