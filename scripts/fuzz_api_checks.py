"""The check scripts/fuzz-api adds to schemathesis' own: every 4xx answer carries Octavia's fault
body, {"faultcode": "Client", "faultstring": "...", "debuginfo": null} -- except the errors
Octavia's web framework (pecan) raises while routing, before any controller runs: a method the
resource does not have (405) and a client that takes no JSON (406) get pecan's body,
{"code": 405, "title": "Method Not Allowed", "description": ""}, as from Octavia."""

import schemathesis

FAULT_KEYS = {"faultcode", "faultstring", "debuginfo"}
ROUTING_ERROR_KEYS = {"code", "title", "description"}
ROUTING_ERRORS = {405, 406}


@schemathesis.check
def octavia_fault_body(ctx, response, case):
    """A client error answers with Octavia's fault body."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"{response.status_code} without a JSON body: {response.text[:200]!r}"
        ) from None
    if response.status_code in ROUTING_ERRORS:
        if (
            not isinstance(body, dict)
            or set(body) != ROUTING_ERROR_KEYS
            or body["code"] != response.status_code
        ):
            raise AssertionError(f"{response.status_code} without pecan's body: {body!r}")
        return None
    if (
        not isinstance(body, dict)
        or set(body) != FAULT_KEYS
        or body["faultcode"] != "Client"
        or not isinstance(body["faultstring"], str)
        or body["debuginfo"] is not None
    ):
        raise AssertionError(f"{response.status_code} without Octavia's fault body: {body!r}")
    return None
