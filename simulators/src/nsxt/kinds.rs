//! The kinds of Policy object the simulator stores: where each lives, which `resource_type`s
//! it takes, its hierarchical-API wrapper and the paths it references.
//!
//! One table drives the routes, the hierarchical API, validation and reference checks, so a new
//! kind is one entry here.

use serde_json::Value;

/// The path every load-balancer object lives under.
pub const INFRA: &str = "/infra";

/// A field of an object that holds the path of another object.
#[derive(Debug)]
pub struct Reference {
    /// Where the field is: dot-separated keys, `[]` after a key for each element of an array.
    pub field: &'static str,
    /// The collection the referenced object must be in (`/infra/<collection>/<id>`).
    pub target: &'static str,
}

/// One kind of Policy object.
#[derive(Debug)]
pub struct Kind {
    /// The collection under `/infra` (`lb-pools`).
    pub collection: &'static str,
    /// The base type (`LBAppProfile`), also the key of the object in its wrapper.
    pub base_type: &'static str,
    /// The hierarchical API's wrapper (`ChildLBAppProfile`).
    pub wrapper: &'static str,
    /// The concrete `resource_type`s an object of this kind may have; the first is the default.
    pub resource_types: &'static [&'static str],
    /// Whether the vendor schema defines the type (Tier-1s are not in the load-balancer subset).
    pub in_schema: bool,
    /// The fields that reference other objects.
    pub references: &'static [Reference],
}

const fn reference(field: &'static str, target: &'static str) -> Reference {
    Reference { field, target }
}

/// Every kind, in the order the simulator lists them.
pub static KINDS: &[Kind] = &[
    Kind {
        collection: "tier-1s",
        base_type: "Tier1",
        wrapper: "ChildTier1",
        resource_types: &["Tier1"],
        in_schema: false,
        references: &[],
    },
    Kind {
        collection: "certificates",
        base_type: "TlsCertificate",
        wrapper: "ChildTlsCertificate",
        resource_types: &["TlsCertificate"],
        in_schema: true,
        references: &[],
    },
    Kind {
        collection: "lb-app-profiles",
        base_type: "LBAppProfile",
        wrapper: "ChildLBAppProfile",
        resource_types: &["LBHttpProfile", "LBFastTcpProfile", "LBFastUdpProfile"],
        in_schema: true,
        references: &[],
    },
    Kind {
        collection: "lb-client-ssl-profiles",
        base_type: "LBClientSslProfile",
        wrapper: "ChildLBClientSslProfile",
        resource_types: &["LBClientSslProfile"],
        in_schema: true,
        references: &[],
    },
    Kind {
        collection: "lb-server-ssl-profiles",
        base_type: "LBServerSslProfile",
        wrapper: "ChildLBServerSslProfile",
        resource_types: &["LBServerSslProfile"],
        in_schema: true,
        references: &[],
    },
    Kind {
        collection: "lb-monitor-profiles",
        base_type: "LBMonitorProfile",
        wrapper: "ChildLBMonitorProfile",
        resource_types: &[
            "LBHttpMonitorProfile",
            "LBHttpsMonitorProfile",
            "LBTcpMonitorProfile",
            "LBUdpMonitorProfile",
            "LBIcmpMonitorProfile",
            "LBPassiveMonitorProfile",
        ],
        in_schema: true,
        references: &[],
    },
    Kind {
        collection: "lb-persistence-profiles",
        base_type: "LBPersistenceProfile",
        wrapper: "ChildLBPersistenceProfile",
        resource_types: &[
            "LBCookiePersistenceProfile",
            "LBSourceIpPersistenceProfile",
            "LBGenericPersistenceProfile",
        ],
        in_schema: true,
        references: &[],
    },
    Kind {
        collection: "lb-services",
        base_type: "LBService",
        wrapper: "ChildLBService",
        resource_types: &["LBService"],
        in_schema: true,
        references: &[reference("connectivity_path", "tier-1s")],
    },
    Kind {
        collection: "lb-pools",
        base_type: "LBPool",
        wrapper: "ChildLBPool",
        resource_types: &["LBPool"],
        in_schema: true,
        references: &[
            reference("active_monitor_paths[]", "lb-monitor-profiles"),
            reference("passive_monitor_path", "lb-monitor-profiles"),
        ],
    },
    Kind {
        collection: "lb-virtual-servers",
        base_type: "LBVirtualServer",
        wrapper: "ChildLBVirtualServer",
        resource_types: &["LBVirtualServer"],
        in_schema: true,
        references: &[
            reference("lb_service_path", "lb-services"),
            reference("pool_path", "lb-pools"),
            reference("sorry_pool_path", "lb-pools"),
            reference("application_profile_path", "lb-app-profiles"),
            reference("lb_persistence_profile_path", "lb-persistence-profiles"),
            reference(
                "client_ssl_profile_binding.ssl_profile_path",
                "lb-client-ssl-profiles",
            ),
            reference(
                "client_ssl_profile_binding.default_certificate_path",
                "certificates",
            ),
            reference(
                "client_ssl_profile_binding.sni_certificate_paths[]",
                "certificates",
            ),
            reference(
                "server_ssl_profile_binding.ssl_profile_path",
                "lb-server-ssl-profiles",
            ),
            reference("rules[].actions[].pool_path", "lb-pools"),
            // The vendor's LBSelectPoolAction names its pool by path in `pool_id`.
            reference("rules[].actions[].pool_id", "lb-pools"),
        ],
    },
];

