-- Per-project quotas, as Octavia's `quotas` table: one row per project whose quotas were set
-- explicitly. A NULL limit means "the configured default"; -1 means unlimited.
CREATE TABLE quotas (
    project_id TEXT PRIMARY KEY,
    load_balancer BIGINT,
    listener BIGINT,
    pool BIGINT,
    health_monitor BIGINT,
    member BIGINT,
    l7policy BIGINT,
    l7rule BIGINT
);

-- One row per project that ever had a quota checked: every create that counts against a quota
-- updates its project's row first, so that on PostgreSQL the row lock serializes the count and
-- the insert of concurrent creates of one project (SQLite has a single writer anyway).
CREATE TABLE project_quota_locks (
    project_id TEXT PRIMARY KEY,
    counter BIGINT NOT NULL
);
