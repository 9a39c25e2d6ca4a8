//! The VIP network seam: where load-balancer VIPs come from.
//!
//! [`Networks`] is a network back-end, as Octavia's network driver is: it answers which
//! network, subnet or port a VIP request names, and what the read-only Neutron view lists. The
//! API walks Octavia's rules over those answers (a port's fixed IPs, a network's subnets, the
//! first IPv4 subnet...), so every back-end gets Octavia's validation and messages. Two back-ends
//! are built in, chosen with `[network] driver`:
//!
//! - [`BuiltinNetworks`] (`builtin`) serves networks and subnets declared in configuration, so
//!   Fulcrum needs no Neutron; each address it hands out serves one load balancer.
//! - [`NoopNetworks`] (`noop`) accepts any network, subnet and port id, as Octavia's noop network
//!   driver does, and lets several load balancers share an address.
//!
//! Which addresses are in use is the store's knowledge, not the network's: allocation asks the
//! store, and the store keeps the addresses of [`AddressUse::Exclusive`] subnets unique.
//!
//! A third back-end, Neutron's (in the `api` crate, beside the Keystone client it authenticates
//! with), answers from a real Neutron: its objects carry a [`Visibility`] (the API hides from a
//! project what Neutron would hide), and it [creates](Networks::create_vip_port) a port for each
//! VIP, as Octavia does, which the reconciler [releases](Networks::release_vip_port) with the load
//! balancer and the full sync removes when a crash [leaked](Networks::settled_vip_ports) it.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use ipnet::IpNet;
use serde::Deserialize;

use crate::Error;

mod builtin;
mod noop;

pub use builtin::BuiltinNetworks;
pub use noop::{NoopNetworkConfig, NoopNetworks};

/// A network, as declared in configuration and listed by the Neutron view.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Network {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A subnet of a network with the range VIPs are allocated from, as declared in configuration
/// and listed by the Neutron view.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Subnet {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The network it belongs to.
    pub network_id: String,
    /// Its CIDR.
    pub cidr: IpNet,
    /// First address handed out.
    pub allocation_start: IpAddr,
    /// Last address handed out.
    pub allocation_end: IpAddr,
}

impl Subnet {
    /// 4 or 6.
    pub fn ip_version(&self) -> u8 {
        ip_version(&self.cidr)
    }

    /// The allocation range.
    pub fn range(&self) -> AddressRange {
        AddressRange {
            start: self.allocation_start,
            end: self.allocation_end,
        }
    }

    /// Check the declaration: range inside the CIDR, start before end.
    pub fn check(&self) -> Result<(), String> {
        AddressRange::within(&self.cidr, self.allocation_start, self.allocation_end)
            .map(|_| ())
            .map_err(|why| format!("subnet {}: {why}", self.id))
    }
}

fn ip_version(cidr: &IpNet) -> u8 {
    match cidr {
        IpNet::V4(_) => 4,
        IpNet::V6(_) => 6,
    }
}

/// An inclusive range of addresses of one family that VIPs are handed out from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    start: IpAddr,
    end: IpAddr,
}

impl AddressRange {
    /// The range `start`..=`end`, which must both lie in `cidr` (and `start` not after `end`).
    pub fn within(cidr: &IpNet, start: IpAddr, end: IpAddr) -> Result<Self, String> {
        if cidr.contains(&start) && cidr.contains(&end) && ip_to_u128(start) <= ip_to_u128(end) {
            Ok(AddressRange { start, end })
        } else {
            Err(format!(
                "allocation range {start}-{end} is not inside {cidr}"
            ))
        }
    }

    /// The host addresses of `cidr`, as Neutron's default allocation pool has them: without the
    /// network address, and without the broadcast address of an IPv4 network (a /31 or /32, and
    /// an IPv6 /128, keep every address they have).
    pub fn hosts_of(cidr: &IpNet) -> Self {
        let (first, last) = (cidr.network(), cidr.broadcast());
        let span = ip_to_u128(last) - ip_to_u128(first);
        let v6 = matches!(cidr, IpNet::V6(_));
        let start = if span >= 2 || (v6 && span >= 1) {
            u128_to_ip(ip_to_u128(first) + 1, v6)
        } else {
            first
        };
        let end = if !v6 && span >= 2 {
            u128_to_ip(ip_to_u128(last) - 1, v6)
        } else {
            last
        };
        AddressRange { start, end }
    }

