//! Octavia's enumerations, serialized as the exact strings Octavia uses. A value outside the set is
//! refused with Octavia's "Value should be one of: ..." message.

use std::fmt;
use std::str::FromStr;

macro_rules! octavia_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[schema(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// "Value should be one of: ..." as Octavia words it.
            pub fn expected() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("Value should be one of: {}", names.join(", "))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("Value: '{other}'. {}", Self::expected())),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = serde_json::Value::deserialize(d)?;
                match v.as_str() {
                    Some(s) => s.parse().map_err(serde::de::Error::custom),
                    None => Err(serde::de::Error::custom(format!(
                        "Value: '{v}'. {}",
                        Self::expected()
                    ))),
                }
            }
        }
    };
}

octavia_enum!(
    /// Where an object is in its provisioning life cycle.
    ProvisioningStatus {
        /// Realized on the backend.
        Active => "ACTIVE",
        /// Removed (never listed; kept for completeness of the enum).
        Deleted => "DELETED",
        /// The backend could not realize it.
        Error => "ERROR",
        /// Created in the store, not yet on the backend.
        PendingCreate => "PENDING_CREATE",
        /// Changed in the store, not yet on the backend.
        PendingUpdate => "PENDING_UPDATE",
        /// Marked for deletion, not yet removed from the backend.
        PendingDelete => "PENDING_DELETE",
    }
);

impl ProvisioningStatus {
    /// Whether a reconciler still has to act on an object in this state.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Self::PendingCreate | Self::PendingUpdate | Self::PendingDelete
        )
    }
}

octavia_enum!(
    /// What the data plane reports about an object.
    OperatingStatus {
        /// Up and healthy.
        Online => "ONLINE",
        /// Not serving (disabled, or nothing reports health).
        Offline => "OFFLINE",
        /// Partly healthy.
        Degraded => "DEGRADED",
        /// Failing.
        Error => "ERROR",
        /// Finishing existing connections, taking no new ones.
        Draining => "DRAINING",
        /// No health monitor watches it.
        NoMonitor => "NO_MONITOR",
    }
);

octavia_enum!(
    /// A listener's protocol.
    ListenerProtocol {
        /// Plain TCP.
        Tcp => "TCP",
        /// TLS passed through to the members.
        Https => "HTTPS",
        /// HTTP.
        Http => "HTTP",
        /// TLS terminated on the load balancer.
        TerminatedHttps => "TERMINATED_HTTPS",
        /// UDP.
        Udp => "UDP",
        /// SCTP.
        Sctp => "SCTP",
        /// Prometheus metrics endpoint of the load balancer itself.
        Prometheus => "PROMETHEUS",
    }
);

octavia_enum!(
    /// A pool's protocol towards its members.
    PoolProtocol {
        /// Plain TCP.
        Tcp => "TCP",
        /// HTTP.
        Http => "HTTP",
        /// HTTPS (TLS to members).
        Https => "HTTPS",
        /// TCP with the PROXY protocol v1 header.
        Proxy => "PROXY",
        /// TCP with the PROXY protocol v2 header.
        ProxyV2 => "PROXYV2",
        /// UDP.
        Udp => "UDP",
        /// SCTP.
        Sctp => "SCTP",
    }
);

/// The transport family a protocol runs on: listeners on one port must not share a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP and everything on top of it.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl ListenerProtocol {
    /// The transport family of this protocol.
    pub fn transport(self) -> Transport {
        match self {
            Self::Udp => Transport::Udp,
            Self::Sctp => Transport::Sctp,
            _ => Transport::Tcp,
        }
    }

    /// The pool protocols a listener of this protocol may forward to.
    pub fn allowed_pool_protocols(self) -> &'static [PoolProtocol] {
        use PoolProtocol as P;
        match self {
            Self::Tcp => &[P::Http, P::Https, P::Proxy, P::ProxyV2, P::Tcp],
            Self::Http => &[P::Http, P::Proxy, P::ProxyV2],
            Self::Https => &[P::Https, P::Proxy, P::ProxyV2, P::Tcp],
            Self::TerminatedHttps => &[P::Http, P::Proxy, P::ProxyV2],
            Self::Udp => &[P::Udp],
            Self::Sctp => &[P::Sctp],
            Self::Prometheus => &[],
        }
    }
}

impl PoolProtocol {
    /// Whether this is a datagram-style protocol (UDP or SCTP) with its own persistence rules.
    pub fn is_udp_like(self) -> bool {
        matches!(self, Self::Udp | Self::Sctp)
    }
}

