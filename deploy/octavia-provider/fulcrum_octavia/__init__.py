"""Octavia provider driver for Fulcrum.

`driver.FulcrumProviderDriver` answers Octavia's provider-driver calls by writing the objects,
under Octavia's ids, to Fulcrum's provider API; `agent.run` follows Fulcrum's status feed and
hands statuses and statistics back to Octavia through octavia-lib's driver library.
"""