    /// The first address.
    pub fn start(&self) -> IpAddr {
        self.start
    }

    /// The last address.
    pub fn end(&self) -> IpAddr {
        self.end
    }

    /// Whether `addr` lies in the range.
    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.start.is_ipv4()
            && ip_to_u128(addr) >= ip_to_u128(self.start)
            && ip_to_u128(addr) <= ip_to_u128(self.end)
    }

    /// How many addresses the range holds.
    pub fn size(&self) -> u128 {
        // The full IPv6 space would overflow by one; it is never a VIP range.
        (ip_to_u128(self.end) - ip_to_u128(self.start)).saturating_add(1)
    }

    /// Up to `count` addresses of the range, starting at the `offset`-th one and wrapping
    /// around; the caller removes those in use and takes the first left.
    pub fn candidates(&self, offset: u128, count: u128) -> Vec<IpAddr> {
        let start = ip_to_u128(self.start);
        let size = self.size();
        let v6 = self.start.is_ipv6();
        (0..count.min(size))
            .map(|i| u128_to_ip(start + (offset % size + i) % size, v6))
            .collect()
    }
}

fn ip_to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

fn u128_to_ip(n: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(n.into())
    } else {
        IpAddr::V4((n as u32).into())
    }
}

/// Whether an address of a subnet may serve several load balancers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressUse {
    /// One load balancer per address: Fulcrum is the subnet's address manager, and the store
    /// refuses a second load balancer on an address in use (Octavia's 409 "The VIP IP address is
    /// already in use").
    Exclusive,
    /// Several load balancers may show the same address, as with Octavia's noop network driver.
    Shared,
}

/// Who may use a network object, as its back-end tells it: Neutron's `project_id` and `shared`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Visibility {
    /// The project owning it; `None`: no owner (every project sees it).
    pub project_id: Option<String>,
    /// Whether every project may use it (a shared network, or a subnet of one).
    pub shared: bool,
}

impl Visibility {
    /// Visible to every project (the `builtin` and `noop` back-ends' objects).
    pub fn everyone() -> Self {
        Visibility::default()
    }

    /// Whether a caller of `project` (or an administrator, who sees everything) may see it.
    pub fn visible_to(&self, project: Option<&str>, is_admin: bool) -> bool {
        is_admin
            || self.shared
            || self.project_id.is_none()
            || self.project_id.as_deref() == project
    }
}

/// A subnet, as a network back-end answers for a VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSubnet {
    /// Its id.
    pub id: String,
    /// The network it belongs to, when the back-end knows it (Octavia's noop driver does not: a
    /// VIP on such a subnet gets a network id of its own).
    pub network_id: Option<String>,
    /// Its CIDR, which a requested VIP address must lie in; `None` accepts any address.
    pub cidr: Option<IpNet>,
    /// Where a VIP address comes from when the request names none.
    pub range: AddressRange,
    /// Whether its addresses serve one load balancer each.
    pub address_use: AddressUse,
    /// Who may use it.
    pub visibility: Visibility,
}

impl VipSubnet {
    /// 4 or 6, when the subnet has a CIDR.
    pub fn ip_version(&self) -> Option<u8> {
        self.cidr.as_ref().map(ip_version)
    }

    /// Whether a requested VIP address may come from this subnet.
    pub fn accepts(&self, addr: IpAddr) -> bool {
        self.cidr.is_none_or(|cidr| cidr.contains(&addr))
    }
}

/// A network, as a network back-end answers for a VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipNetwork {
    /// Its id.
    pub id: String,
    /// The subnets a VIP may come from, in the back-end's order.
    pub subnets: Vec<VipSubnet>,
    /// Who may use it.
    pub visibility: Visibility,
}

