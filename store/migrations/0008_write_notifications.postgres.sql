-- PostgreSQL only. Every statement that changes an Octavia object notifies the channel
-- `fulcrum_writes`; PostgreSQL delivers the notification when the transaction commits (one per
-- transaction, however many statements sent it). Each replica listens on the channel and drops
-- what it cached of the objects (`Store::follow_writes`), so that a cache of one replica never
-- outlives a write of another.

CREATE FUNCTION fulcrum_notify_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fulcrum_writes', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER load_balancers_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON load_balancers
    FOR EACH STATEMENT EXECUTE FUNCTION fulcrum_notify_write();
CREATE TRIGGER listeners_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON listeners
    FOR EACH STATEMENT EXECUTE FUNCTION fulcrum_notify_write();
CREATE TRIGGER pools_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pools
    FOR EACH STATEMENT EXECUTE FUNCTION fulcrum_notify_write();
CREATE TRIGGER members_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON members
    FOR EACH STATEMENT EXECUTE FUNCTION fulcrum_notify_write();
CREATE TRIGGER health_monitors_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON health_monitors
    FOR EACH STATEMENT EXECUTE FUNCTION fulcrum_notify_write();
CREATE TRIGGER l7policies_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON l7policies
    FOR EACH STATEMENT EXECUTE FUNCTION fulcrum_notify_write();
CREATE TRIGGER l7rules_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON l7rules
    FOR EACH STATEMENT EXECUTE FUNCTION fulcrum_notify_write();
CREATE TRIGGER tags_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tags
    FOR EACH STATEMENT EXECUTE FUNCTION fulcrum_notify_write();
