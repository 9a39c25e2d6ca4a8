//! L7 policies: what a listener does with requests that match their rules (reject, redirect to a
//! URL or prefix, send to another pool), in position order.

use fulcrum_core::Error;
use fulcrum_core::model::{
    Kind, L7Policy, L7PolicyAction, L7Rule, Listener, ListenerProtocol, LoadBalancer,
    OperatingStatus, Pool, PoolProtocol, ProvisioningStatus,
};
use fulcrum_core::patch::Patch;
use fulcrum_core::validate::MAX_POSITION;
use fulcrum_core::{timestamp, validate};
use fulcrum_store::WorkAction;

use super::access::visible_in;
use super::capabilities::Needs;
use super::l7rules::{check_rule_count, is_live, new_rule};
use super::read::WithRelated;
use super::write::{Change, Parent};
use super::{Service, new_id, not_null};
use crate::auth::RequestContext;
use crate::shapes::l7policies::{CreateL7Policy, UpdateL7Policy};

impl Service {
    /// Create an L7 policy on a listener, with its rules.
    pub async fn create_policy(
        &self,
        ctx: &RequestContext,
        req: CreateL7Policy,
    ) -> Result<WithRelated<L7Policy>, Error> {
        let listener: Listener = self.visible(ctx, &req.listener_id).await?;
        let lb: LoadBalancer = self.visible(ctx, &listener.loadbalancer_id).await?;
        let (mut policy, rules) = build_policy(self, &lb, &listener, req)?;
        let mut change = self.change().await?;
        check_redirect_pool(&mut change, ctx, &listener, &policy).await?;
        let moved = placed(&mut change, &mut policy).await?;
        change.lock(parent_of(&policy)).await?;
        let adding = [(Kind::L7Policy, 1), (Kind::L7Rule, rules.len())];
        change
            .reserve(policy.project_id.as_deref(), &adding)
            .await?;
        for m in &moved {
            change.tx().update(m).await?;
        }
        change.tx().insert(&policy).await?;
        for rule in &rules {
            change.tx().insert(rule).await?;
        }
        change.commit(&lb.id, WorkAction::Apply).await?;
        self.with_related(policy).await
    }

    /// Change an L7 policy. A request that says anything about the action or a redirect target
    /// replaces the stored action and targets as a whole, as Octavia does.
    pub async fn update_policy(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: UpdateL7Policy,
    ) -> Result<WithRelated<L7Policy>, Error> {
        if req.is_empty() {
            return Err(Error::InvalidInput(
                "Invalid L7 Policy arguments: Invalid update options".into(),
            ));
        }
        let mut p: L7Policy = self.visible(ctx, id).await?;
        let listener: Listener = self.visible(ctx, &p.listener_id).await?;
        let lb: LoadBalancer = self.visible(ctx, &p.loadbalancer_id).await?;
        let moves = req.position.is_present();
        merge(&mut p, req)?;
        validate::l7policy(&mut p)?;
        self.require(&lb.provider, &[Needs::L7Policies(listener.protocol)])?;
        p.provisioning_status = ProvisioningStatus::PendingUpdate;
        p.updated_at = Some(timestamp::now());
        let mut change = self.change().await?;
        check_redirect_pool(&mut change, ctx, &listener, &p).await?;
        let moved = if moves {
            placed(&mut change, &mut p).await?
        } else {
            Vec::new()
        };
        change.lock(parent_of(&p)).await?;
        for m in &moved {
            change.tx().update(m).await?;
        }
        change.tx().update(&p).await?;
        change.commit(&lb.id, WorkAction::Apply).await?;
        self.with_related(p).await
    }

    /// Delete an L7 policy with its rules; the policies after it move up.
    pub async fn delete_policy(&self, ctx: &RequestContext, id: &str) -> Result<(), Error> {
        let p: L7Policy = self.visible(ctx, id).await?;
        if p.provisioning_status == ProvisioningStatus::Deleted {
            return Ok(());
        }
        let mut change = self.change().await?;
        let siblings = change
            .tx()
            .children::<L7Policy>("listener_id", &p.listener_id)
            .await?;
        let ordered = live_ordered(siblings, &p.id);
        change.lock(parent_of(&p)).await?;
        change.mark_deleted(Kind::L7Policy, &p.id).await?;
        for moved in renumber(ordered) {
            change.tx().update(&moved).await?;
        }
        change.commit(&p.loadbalancer_id, WorkAction::Apply).await
    }
}

/// What a change to a policy locks: its listener (and the listener's load balancer).
fn parent_of(policy: &L7Policy) -> Parent<'_> {
    Parent::Listener {
        load_balancer_id: &policy.loadbalancer_id,
        listener_id: &policy.listener_id,
    }
}

/// Put `policy` at its wanted position among its listener's stored policies; the others whose
/// position changed.
async fn placed(change: &mut Change<'_>, policy: &mut L7Policy) -> Result<Vec<L7Policy>, Error> {
    let siblings = change
        .tx()
        .children::<L7Policy>("listener_id", &policy.listener_id)
        .await?;
    let wanted = policy.position;
    Ok(place(policy, siblings, wanted))
}

