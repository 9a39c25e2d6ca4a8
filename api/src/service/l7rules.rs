//! L7 rules: what a request must match for its L7 policy to apply.

use fulcrum_core::Error;
use fulcrum_core::model::{Kind, L7Policy, L7Rule, OperatingStatus, ProvisioningStatus};
use fulcrum_core::{timestamp, validate};
use fulcrum_store::WorkAction;

use super::read::Page;
use super::write::Parent;
use super::{Service, new_id, not_null};
use crate::auth::RequestContext;
use crate::shapes::l7rules::{CreateL7Rule, UpdateL7Rule};

/// The most rules one L7 policy may hold (Octavia's `MAX_L7RULES_PER_L7POLICY`).
pub const MAX_RULES_PER_POLICY: usize = 50;

impl Service {
    /// A page of the rules of a policy.
    pub async fn list_rules(
        &self,
        ctx: &RequestContext,
        policy_id: &str,
        query: Option<&str>,
    ) -> Result<Page<L7Rule>, Error> {
        let policy = self.policy_of(ctx, policy_id).await?;
        self.page(ctx, query, &[("l7policy_id", &policy.id)]).await
    }

    /// A rule of a policy.
    pub async fn rule(
        &self,
        ctx: &RequestContext,
        policy_id: &str,
        rule_id: &str,
    ) -> Result<L7Rule, Error> {
        let policy = self.policy_of(ctx, policy_id).await?;
        self.rule_of(ctx, &policy, rule_id).await
    }

    /// Add a rule to a policy.
    pub async fn create_rule(
        &self,
        ctx: &RequestContext,
        policy_id: &str,
        req: CreateL7Rule,
    ) -> Result<L7Rule, Error> {
        let policy = self.policy_of(ctx, policy_id).await?;
        let rule = new_rule(&policy, req)?;
        let mut change = self.change().await?;
        let existing = change
            .tx()
            .children::<L7Rule>("l7policy_id", &policy.id)
            .await?
            .iter()
            .filter(|r| is_live(r.provisioning_status))
            .count();
        check_rule_count(&policy.id, existing + 1)?;
        change.lock(Parent::L7Policy(&policy)).await?;
        change.insert(&rule).await?;
        change
            .commit(&policy.loadbalancer_id, WorkAction::Apply)
            .await?;
        Ok(rule)
    }

    /// Change a rule of a policy.
    pub async fn update_rule(
        &self,
        ctx: &RequestContext,
        policy_id: &str,
        rule_id: &str,
        req: UpdateL7Rule,
    ) -> Result<L7Rule, Error> {
        let policy = self.policy_of(ctx, policy_id).await?;
        let mut rule = self.rule_of(ctx, &policy, rule_id).await?;
        merge(&mut rule, req)?;
        validate::l7rule(&rule)?;
        rule.provisioning_status = ProvisioningStatus::PendingUpdate;
        rule.updated_at = Some(timestamp::now());
        self.save(Parent::L7Policy(&policy), &rule).await?;
        Ok(rule)
    }

    /// Delete a rule of a policy (a rule already deleted is not an error).
    pub async fn delete_rule(
        &self,
        ctx: &RequestContext,
        policy_id: &str,
        rule_id: &str,
    ) -> Result<(), Error> {
        let policy = self.policy_of(ctx, policy_id).await?;
        let rule = self.rule_of(ctx, &policy, rule_id).await?;
        if rule.provisioning_status == ProvisioningStatus::Deleted {
            return Ok(());
        }
        self.remove(Parent::L7Policy(&policy), Kind::L7Rule, &rule.id)
            .await
    }

    /// The policy of a rules URL, or Octavia's 404 for it ("L7Policy <id> not found.").
    async fn policy_of(&self, ctx: &RequestContext, id: &str) -> Result<L7Policy, Error> {
        self.visible::<L7Policy>(ctx, id)
            .await
            .map_err(|e| match e {
                Error::NotFound { id, .. } => Error::NotFound {
                    resource: "L7Policy",
                    id,
                },
                other => other,
            })
    }

    /// A rule of the policy in the URL; a rule of another policy is not found.
    async fn rule_of(
        &self,
        ctx: &RequestContext,
        policy: &L7Policy,
        rule_id: &str,
    ) -> Result<L7Rule, Error> {
        let rule: L7Rule = self.visible(ctx, rule_id).await?;
        if rule.l7policy_id != policy.id {
            return Err(Error::not_found("L7 Rule", rule_id));
        }
        Ok(rule)
    }
}

/// A new rule of `policy` from a create request, validated.
pub(crate) fn new_rule(policy: &L7Policy, req: CreateL7Rule) -> Result<L7Rule, Error> {
    let rule = L7Rule {
        id: new_id(),
        project_id: policy.project_id.clone(),
        loadbalancer_id: policy.loadbalancer_id.clone(),
        l7policy_id: policy.id.clone(),
        kind: req.kind,
        compare_type: req.compare_type,
        key: req.key,
        value: req.value,
        invert: req.invert.unwrap_or(false),
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    };
    validate::l7rule(&rule)?;
    Ok(rule)
}

/// Whether a rule or policy still counts (is not on its way out).
pub(crate) fn is_live(status: ProvisioningStatus) -> bool {
    !matches!(
        status,
        ProvisioningStatus::PendingDelete | ProvisioningStatus::Deleted
    )
}

/// Octavia's 409 when a policy would hold more than [`MAX_RULES_PER_POLICY`] rules.
pub(crate) fn check_rule_count(policy_id: &str, count: usize) -> Result<(), Error> {
    if count > MAX_RULES_PER_POLICY {
        return Err(Error::Conflict(format!(
            "Too many rules on L7 policy {policy_id}"
        )));
    }
    Ok(())
}

fn merge(r: &mut L7Rule, req: UpdateL7Rule) -> Result<(), Error> {
    if let Some(kind) = not_null(req.kind, "type")? {
        r.kind = kind;
    }
    if let Some(compare_type) = not_null(req.compare_type, "compare_type")? {
        r.compare_type = compare_type;
    }
    req.key.apply_opt(&mut r.key);
    req.value.apply_to(&mut r.value, String::new);
    req.invert.apply_to(&mut r.invert, || false);
    req.admin_state_up.apply_to(&mut r.admin_state_up, || false);
    req.tags.apply_to(&mut r.tags, Vec::new);
    Ok(())
}
