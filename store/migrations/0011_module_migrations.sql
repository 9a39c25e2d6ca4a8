-- Modules with tables of their own (management) migrate them apart from the store's migrations,
-- each recording here which of its versions are applied (see `ModuleDb::migrate`).
CREATE TABLE module_migrations (
    module TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version)
);
