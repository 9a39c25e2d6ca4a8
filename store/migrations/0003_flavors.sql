-- Flavors, flavor profiles, availability zones and their profiles (filled in by the flavors work).
CREATE TABLE flavor_placeholder (id TEXT PRIMARY KEY);
