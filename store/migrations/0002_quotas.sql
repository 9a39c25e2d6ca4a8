-- Per-project quotas (filled in by the quotas work).
CREATE TABLE quota_placeholder (id TEXT PRIMARY KEY);
