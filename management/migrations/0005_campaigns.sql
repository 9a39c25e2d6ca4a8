-- Hotfix and upgrade campaigns: the target (a hotfix or image ISO already on the devices, and the
-- version it brings), the policy in force (JSON: pace, canaries, backups, gates, windows,
-- timeouts), and where the campaign stands (running, paused, aborted, completed, rolling_back,
-- rolled_back), with the reason of a pause.
CREATE TABLE mgmt_campaigns (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_name TEXT NOT NULL,
    target_version TEXT NOT NULL,
    policy TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    created_by TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    finished_ms BIGINT
);
CREATE INDEX mgmt_campaigns_state ON mgmt_campaigns (state);

-- Each device of a campaign, in campaign order: its HA peer and role when the campaign began,
-- the phase (forward, or rollback) and where it stands in it (progress, step, and whether the
-- step was issued to the device), the volumes it moves between and the version it ran before,
-- the backup taken before its change, the maintenance state it returns to, and the error of a
-- failure.
CREATE TABLE mgmt_campaign_devices (
    campaign_id TEXT NOT NULL REFERENCES mgmt_campaigns (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    device_name TEXT NOT NULL,
    position BIGINT NOT NULL,
    peer_id TEXT,
    role TEXT NOT NULL,
    phase TEXT NOT NULL,
    progress TEXT NOT NULL,
    step TEXT NOT NULL,
    started BIGINT NOT NULL,
    step_since_ms BIGINT,
    from_volume TEXT,
    from_version TEXT,
    to_volume TEXT,
    backup_id TEXT,
    state_before TEXT,
    error TEXT,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, device_id)
);
CREATE INDEX mgmt_campaign_devices_device ON mgmt_campaign_devices (device_id);

-- What happened to each device, step by step: a step issued to the device, a step completed,
-- the device done or failed (with the reason).
CREATE TABLE mgmt_campaign_history (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES mgmt_campaigns (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    step TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX mgmt_campaign_history_campaign ON mgmt_campaign_history (campaign_id, at_ms);
