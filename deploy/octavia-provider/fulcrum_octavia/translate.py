"""Octavia's provider data models (octavia-lib) as the bodies of Fulcrum's provider API.

Fulcrum takes each object with the fields of Octavia's own create request for its kind, and
the object's id in the URL or beside it. Octavia's provider objects carry more (certificate
data, nested children, the ids under their own names); only the fields Fulcrum's API takes are
sent, and unset or `None` fields are left out, so Fulcrum applies Octavia's defaults.
"""

from octavia_lib.api.drivers import data_models
from octavia_lib.api.drivers import exceptions

LOAD_BALANCER_FIELDS = (
    "project_id", "name", "description", "admin_state_up", "vip_address", "vip_port_id",
    "vip_subnet_id", "vip_network_id", "vip_qos_policy_id",
)
LISTENER_FIELDS = (
    "loadbalancer_id", "protocol", "protocol_port", "name", "description", "admin_state_up",
    "connection_limit", "default_tls_container_ref", "sni_container_refs", "default_pool_id",
    "insert_headers", "timeout_client_data", "timeout_member_connect", "timeout_member_data",
    "timeout_tcp_inspect", "client_ca_tls_container_ref", "client_authentication",
    "client_crl_container_ref", "allowed_cidrs", "tls_ciphers", "tls_versions",
    "alpn_protocols", "hsts_max_age", "hsts_include_subdomains", "hsts_preload",
)
POOL_FIELDS = (
    "protocol", "lb_algorithm", "loadbalancer_id", "listener_id", "name", "description",
    "admin_state_up", "session_persistence", "tls_container_ref", "ca_tls_container_ref",
    "crl_container_ref", "tls_enabled", "tls_ciphers", "tls_versions", "alpn_protocols",
)
MEMBER_FIELDS = (
    "address", "protocol_port", "name", "admin_state_up", "weight", "backup", "subnet_id",
    "monitor_port", "monitor_address",
)
HEALTH_MONITOR_FIELDS = (
    "pool_id", "type", "delay", "timeout", "max_retries", "max_retries_down", "name",
    "http_method", "url_path", "expected_codes", "http_version", "domain_name", "admin_state_up",
)
L7POLICY_FIELDS = (
    "listener_id", "action", "name", "description", "admin_state_up", "redirect_pool_id",
    "redirect_url", "redirect_prefix", "redirect_http_code", "position",
)
L7RULE_FIELDS = ("type", "compare_type", "value", "key", "invert", "admin_state_up")


def _is_set(value):
    return value is not None and not isinstance(value, data_models.UnsetType)


def _pick(obj, fields):
    return {f: getattr(obj, f) for f in fields
            if _is_set(getattr(obj, f, None))}


def merged(old, new):
    """The object an update leaves: Octavia hands the baseline `old` and, in `new`, only the
    fields the request changed (the others Unset)."""
    # recurse=True keeps list fields (allowed_cidrs, sni_container_refs, tls_versions, ...),
    # which a plain to_dict() leaves out; nested objects become dicts, which no body uses.
    values = old.to_dict(recurse=True)
    values.update(new.to_dict(recurse=True))
    return type(new).from_dict(values)


def _id(obj, attr):
    value = getattr(obj, attr, None)
    if not _is_set(value):
        raise exceptions.DriverError(
            user_fault_string="Octavia handed the Fulcrum provider an object without an id.",
            operator_fault_string=f"{type(obj).__name__} without {attr}")
    return value


def listener(obj):
    """`{"listener": ...}` of a listener."""
    return _pick(obj, LISTENER_FIELDS)


def pool(obj, with_listener=True):
    """`{"pool": ...}` of a pool; `listener_id` (which makes the pool the listener's default
    pool) only when it is created."""
    body = _pick(obj, POOL_FIELDS)
    if not with_listener:
        body.pop("listener_id", None)
    return body


def member(obj):
    """`{"member": ...}` of a member."""
    body = _pick(obj, MEMBER_FIELDS)
    if getattr(obj, "vnic_type", None) == "direct":
        body["request_sriov"] = True
    return body


def health_monitor(obj):
    """`{"healthmonitor": ...}` of a health monitor."""
    return _pick(obj, HEALTH_MONITOR_FIELDS)


def l7policy(obj):
    """`{"l7policy": ...}` of an L7 policy, without its rules."""
    return _pick(obj, L7POLICY_FIELDS)


def l7rule(obj):
    """`{"rule": ...}` of an L7 rule."""
    return _pick(obj, L7RULE_FIELDS)


def _list(value):
    return value if _is_set(value) else []


def _pool_entry(p):
    entry = {"id": _id(p, "pool_id"), "pool": pool(p)}
    entry["members"] = [{"id": _id(m, "member_id"), "member": member(m)}
                        for m in _list(p.members)]
    if _is_set(p.healthmonitor):
        entry["healthmonitor"] = {"id": _id(p.healthmonitor, "healthmonitor_id"),
                                  "healthmonitor": health_monitor(p.healthmonitor)}
    return entry


def load_balancer(lb, backend_provider=None):
    """`{"loadbalancer": ...}` of a load balancer with every object below it that Octavia
    handed over (a create with its whole graph, or the load balancer alone)."""
    if _is_set(lb.flavor) and lb.flavor:
        raise exceptions.UnsupportedOptionError(
            user_fault_string="The Fulcrum provider does not take flavors yet.",
            operator_fault_string=f"flavor metadata {lb.flavor} for {lb.loadbalancer_id}")
    body = _pick(lb, LOAD_BALANCER_FIELDS)
    if backend_provider:
        body["provider"] = backend_provider
    pools = {}
    listeners = []
    for p in _list(lb.pools):
        pools[_id(p, "pool_id")] = _pool_entry(p)
    for listener_obj in _list(lb.listeners):
        if _is_set(listener_obj.default_pool):
            p = listener_obj.default_pool
            pools.setdefault(_id(p, "pool_id"), _pool_entry(p))
        policies = []
        for policy in _list(listener_obj.l7policies):
            policies.append({
                "id": _id(policy, "l7policy_id"),
                "l7policy": l7policy(policy),
                "rules": [{"id": _id(r, "l7rule_id"), "rule": l7rule(r)}
                          for r in _list(policy.rules)],
            })
        listeners.append({"id": _id(listener_obj, "listener_id"),
                          "listener": listener(listener_obj),
                          "l7policies": policies})
    body["pools"] = list(pools.values())
    body["listeners"] = listeners
    return body
