"""Keystone's WSGI application, importable by gunicorn.

keystone.wsgi.api parses sys.argv with oslo.config when it is imported; under gunicorn that is
gunicorn's own command line, which Keystone rejects. The configuration comes from
OS_KEYSTONE_CONFIG_FILES instead, so the arguments are dropped before the import.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402,F401
