//! Member rules (Octavia's member controller).

use super::{ip_address, max_len, range, strings_max_len};
use crate::Error;
use crate::model::Member;

/// Addresses no member may have (the metadata service).
pub const RESERVED_IPS: [&str; 1] = ["169.254.169.254"];

/// Check a member as it would be stored.
pub fn member(m: &Member) -> Result<(), Error> {
    max_len("name", m.name.as_deref(), 255)?;
    strings_max_len("tags", &m.tags, 255)?;
    let addr = ip_address("address", &m.address)?;
    if RESERVED_IPS.iter().any(|r| r.parse() == Ok(addr)) {
        return Err(Error::invalid_option(&m.address, "member address"));
    }
    range("protocol_port", m.protocol_port, 1, 65535)?;
    range("weight", m.weight, 0, 256)?;
    if let Some(a) = &m.monitor_address {
        ip_address("monitor_address", a)?;
    }
    if let Some(p) = m.monitor_port {
        range("monitor_port", p, 1, 65535)?;
    }
    Ok(())
}
