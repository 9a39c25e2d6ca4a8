//! `/mgmt/tm/ltm/virtual/stats` and `/mgmt/tm/ltm/pool/stats`: one entry per virtual server
//! (an AS3 `Service_*`) or pool the device holds, named as BIG-IP names them
//! (`/Tenant/Application/name`), with zero counters unless the control API set others.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::declaration;

/// Which objects to report.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    /// Virtual servers.
    Virtual,
    /// Pools.
    Pool,
}

impl Table {
    fn collection(self) -> &'static str {
        match self {
            Self::Virtual => "virtual",
            Self::Pool => "pool",
        }
    }

    fn reports(self, class: &str) -> bool {
        match self {
            Self::Virtual => class.starts_with("Service_"),
            Self::Pool => class == "Pool",
        }
    }
}

fn defaults(table: Table, object: &Value) -> Map<String, Value> {
    let mut entries = Map::new();
    let side = match table {
        Table::Virtual => "clientside",
        Table::Pool => "serverside",
    };
    for counter in [
        "bitsIn", "bitsOut", "pktsIn", "pktsOut", "curConns", "maxConns", "totConns",
    ] {
        entries.insert(format!("{side}.{counter}"), json!({ "value": 0 }));
    }
    let enabled = object
        .get("enable")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    entries.insert(
        "status.enabledState".into(),
        json!({ "description": if enabled { "enabled" } else { "disabled" } }),
    );
    let availability = match table {
        Table::Virtual => "available",
        Table::Pool => {
            let members = object
                .get("members")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            entries.insert("activeMemberCnt".into(), json!({ "value": members }));
            if members > 0 { "available" } else { "unknown" }
        }
    };
    entries.insert(
        "status.availabilityState".into(),
        json!({ "description": availability }),
    );
    entries
}

/// The stats collection of one table for the tenants a device holds.
pub fn collection(
    table: Table,
    tenants: &BTreeMap<String, Value>,
    set: &BTreeMap<String, Map<String, Value>>,
) -> Value {
    let kind = table.collection();
    let mut entries = Map::new();
    for (tenant_name, tenant) in tenants {
        for (app_name, app) in declaration::applications(tenant) {
            for (name, class, object) in declaration::objects(app) {
                if !table.reports(class) {
                    continue;
                }
                let path = format!("/{tenant_name}/{app_name}/{name}");
                let mut stats = defaults(table, object);
                stats.insert("tmName".into(), json!({ "description": path }));
                for (key, value) in set.get(&path).into_iter().flatten() {
                    let entry = if value.is_string() {
                        json!({ "description": value })
                    } else {
                        json!({ "value": value })
                    };
                    stats.insert(key.clone(), entry);
                }
                let link = format!(
                    "https://localhost/mgmt/tm/ltm/{kind}/{}/stats",
                    path.replace('/', "~")
                );
                entries.insert(link, json!({ "nestedStats": { "entries": stats } }));
            }
        }
    }
    json!({
        "kind": format!("tm:ltm:{kind}:{kind}collectionstats"),
        "selfLink": format!("https://localhost/mgmt/tm/ltm/{kind}/stats"),
        "entries": entries,
    })
}
