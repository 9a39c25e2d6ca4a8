//! Field-level checks: lengths, ranges, addresses. Messages follow Octavia's (WSME's) wording.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::Error;

/// A string field of at most `max` characters.
pub fn max_len(field: &str, value: Option<&str>, max: usize) -> Result<(), Error> {
    match value {
        Some(v) if v.chars().count() > max => Err(Error::invalid_field(
            field,
            v,
            &format!("Value should have a maximum character requirement of {max}"),
        )),
        _ => Ok(()),
    }
}

/// Every string of a list at most `max` characters.
pub fn strings_max_len(field: &str, values: &[String], max: usize) -> Result<(), Error> {
    values.iter().try_for_each(|v| max_len(field, Some(v), max))
}

/// An integer field within `min..=max`.
pub fn range(field: &str, value: i64, min: i64, max: i64) -> Result<(), Error> {
    if value < min {
        Err(Error::invalid_field(
            field,
            value,
            &format!("Value should be greater or equal to {min}"),
        ))
    } else if value > max {
        Err(Error::invalid_field(
            field,
            value,
            &format!("Value should be lower or equal to {max}"),
        ))
    } else {
        Ok(())
    }
}

/// An IPv4 or IPv6 address.
pub fn ip_address(field: &str, value: &str) -> Result<IpAddr, Error> {
    value
        .parse()
        .map_err(|_| Error::invalid_field(field, value, "Value should be IPv4 or IPv6 format"))
}

/// An IPv4 or IPv6 CIDR, normalized to its network address (`10.0.0.5/8` → `10.0.0.0/8`).
pub fn cidr(field: &str, value: &str) -> Result<IpNet, Error> {
    value
        .parse::<IpNet>()
        .map(|net| net.trunc())
        .map_err(|_| Error::invalid_field(field, value, "Value should be IPv4 or IPv6 CIDR format"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_messages_name_the_bound() {
        let err = range("protocol_port", 0, 1, 65535).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for field/attribute protocol_port. Value: '0'. Value should be greater or equal to 1"
        );
        assert!(range("weight", 257, 0, 256).is_err());
        assert!(range("weight", 256, 0, 256).is_ok());
    }

    #[test]
    fn cidr_is_normalized() {
        assert_eq!(
            cidr("allowed_cidrs", "10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert!(cidr("allowed_cidrs", "10.1.2.3/33").is_err());
    }
}
