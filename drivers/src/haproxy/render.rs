//! Renders one desired load balancer into an HAProxy 2.6 configuration file.
//!
//! The mapping follows Octavia's amphora templates (`combined_listeners`), with two differences:
//! there is one backend per pool (not per listener and pool), so request headers are inserted in
//! the frontend; and redirects are `http-request redirect` rules so that they keep their position
//! among `http-request deny` rules.
//!
//! Rendering is pure and deterministic: listeners are ordered by port and id, pools and members by
//! id, policies by position and id, rules by id. The global section takes the process settings of
//! the load balancer's flavor metadata (`nbthread`, `maxconn`), read into a fixed struct, so the
//! order of keys in the metadata never shows.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::{
    ClientAuthentication, HealthMonitor, HealthMonitorType, L7CompareType, L7Policy,
    L7PolicyAction, L7Rule, L7RuleType, LbAlgorithm, Listener, ListenerProtocol, Member, Pool,
    PoolProtocol, SessionPersistenceType,
};

use super::flavor::ProcessTuning;
use super::validate;

/// Inputs besides the graph.
#[derive(Debug, Clone, Default)]
pub struct RenderSettings {
    /// Directory of this load balancer's runtime files; the stats socket is `<dir>/stats.sock`.
    pub runtime_dir: PathBuf,
    /// PEM file (certificate + key [+ chain]) for each TLS container reference used by the graph
    /// (listener default_tls_container_ref, sni_container_refs; pool tls_container_ref), and CA/CRL
    /// files for client_ca_tls_container_ref, client_crl_container_ref, ca_tls_container_ref, crl_container_ref.
    pub files: HashMap<String, PathBuf>,
}

/// Why a graph cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// HAProxy cannot realize this option.
    #[error("{0}")]
    Unsupported(String),
    /// A referenced certificate file is missing from RenderSettings::files.
    #[error("no file for reference {0}")]
    MissingFile(String),
    /// The flavor metadata is not what this driver accepts.
    #[error("invalid flavor metadata: {0}")]
    Flavor(String),
}

type Result<T> = std::result::Result<T, RenderError>;

fn unsupported<T>(message: impl Into<String>) -> Result<T> {
    Err(RenderError::Unsupported(message.into()))
}

/// Renders the whole configuration file of one load balancer.
pub fn render(graph: &LoadBalancerGraph, settings: &RenderSettings) -> Result<String> {
    let tuning =
        ProcessTuning::from_metadata(&graph.flavor_metadata).map_err(RenderError::Flavor)?;
    let ctx = Ctx::new(graph, settings);
    let mut out = String::new();
    global(&mut out, settings, tuning)?;
    for listener in &ctx.listeners {
        out.push('\n');
        out.push_str(&section(
            &format!("frontend {}", name(&listener.id)?),
            frontend(&ctx, listener)?,
        ));
    }
    for pool in &ctx.pools {
        out.push('\n');
        out.push_str(&section(
            &format!("backend {}", name(&pool.id)?),
            backend(&ctx, pool)?,
        ));
    }
    Ok(out)
}

/// The live objects of the graph, in rendering order.
struct Ctx<'a> {
    graph: &'a LoadBalancerGraph,
    settings: &'a RenderSettings,
    listeners: Vec<&'a Listener>,
    pools: Vec<&'a Pool>,
}

impl<'a> Ctx<'a> {
    fn new(graph: &'a LoadBalancerGraph, settings: &'a RenderSettings) -> Self {
        Ctx {
            graph,
            settings,
            listeners: graph.live_listeners(),
            pools: graph.live_pools(),
        }
    }

    /// The path of the file for a container reference, ready to be a config word.
    fn file(&self, reference: &str) -> Result<String> {
        match self.settings.files.get(reference) {
            Some(path) => word(&path.to_string_lossy()),
            None => Err(RenderError::MissingFile(reference.to_string())),
        }
    }

    /// The mode of a pool's backend.
    fn pool_mode(&self, pool: &Pool) -> Result<Mode> {
        match pool.protocol {
            PoolProtocol::Http => Ok(Mode::Http),
            PoolProtocol::Tcp | PoolProtocol::Https => Ok(Mode::Tcp),
            PoolProtocol::Proxy | PoolProtocol::ProxyV2 => {
                let users = self.graph.listeners_using(&pool.id);
                let http = users
                    .iter()
                    .any(|l| matches!(listener_mode(l.protocol), Ok(Mode::Http)));
                Ok(if http { Mode::Http } else { Mode::Tcp })
            }
            PoolProtocol::Udp | PoolProtocol::Sctp => unsupported(format!(
                "{} protocol pools are not supported.",
                pool.protocol
            )),
        }
    }

    /// The backend a listener may send traffic to, if the pool is live and enabled.
    fn target(&self, listener: &Listener, pool_id: &str) -> Result<Option<&'a Pool>> {
        let Some(pool) = self.graph.live_pool(pool_id).filter(|p| p.admin_state_up) else {
            return Ok(None);
        };
        if listener_mode(listener.protocol)? == Mode::Http && self.pool_mode(pool)? == Mode::Tcp {
            return unsupported(format!(
                "A {} listener cannot use a {} pool.",
                listener.protocol, pool.protocol
            ));
        }
        Ok(Some(pool))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Http,
    Tcp,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Http => "http",
            Mode::Tcp => "tcp",
        }
    }
}

fn listener_mode(protocol: ListenerProtocol) -> Result<Mode> {
    match protocol {
        ListenerProtocol::Http
        | ListenerProtocol::TerminatedHttps
        | ListenerProtocol::Prometheus => Ok(Mode::Http),
        ListenerProtocol::Tcp | ListenerProtocol::Https => Ok(Mode::Tcp),
        ListenerProtocol::Udp | ListenerProtocol::Sctp => {
            unsupported(format!("{protocol} protocol listeners are not supported."))
        }
    }
}

/// A section header followed by its indented lines.
fn section(header: &str, lines: Vec<String>) -> String {
    let mut out = format!("{header}\n");
    for line in lines {
        let _ = writeln!(out, "    {line}");
    }
    out
}