/// The redirect pool must be on the listener's load balancer and speak a compatible protocol.
async fn check_redirect_pool(
    change: &mut Change<'_>,
    ctx: &RequestContext,
    l: &Listener,
    p: &L7Policy,
) -> Result<(), Error> {
    let Some(pool_id) = &p.redirect_pool_id else {
        return Ok(());
    };
    let pool: Pool = visible_in(change.tx(), ctx, pool_id).await?;
    if pool.loadbalancer_id != l.loadbalancer_id {
        return Err(Error::not_found("Pool", pool_id));
    }
    validate::listener_pool_protocols(l.protocol, pool.protocol)
}

/// The action the redirect fields of a request imply, as Octavia's
/// `sanitize_l7policy_api_args` does: the action first drops the targets it ignores, then a
/// single remaining target decides the action.
fn implied_action(
    action: L7PolicyAction,
    pool: &mut Option<String>,
    url: &mut Option<String>,
    prefix: &Option<String>,
) -> L7PolicyAction {
    match action {
        L7PolicyAction::Reject => {
            *pool = None;
            *url = None;
        }
        L7PolicyAction::RedirectToUrl => *pool = None,
        L7PolicyAction::RedirectToPool => *url = None,
        L7PolicyAction::RedirectPrefix => {}
    }
    match (pool.is_some(), url.is_some(), prefix.is_some()) {
        (true, false, false) => L7PolicyAction::RedirectToPool,
        (false, true, false) => L7PolicyAction::RedirectToUrl,
        (false, false, true) => L7PolicyAction::RedirectPrefix,
        _ => action,
    }
}

/// PROMETHEUS listeners take no children; the protocol matrix refuses them with Octavia's text.
fn check_listener(l: &Listener) -> Result<(), Error> {
    if l.protocol == ListenerProtocol::Prometheus {
        return validate::listener_pool_protocols(l.protocol, PoolProtocol::Http);
    }
    Ok(())
}

/// The live policies of a listener other than `except`, in position order.
fn live_ordered(siblings: Vec<L7Policy>, except: &str) -> Vec<L7Policy> {
    let mut ordered: Vec<L7Policy> = siblings
        .into_iter()
        .filter(|s| s.id != except && is_live(s.provisioning_status))
        .collect();
    ordered.sort_by(|a, b| {
        (a.position, &a.created_at, &a.id).cmp(&(b.position, &b.created_at, &b.id))
    });
    ordered
}

/// Number `ordered` 1..N; returns the policies whose position changed, marked PENDING_UPDATE.
fn renumber(ordered: Vec<L7Policy>) -> Vec<L7Policy> {
    let now = timestamp::now();
    let mut changed = Vec::new();
    for (i, mut p) in ordered.into_iter().enumerate() {
        let position = i as i64 + 1;
        if p.position != position {
            p.position = position;
            if !p.provisioning_status.is_pending() {
                p.provisioning_status = ProvisioningStatus::PendingUpdate;
            }
            p.updated_at = Some(now.clone());
            changed.push(p);
        }
    }
    changed
}

/// Put `policy` at `wanted` (1-based; past the end appends) among its listener's live policies;
/// returns the other policies whose position changed.
pub(crate) fn place(policy: &mut L7Policy, siblings: Vec<L7Policy>, wanted: i64) -> Vec<L7Policy> {
    let mut ordered = live_ordered(siblings, &policy.id);
    let index = usize::try_from(wanted.saturating_sub(1))
        .unwrap_or(0)
        .min(ordered.len());
    policy.position = index as i64 + 1;
    ordered.insert(index, policy.clone());
    renumber(ordered)
        .into_iter()
        .filter(|p| p.id != policy.id)
        .collect()
}

/// A new L7 policy of `listener` with its rules from a create request, validated (action and
/// redirect arguments, rules, PROMETHEUS listeners, provider capabilities). Shared by
/// `POST /l7policies` and the load balancer graph create; the redirect pool and the position
/// among the listener's policies are the caller's to check.
pub(crate) fn build_policy(
    service: &Service,
    lb: &LoadBalancer,
    listener: &Listener,
    req: CreateL7Policy,
) -> Result<(L7Policy, Vec<L7Rule>), Error> {
    check_listener(listener)?;
    let (mut pool, mut url) = (req.redirect_pool_id, req.redirect_url);
    let action = implied_action(req.action, &mut pool, &mut url, &req.redirect_prefix);
    let mut policy = L7Policy {
        id: new_id(),
        project_id: listener.project_id.clone(),
        loadbalancer_id: listener.loadbalancer_id.clone(),
        listener_id: listener.id.clone(),
        name: req.name,
        description: req.description,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        action,
        redirect_pool_id: pool,
        redirect_url: url,
        redirect_prefix: req.redirect_prefix,
        redirect_http_code: req.redirect_http_code,
        position: req.position.unwrap_or(MAX_POSITION),
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    };
    validate::l7policy(&mut policy)?;
    let requested = req.rules.unwrap_or_default();
    check_rule_count(&policy.id, requested.len())?;
    let rules = requested
        .into_iter()
        .map(|r| new_rule(&policy, r))
        .collect::<Result<Vec<_>, _>>()?;
    service.require(&lb.provider, &[Needs::L7Policies(listener.protocol)])?;
    Ok((policy, rules))
}

