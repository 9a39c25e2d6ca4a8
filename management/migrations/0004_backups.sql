-- Configuration backups taken from devices: which device, why (`manual`, `schedule:<name>`,
-- `campaign:<id>`), the file name the device gave it, where the archive keeps it and its
-- SHA-256 and size (when stored), or why it failed.
CREATE TABLE mgmt_backups (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    device_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    name TEXT,
    archive_key TEXT,
    sha256 TEXT,
    size BIGINT,
    status TEXT NOT NULL,
    error TEXT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX mgmt_backups_device ON mgmt_backups (device_id, created_ms);
