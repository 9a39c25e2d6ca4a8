-- The check value of the key that seals secrets: a known text sealed under the key of the first
-- process that opened the module on this database. Every later process (a restart, another
-- replica) must open it with its own key, or it refuses to start: replicas on one database share
-- one key.
CREATE TABLE mgmt_secret_key_check (
    id BIGINT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