/// A port, as a network back-end answers for a VIP named by `vip_port_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Its id.
    pub id: String,
    /// Its network, when the back-end knows it.
    pub network_id: Option<String>,
    /// Its addresses.
    pub fixed_ips: Vec<FixedIp>,
    /// The device using it, if any (a port in use cannot carry a VIP).
    pub device_id: Option<String>,
    /// Who may use it.
    pub visibility: Visibility,
}

/// The port a back-end that allocates VIP ports creates for a new load balancer, as Octavia's
/// `allocate_vip` asks Neutron for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipPortRequest {
    /// The load balancer's id (named in the port's name and device id).
    pub load_balancer_id: String,
    /// The load balancer's project, which owns the port.
    pub project_id: Option<String>,
    /// The network of the port.
    pub network_id: String,
    /// The subnet of its address.
    pub subnet_id: String,
    /// The address asked for; `None`: one the back-end allocates.
    pub address: Option<IpAddr>,
    /// The QoS policy of the port (`vip_qos_policy_id`).
    pub qos_policy_id: Option<String>,
    /// Further addresses of the port, one per subnet of the same network (`additional_vips`).
    pub additional: Vec<AddressRequest>,
}

/// An address asked of a subnet: a given one, or one the back-end allocates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRequest {
    /// The subnet.
    pub subnet_id: String,
    /// The address asked for; `None`: one the back-end allocates.
    pub address: Option<IpAddr>,
}

/// A VIP port Fulcrum created, as the full sync finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedVipPort {
    /// The port's id.
    pub id: String,
    /// The load balancer it was created for.
    pub load_balancer_id: String,
    /// How long ago it was created.
    pub age: Duration,
}

/// An address of a port on a subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedIp {
    /// The subnet.
    pub subnet_id: String,
    /// The address.
    pub ip_address: IpAddr,
}

/// A network back-end: resolves the networks, subnets and ports of VIP requests, and says what
/// the read-only Neutron view lists. `Ok(None)` is "no such object" (Octavia's 400 "... not
/// found."); an `Err` is the back-end failing.
#[async_trait]
pub trait Networks: Send + Sync {
    /// The back-end's name, as `[network] driver` spells it.
    fn name(&self) -> &'static str;

    /// The networks the read-only Neutron view lists.
    async fn listed_networks(&self) -> Result<Vec<Network>, Error>;

    /// The subnets the read-only Neutron view lists.
    async fn listed_subnets(&self) -> Result<Vec<Subnet>, Error>;

    /// A network by id, with the subnets a VIP may come from.
    async fn network(&self, id: &str) -> Result<Option<VipNetwork>, Error>;

    /// A subnet by id (a VIP's, or a member's `subnet_id`).
    async fn subnet(&self, id: &str) -> Result<Option<VipSubnet>, Error>;

    /// Subnet `subnet_id` of `network`, if the network holds it.
    async fn subnet_of(
        &self,
        network: &VipNetwork,
        subnet_id: &str,
    ) -> Result<Option<VipSubnet>, Error> {
        Ok(network.subnets.iter().find(|s| s.id == subnet_id).cloned())
    }

    /// A port by id.
    async fn port(&self, id: &str) -> Result<Option<Port>, Error>;

    /// The router behind subnet `subnet_id`, asked when a VIP is allocated on it and kept with
    /// the load balancer ([`LoadBalancer::vip_router_id`](crate::model::LoadBalancer)): Neutron's
    /// router with an interface on the subnet. `Ok(None)` where there is none; always for a
    /// back-end that knows no routers.
    async fn router_of_subnet(&self, _subnet_id: &str) -> Result<Option<String>, Error> {
        Ok(None)
    }

    /// Whether it can give a load balancer addresses on further subnets of its VIP's network
    /// (`additional_vips`); the API refuses them for a back-end that says no. Yes by default:
    /// addresses come from the subnets' ranges.
    fn allocates_additional_vips(&self) -> bool {
        true
    }