/// The global section: process settings from the flavor (see [`ProcessTuning`]) and the stats
/// socket.
fn global(out: &mut String, settings: &RenderSettings, tuning: ProcessTuning) -> Result<()> {
    let socket = word(&settings.runtime_dir.join("stats.sock").to_string_lossy())?;
    let global = vec![
        format!("maxconn {}", tuning.maxconn),
        format!("stats socket {socket} mode 600 level admin"),
        "stats timeout 30s".to_string(),
        format!("nbthread {}", tuning.nbthread),
    ];
    let defaults = [
        "timeout connect 5s",
        "timeout client 50s",
        "timeout server 50s",
        "option redispatch",
        "retries 3",
    ];
    out.push_str(&section("global", global));
    out.push('\n');
    out.push_str(&section(
        "defaults",
        defaults.iter().map(|s| s.to_string()).collect(),
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Quoting.

/// Characters that need no quoting in a configuration word.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._~/:=+,@!%^*-[]()|?&".contains(c)
}

/// A value as one configuration word: bare when it is plain, else single-quoted (HAProxy takes
/// everything inside single quotes literally; an embedded quote is written `'\''`).
fn word(value: &str) -> Result<String> {
    if value.chars().any(|c| c.is_control()) {
        return unsupported(format!("Value {value:?} contains a control character."));
    }
    if !value.is_empty() && value.chars().all(plain) {
        return Ok(value.to_string());
    }
    Ok(format!("'{}'", value.replace('\'', r"'\''")))
}

/// A value as a log-format word (a literal `%` is written `%%`).
fn log_format_word(value: &str) -> Result<String> {
    word(&value.replace('%', "%%"))
}

/// An ACL pattern, protected from being read as a flag.
fn pattern(value: &str) -> Result<String> {
    let quoted = word(value)?;
    Ok(if value.starts_with('-') {
        format!("-- {quoted}")
    } else {
        quoted
    })
}

/// An object id used as a proxy, server or ACL name.
fn name(id: &str) -> Result<&str> {
    if !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        Ok(id)
    } else {
        unsupported(format!("Id {id:?} cannot be an HAProxy name."))
    }
}

/// A header, cookie or DN field name used as a sample fetch argument.
fn fetch_arg(key: Option<&str>, what: &str) -> Result<String> {
    let key = key.unwrap_or_default();
    let token = |c: char| c.is_ascii_alphanumeric() || "!$&*+-.^_`|~".contains(c);
    if key.is_empty() || !key.chars().all(token) {
        return unsupported(format!("{what} rule key {key:?} is not supported."));
    }
    Ok(key.to_string())
}

/// An IP address (IPv6 in brackets) and port.
fn host_port(address: &str, port: i64) -> Result<String> {
    match ip(address)? {
        std::net::IpAddr::V4(a) => Ok(format!("{a}:{port}")),
        std::net::IpAddr::V6(a) => Ok(format!("[{a}]:{port}")),
    }
}

fn ip(address: &str) -> Result<std::net::IpAddr> {
    match address.parse() {
        Ok(ip) => Ok(ip),
        Err(_) => unsupported(format!("Address {address:?} is not an IP address.")),
    }
}

// ---------------------------------------------------------------------------------------------
// Frontends.

fn frontend(ctx: &Ctx, listener: &Listener) -> Result<Vec<String>> {
    let mode = listener_mode(listener.protocol)?;
    let mut lines = vec![format!("mode {}", mode.as_str())];
    lines.extend(binds(ctx, listener)?);
    if listener.connection_limit >= 0 {
        lines.push(format!("maxconn {}", listener.connection_limit));
    }
    lines.push(format!("timeout client {}ms", listener.timeout_client_data));
    if mode == Mode::Tcp && listener.timeout_tcp_inspect > 0 {
        lines.push(format!(
            "tcp-request inspect-delay {}ms",
            listener.timeout_tcp_inspect
        ));
    }
    if !listener.admin_state_up || !ctx.graph.load_balancer.admin_state_up {
        lines.push("disabled".to_string());
    }
    allowed_cidrs(listener, &mut lines)?;
    if listener.protocol == ListenerProtocol::Prometheus {
        lines.push("http-request use-service prometheus-exporter if { path /metrics }".to_string());
        return Ok(lines);
    }
    if mode == Mode::Http {
        insert_headers(listener, &mut lines);
        hsts(listener, &mut lines);
    }
    l7(ctx, listener, mode, &mut lines)?;
    if let Some(id) = &listener.default_pool_id
        && let Some(pool) = ctx.target(listener, id)?
    {
        lines.push(format!("default_backend {}", name(&pool.id)?));
    }
    Ok(lines)
}

/// One `bind` line for the VIP and one for each additional VIP, all alike.
fn binds(ctx: &Ctx, listener: &Listener) -> Result<Vec<String>> {
    let lb = &ctx.graph.load_balancer;
    let tls = if listener.protocol == ListenerProtocol::TerminatedHttps {
        bind_tls(ctx, listener)?
    } else {
        Vec::new()
    };
    let addresses =
        std::iter::once(&lb.vip_address).chain(lb.additional_vips.iter().map(|v| &v.ip_address));
    addresses
        .map(|address| {
            let mut line = format!("bind {}", host_port(address, listener.protocol_port)?);
            for option in &tls {
                line.push(' ');
                line.push_str(option);
            }
            Ok(line)
        })
        .collect()
}

fn bind_tls(ctx: &Ctx, listener: &Listener) -> Result<Vec<String>> {
    let Some(default) = &listener.default_tls_container_ref else {
        return unsupported("A TERMINATED_HTTPS listener needs a default_tls_container_ref.");
    };
    let mut options = vec!["ssl".to_string(), format!("crt {}", ctx.file(default)?)];
    let mut seen = vec![default];
    for sni in &listener.sni_container_refs {
        if !seen.contains(&sni) {
            options.push(format!("crt {}", ctx.file(sni)?));
            seen.push(sni);
        }
    }
    options.extend(client_auth(ctx, listener)?);
    options.extend(tls_options(
        listener.tls_versions.as_deref(),
        listener.tls_ciphers.as_deref(),
        listener.alpn_protocols.as_deref(),
    )?);
    Ok(options)
}

fn client_auth(ctx: &Ctx, listener: &Listener) -> Result<Vec<String>> {
    let verify = match listener.client_authentication {
        ClientAuthentication::None => return Ok(Vec::new()),
        ClientAuthentication::Optional => "optional",
        ClientAuthentication::Mandatory => "required",
    };
    let Some(ca) = &listener.client_ca_tls_container_ref else {
        return unsupported("Client authentication needs a client_ca_tls_container_ref.");
    };
    let mut options = vec![
        format!("ca-file {}", ctx.file(ca)?),
        format!("verify {verify}"),
    ];
    if let Some(crl) = &listener.client_crl_container_ref {
        options.push(format!("crl-file {}", ctx.file(crl)?));
    }
    Ok(options)
}

/// `ssl-min-ver`/`ssl-max-ver`, `ciphers`/`ciphersuites` and `alpn` options, on a bind or server.
fn tls_options(
    versions: Option<&[String]>,
    ciphers: Option<&str>,
    alpn: Option<&[String]>,
) -> Result<Vec<String>> {
    let mut options = Vec::new();
    if let Some(versions) = versions.filter(|v| !v.is_empty()) {
        let ranks = versions
            .iter()
            .map(|v| tls_version(v))
            .collect::<Result<Vec<_>>>()?;
        let (min, max) = (ranks.iter().min(), ranks.iter().max());
        if let (Some(min), Some(max)) = (min, max) {
            options.push(format!("ssl-min-ver {}", TLS_VERSIONS[*min]));
            options.push(format!("ssl-max-ver {}", TLS_VERSIONS[*max]));
        }
    }
    if let Some(ciphers) = ciphers {
        let (suites, classic): (Vec<&str>, Vec<&str>) = ciphers
            .split(':')
            .filter(|c| !c.is_empty())
            .partition(|c| c.starts_with("TLS_"));
        if !classic.is_empty() {
            options.push(format!("ciphers {}", word(&classic.join(":"))?));
        }
        if !suites.is_empty() {
            options.push(format!("ciphersuites {}", word(&suites.join(":"))?));
        }
    }
    if let Some(alpn) = alpn.filter(|a| !a.is_empty()) {
        if alpn.iter().any(|p| p.is_empty() || p.contains(',')) {
            return unsupported(format!("ALPN protocols {alpn:?} are not supported."));
        }
        options.push(format!("alpn {}", word(&alpn.join(","))?));
    }
    Ok(options)
}

/// HAProxy's TLS version names, lowest first.
const TLS_VERSIONS: [&str; 5] = ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

fn tls_version(version: &str) -> Result<usize> {
    let canonical = if version == "TLSv1" {
        "TLSv1.0"
    } else {
        version
    };
    match TLS_VERSIONS.iter().position(|v| *v == canonical) {
        Some(rank) => Ok(rank),
        None => unsupported(format!("TLS version {version} is not supported.")),
    }
}

fn allowed_cidrs(listener: &Listener, lines: &mut Vec<String>) -> Result<()> {
    if listener.allowed_cidrs.is_empty() {
        return Ok(());
    }
    let cidrs = listener
        .allowed_cidrs
        .iter()
        .map(|c| word(c))
        .collect::<Result<Vec<_>>>()?;
    lines.push(format!("acl allowed-cidr src {}", cidrs.join(" ")));
    lines.push("tcp-request connection reject if !allowed-cidr".to_string());
    Ok(())
}

/// Headers set from the client connection, by name.
const SOURCE_HEADERS: [(&str, &str); 4] = [
    ("X-Forwarded-Port", "%[dst_port]"),
    ("X-Forwarded-IP", "%[src]"),
    ("X-Client-IP", "%[src]"),
    ("X-Real-IP", "%[src]"),
];

/// Headers set from the client certificate, by name (TERMINATED_HTTPS only).
const CLIENT_CERT_HEADERS: [(&str, &str); 8] = [
    ("X-SSL-Client-Verify", "%[ssl_c_verify]"),
    ("X-SSL-Client-Has-Cert", "%[ssl_c_used]"),
    ("X-SSL-Client-DN", "%{+Q}[ssl_c_s_dn]"),
    ("X-SSL-Client-CN", "%{+Q}[ssl_c_s_dn(cn)]"),
    ("X-SSL-Issuer", "%{+Q}[ssl_c_i_dn]"),
    ("X-SSL-Client-SHA1", "%{+Q}[ssl_c_sha1,hex]"),
    ("X-SSL-Client-Not-Before", "%{+Q}[ssl_c_notbefore]"),
    ("X-SSL-Client-Not-After", "%{+Q}[ssl_c_notafter]"),
];

fn header_on(listener: &Listener, header: &str) -> bool {
    listener
        .insert_headers
        .get(header)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn insert_headers(listener: &Listener, lines: &mut Vec<String>) {
    let tls = listener.protocol == ListenerProtocol::TerminatedHttps;
    if header_on(listener, "X-Forwarded-For") {
        lines.push("option forwardfor".to_string());
    }
    if header_on(listener, "X-Forwarded-Proto") {
        let proto = if tls { "https" } else { "http" };
        lines.push(format!("http-request set-header X-Forwarded-Proto {proto}"));
    }
    let cert_headers: &[(&str, &str)] = if tls { &CLIENT_CERT_HEADERS } else { &[] };
    for (header, value) in SOURCE_HEADERS.iter().chain(cert_headers) {
        if header_on(listener, header) {
            lines.push(format!("http-request set-header {header} {value}"));
        }
    }
}

fn hsts(listener: &Listener, lines: &mut Vec<String>) {
    if listener.protocol != ListenerProtocol::TerminatedHttps {
        return;
    }
    let Some(max_age) = listener.hsts_max_age else {
        return;
    };
    let mut value = format!("max-age={max_age}");
    if listener.hsts_include_subdomains {
        value.push_str("; includeSubDomains");
    }
    if listener.hsts_preload {
        value.push_str("; preload");
    }
    lines.push(format!(
        "http-response set-header Strict-Transport-Security '{value}'"
    ));
}

// ---------------------------------------------------------------------------------------------
// L7 policies.

fn l7(ctx: &Ctx, listener: &Listener, mode: Mode, lines: &mut Vec<String>) -> Result<()> {
    let policies = ctx.graph.effective_policies_of(&listener.id);
    if policies.is_empty() {
        return Ok(());
    }
    if mode != Mode::Http {
        return unsupported(format!(
            "L7 policies are not supported on {} listeners.",
            listener.protocol
        ));
    }
    for (_, rules) in &policies {
        for rule in rules {
            lines.push(acl(rule)?);
        }
    }
    let mut routes = Vec::new();
    for (policy, rules) in &policies {
        let conditions = rules
            .iter()
            .map(|r| {
                Ok(format!(
                    "{}{}",
                    if r.invert { "!" } else { "" },
                    name(&r.id)?
                ))
            })
            .collect::<Result<Vec<_>>>()?
            .join(" ");
        match policy.action {
            L7PolicyAction::RedirectToPool => {
                let target = policy.redirect_pool_id.as_deref().unwrap_or_default();
                if let Some(pool) = ctx.target(listener, target)? {
                    routes.push(format!("use_backend {} if {conditions}", name(&pool.id)?));
                }
            }
            _ => lines.push(format!("{} if {conditions}", http_request(policy)?)),
        }
    }
    lines.extend(routes);
    Ok(())
}

/// The `http-request` action of a REJECT or redirect policy.
pub(super) fn http_request(policy: &L7Policy) -> Result<String> {
    let (kind, target) = match policy.action {
        L7PolicyAction::Reject => return Ok("http-request deny deny_status 403".to_string()),
        L7PolicyAction::RedirectToUrl => ("location", &policy.redirect_url),
        L7PolicyAction::RedirectPrefix => ("prefix", &policy.redirect_prefix),
        L7PolicyAction::RedirectToPool => unreachable!("handled by the caller"),
    };
    let Some(target) = target else {
        return unsupported(format!(
            "{} policy {} has no target.",
            policy.action, policy.id
        ));
    };
    let code = policy.redirect_http_code.unwrap_or(302);
    if ![301, 302, 303, 307, 308].contains(&code) {
        return unsupported(format!("Redirect code {code} is not supported."));
    }
    Ok(format!(
        "http-request redirect {kind} {} code {code}",
        log_format_word(target)?
    ))
}

fn match_method(compare: L7CompareType) -> &'static str {
    match compare {
        L7CompareType::EqualTo => "str",
        L7CompareType::StartsWith => "beg",
        L7CompareType::EndsWith => "end",
        L7CompareType::Contains => "sub",
        L7CompareType::Regex => "reg",
    }
}

/// The ACL line of a rule.
pub(super) fn acl(rule: &L7Rule) -> Result<String> {
    if rule.compare_type == L7CompareType::Regex {
        validate::regex(&rule.value)?;
    }
    let m = match_method(rule.compare_type);
    let key = rule.key.as_deref();
    let body = match rule.kind {
        L7RuleType::HostName => {
            format!(
                "req.hdr(host),field(1,:) -i -m {m} {}",
                pattern(&rule.value)?
            )
        }
        L7RuleType::Path => format!("path -m {m} {}", pattern(&rule.value)?),
        L7RuleType::FileType => match rule.compare_type {
            L7CompareType::EqualTo => {
                format!("path_end -m str {}", pattern(&format!(".{}", rule.value))?)
            }
            L7CompareType::Regex => format!("path -m reg {}", pattern(&rule.value)?),
            other => return unsupported(format!("FILE_TYPE rules cannot compare with {other}.")),
        },
        L7RuleType::Header => {
            format!(
                "req.hdr({}) -m {m} {}",
                fetch_arg(key, "HEADER")?,
                pattern(&rule.value)?
            )
        }
        L7RuleType::Cookie => {
            format!(
                "req.cook({}) -m {m} {}",
                fetch_arg(key, "COOKIE")?,
                pattern(&rule.value)?
            )
        }
        L7RuleType::SslConnHasCert => "ssl_c_used".to_string(),
        L7RuleType::SslVerifyResult => match rule.value.trim().parse::<u32>() {
            Ok(code) => format!("ssl_c_verify eq {code}"),
            Err(_) => {
                return unsupported(format!(
                    "SSL_VERIFY_RESULT value {:?} is not a number.",
                    rule.value
                ));
            }
        },
        L7RuleType::SslDnField => format!(
            "ssl_c_s_dn({}) -m {m} {}",
            fetch_arg(key, "SSL_DN_FIELD")?,
            pattern(&rule.value)?
        ),
    };
    Ok(format!("acl {} {body}", name(&rule.id)?))
}

// ---------------------------------------------------------------------------------------------
// Backends.

fn backend(ctx: &Ctx, pool: &Pool) -> Result<Vec<String>> {
    let mode = ctx.pool_mode(pool)?;
    let balance = match pool.lb_algorithm {
        LbAlgorithm::RoundRobin => "roundrobin",
        LbAlgorithm::LeastConnections => "leastconn",
        LbAlgorithm::SourceIp => "source",
        LbAlgorithm::SourceIpPort => {
            return unsupported("SOURCE_IP_PORT algorithm is not supported.");
        }
    };
    let mut lines = vec![
        format!("mode {}", mode.as_str()),
        format!("balance {balance}"),
    ];
    if !pool.admin_state_up {
        lines.push("disabled".to_string());
    }
    let cookie = persistence(pool, mode, &mut lines)?;
    let (connect, data) = match ctx.graph.listeners_using(&pool.id).first() {
        Some(l) => (l.timeout_member_connect, l.timeout_member_data),
        None => (5000, 50000),
    };
    lines.push(format!("timeout connect {connect}ms"));
    lines.push(format!("timeout server {data}ms"));
    let monitor = ctx
        .graph
        .live_health_monitor_of(&pool.id)
        .filter(|h| h.admin_state_up);
    if let Some(monitor) = monitor {
        monitor_lines(monitor, &mut lines)?;
    }
    for member in ctx.graph.live_members_of(&pool.id) {
        lines.push(server(ctx, pool, member, monitor, cookie)?);
    }
    Ok(lines)
}

/// Session persistence lines; returns whether servers carry a cookie.
fn persistence(pool: &Pool, mode: Mode, lines: &mut Vec<String>) -> Result<bool> {
    let Some(sp) = &pool.session_persistence else {
        return Ok(false);
    };
    match sp.kind {
        SessionPersistenceType::SourceIp => {
            lines.push("stick-table type ip size 10k".to_string());
            lines.push("stick on src".to_string());
        }
        SessionPersistenceType::HttpCookie if mode == Mode::Http => {
            lines.push("cookie SRV insert indirect nocache".to_string());
            return Ok(true);
        }
        SessionPersistenceType::AppCookie if mode == Mode::Http => {
            let cookie = fetch_arg(sp.cookie_name.as_deref(), "APP_COOKIE persistence")?;
            lines.push("stick-table type string len 64 size 10k".to_string());
            lines.push(format!("stick store-response res.cook({cookie})"));
            lines.push(format!("stick match req.cook({cookie})"));
        }
        // Cookies cannot be seen in TCP mode; HAProxy would ignore these, and so does Octavia.
        SessionPersistenceType::HttpCookie | SessionPersistenceType::AppCookie => {}
    }
    Ok(false)
}

/// The backend lines of a health monitor (its server options are [`server_check`]'s).
pub(super) fn monitor_lines(monitor: &HealthMonitor, lines: &mut Vec<String>) -> Result<()> {
    validate::timer_seconds("delay", monitor.delay)?;
    validate::timer_seconds("timeout", monitor.timeout)?;
    lines.push(format!("timeout check {}s", monitor.timeout.max(1)));
    match monitor.kind {
        HealthMonitorType::Http | HealthMonitorType::Https => {
            lines.push("option httpchk".to_string());
            lines.push(http_check_send(monitor)?);
            let codes = expected_codes(monitor.expected_codes.as_deref().unwrap_or("200"))?;
            lines.push(format!("http-check expect status {codes}"));
        }
        HealthMonitorType::Tcp => {}
        HealthMonitorType::TlsHello => lines.push("option ssl-hello-chk".to_string()),
        HealthMonitorType::Ping | HealthMonitorType::UdpConnect | HealthMonitorType::Sctp => {
            return unsupported(format!(
                "{} health monitors are not supported.",
                monitor.kind
            ));
        }
    }
    Ok(())
}

fn http_check_send(monitor: &HealthMonitor) -> Result<String> {
    let method = monitor.http_method.map_or("GET", |m| m.as_str());
    let path = word(monitor.url_path.as_deref().unwrap_or("/"))?;
    let mut line = format!("http-check send meth {method} uri {path}");
    if let Some(version) = monitor.http_version {
        let version = format!("{version:.1}");
        if version != "1.0" && version != "1.1" {
            return unsupported(format!("HTTP version {version} is not supported."));
        }
        let _ = write!(line, " ver HTTP/{version}");
    }
    if let Some(domain) = &monitor.domain_name {
        let _ = write!(line, " hdr Host {}", word(domain)?);
    }
    Ok(line)
}

/// Octavia's expected codes ("200", "200,202", "200, 202", "200-204") as HAProxy's status list,
/// which takes the same syntax without the spaces Octavia allows after a comma.
fn expected_codes(codes: &str) -> Result<String> {
    let valid_code = |c: &str| c.len() == 3 && c.chars().all(|d| d.is_ascii_digit());
    let parts: Vec<&str> = codes.split(',').map(str::trim).collect();
    let valid = parts.iter().all(|part| {
        let mut bounds = part.splitn(2, '-');
        let low = bounds.next().unwrap_or_default();
        valid_code(low)
            && bounds
                .next()
                .is_none_or(|high| valid_code(high) && low <= high)
    });
    if valid {
        Ok(parts.join(","))
    } else {
        unsupported(format!("Expected codes {codes:?} are not supported."))
    }
}

fn server(
    ctx: &Ctx,
    pool: &Pool,
    member: &Member,
    monitor: Option<&HealthMonitor>,
    cookie: bool,
) -> Result<String> {
    let mut line = format!(
        "server {} {} weight {}",
        name(&member.id)?,
        host_port(&member.address, member.protocol_port)?,
        member.weight
    );
    if let Some(monitor) = monitor {
        line.push_str(&server_check(pool, member, monitor)?);
    }
    if cookie {
        let _ = write!(line, " cookie {}", name(&member.id)?);
    }
    match pool.protocol {
        PoolProtocol::Proxy => line.push_str(" send-proxy"),
        PoolProtocol::ProxyV2 => line.push_str(" send-proxy-v2"),
        _ => {}
    }
    if member.backup {
        line.push_str(" backup");
    }
    if !member.admin_state_up {
        line.push_str(" disabled");
    }
    if pool.tls_enabled {
        for option in server_tls(ctx, pool)? {
            line.push(' ');
            line.push_str(&option);
        }
    }
    Ok(line)
}

fn server_check(pool: &Pool, member: &Member, monitor: &HealthMonitor) -> Result<String> {
    let mut check = " check".to_string();
    if monitor.kind == HealthMonitorType::Https && !pool.tls_enabled {
        check.push_str(" check-ssl verify none");
    }
    let _ = write!(
        check,
        " inter {}s fall {} rise {}",
        monitor.delay.max(1),
        monitor.max_retries_down,
        monitor.max_retries
    );
    if let Some(address) = &member.monitor_address {
        let _ = write!(check, " addr {}", ip(address)?);
    }
    if let Some(port) = member.monitor_port {
        let _ = write!(check, " port {port}");
    }
    Ok(check)
}

fn server_tls(ctx: &Ctx, pool: &Pool) -> Result<Vec<String>> {
    let mut options = vec!["ssl".to_string()];
    match &pool.ca_tls_container_ref {
        Some(ca) => {
            options.push(format!("ca-file {}", ctx.file(ca)?));
            options.push("verify required".to_string());
            if let Some(crl) = &pool.crl_container_ref {
                options.push(format!("crl-file {}", ctx.file(crl)?));
            }
        }
        None => options.push("verify none".to_string()),
    }
    if let Some(crt) = &pool.tls_container_ref {
        options.push(format!("crt {}", ctx.file(crt)?));
    }
    options.extend(tls_options(
        pool.tls_versions.as_deref(),
        pool.tls_ciphers.as_deref(),
        pool.alpn_protocols.as_deref(),
    )?);
    Ok(options)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use fulcrum_core::driver::fixtures::{self, Object};
    use fulcrum_core::model::{AdditionalVip, HttpMethod, LoadBalancer, SessionPersistence};

    use super::*;

    /// The load balancer every test renders.
    const LB: &str = "lb1";

    #[test]
    fn expected_codes_take_every_form_octavia_accepts() {
        assert_eq!(expected_codes("200").unwrap(), "200");
        assert_eq!(expected_codes("200,202").unwrap(), "200,202");
        assert_eq!(expected_codes("200, 202 ,204").unwrap(), "200,202,204");
        assert_eq!(expected_codes("200-204").unwrap(), "200-204");
        assert!(expected_codes("2xx").is_err());
        assert!(expected_codes("204-200").is_err());
    }

    fn graph() -> LoadBalancerGraph {
        fixtures::graph(LoadBalancer {
            provider: "haproxy".into(),
            ..fixtures::load_balancer(LB)
        })
    }

    /// A listener sending to `pool` unless an L7 policy takes the request.
    fn listener(id: &str, protocol: ListenerProtocol, port: i64, pool: Option<&str>) -> Listener {
        Listener {
            default_pool_id: pool.map(Into::into),
            ..fixtures::listener(id, LB, protocol, port)
        }
    }

    fn pool(id: &str, protocol: PoolProtocol, lb_algorithm: LbAlgorithm) -> Pool {
        fixtures::pool(id, LB, protocol, lb_algorithm)
    }

    fn member(id: &str, pool_id: &str, address: &str, port: i64) -> Member {
        fixtures::member(id, LB, pool_id, address, port)
    }

    /// The health monitor of a pool, named after it.
    fn monitor(pool_id: &str, kind: HealthMonitorType) -> HealthMonitor {
        fixtures::health_monitor(&format!("hm-{pool_id}"), LB, pool_id, kind)
    }

    fn policy(id: &str, listener_id: &str, position: i64, action: L7PolicyAction) -> L7Policy {
        fixtures::l7policy(id, LB, listener_id, position, action)
    }

    fn rule(
        id: &str,
        policy_id: &str,
        kind: L7RuleType,
        compare: L7CompareType,
        value: &str,
    ) -> L7Rule {
        fixtures::l7rule(id, LB, policy_id, kind, compare, value)
    }

    fn settings(dir: &Path) -> RenderSettings {
        RenderSettings {
            runtime_dir: dir.to_path_buf(),
            files: HashMap::new(),
        }
    }

    /// Renders, checks the text with the real HAProxy, and returns it.
    fn render_checked(graph: &LoadBalancerGraph, settings: &RenderSettings) -> String {
        let text = render(graph, settings).expect("renders");
        assert_eq!(render(graph, settings).unwrap(), text, "deterministic");
        haproxy_check(&text);
        text
    }

    fn haproxy_check(text: &str) {
        let binary = Path::new("/usr/sbin/haproxy");
        if !binary.exists() {
            println!(
                "skipping HAProxy validation: {} is absent",
                binary.display()
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, text).unwrap();
        let out = Command::new(binary)
            .arg("-c")
            .arg("-dW")
            .arg("-f")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "haproxy -c failed:\n{}\n--- config ---\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn has(text: &str, line: &str) {
        assert!(
            text.lines().any(|l| l.trim() == line),
            "missing line {line:?} in:\n{text}"
        );
    }

    fn unsupported_message(graph: &LoadBalancerGraph) -> String {
        match render(graph, &settings(Path::new("/run/x"))) {
            Err(RenderError::Unsupported(message)) => message,
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }

    #[test]
    fn http_listener_round_robin_pool_with_http_monitor() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = graph();
        let mut l = listener("l1", ListenerProtocol::Http, 8080, Some("p1"));
        l.connection_limit = 1000;
        l.timeout_client_data = 20000;
        l.timeout_member_connect = 4000;
        l.timeout_member_data = 30000;
        for h in [
            "X-Forwarded-For",
            "X-Forwarded-Port",
            "X-Forwarded-Proto",
            "X-Real-IP",
        ] {
            l.insert_headers.insert(h.into(), "true".into());
        }
        l.insert_headers
            .insert("X-Client-IP".into(), "false".into());
        g.listeners.push(l);
        g.pools
            .push(pool("p1", PoolProtocol::Http, LbAlgorithm::RoundRobin));
        let mut m2 = member("m2", "p1", "::1", 81);
        m2.monitor_address = Some("127.0.0.2".into());
        m2.monitor_port = Some(9000);
        g.members.extend([member("m1", "p1", "10.0.0.1", 80), m2]);
        let mut hm = monitor("p1", HealthMonitorType::Http);
        hm.http_method = Some(HttpMethod::Head);
        hm.url_path = Some("/health check".into());
        hm.expected_codes = Some("200-204,301".into());
        hm.http_version = Some(1.1);
        hm.domain_name = Some("example.com".into());
        g.health_monitors.push(hm);
        let text = render_checked(&g, &settings(dir.path()));
        has(
            &text,
            &format!(
                "stats socket {}/stats.sock mode 600 level admin",
                dir.path().display()
            ),
        );
        has(&text, "maxconn 4096");
        has(&text, "frontend l1");
        has(&text, "bind 127.0.0.1:8080");
        has(&text, "mode http");
        has(&text, "maxconn 1000");
        has(&text, "timeout client 20000ms");
        has(&text, "option forwardfor");
        has(
            &text,
            "http-request set-header X-Forwarded-Port %[dst_port]",
        );
        has(&text, "http-request set-header X-Forwarded-Proto http");
        has(&text, "http-request set-header X-Real-IP %[src]");
        assert!(!text.contains("X-Client-IP"));
        has(&text, "default_backend p1");
        has(&text, "backend p1");
        has(&text, "balance roundrobin");
        has(&text, "timeout connect 4000ms");
        has(&text, "timeout server 30000ms");
        has(&text, "timeout check 3s");
        has(&text, "option httpchk");
        has(
            &text,
            "http-check send meth HEAD uri '/health check' ver HTTP/1.1 hdr Host example.com",
        );
        has(&text, "http-check expect status 200-204,301");
        has(
            &text,
            "server m1 10.0.0.1:80 weight 1 check inter 5s fall 3 rise 2",
        );
        has(
            &text,
            "server m2 [::1]:81 weight 1 check inter 5s fall 3 rise 2 addr 127.0.0.2 port 9000",
        );
        assert!(!text.contains("daemon") && !text.contains("\n    log "));
    }

    #[test]
    fn tcp_listener_with_source_ip_persistence() {
        let mut g = graph();
        let mut l = listener("l1", ListenerProtocol::Tcp, 3306, Some("p1"));
        l.timeout_tcp_inspect = 500;
        g.listeners.push(l);
        let mut p = pool("p1", PoolProtocol::Tcp, LbAlgorithm::SourceIp);
        p.session_persistence = Some(persistence(SessionPersistenceType::SourceIp, None));
        g.pools.push(p);
        g.members.push(member("m1", "p1", "10.0.0.1", 3306));
        g.health_monitors
            .push(monitor("p1", HealthMonitorType::Tcp));
        let dir = tempfile::tempdir().unwrap();
        let text = render_checked(&g, &settings(dir.path()));
        has(&text, "mode tcp");
        has(&text, "tcp-request inspect-delay 500ms");
        has(&text, "balance source");
        has(&text, "stick-table type ip size 10k");
        has(&text, "stick on src");
        has(
            &text,
            "server m1 10.0.0.1:3306 weight 1 check inter 5s fall 3 rise 2",
        );
        assert!(!text.contains("httpchk"));
    }

    fn persistence(kind: SessionPersistenceType, cookie: Option<&str>) -> SessionPersistence {
        SessionPersistence {
            kind,
            cookie_name: cookie.map(Into::into),
            persistence_timeout: None,
            persistence_granularity: None,
        }
    }

    #[test]
    fn http_cookie_persistence() {
        let mut g = graph();
        g.listeners
            .push(listener("l1", ListenerProtocol::Http, 80, Some("p1")));
        let mut p = pool("p1", PoolProtocol::Http, LbAlgorithm::LeastConnections);
        p.session_persistence = Some(persistence(SessionPersistenceType::HttpCookie, None));
        g.pools.push(p);
        g.members.extend([
            member("m1", "p1", "10.0.0.1", 80),
            member("m2", "p1", "10.0.0.2", 80),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let text = render_checked(&g, &settings(dir.path()));
        has(&text, "balance leastconn");
        has(&text, "cookie SRV insert indirect nocache");
        has(&text, "server m1 10.0.0.1:80 weight 1 cookie m1");
        has(&text, "server m2 10.0.0.2:80 weight 1 cookie m2");
    }

    #[test]
    fn app_cookie_persistence() {
        let mut g = graph();
        g.listeners
            .push(listener("l1", ListenerProtocol::Http, 80, Some("p1")));
        let mut p = pool("p1", PoolProtocol::Http, LbAlgorithm::RoundRobin);
        p.session_persistence = Some(persistence(
            SessionPersistenceType::AppCookie,
            Some("JSESSIONID"),
        ));
        g.pools.push(p);
        g.members.push(member("m1", "p1", "10.0.0.1", 80));
        let dir = tempfile::tempdir().unwrap();
        let text = render_checked(&g, &settings(dir.path()));
        has(&text, "stick-table type string len 64 size 10k");
        has(&text, "stick store-response res.cook(JSESSIONID)");
        has(&text, "stick match req.cook(JSESSIONID)");
    }

    #[test]
    fn l7_policies_in_position_order_with_inverted_rules() {
        let mut g = graph();
        g.listeners
            .push(listener("l1", ListenerProtocol::Http, 80, Some("p1")));
        g.pools.extend([
            pool("p1", PoolProtocol::Http, LbAlgorithm::RoundRobin),
            pool("p2", PoolProtocol::Http, LbAlgorithm::RoundRobin),
        ]);
        g.members.extend([
            member("m1", "p1", "10.0.0.1", 80),
            member("m2", "p2", "10.0.0.2", 80),
        ]);
        let mut to_pool = policy("pol-pool", "l1", 1, L7PolicyAction::RedirectToPool);
        to_pool.redirect_pool_id = Some("p2".into());
        let mut to_url = policy("pol-url", "l1", 3, L7PolicyAction::RedirectToUrl);
        to_url.redirect_url = Some("https://example.com/a%20b".into());
        to_url.redirect_http_code = Some(301);
        let reject = policy("pol-reject", "l1", 2, L7PolicyAction::Reject);
        let disabled = policy("pol-off", "l1", 4, L7PolicyAction::Reject).disabled();
        let empty = policy("pol-empty", "l1", 5, L7PolicyAction::Reject);
        g.l7policies
            .extend([to_url, to_pool, reject, disabled, empty]);
        let mut header = rule(
            "r-header",
            "pol-pool",
            L7RuleType::Header,
            L7CompareType::Contains,
            "it's a test",
        );
        header.key = Some("X-Group".into());
        let mut cookie = rule(
            "r-cookie",
            "pol-reject",
            L7RuleType::Cookie,
            L7CompareType::EqualTo,
            "-bad",
        );
        cookie.key = Some("session".into());
        let mut host = rule(
            "r-host",
            "pol-reject",
            L7RuleType::HostName,
            L7CompareType::EndsWith,
            ".example.com",
        );
        host.invert = true;
        g.l7rules.extend([
            rule(
                "r-path",
                "pol-pool",
                L7RuleType::Path,
                L7CompareType::StartsWith,
                "/api",
            ),
            header,
            cookie,
            host,
            rule(
                "r-file",
                "pol-url",
                L7RuleType::FileType,
                L7CompareType::EqualTo,
                "jpg",
            ),
            rule(
                "r-regex",
                "pol-url",
                L7RuleType::FileType,
                L7CompareType::Regex,
                r"\.(png|gif)$",
            ),
            rule(
                "r-off",
                "pol-off",
                L7RuleType::Path,
                L7CompareType::EqualTo,
                "/off",
            ),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let text = render_checked(&g, &settings(dir.path()));
        has(&text, "acl r-path path -m beg /api");
        has(
            &text,
            "acl r-header req.hdr(X-Group) -m sub 'it'\\''s a test'",
        );
        has(&text, "acl r-cookie req.cook(session) -m str -- -bad");
        has(
            &text,
            "acl r-host req.hdr(host),field(1,:) -i -m end .example.com",
        );
        has(&text, "acl r-file path_end -m str .jpg");
        has(&text, r"acl r-regex path -m reg '\.(png|gif)$'");
        has(
            &text,
            "http-request deny deny_status 403 if r-cookie !r-host",
        );
        has(
            &text,
            "http-request redirect location https://example.com/a%%20b code 301 if r-file r-regex",
        );
        has(&text, "use_backend p2 if r-header r-path");
        assert!(!text.contains("r-off") && !text.contains("pol-empty"));
        let deny = text.find("http-request deny").unwrap();
        let redirect = text.find("http-request redirect").unwrap();
        let use_backend = text.find("use_backend").unwrap();
        let default_backend = text.find("default_backend p1").unwrap();
        assert!(deny < redirect && redirect < use_backend && use_backend < default_backend);
    }

    /// Writes a self-signed certificate and key as one PEM file; None without openssl.
    fn self_signed(dir: &Path, cn: &str) -> Option<PathBuf> {
        let (key, crt) = (dir.join(format!("{cn}.key")), dir.join(format!("{cn}.crt")));
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .arg("-subj")
            .arg(format!("/CN={cn}"))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&crt)
            .output()
            .ok()?
            .status;
        if !status.success() {
            return None;
        }
        let pem = dir.join(format!("{cn}.pem"));
        let mut text = std::fs::read(&crt).ok()?;
        text.extend(std::fs::read(&key).ok()?);
        std::fs::write(&pem, text).ok()?;
        Some(pem)
    }

    #[test]
    fn terminated_https_with_sni_and_client_auth() {
        let dir = tempfile::tempdir().unwrap();
        let Some(default_pem) = self_signed(dir.path(), "default") else {
            println!("skipping: openssl is not available");
            return;
        };
        let sni_pem = self_signed(dir.path(), "sni").unwrap();
        let ca_pem = dir.path().join("sni.crt");
        let mut s = settings(dir.path());
        s.files.insert("ref-default".into(), default_pem.clone());
        s.files.insert("ref-sni".into(), sni_pem.clone());
        s.files.insert("ref-ca".into(), ca_pem.clone());
        let mut g = graph();
        let mut l = listener("l1", ListenerProtocol::TerminatedHttps, 443, Some("p1"));
        l.default_tls_container_ref = Some("ref-default".into());
        l.sni_container_refs = vec!["ref-sni".into()];
        l.client_ca_tls_container_ref = Some("ref-ca".into());
        l.client_authentication = ClientAuthentication::Mandatory;
        l.tls_versions = Some(vec!["TLSv1.3".into(), "TLSv1.2".into()]);
        l.tls_ciphers = Some(
            "ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES256-GCM-SHA384".into(),
        );
        l.alpn_protocols = Some(vec!["h2".into(), "http/1.1".into()]);
        l.hsts_max_age = Some(31536000);
        l.hsts_include_subdomains = true;
        l.hsts_preload = true;
        for h in [
            "X-Forwarded-Proto",
            "X-SSL-Client-Verify",
            "X-SSL-Client-CN",
            "X-SSL-Client-SHA1",
        ] {
            l.insert_headers.insert(h.into(), "True".into());
        }
        g.listeners.push(l);
        let mut p = pool("p1", PoolProtocol::Http, LbAlgorithm::RoundRobin);
        p.tls_enabled = true;
        p.ca_tls_container_ref = Some("ref-ca".into());
        p.tls_container_ref = Some("ref-sni".into());
        g.pools.push(p);
        g.members.push(member("m1", "p1", "10.0.0.1", 443));
        let mut rule_cn = rule(
            "r-dn",
            "pol",
            L7RuleType::SslDnField,
            L7CompareType::EqualTo,
            "admin",
        );
        rule_cn.key = Some("CN".into());
        g.l7policies
            .push(policy("pol", "l1", 1, L7PolicyAction::Reject));
        g.l7rules.extend([
            rule(
                "r-cert",
                "pol",
                L7RuleType::SslConnHasCert,
                L7CompareType::EqualTo,
                "True",
            ),
            rule(
                "r-verify",
                "pol",
                L7RuleType::SslVerifyResult,
                L7CompareType::EqualTo,
                "0",
            ),
            rule_cn,
        ]);
        let text = render_checked(&g, &s);
        let (d, n, c) = (default_pem.display(), sni_pem.display(), ca_pem.display());
        has(
            &text,
            &format!(
                "bind 127.0.0.1:443 ssl crt {d} crt {n} ca-file {c} verify required ssl-min-ver TLSv1.2 \
             ssl-max-ver TLSv1.3 ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384 \
             ciphersuites TLS_AES_128_GCM_SHA256 alpn h2,http/1.1"
            ),
        );
        has(
            &text,
            "http-response set-header Strict-Transport-Security 'max-age=31536000; includeSubDomains; preload'",
        );
        has(&text, "http-request set-header X-Forwarded-Proto https");
        has(
            &text,
            "http-request set-header X-SSL-Client-Verify %[ssl_c_verify]",
        );
        has(
            &text,
            "http-request set-header X-SSL-Client-CN %{+Q}[ssl_c_s_dn(cn)]",
        );
        has(
            &text,
            "http-request set-header X-SSL-Client-SHA1 %{+Q}[ssl_c_sha1,hex]",
        );
        has(&text, "acl r-cert ssl_c_used");
        has(&text, "acl r-verify ssl_c_verify eq 0");
        has(&text, "acl r-dn ssl_c_s_dn(CN) -m str admin");
        has(
            &text,
            &format!("server m1 10.0.0.1:443 weight 1 ssl ca-file {c} verify required crt {n}"),
        );

        s.files.remove("ref-sni");
        assert_eq!(
            render(&g, &s),
            Err(RenderError::MissingFile("ref-sni".into()))
        );
    }

    #[test]
    fn every_listener_binds_each_additional_vip_too() {
        let mut g = graph();
        g.load_balancer.additional_vips = vec![
            AdditionalVip {
                subnet_id: "s6".into(),
                ip_address: "::1".into(),
            },
            AdditionalVip {
                subnet_id: "s4".into(),
                ip_address: "127.0.0.2".into(),
            },
        ];
        g.listeners
            .push(listener("l1", ListenerProtocol::Http, 8080, Some("p1")));
        g.pools
            .push(pool("p1", PoolProtocol::Http, LbAlgorithm::RoundRobin));
        let dir = tempfile::tempdir().unwrap();
        let text = render_checked(&g, &settings(dir.path()));
        has(&text, "bind 127.0.0.1:8080");
        has(&text, "bind [::1]:8080");
        has(&text, "bind 127.0.0.2:8080");
    }

    #[test]
    fn prometheus_listener() {
        let mut g = graph();
        g.listeners
            .push(listener("l1", ListenerProtocol::Prometheus, 9100, None));
        let dir = tempfile::tempdir().unwrap();
        let text = render_checked(&g, &settings(dir.path()));
        has(&text, "bind 127.0.0.1:9100");
        has(&text, "mode http");
        has(
            &text,
            "http-request use-service prometheus-exporter if { path /metrics }",
        );
        assert!(!text.contains("backend"));
    }

    #[test]
    fn allowed_cidrs_and_ipv6_vip() {
        let mut g = graph();
        g.load_balancer.vip_address = "::1".into();
        let mut l = listener("l1", ListenerProtocol::Http, 80, Some("p1"));
        l.allowed_cidrs = vec!["10.0.0.0/8".into(), "2001:db8::/32".into()];
        l.admin_state_up = false;
        g.listeners.push(l);
        g.pools
            .push(pool("p1", PoolProtocol::Http, LbAlgorithm::RoundRobin));
        let dir = tempfile::tempdir().unwrap();
        let text = render_checked(&g, &settings(dir.path()));
        has(&text, "bind [::1]:80");
        has(&text, "disabled");
        has(&text, "acl allowed-cidr src 10.0.0.0/8 2001:db8::/32");
        has(&text, "tcp-request connection reject if !allowed-cidr");
    }

    #[test]
    fn weight_zero_disabled_backup_and_proxy_members() {
        let mut g = graph();
        g.listeners
            .push(listener("l1", ListenerProtocol::Http, 80, Some("p1")));
        g.pools
            .push(pool("p1", PoolProtocol::Proxy, LbAlgorithm::RoundRobin));
        let mut drained = member("m1", "p1", "10.0.0.1", 80);
        drained.weight = 0;
        let off = member("m2", "p1", "10.0.0.2", 80).disabled();
        let mut backup = member("m3", "p1", "10.0.0.3", 80);
        backup.backup = true;
        let gone = member("m4", "p1", "10.0.0.4", 80).pending_delete();
        g.members.extend([backup, off, drained, gone]);
        g.health_monitors
            .push(monitor("p1", HealthMonitorType::Https));
        let dir = tempfile::tempdir().unwrap();
        let text = render_checked(&g, &settings(dir.path()));
        let check = "check check-ssl verify none inter 5s fall 3 rise 2";
        has(&text, "mode http");
        has(
            &text,
            &format!("server m1 10.0.0.1:80 weight 0 {check} send-proxy"),
        );
        has(
            &text,
            &format!("server m2 10.0.0.2:80 weight 1 {check} send-proxy disabled"),
        );
        has(
            &text,
            &format!("server m3 10.0.0.3:80 weight 1 {check} send-proxy backup"),
        );
        assert!(
            !text.lines().any(|l| l.trim().starts_with("server m4 ")),
            "a member marked for deletion is not rendered"
        );
    }

    fn flavor(pairs: &[(&str, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn flavor_sets_threads_and_connection_limit_of_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = graph();
        let mut l = listener("l1", ListenerProtocol::Http, 8080, Some("p1"));
        l.connection_limit = 100;
        g.listeners.push(l);
        g.pools
            .push(pool("p1", PoolProtocol::Http, LbAlgorithm::RoundRobin));
        g.members.push(member("m1", "p1", "10.0.0.1", 80));
        let plain = render_checked(&g, &settings(dir.path()));
        has(&plain, "nbthread 1");
        has(&plain, "maxconn 4096");

        g.flavor_metadata = flavor(&[("nbthread", 2.into()), ("maxconn", 2000.into())]);
        let tuned = render_checked(&g, &settings(dir.path()));
        has(&tuned, "nbthread 2");
        has(&tuned, "maxconn 2000");
        has(&tuned, "maxconn 100");
        let changed: Vec<(&str, &str)> = plain
            .lines()
            .zip(tuned.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(
            changed,
            [
                ("    maxconn 4096", "    maxconn 2000"),
                ("    nbthread 1", "    nbthread 2")
            ],
            "only the global section changes:\n{tuned}"
        );

        // The same metadata in another key order renders the same text.
        g.flavor_metadata = flavor(&[("maxconn", 2000.into()), ("nbthread", 2.into())]);
        assert_eq!(render(&g, &settings(dir.path())).unwrap(), tuned);
        // Zone metadata is not the HAProxy driver's concern.
        g.availability_zone_metadata = flavor(&[("compute_zone", "nova".into())]);
        assert_eq!(render(&g, &settings(dir.path())).unwrap(), tuned);
    }

    #[test]
    fn flavor_limits_are_valid_haproxy_settings() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = graph();
        g.listeners
            .push(listener("l1", ListenerProtocol::Tcp, 3306, None));
        g.flavor_metadata = flavor(&[("nbthread", 64.into()), ("maxconn", 500_000.into())]);
        let text = render_checked(&g, &settings(dir.path()));
        has(&text, "nbthread 64");
        has(&text, "maxconn 500000");
        g.flavor_metadata = flavor(&[("nbthread", 1.into()), ("maxconn", 1.into())]);
        let text = render_checked(&g, &settings(dir.path()));
        has(&text, "maxconn 1");
    }

    #[test]
    fn flavor_metadata_the_driver_refuses_is_not_rendered() {
        for (metadata, reason) in [
            (
                flavor(&[("nbthread", "two".into())]),
                "Flavor metadata key nbthread must be an integer from 1 to 64, not \"two\".",
            ),
            (
                flavor(&[("bogus", 1.into())]),
                "Unsupported flavor metadata key(s): bogus",
            ),
        ] {
            let mut g = graph();
            g.flavor_metadata = metadata;
            assert_eq!(
                render(&g, &settings(Path::new("/run/x"))),
                Err(RenderError::Flavor(reason.to_string()))
            );
        }
    }

    #[test]
    fn unsupported_options() {
        let udp_listener = listener("l1", ListenerProtocol::Udp, 53, None);
        let udp_pool = pool("p1", PoolProtocol::Udp, LbAlgorithm::RoundRobin);
        let hashed_pool = pool("p1", PoolProtocol::Tcp, LbAlgorithm::SourceIpPort);
        let tcp_pool = pool("p1", PoolProtocol::Tcp, LbAlgorithm::RoundRobin);
        let ping = monitor("p1", HealthMonitorType::Ping);
        for (listeners, pools, health_monitors, message) in [
            (
                vec![udp_listener],
                vec![],
                vec![],
                "UDP protocol listeners are not supported.",
            ),
            (
                vec![],
                vec![udp_pool],
                vec![],
                "UDP protocol pools are not supported.",
            ),
            (
                vec![],
                vec![hashed_pool],
                vec![],
                "SOURCE_IP_PORT algorithm is not supported.",
            ),
            (
                vec![],
                vec![tcp_pool],
                vec![ping],
                "PING health monitors are not supported.",
            ),
        ] {
            let g = LoadBalancerGraph {
                listeners,
                pools,
                health_monitors,
                ..graph()
            };
            assert_eq!(unsupported_message(&g), message);
        }
    }
}
