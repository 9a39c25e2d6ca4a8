-- PostgreSQL only. Writes are no longer notified by triggers inside each write transaction: a
-- NOTIFY there serializes the commits of the whole database. Each process announces its own
-- commits on `fulcrum_writes` after they are made (`Store::follow_writes`).

DROP TRIGGER load_balancers_notify ON load_balancers;
DROP TRIGGER listeners_notify ON listeners;
DROP TRIGGER pools_notify ON pools;
DROP TRIGGER members_notify ON members;
DROP TRIGGER health_monitors_notify ON health_monitors;
DROP TRIGGER l7policies_notify ON l7policies;
DROP TRIGGER l7rules_notify ON l7rules;
DROP TRIGGER tags_notify ON tags;
DROP FUNCTION fulcrum_notify_write();