/// Apply an update request to a stored policy. A request that says anything about the action or
/// a redirect target replaces the stored action and targets as a whole, as Octavia does.
fn merge(p: &mut L7Policy, req: UpdateL7Policy) -> Result<(), Error> {
    let redirect = req.touches_redirect();
    req.name.apply_opt(&mut p.name);
    req.description.apply_opt(&mut p.description);
    req.admin_state_up.apply_to(&mut p.admin_state_up, || false);
    req.tags.apply_to(&mut p.tags, Vec::new);
    match req.position {
        Patch::Absent => {}
        Patch::Null => p.position = MAX_POSITION,
        Patch::Value(v) => p.position = v,
    }
    if !redirect {
        req.redirect_http_code.apply_opt(&mut p.redirect_http_code);
        return Ok(());
    }
    let action = not_null(req.action, "action")?.unwrap_or(p.action);
    let mut pool = req.redirect_pool_id.value().cloned();
    let mut url = req.redirect_url.value().cloned();
    let prefix = req.redirect_prefix.value().cloned();
    p.action = implied_action(action, &mut pool, &mut url, &prefix);
    p.redirect_pool_id = pool;
    p.redirect_url = url;
    p.redirect_prefix = prefix;
    p.redirect_http_code = req.redirect_http_code.value().copied();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: &str, position: i64) -> L7Policy {
        L7Policy {
            id: id.into(),
            project_id: None,
            loadbalancer_id: "lb".into(),
            listener_id: "l".into(),
            name: None,
            description: None,
            admin_state_up: true,
            provisioning_status: ProvisioningStatus::Active,
            operating_status: OperatingStatus::Online,
            action: L7PolicyAction::Reject,
            redirect_pool_id: None,
            redirect_url: None,
            redirect_prefix: None,
            redirect_http_code: None,
            position,
            tags: Vec::new(),
            created_at: "2024-01-01T00:00:00".into(),
            updated_at: None,
        }
    }

    #[test]
    fn insert_shifts_later_policies() {
        let siblings = vec![policy("a", 1), policy("b", 2), policy("c", 3)];
        let mut new = policy("n", 2);
        let moved = place(&mut new, siblings, 2);
        assert_eq!(new.position, 2);
        let got: Vec<(&str, i64)> = moved.iter().map(|p| (p.id.as_str(), p.position)).collect();
        assert_eq!(got, [("b", 3), ("c", 4)]);
        assert!(
            moved
                .iter()
                .all(|p| p.provisioning_status == ProvisioningStatus::PendingUpdate)
        );
    }

    #[test]
    fn past_the_end_appends() {
        let mut new = policy("n", MAX_POSITION);
        let moved = place(&mut new, vec![policy("a", 1), policy("b", 2)], MAX_POSITION);
        assert_eq!(new.position, 3);
        assert!(moved.is_empty());
    }

    #[test]
    fn move_and_delete_renumber() {
        let siblings = vec![policy("a", 1), policy("b", 2), policy("c", 3)];
        let mut c = policy("c", 3);
        let moved = place(&mut c, siblings.clone(), 1);
        assert_eq!(c.position, 1);
        let got: Vec<(&str, i64)> = moved.iter().map(|p| (p.id.as_str(), p.position)).collect();
        assert_eq!(got, [("a", 2), ("b", 3)]);
        let after_delete = renumber(live_ordered(siblings, "a"));
        let got: Vec<(&str, i64)> = after_delete
            .iter()
            .map(|p| (p.id.as_str(), p.position))
            .collect();
        assert_eq!(got, [("b", 1), ("c", 2)]);
    }

    #[test]
    fn a_single_target_decides_the_action() {
        let (mut pool, mut url) = (Some("p".to_string()), None);
        let a = implied_action(L7PolicyAction::Reject, &mut pool, &mut url, &None);
        assert_eq!(a, L7PolicyAction::Reject);
        let (mut pool, mut url) = (None, Some("http://x".to_string()));
        let a = implied_action(L7PolicyAction::RedirectToPool, &mut pool, &mut url, &None);
        assert_eq!(a, L7PolicyAction::RedirectToPool);
        let (mut pool, mut url) = (None, None);
        let prefix = Some("http://x".to_string());
        let a = implied_action(L7PolicyAction::RedirectToUrl, &mut pool, &mut url, &prefix);
        assert_eq!(a, L7PolicyAction::RedirectPrefix);
    }
}
