"""Fulcrum's provider API over HTTP, with its answers turned into Octavia's driver errors.

One request per Octavia call: Fulcrum applies each write in one transaction, so a request that
fails (refused, or Fulcrum unreachable) has stored nothing.

- Fulcrum's 501 (its backend cannot do an option) is `UnsupportedOptionError` with Fulcrum's
  message, which Octavia answers with 501 and that message.
- Fulcrum unreachable, a timeout, or any other refusal is `DriverError`, which Octavia answers
  as `ProviderDriverError`.
"""

import logging
import re

import requests
from octavia_lib.api.drivers import exceptions

LOG = logging.getLogger(__name__)

PREFIX = "/v2/fulcrum/provider"

_UNSUPPORTED_PREFIX = re.compile(r"^Provider '[^']*' does not support a requested option: ")


class FulcrumClient:
    """Calls Fulcrum's provider API.

    :param endpoint: Fulcrum's base URL, or a callable returning it (resolved at the first call,
        e.g. from the Keystone catalog).
    :param session: a `requests.Session` or a keystoneauth1 `Session` (anything with
        `request(method, url, ...)` returning a `requests.Response`).
    :param token: a static token sent as X-Auth-Token (instead of the session's auth).
    :param timeout: `(connect, read)` seconds.
    """

    def __init__(self, endpoint, session=None, token=None, timeout=(3.0, 10.0),
                 keystone=False):
        self._endpoint = endpoint
        self.session = session or requests.Session()
        self.token = token
        self.timeout = timeout
        self.keystone = keystone

    @property
    def endpoint(self):
        if callable(self._endpoint):
            self._endpoint = self._endpoint()
        return self._endpoint.rstrip("/")

    def request(self, method, path, body=None):
        """Send one request; returns the JSON answer (None when empty)."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["X-Auth-Token"] = self.token
        kwargs = {"headers": headers, "timeout": self.timeout}
        if body is not None:
            kwargs["json"] = body
        if self.keystone:
            # keystoneauth raises on HTTP errors unless told not to; statuses are ours to map.
            kwargs["raise_exc"] = False
        try:
            url = self.endpoint + path
            # By keyword: requests takes (method, url), keystoneauth (url, method).
            response = self.session.request(method=method, url=url, **kwargs)
        except exceptions.DriverError:
            raise
        except Exception as e:  # requests' and keystoneauth's connection errors and timeouts
            LOG.warning("Fulcrum is unreachable: %s %s: %s", method, path, e)
            raise exceptions.DriverError(
                user_fault_string="The Fulcrum provider is unreachable; nothing was changed.",
                operator_fault_string=f"{method} {path} to Fulcrum failed: {e}",
            )
        return self._answer(method, path, response)

    @staticmethod
    def _answer(method, path, response):
        status = response.status_code
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if 200 <= status < 300:
            return body
        message = _fault_string(body) or response.text or f"HTTP {status}"
        operator = f"{method} {path} refused by Fulcrum with {status}: {message}"
        if status == 501:
            # Octavia prefixes its own "Provider 'fulcrum' does not support a requested
            # option: "; Fulcrum's prefix naming its backend would only repeat it.
            raise exceptions.UnsupportedOptionError(
                user_fault_string=_UNSUPPORTED_PREFIX.sub("", message),
                operator_fault_string=operator)
        if status in (401, 403):
            raise exceptions.DriverError(
                user_fault_string="The Fulcrum provider refused Octavia's credentials.",
                operator_fault_string=operator)
        raise exceptions.DriverError(user_fault_string=message, operator_fault_string=operator)

    # The provider API, one method per route.

    def put_load_balancer(self, lb_id, body):
        return self.request("PUT", f"{PREFIX}/loadbalancers/{lb_id}", {"loadbalancer": body})

    def delete_load_balancer(self, lb_id):
        return self.request("DELETE", f"{PREFIX}/loadbalancers/{lb_id}")

    def put_listener(self, listener_id, body):
        return self.request("PUT", f"{PREFIX}/listeners/{listener_id}", {"listener": body})

    def delete_listener(self, listener_id):
        return self.request("DELETE", f"{PREFIX}/listeners/{listener_id}")

    def put_pool(self, pool_id, body):
        return self.request("PUT", f"{PREFIX}/pools/{pool_id}", {"pool": body})

    def delete_pool(self, pool_id):
        return self.request("DELETE", f"{PREFIX}/pools/{pool_id}")

    def put_member(self, pool_id, member_id, body):
        return self.request(
            "PUT", f"{PREFIX}/pools/{pool_id}/members/{member_id}", {"member": body})

    def replace_members(self, pool_id, members):
        return self.request("PUT", f"{PREFIX}/pools/{pool_id}/members", {"members": members})

    def delete_member(self, pool_id, member_id):
        return self.request("DELETE", f"{PREFIX}/pools/{pool_id}/members/{member_id}")

    def put_health_monitor(self, hm_id, body):
        return self.request("PUT", f"{PREFIX}/healthmonitors/{hm_id}", {"healthmonitor": body})

    def delete_health_monitor(self, hm_id):
        return self.request("DELETE", f"{PREFIX}/healthmonitors/{hm_id}")

    def put_l7policy(self, policy_id, body):
        return self.request("PUT", f"{PREFIX}/l7policies/{policy_id}", {"l7policy": body})

    def delete_l7policy(self, policy_id):
        return self.request("DELETE", f"{PREFIX}/l7policies/{policy_id}")

    def put_l7rule(self, policy_id, rule_id, body):
        return self.request(
            "PUT", f"{PREFIX}/l7policies/{policy_id}/rules/{rule_id}", {"rule": body})

    def delete_l7rule(self, policy_id, rule_id):
        return self.request("DELETE", f"{PREFIX}/l7policies/{policy_id}/rules/{rule_id}")

    def failover_load_balancer(self, lb_id):
        return self.request("PUT", f"/v2/lbaas/loadbalancers/{lb_id}/failover")

    def status_feed(self, after, limit):
        return self.request("GET", f"{PREFIX}/status?after={int(after)}&limit={int(limit)}")

    def flavor_capabilities(self, provider):
        return self.request("GET", f"/v2/lbaas/providers/{provider}/flavor_capabilities")

    def availability_zone_capabilities(self, provider):
        return self.request(
            "GET", f"/v2/lbaas/providers/{provider}/availability_zone_capabilities")

    def check_flavor_metadata(self, provider, metadata):
        return self.request("POST", f"{PREFIX}/providers/{provider}/flavor_metadata",
                            {"flavor_metadata": metadata})

    def check_availability_zone_metadata(self, provider, metadata):
        return self.request("POST", f"{PREFIX}/providers/{provider}/availability_zone_metadata",
                            {"availability_zone_metadata": metadata})

    def providers(self):
        return self.request("GET", "/v2/lbaas/providers")


def _fault_string(body):
    if isinstance(body, dict):
        for key in ("faultstring", "description", "message"):
            if isinstance(body.get(key), str):
                return body[key]
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
    return None


def from_conf(conf):
    """A client configured by the `[fulcrum]` section of `conf` (registered with
    `config.register_opts`): a static token when one is set, otherwise a keystoneauth1 session
    with the section's service credentials."""
    group = conf.fulcrum
    timeout = (group.connect_timeout, group.request_timeout)
    if group.token or not group.auth_type:
        if not group.endpoint:
            raise exceptions.DriverError(
                user_fault_string="The Fulcrum provider is not configured.",
                operator_fault_string="[fulcrum] endpoint is required without auth_type")
        return FulcrumClient(group.endpoint, token=group.token, timeout=timeout)
    from keystoneauth1 import loading as ks_loading

    auth = ks_loading.load_auth_from_conf_options(conf, "fulcrum")
    session = ks_loading.load_session_from_conf_options(conf, "fulcrum", auth=auth)

    def endpoint():
        if group.endpoint:
            return group.endpoint
        return session.get_endpoint(service_type=group.service_type,
                                    interface=group.endpoint_interface)

    return FulcrumClient(endpoint, session=session, timeout=timeout, keystone=True)
