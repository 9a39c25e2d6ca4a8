"""`FulcrumProviderDriver`: octavia-lib's `ProviderDriver`, answering each of Octavia's calls
with one request to Fulcrum's provider API.

Octavia calls its driver inside its own database transaction, before it commits, and expects a
fast answer; the outcome arrives later, from the provider agent (`agent.py`) that follows
Fulcrum's status feed. Every write names Octavia's ids and is idempotent, so a call Octavia
repeats changes nothing more. Octavia creates VIP ports itself (`create_vip_port` is not
implemented) and hands Fulcrum the address it allocated.
"""

from octavia_lib.api.drivers import exceptions
from octavia_lib.api.drivers import provider_base
from oslo_config import cfg

from fulcrum_octavia import client as fulcrum_client
from fulcrum_octavia import config
from fulcrum_octavia import translate


class FulcrumProviderDriver(provider_base.ProviderDriver):
    """Octavia's provider driver for Fulcrum.

    :param client: a `client.FulcrumClient`; by default one configured by the `[fulcrum]`
        section of Octavia's configuration.
    :param backend_provider: Fulcrum's provider that realizes the load balancers; by default
        `[fulcrum] backend_provider` (or Fulcrum's default).
    """

    def __init__(self, client=None, backend_provider=None):
        super().__init__()
        if client is None:
            config.register_opts(cfg.CONF)
            client = fulcrum_client.from_conf(cfg.CONF)
            backend_provider = backend_provider or cfg.CONF.fulcrum.backend_provider
        self.client = client
        self.backend_provider = backend_provider

    # Load balancer

    def create_vip_port(self, loadbalancer_id, project_id, vip_dictionary,
                        additional_vip_dicts=None):
        raise exceptions.NotImplementedError(
            user_fault_string="Fulcrum takes the VIP port that Octavia creates.",
            operator_fault_string="The Fulcrum provider leaves VIP ports to Octavia.")

    def loadbalancer_create(self, loadbalancer):
        self.client.put_load_balancer(
            loadbalancer.loadbalancer_id,
            translate.load_balancer(loadbalancer, self.backend_provider))

    def loadbalancer_update(self, old_loadbalancer, new_loadbalancer):
        lb = translate.merged(old_loadbalancer, new_loadbalancer)
        # The load balancer's own fields only: its children stay as Fulcrum holds them.
        lb.listeners = []
        lb.pools = []
        self.client.put_load_balancer(
            lb.loadbalancer_id, translate.load_balancer(lb, self.backend_provider))

    def loadbalancer_delete(self, loadbalancer, cascade=False):
        # Octavia only asks to delete a load balancer with children when cascading; Fulcrum
        # removes the whole tree either way.
        self.client.delete_load_balancer(loadbalancer.loadbalancer_id)

    def loadbalancer_failover(self, loadbalancer_id):
        self.client.failover_load_balancer(loadbalancer_id)

    # Listener

    def listener_create(self, listener):
        self.client.put_listener(listener.listener_id, translate.listener(listener))

    def listener_update(self, old_listener, new_listener):
        listener = translate.merged(old_listener, new_listener)
        self.client.put_listener(listener.listener_id, translate.listener(listener))

    def listener_delete(self, listener):
        self.client.delete_listener(listener.listener_id)

    # Pool

    def pool_create(self, pool):
        self.client.put_pool(pool.pool_id, translate.pool(pool))

    def pool_update(self, old_pool, new_pool):
        pool = translate.merged(old_pool, new_pool)
        self.client.put_pool(pool.pool_id, translate.pool(pool, with_listener=False))

    def pool_delete(self, pool):
        self.client.delete_pool(pool.pool_id)

    # Member

    def member_create(self, member):
        self.client.put_member(member.pool_id, member.member_id, translate.member(member))

    def member_update(self, old_member, new_member):
        member = translate.merged(old_member, new_member)
        self.client.put_member(member.pool_id, member.member_id, translate.member(member))

    def member_delete(self, member):
        self.client.delete_member(member.pool_id, member.member_id)

    def member_batch_update(self, pool_id, members):
        self.client.replace_members(
            pool_id,
            [{"id": m.member_id, "member": translate.member(m)} for m in members])

    # Health monitor

    def health_monitor_create(self, healthmonitor):
        self.client.put_health_monitor(
            healthmonitor.healthmonitor_id, translate.health_monitor(healthmonitor))

    def health_monitor_update(self, old_healthmonitor, new_healthmonitor):
        hm = translate.merged(old_healthmonitor, new_healthmonitor)
        self.client.put_health_monitor(hm.healthmonitor_id, translate.health_monitor(hm))

    def health_monitor_delete(self, healthmonitor):
        self.client.delete_health_monitor(healthmonitor.healthmonitor_id)

    # L7 policy

    def l7policy_create(self, l7policy):
        # A policy created with rules: the policy, then each rule under its id. Should a rule
        # be refused, the policy is removed again, so that nothing is left half-created.
        self.client.put_l7policy(l7policy.l7policy_id, translate.l7policy(l7policy))
        try:
            for rule in translate._list(l7policy.rules):
                self.client.put_l7rule(
                    l7policy.l7policy_id, rule.l7rule_id, translate.l7rule(rule))
        except Exception:
            self.client.delete_l7policy(l7policy.l7policy_id)
            raise

    def l7policy_update(self, old_l7policy, new_l7policy):
        policy = translate.merged(old_l7policy, new_l7policy)
        self.client.put_l7policy(policy.l7policy_id, translate.l7policy(policy))

    def l7policy_delete(self, l7policy):
        self.client.delete_l7policy(l7policy.l7policy_id)

    # L7 rule

    def l7rule_create(self, l7rule):
        self.client.put_l7rule(l7rule.l7policy_id, l7rule.l7rule_id, translate.l7rule(l7rule))

    def l7rule_update(self, old_l7rule, new_l7rule):
        rule = translate.merged(old_l7rule, new_l7rule)
        self.client.put_l7rule(rule.l7policy_id, rule.l7rule_id, translate.l7rule(rule))

    def l7rule_delete(self, l7rule):
        self.client.delete_l7rule(l7rule.l7policy_id, l7rule.l7rule_id)

    # Flavors and availability zones: what Fulcrum's provider declares.

    def _provider(self):
        if self.backend_provider:
            return self.backend_provider
        for p in self.client.providers().get("providers", []):
            return p["name"]
        raise exceptions.DriverError(
            user_fault_string="Fulcrum has no provider enabled.")

    def get_supported_flavor_metadata(self):
        answer = self.client.flavor_capabilities(self._provider())
        return {c["name"]: c.get("description", "")
                for c in answer.get("flavor_capabilities", [])}

    def validate_flavor(self, flavor_metadata):
        """Fulcrum's backend driver judges the metadata by its own rules (keys and values)."""
        self.client.check_flavor_metadata(self._provider(), flavor_metadata or {})

    def get_supported_availability_zone_metadata(self):
        answer = self.client.availability_zone_capabilities(self._provider())
        return {c["name"]: c.get("description", "")
                for c in answer.get("availability_zone_capabilities", [])}

    def validate_availability_zone(self, availability_zone_metadata):
        """Fulcrum's backend driver judges the metadata by its own rules (keys and values)."""
        self.client.check_availability_zone_metadata(
            self._provider(), availability_zone_metadata or {})
