-- The router behind a load balancer's VIP subnet, as the network back-end found it when the VIP
-- was allocated (none for rows stored so far, and for back-ends without routers). A driver that
-- places a load balancer by its router (NSX-T: the Tier-1 of the Neutron router) reads it.
ALTER TABLE load_balancers ADD COLUMN vip_router_id TEXT;
