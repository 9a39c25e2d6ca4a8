//! The Policy collections the driver writes to, with the hierarchical API's wrapper of each.

/// One Policy collection under `/infra`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collection {
    /// The path segment (`lb-pools`).
    pub name: &'static str,
    /// The base type, also the key of the object in its wrapper (`LBPool`).
    pub base_type: &'static str,
    /// The hierarchical API's wrapper (`ChildLBPool`).
    pub wrapper: &'static str,
}

/// `/infra/lb-services`.
pub const SERVICES: Collection = Collection {
    name: "lb-services",
    base_type: "LBService",
    wrapper: "ChildLBService",
};
/// `/infra/lb-virtual-servers`.
pub const VIRTUAL_SERVERS: Collection = Collection {
    name: "lb-virtual-servers",
    base_type: "LBVirtualServer",
    wrapper: "ChildLBVirtualServer",
};
/// `/infra/lb-pools`.
pub const POOLS: Collection = Collection {
    name: "lb-pools",
    base_type: "LBPool",
    wrapper: "ChildLBPool",
};
/// `/infra/lb-app-profiles`.
pub const APP_PROFILES: Collection = Collection {
    name: "lb-app-profiles",
    base_type: "LBAppProfile",
    wrapper: "ChildLBAppProfile",
};
/// `/infra/lb-monitor-profiles`.
pub const MONITOR_PROFILES: Collection = Collection {
    name: "lb-monitor-profiles",
    base_type: "LBMonitorProfile",
    wrapper: "ChildLBMonitorProfile",
};
/// `/infra/lb-persistence-profiles`.
pub const PERSISTENCE_PROFILES: Collection = Collection {
    name: "lb-persistence-profiles",
    base_type: "LBPersistenceProfile",
    wrapper: "ChildLBPersistenceProfile",
};
/// `/infra/lb-client-ssl-profiles`.
pub const CLIENT_SSL_PROFILES: Collection = Collection {
    name: "lb-client-ssl-profiles",
    base_type: "LBClientSslProfile",
    wrapper: "ChildLBClientSslProfile",
};
/// `/infra/lb-server-ssl-profiles`.
pub const SERVER_SSL_PROFILES: Collection = Collection {
    name: "lb-server-ssl-profiles",
    base_type: "LBServerSslProfile",
    wrapper: "ChildLBServerSslProfile",
};
/// `/infra/certificates`.
pub const CERTIFICATES: Collection = Collection {
    name: "certificates",
    base_type: "TlsCertificate",
    wrapper: "ChildTlsCertificate",
};

/// Every collection the driver writes to.
pub const ALL: [Collection; 9] = [
    SERVICES,
    VIRTUAL_SERVERS,
    POOLS,
    APP_PROFILES,
    MONITOR_PROFILES,
    PERSISTENCE_PROFILES,
    CLIENT_SSL_PROFILES,
    SERVER_SSL_PROFILES,
    CERTIFICATES,
];

impl Collection {
    /// The path of the object `id` in it.
    pub fn path(&self, id: &str) -> String {
        format!("/infra/{}/{id}", self.name)
    }
}

/// The collection and id an `/infra/<collection>/<id>` path names, for the collections above.
pub fn parse_path(path: &str) -> Option<(Collection, &str)> {
    let rest = path.strip_prefix("/infra/")?;
    let (name, id) = rest.split_once('/')?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    ALL.into_iter().find(|c| c.name == name).map(|c| (c, id))
}
