-- Every address Fulcrum hands out from a subnet whose addresses serve one load balancer each (the
-- built-in networks), VIP and additional VIPs alike, is claimed here: the primary key keeps an
-- address to one load balancer even when two creates race for it, which a check made before the
-- insert cannot. Rows go with their load balancer.
CREATE TABLE vip_claims (
    subnet_id TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    load_balancer_id TEXT NOT NULL,
    PRIMARY KEY (subnet_id, ip_address)
);
CREATE INDEX vip_claims_load_balancer ON vip_claims (load_balancer_id);
INSERT INTO vip_claims (subnet_id, ip_address, load_balancer_id)
    SELECT vip_subnet_id, vip_address, id FROM load_balancers WHERE vip_claimed = 1;
INSERT INTO vip_claims (subnet_id, ip_address, load_balancer_id)
    SELECT a ->> 'subnet_id', a ->> 'ip_address', lb.id
    FROM load_balancers lb, jsonb_array_elements(lb.additional_vips::jsonb) a
    WHERE lb.vip_claimed = 1
    ON CONFLICT DO NOTHING;
