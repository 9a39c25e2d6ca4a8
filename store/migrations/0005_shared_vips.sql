-- A VIP address Fulcrum hands out from its built-in networks serves one load balancer: such rows
-- are marked vip_claimed and unique per subnet. Other network back-ends (noop) let several load
-- balancers show the same address on a subnet, as Octavia's noop network driver does, so their
-- rows stay unclaimed. Every row stored so far came from the built-in networks.
ALTER TABLE load_balancers ADD COLUMN vip_claimed BIGINT NOT NULL DEFAULT 0;
UPDATE load_balancers SET vip_claimed = 1;
DROP INDEX load_balancers_vip;
CREATE UNIQUE INDEX load_balancers_vip ON load_balancers (vip_subnet_id, vip_address)
    WHERE vip_claimed = 1;
CREATE INDEX load_balancers_vip_address ON load_balancers (vip_subnet_id, vip_address);
