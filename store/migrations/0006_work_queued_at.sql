-- When a work item was first queued (milliseconds since the Unix epoch), kept while newer writes
-- supersede it, so that the age of the oldest item says how long a load balancer has waited to
-- converge. Items queued before this column existed have none and are left out of that age.
ALTER TABLE work_items ADD COLUMN queued_at BIGINT;
