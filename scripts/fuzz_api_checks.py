"""The check scripts/fuzz-api adds to schemathesis' own: every 4xx answer carries Octavia's fault
body, {"faultcode": "Client", "faultstring": "...", "debuginfo": null}."""

import schemathesis

FAULT_KEYS = {"faultcode", "faultstring", "debuginfo"}


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
    if (
        not isinstance(body, dict)
        or set(body) != FAULT_KEYS
        or body["faultcode"] != "Client"
        or not isinstance(body["faultstring"], str)
        or body["debuginfo"] is not None
    ):
        raise AssertionError(f"{response.status_code} without Octavia's fault body: {body!r}")
    return None