octavia_enum!(
    /// How a pool spreads connections over its members.
    LbAlgorithm {
        /// Fewest active connections first.
        LeastConnections => "LEAST_CONNECTIONS",
        /// In turn.
        RoundRobin => "ROUND_ROBIN",
        /// By a hash of the client address.
        SourceIp => "SOURCE_IP",
        /// By a hash of the client address and port.
        SourceIpPort => "SOURCE_IP_PORT",
    }
);

octavia_enum!(
    /// How a pool keeps a client on one member.
    SessionPersistenceType {
        /// By client address.
        SourceIp => "SOURCE_IP",
        /// By a cookie the load balancer inserts.
        HttpCookie => "HTTP_COOKIE",
        /// By a cookie the application sets.
        AppCookie => "APP_COOKIE",
    }
);

octavia_enum!(
    /// The kind of health check a monitor runs.
    HealthMonitorType {
        /// HTTP request.
        Http => "HTTP",
        /// HTTP request over TLS.
        Https => "HTTPS",
        /// ICMP echo.
        Ping => "PING",
        /// TCP connect.
        Tcp => "TCP",
        /// TLS handshake.
        TlsHello => "TLS-HELLO",
        /// UDP connect.
        UdpConnect => "UDP-CONNECT",
        /// SCTP INIT.
        Sctp => "SCTP",
    }
);

impl HealthMonitorType {
    /// Whether monitors of this type take `http_method`, `url_path` and `expected_codes`.
    pub fn is_http(self) -> bool {
        matches!(self, Self::Http | Self::Https)
    }
}

octavia_enum!(
    /// The HTTP method a health monitor sends.
    HttpMethod {
        /// GET.
        Get => "GET",
        /// HEAD.
        Head => "HEAD",
        /// POST.
        Post => "POST",
        /// PUT.
        Put => "PUT",
        /// DELETE.
        Delete => "DELETE",
        /// TRACE.
        Trace => "TRACE",
        /// OPTIONS.
        Options => "OPTIONS",
        /// CONNECT.
        Connect => "CONNECT",
        /// PATCH.
        Patch => "PATCH",
    }
);

octavia_enum!(
    /// What an L7 policy does with a request its rules match.
    L7PolicyAction {
        /// Answer 403.
        Reject => "REJECT",
        /// Redirect to a fixed URL.
        RedirectToUrl => "REDIRECT_TO_URL",
        /// Send to another pool.
        RedirectToPool => "REDIRECT_TO_POOL",
        /// Redirect, keeping the path, to another prefix.
        RedirectPrefix => "REDIRECT_PREFIX",
    }
);

octavia_enum!(
    /// What an L7 rule inspects.
    L7RuleType {
        /// The Host header.
        HostName => "HOST_NAME",
        /// The request path.
        Path => "PATH",
        /// The extension of the last path segment.
        FileType => "FILE_TYPE",
        /// A request header (named by `key`).
        Header => "HEADER",
        /// A cookie (named by `key`).
        Cookie => "COOKIE",
        /// Whether the client presented a certificate.
        SslConnHasCert => "SSL_CONN_HAS_CERT",
        /// The client certificate verification result.
        SslVerifyResult => "SSL_VERIFY_RESULT",
        /// A field of the client certificate's DN (named by `key`).
        SslDnField => "SSL_DN_FIELD",
    }
);

octavia_enum!(
    /// How an L7 rule compares.
    L7CompareType {
        /// Regular expression match.
        Regex => "REGEX",
        /// Prefix match.
        StartsWith => "STARTS_WITH",
        /// Suffix match.
        EndsWith => "ENDS_WITH",
        /// Substring match.
        Contains => "CONTAINS",
        /// Exact match.
        EqualTo => "EQUAL_TO",
    }
);

octavia_enum!(
    /// Whether a TERMINATED_HTTPS listener asks for client certificates.
    ClientAuthentication {
        /// No client certificate.
        None => "NONE",
        /// Asked for, not required.
        Optional => "OPTIONAL",
        /// Required.
        Mandatory => "MANDATORY",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_wire_strings() {
        for p in ListenerProtocol::ALL {
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(serde_json::from_str::<ListenerProtocol>(&json).unwrap(), *p);
        }
        assert_eq!(HealthMonitorType::TlsHello.as_str(), "TLS-HELLO");
    }

    #[test]
    fn unknown_value_lists_the_choices() {
        let err = serde_json::from_str::<LbAlgorithm>("\"FASTEST\"").unwrap_err();
        assert!(err.to_string().starts_with(
            "Value: 'FASTEST'. Value should be one of: LEAST_CONNECTIONS, ROUND_ROBIN"
        ));
    }
}
