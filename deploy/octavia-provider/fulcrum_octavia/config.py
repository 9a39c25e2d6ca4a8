"""The `[fulcrum]` section of octavia.conf, read with oslo.config.

Besides the options below, the section takes keystoneauth1's usual authentication and session
options (`auth_type`, `auth_url`, `username`, `password`, `project_name`, `cafile`, ...): the
driver and the agent authenticate to Fulcrum as a Keystone service user.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = "fulcrum"

FULCRUM_OPTS = [
    cfg.StrOpt(
        "endpoint",
        help="Fulcrum's API URL (e.g. https://fulcrum.example.com:9876). When unset it is "
        "found in the Keystone catalog under service_type.",
    ),
    cfg.StrOpt(
        "service_type",
        default="fulcrum",
        help="Service type of Fulcrum in the Keystone catalog, when endpoint is unset.",
    ),
    cfg.StrOpt(
        "endpoint_interface",
        default="internal",
        help="Catalog interface of Fulcrum's endpoint, when endpoint is unset.",
    ),
    cfg.StrOpt(
        "token",
        secret=True,
        help="A static token sent as X-Auth-Token instead of Keystone authentication "
        "(for Fulcrum under noauth, in tests).",
    ),
    cfg.StrOpt(
        "backend_provider",
        help="Fulcrum's provider (driver) that realizes the load balancers Octavia delegates "
        "(haproxy, nsxt, f5, noop). Fulcrum's default provider when unset.",
    ),
    cfg.FloatOpt(
        "request_timeout",
        default=10.0,
        help="Seconds to wait for Fulcrum's answer to one request.",
    ),
    cfg.FloatOpt(
        "connect_timeout",
        default=3.0,
        help="Seconds to wait for a connection to Fulcrum.",
    ),
    cfg.StrOpt(
        "status_cursor_file",
        default="/var/lib/octavia/fulcrum-status-cursor",
        help="Where the provider agent keeps the cursor of the last status-feed entry it "
        "handed to Octavia; it resumes from there after a restart.",
    ),
    cfg.FloatOpt(
        "status_poll_interval",
        default=1.0,
        help="Seconds the provider agent waits before reading the status feed again when it "
        "had nothing new.",
    ),
    cfg.IntOpt(
        "status_batch_size",
        default=100,
        min=1,
        max=1000,
        help="Most status-feed entries the provider agent reads per request.",
    ),
]


def register_opts(conf):
    """Register the `[fulcrum]` options, with keystoneauth1's, on `conf`."""
    conf.register_opts(FULCRUM_OPTS, group=GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_session_conf_options(conf, GROUP)


def list_opts():
    """The options, for oslo-config-generator."""
    return [(GROUP, FULCRUM_OPTS)]
