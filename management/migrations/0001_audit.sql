-- Management's audit trail: every action taken through the management API or by its background
-- jobs, with who asked (user and project from the token; NULL for Fulcrum's own jobs), what,
-- on which object, when (at_ms: milliseconds since the Unix epoch, for order), and how it ended.
CREATE TABLE mgmt_audit (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    user_id TEXT,
    project_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    result TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX mgmt_audit_at ON mgmt_audit (at_ms);
CREATE INDEX mgmt_audit_action ON mgmt_audit (action);
