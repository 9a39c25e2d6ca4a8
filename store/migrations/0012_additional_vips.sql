-- A load balancer's further addresses (Octavia's additional_vips, for dual-stack VIPs) live
-- with it as a JSON list of {subnet_id, ip_address}: they are only ever read and written with
-- the load balancer itself, so they need no table of their own. Every row stored so far has
-- none.
ALTER TABLE load_balancers ADD COLUMN additional_vips TEXT NOT NULL DEFAULT '[]';
