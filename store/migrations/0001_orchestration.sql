-- Octavia objects. Every row of a load balancer's tree carries the load balancer's id, so that
-- the whole tree is read, locked and converged through one indexed column. Booleans are 0/1
-- BIGINTs and timestamps are text, so that SQLite and PostgreSQL share one schema.

CREATE TABLE load_balancers (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    name TEXT,
    description TEXT,
    admin_state_up BIGINT NOT NULL,
    provisioning_status TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    vip_address TEXT NOT NULL,
    vip_port_id TEXT NOT NULL,
    vip_subnet_id TEXT NOT NULL,
    vip_network_id TEXT NOT NULL,
    vip_qos_policy_id TEXT,
    provider TEXT NOT NULL,
    flavor_id TEXT,
    availability_zone TEXT,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT
);
CREATE UNIQUE INDEX load_balancers_vip ON load_balancers (vip_subnet_id, vip_address);
CREATE INDEX load_balancers_order ON load_balancers (created_at, id);
CREATE INDEX load_balancers_project ON load_balancers (project_id, created_at, id);

CREATE TABLE listeners (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    loadbalancer_id TEXT NOT NULL,
    name TEXT,
    description TEXT,
    admin_state_up BIGINT NOT NULL,
    provisioning_status TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    protocol TEXT NOT NULL,
    protocol_port BIGINT NOT NULL,
    connection_limit BIGINT NOT NULL,
    default_tls_container_ref TEXT,
    sni_container_refs TEXT NOT NULL,
    default_pool_id TEXT,
    insert_headers TEXT NOT NULL,
    timeout_client_data BIGINT NOT NULL,
    timeout_member_connect BIGINT NOT NULL,
    timeout_member_data BIGINT NOT NULL,
    timeout_tcp_inspect BIGINT NOT NULL,
    tags TEXT NOT NULL,
    client_ca_tls_container_ref TEXT,
    client_authentication TEXT NOT NULL,
    client_crl_container_ref TEXT,
    allowed_cidrs TEXT NOT NULL,
    tls_ciphers TEXT,
    tls_versions TEXT,
    alpn_protocols TEXT,
    hsts_max_age BIGINT,
    hsts_include_subdomains BIGINT NOT NULL,
    hsts_preload BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT
);
CREATE INDEX listeners_tree ON listeners (loadbalancer_id);
CREATE INDEX listeners_order ON listeners (created_at, id);

CREATE TABLE pools (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    loadbalancer_id TEXT NOT NULL,
    name TEXT,
    description TEXT,
    admin_state_up BIGINT NOT NULL,
    provisioning_status TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    protocol TEXT NOT NULL,
    lb_algorithm TEXT NOT NULL,
    session_persistence TEXT,
    tls_container_ref TEXT,
    ca_tls_container_ref TEXT,
    crl_container_ref TEXT,
    tls_enabled BIGINT NOT NULL,
    tls_ciphers TEXT,
    tls_versions TEXT,
    alpn_protocols TEXT,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT
);
CREATE INDEX pools_tree ON pools (loadbalancer_id);
CREATE INDEX pools_order ON pools (created_at, id);

CREATE TABLE members (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    loadbalancer_id TEXT NOT NULL,
    pool_id TEXT NOT NULL,
    name TEXT,
    admin_state_up BIGINT NOT NULL,
    provisioning_status TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    address TEXT NOT NULL,
    protocol_port BIGINT NOT NULL,
    weight BIGINT NOT NULL,
    backup BIGINT NOT NULL,
    subnet_id TEXT,
    monitor_address TEXT,
    monitor_port BIGINT,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT
);
CREATE INDEX members_tree ON members (loadbalancer_id);
CREATE UNIQUE INDEX members_endpoint ON members (pool_id, address, protocol_port);

CREATE TABLE health_monitors (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    loadbalancer_id TEXT NOT NULL,
    pool_id TEXT NOT NULL,
    name TEXT,
    type TEXT NOT NULL,
    delay BIGINT NOT NULL,
    timeout BIGINT NOT NULL,
    max_retries BIGINT NOT NULL,
    max_retries_down BIGINT NOT NULL,
    http_method TEXT,
    url_path TEXT,
    expected_codes TEXT,
    http_version TEXT,
    domain_name TEXT,
    admin_state_up BIGINT NOT NULL,
    provisioning_status TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT
);
CREATE INDEX health_monitors_tree ON health_monitors (loadbalancer_id);
CREATE UNIQUE INDEX health_monitors_pool ON health_monitors (pool_id);

CREATE TABLE l7policies (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    loadbalancer_id TEXT NOT NULL,
    listener_id TEXT NOT NULL,
    name TEXT,
    description TEXT,
    admin_state_up BIGINT NOT NULL,
    provisioning_status TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    action TEXT NOT NULL,
    redirect_pool_id TEXT,
    redirect_url TEXT,
    redirect_prefix TEXT,
    redirect_http_code BIGINT,
    position BIGINT NOT NULL,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT
);
CREATE INDEX l7policies_tree ON l7policies (loadbalancer_id);

CREATE TABLE l7rules (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    loadbalancer_id TEXT NOT NULL,
    l7policy_id TEXT NOT NULL,
    type TEXT NOT NULL,
    compare_type TEXT NOT NULL,
    key TEXT,
    value TEXT NOT NULL,
    invert BIGINT NOT NULL,
    admin_state_up BIGINT NOT NULL,
    provisioning_status TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT
);
CREATE INDEX l7rules_tree ON l7rules (loadbalancer_id);

-- One row per tag, for the tags / tags-any / not-tags / not-tags-any filters.
CREATE TABLE tags (
    resource_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (resource_id, tag)
);
CREATE INDEX tags_tag ON tags (tag);

-- Work for the reconciler: at most one item per load balancer ("converge this tree").
CREATE TABLE work_items (
    loadbalancer_id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    generation BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    last_error TEXT
);
CREATE INDEX work_items_due ON work_items (not_before);

-- Counters observed on the data plane, per listener. A data plane's counters restart at zero
-- when its process is replaced (a reload); the raw_* columns hold the last values read, so that
-- the cumulative columns keep growing across restarts.
CREATE TABLE listener_stats (
    listener_id TEXT PRIMARY KEY,
    loadbalancer_id TEXT NOT NULL,
    bytes_in BIGINT NOT NULL,
    bytes_out BIGINT NOT NULL,
    active_connections BIGINT NOT NULL,
    total_connections BIGINT NOT NULL,
    request_errors BIGINT NOT NULL,
    raw_bytes_in BIGINT NOT NULL,
    raw_bytes_out BIGINT NOT NULL,
    raw_total_connections BIGINT NOT NULL,
    raw_request_errors BIGINT NOT NULL
);
CREATE INDEX listener_stats_tree ON listener_stats (loadbalancer_id);
