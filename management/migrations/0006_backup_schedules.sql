-- Backup schedules made through the API (those of the configuration are not stored): a name,
-- a cron expression, which devices (a kind, names as a JSON array; neither: all), and how long
-- their backups are kept (a count per device, an age in days).
CREATE TABLE mgmt_backup_schedules (
    name TEXT PRIMARY KEY,
    cron TEXT NOT NULL,
    kind TEXT,
    devices TEXT NOT NULL,
    keep_count BIGINT,
    keep_days BIGINT,
    created_ms BIGINT NOT NULL
);

-- The last slot each schedule (of the configuration or the API, by name) ran for (ms since the
-- Unix epoch), so that a restart neither skips nor repeats one.
CREATE TABLE mgmt_backup_schedule_runs (
    name TEXT PRIMARY KEY,
    last_slot_ms BIGINT NOT NULL
);
