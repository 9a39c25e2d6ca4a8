-- Alerts: one row per label set (fingerprint: FNV-1a 64 of the sorted labels, as Alertmanager
-- computes it). Times are milliseconds since the Unix epoch. ends_at_ms NULL means "until
-- cleared" (alerts Fulcrum raises itself); an alert is resolved once ends_at_ms is past.
-- source_key names an alert raised from orchestration's events, so that its clearing finds it.
CREATE TABLE mgmt_alerts (
    fingerprint TEXT PRIMARY KEY,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    starts_at_ms BIGINT NOT NULL,
    ends_at_ms BIGINT,
    updated_at_ms BIGINT NOT NULL,
    generator_url TEXT NOT NULL,
    source_key TEXT,
    acknowledged_by TEXT,
    acknowledged_at_ms BIGINT
);
CREATE INDEX mgmt_alerts_source_key ON mgmt_alerts (source_key);
CREATE INDEX mgmt_alerts_ends_at ON mgmt_alerts (ends_at_ms);

-- Silences: matchers (JSON, Alertmanager's shape) muting matching alerts between two times.
CREATE TABLE mgmt_silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at_ms BIGINT NOT NULL,
    ends_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    comment TEXT NOT NULL
);

-- What each receiver was last told about each group: the fingerprints it knows as firing, and
-- when it was last told (an Alertmanager is told again before its own resolve timeout).
CREATE TABLE mgmt_alert_groups (
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    firing TEXT NOT NULL,
    sent_at_ms BIGINT NOT NULL,
    PRIMARY KEY (receiver, group_key)
);

-- Notifications to deliver, written with the group's new state in one transaction, and marked
-- delivered once the receiver answered 2xx (or failed once retries are exhausted).
CREATE TABLE mgmt_alert_notifications (
    id TEXT PRIMARY KEY,
    created_at_ms BIGINT NOT NULL,
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    delivered_at_ms BIGINT,
    failed_at_ms BIGINT,
    last_error TEXT
);
CREATE INDEX mgmt_alert_notifications_due ON mgmt_alert_notifications (delivered_at_ms, failed_at_ms, next_attempt_ms);