/// The kind stored in a collection under `/infra`.
pub fn by_collection(collection: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| kind.collection == collection)
}

/// The kind a hierarchical-API wrapper carries.
pub fn by_wrapper(wrapper: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| kind.wrapper == wrapper)
}

/// The path of an object of a kind.
pub fn path_of(kind: &Kind, id: &str) -> String {
    format!("{INFRA}/{}/{id}", kind.collection)
}

/// The kind and id an object path names, if it names one.
pub fn parse_path(path: &str) -> Option<(&'static Kind, &str)> {
    let rest = path.strip_prefix(INFRA)?.strip_prefix('/')?;
    let (collection, id) = rest.split_once('/')?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    Some((by_collection(collection)?, id))
}

impl Kind {
    /// Every (field, referenced path) pair of an object of this kind.
    pub fn references_of<'a>(&self, body: &'a Value) -> Vec<(&'static Reference, &'a str)> {
        let mut found = Vec::new();
        for reference in self.references {
            let mut values = Vec::new();
            collect(body, reference.field, &mut values);
            found.extend(values.into_iter().map(|path| (reference, path)));
        }
        found
    }
}

fn collect<'a>(value: &'a Value, field: &str, out: &mut Vec<&'a str>) {
    let (head, rest) = match field.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (field, None),
    };
    let (key, each) = match head.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (head, false),
    };
    let Some(found) = value.get(key) else {
        return;
    };
    let items: Vec<&Value> = if each {
        found
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    } else {
        vec![found]
    };
    for item in items {
        match rest {
            Some(rest) => collect(item, rest, out),
            None => {
                if let Some(path) = item.as_str() {
                    out.push(path);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_found_in_nested_arrays() {
        let kind = by_collection("lb-virtual-servers").unwrap();
        let body = json!({
            "pool_path": "/infra/lb-pools/a",
            "rules": [{"actions": [{"pool_path": "/infra/lb-pools/b"}, {"type": "x"}]}],
            "client_ssl_profile_binding": {"sni_certificate_paths": ["/infra/certificates/c"]}
        });
        let paths: Vec<&str> = kind
            .references_of(&body)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        assert_eq!(
            paths,
            [
                "/infra/lb-pools/a",
                "/infra/certificates/c",
                "/infra/lb-pools/b"
            ]
        );
    }

    #[test]
    fn paths_parse_to_kind_and_id() {
        let (kind, id) = parse_path("/infra/lb-pools/p1").unwrap();
        assert_eq!((kind.base_type, id), ("LBPool", "p1"));
        assert!(parse_path("/infra/lb-pools/").is_none());
        assert!(parse_path("/infra/unknown/x").is_none());
        assert!(parse_path("/infra/lb-pools/a/b").is_none());
    }
}
