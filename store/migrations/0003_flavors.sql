-- Flavors, flavor profiles, availability zones and their profiles (Octavia's operator catalog).
-- Profiles hold provider metadata as JSON text; flavors and zones point at a profile. Load
-- balancers name a flavor by id and a zone by name (columns of load_balancers); deletes of rows
-- still named there are refused by the API.

CREATE TABLE flavor_profiles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    flavor_data TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE flavors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    enabled BIGINT NOT NULL,
    flavor_profile_id TEXT NOT NULL REFERENCES flavor_profiles (id),
    created_at TEXT NOT NULL
);
CREATE INDEX flavors_profile ON flavors (flavor_profile_id);

CREATE TABLE availability_zone_profiles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    availability_zone_data TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE availability_zones (
    name TEXT PRIMARY KEY,
    description TEXT,
    enabled BIGINT NOT NULL,
    availability_zone_profile_id TEXT NOT NULL REFERENCES availability_zone_profiles (id),
    created_at TEXT NOT NULL
);
CREATE INDEX availability_zones_profile ON availability_zones (availability_zone_profile_id);

CREATE INDEX load_balancers_flavor ON load_balancers (flavor_id);
CREATE INDEX load_balancers_zone ON load_balancers (availability_zone);