    /// Whether its VIPs are ports it creates ([`Networks::create_vip_port`], Neutron): a load
    /// balancer's additional VIPs are then further addresses of that port, asked for when it is
    /// made, and a port the request names cannot take them. No by default.
    fn creates_vip_ports(&self) -> bool {
        false
    }

    /// Create the VIP port of a new load balancer, for a back-end that allocates its VIPs as
    /// ports (Neutron); `Ok(None)` for one that does not (the VIP's port id is then made up). An
    /// address already in use is `Error::Conflict` with Octavia's message.
    async fn create_vip_port(&self, _request: &VipPortRequest) -> Result<Option<Port>, Error> {
        Ok(None)
    }

    /// Give a load balancer's VIP port the QoS policy `qos_policy_id` (none: no policy), for a
    /// back-end whose VIPs are ports (Neutron); nothing to do for one whose are not. A policy
    /// that does not exist is `Error::BadRequest` with Octavia's message.
    async fn set_vip_port_qos(
        &self,
        _port_id: &str,
        _qos_policy_id: Option<&str>,
    ) -> Result<(), Error> {
        Ok(())
    }

    /// Delete the port of load balancer `load_balancer_id` if this back-end created it for the
    /// load balancer (a port the user supplied is left alone); a port already gone is done.
    async fn release_vip_port(&self, _load_balancer_id: &str, _port_id: &str) -> Result<(), Error> {
        Ok(())
    }

    /// The VIP ports this back-end created and that are older than its grace period (a create
    /// in flight has not stored its load balancer yet); the full sync removes those whose load
    /// balancer the store does not hold.
    async fn settled_vip_ports(&self) -> Result<Vec<CreatedVipPort>, Error> {
        Ok(Vec::new())
    }

    /// Delete a port this back-end created; a port already gone is done.
    async fn delete_vip_port(&self, _port_id: &str) -> Result<(), Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: &str, end: &str) -> AddressRange {
        AddressRange::within(
            &"127.0.10.0/24".parse().unwrap(),
            start.parse().unwrap(),
            end.parse().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn candidates_wrap_around_the_range() {
        let got: Vec<String> = range("127.0.10.10", "127.0.10.12")
            .candidates(2, 3)
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(got, ["127.0.10.12", "127.0.10.10", "127.0.10.11"]);
        assert_eq!(
            range("127.0.10.10", "127.0.10.12").candidates(7, 1)[0].to_string(),
            "127.0.10.11"
        );
    }

    #[test]
    fn ranges_stay_inside_their_cidr() {
        let cidr: IpNet = "127.0.10.0/24".parse().unwrap();
        let outside = AddressRange::within(
            &cidr,
            "127.0.10.10".parse().unwrap(),
            "127.0.11.1".parse().unwrap(),
        );
        assert!(outside.is_err());
        let reversed = AddressRange::within(
            &cidr,
            "127.0.10.20".parse().unwrap(),
            "127.0.10.10".parse().unwrap(),
        );
        assert!(reversed.is_err());
        let r = range("127.0.10.10", "127.0.10.20");
        assert!(r.contains("127.0.10.15".parse().unwrap()));
        assert!(!r.contains("127.0.10.21".parse().unwrap()));
        assert!(!r.contains("::ffff:127.0.10.15".parse().unwrap()));
        assert_eq!(r.size(), 11);
    }

    #[test]
    fn host_ranges_leave_out_network_and_broadcast_addresses() {
        let hosts = |c: &str| {
            let r = AddressRange::hosts_of(&c.parse().unwrap());
            (r.start().to_string(), r.end().to_string())
        };
        assert_eq!(
            hosts("198.51.100.0/24"),
            ("198.51.100.1".into(), "198.51.100.254".into())
        );
        assert_eq!(
            hosts("198.51.100.8/31"),
            ("198.51.100.8".into(), "198.51.100.9".into())
        );
        assert_eq!(
            hosts("198.51.100.8/32"),
            ("198.51.100.8".into(), "198.51.100.8".into())
        );
        assert_eq!(
            hosts("2001:db8::/64"),
            ("2001:db8::1".into(), "2001:db8::ffff:ffff:ffff:ffff".into())
        );
    }
}
