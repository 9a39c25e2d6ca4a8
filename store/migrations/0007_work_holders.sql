-- The processes that claim work items ("holders"), each with a heartbeat. A lease whose holder
-- stopped beating, or was replaced by a newer incarnation of its replica, is taken over at once
-- instead of at its expiry.
--
-- holder: the `lease_owner` of the items it claims (the replica's name and an id of this run);
-- replica: the stable name the holder runs as; heartbeat_at: milliseconds since the Unix epoch of
-- its last heartbeat, 0 once a newer incarnation of the same replica retired it.
CREATE TABLE work_holders (
    holder TEXT PRIMARY KEY,
    replica TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
CREATE INDEX work_holders_replica ON work_holders (replica);
CREATE INDEX work_items_lease_owner ON work_items (lease_owner);
