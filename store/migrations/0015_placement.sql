-- Where the load balancer's driver placed it when it was created (the F5 driver: a BIG-IP pair),
-- kept for its whole life (none for rows stored so far, and for drivers that do not place). The
-- driver reads it from the tree it is handed.
ALTER TABLE load_balancers ADD COLUMN placement TEXT;
