"""The `[fulcrum]` section of octavia.conf."""

import pytest
from octavia_lib.api.drivers import exceptions
from oslo_config import cfg

from fulcrum_octavia import client as fulcrum_client
from fulcrum_octavia import config


def conf_with(**options):
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf([])
    for name, value in options.items():
        conf.set_override(name, value, group="fulcrum")
    return conf


def test_a_static_token_needs_no_keystone():
    conf = conf_with(endpoint="http://127.0.0.1:9876/", token="t0k3n", request_timeout=4)
    client = fulcrum_client.from_conf(conf)
    assert client.endpoint == "http://127.0.0.1:9876"
    assert client.token == "t0k3n"
    assert client.timeout == (3.0, 4.0)
    assert not client.keystone


def test_keystone_credentials_make_a_keystone_session(tmp_path):
    octavia_conf = tmp_path / "octavia.conf"
    octavia_conf.write_text("""[fulcrum]
endpoint = http://fulcrum.example.com:9876
auth_type = password
auth_url = http://127.0.0.1:5000/v3
username = octavia
password = secret
project_name = service
user_domain_name = Default
project_domain_name = Default
""")
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf(["--config-file", str(octavia_conf)])
    client = fulcrum_client.from_conf(conf)
    assert client.keystone
    assert client.endpoint == "http://fulcrum.example.com:9876"
    assert client.session.auth.auth_url == "http://127.0.0.1:5000/v3"


def test_no_endpoint_and_no_credentials_is_a_driver_error():
    with pytest.raises(exceptions.DriverError):
        fulcrum_client.from_conf(conf_with())


def test_a_keystone_session_reaches_fulcrum_and_keeps_its_refusals(fulcrum):
    """The client as `from_conf` makes it with Keystone credentials: a keystoneauth1 session
    (here with a static token and endpoint, as Fulcrum runs without Keystone), whose `request`
    takes its arguments in another order than requests' and raises on errors by default."""
    from keystoneauth1 import session, token_endpoint

    keystone_session = session.Session(auth=token_endpoint.Token(fulcrum.url, "any-token"))
    client = fulcrum_client.FulcrumClient(
        keystone_session.get_endpoint, session=keystone_session, keystone=True)
    assert client.flavor_capabilities("noop")["flavor_capabilities"]
    assert client.status_feed(0, 10)["entries"] == []
    with pytest.raises(exceptions.DriverError) as refused:
        client.put_listener("c0ffee00-0000-4000-8000-000000000001", {"protocol": "HTTP"})
    assert refused.value.operator_fault_string.startswith("PUT /v2/fulcrum/provider/listeners/")
