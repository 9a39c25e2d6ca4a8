//! Quotas: per project, explicit (stored, [`QuotaLimits`]) or the configured default
//! ([`QuotaDefaults`]); -1 is unlimited.
//!
//! [`Service::reserve`] is what every create calls inside its own transaction before it inserts:
//! it takes the project's quota lock and counts the project's objects, so that the count and the
//! insert commit together and concurrent creates of one project cannot overshoot.

use super::Service;
use super::config::{MAX_QUOTA, QuotaDefaults, UNLIMITED};
use crate::auth::RequestContext;
use crate::shapes::quotas::UpdateQuota;
use fulcrum_core::model::Kind;
use fulcrum_core::{Error, validate};
use fulcrum_store::{QuotaLimits, Tx};

/// The limit that applies: the explicit one, or the default.
fn effective(explicit: &QuotaLimits, defaults: &QuotaDefaults, kind: Kind) -> i64 {
    explicit.of(kind).unwrap_or_else(|| defaults.of(kind))
}

/// Octavia's range check of one limit (wsme's `IntegerType(minimum=-1, maximum=2000000000)`).
fn check_limit(field: &str, value: i64) -> Result<(), Error> {
    if value < UNLIMITED {
        return Err(Error::invalid_field(
            field,
            value,
            "Value should be greater or equal to -1",
        ));
    }
    if value > MAX_QUOTA {
        return Err(Error::invalid_field(
            field,
            value,
            &format!("Value should be lower or equal to {MAX_QUOTA}"),
        ));
    }
    Ok(())
}

/// Apply a validated update to stored limits.
fn apply(limits: &mut QuotaLimits, req: UpdateQuota) -> Result<(), Error> {
    let patches = req.into_patches();
    for (_, field, patch) in &patches {
        if let Some(v) = patch.value() {
            check_limit(field, *v)?;
        }
    }
    for (kind, _, patch) in patches {
        patch.apply_opt(limits.slot(kind));
    }
    Ok(())
}

impl Service {
    /// Make sure `project` may create `wanted` more objects of each kind, inside the transaction
    /// that will insert them: takes the project's quota lock (so concurrent creates of the
    /// project wait for this transaction) and counts what it has. Objects without a project
    /// count against nothing; kinds whose limit is unlimited take no lock. Octavia's 403 names
    /// the first kind whose quota would be exceeded.
    pub(crate) async fn reserve(
        &self,
        tx: &mut Tx,
        project: Option<&str>,
        wanted: &[(Kind, usize)],
    ) -> Result<(), Error> {
        let Some(project) = project else {
            return Ok(());
        };
        if wanted.iter().all(|(_, n)| *n == 0) {
            return Ok(());
        }
        let explicit = tx.quota(project).await?.unwrap_or_default();
        let limited: Vec<(Kind, i64, i64)> = wanted
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| {
                (
                    *k,
                    *n as i64,
                    effective(&explicit, &self.quota_defaults, *k),
                )
            })
            .filter(|(_, _, limit)| *limit != UNLIMITED)
            .collect();
        if limited.is_empty() {
            return Ok(());
        }
        tx.lock_project(project).await?;
        for (kind, adding, limit) in limited {
            if tx.count_in_project(kind, project).await? + adding > limit {
                return Err(Error::quota_met(kind.display_name()));
            }
        }
        Ok(())
    }

    /// The explicitly set quotas of the projects the caller may list (`project`: a
    /// `project_id=` filter), by project.
    pub async fn list_quotas(
        &self,
        ctx: &RequestContext,
        project: Option<&str>,
    ) -> Result<Vec<(String, QuotaLimits)>, Error> {
        let filter = ctx.list_scope(project)?;
        if !filter.as_deref().is_none_or(validate::storable) {
            return Ok(Vec::new());
        }
        Ok(self.store.quotas(filter.as_deref()).await?)
    }

    /// A project's limits in effect: explicit ones, the defaults for the rest.
    pub async fn quota(
        &self,
        ctx: &RequestContext,
        project_id: &str,
    ) -> Result<QuotaLimits, Error> {
        ctx.authorize(Some(project_id))?;
        self.effective_limits(project_id).await
    }

    /// The configured defaults, as they apply to a project.
    pub fn default_quota(
        &self,
        ctx: &RequestContext,
        project_id: &str,
    ) -> Result<QuotaLimits, Error> {
        ctx.authorize(Some(project_id))?;
        Ok(self.quota_defaults.limits())
    }

    /// Set any or all of a project's limits; the limits in effect afterwards.
    pub async fn update_quota(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        req: UpdateQuota,
    ) -> Result<QuotaLimits, Error> {
        ctx.authorize(Some(project_id))?;
        if !validate::storable(project_id) {
            return Err(Error::invalid_field(
                "project_id",
                project_id.replace('\0', "\\x00"),
                "Value must not contain the NUL character",
            ));
        }
        let mut tx = self.store.begin().await?;
        tx.lock_project(project_id).await?;
        let mut limits = tx.quota(project_id).await?.unwrap_or_default();
        apply(&mut limits, req)?;
        tx.set_quota(project_id, &limits).await?;
        tx.commit().await?;
        self.effective_limits(project_id).await
    }

    /// Return a project to the configured defaults.
    pub async fn delete_quota(&self, ctx: &RequestContext, project_id: &str) -> Result<(), Error> {
        ctx.authorize(Some(project_id))?;
        if !validate::storable(project_id) {
            // No explicit quotas can be stored for it: it has the defaults already.
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        tx.delete_quota(project_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn effective_limits(&self, project_id: &str) -> Result<QuotaLimits, Error> {
        let explicit = if validate::storable(project_id) {
            self.store.quota(project_id).await?.unwrap_or_default()
        } else {
            QuotaLimits::default()
        };
        let mut limits = QuotaLimits::default();
        for kind in Kind::ALL {
            *limits.slot(kind) = Some(effective(&explicit, &self.quota_defaults, kind));
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<UpdateQuota, Error> {
        crate::body::parse::<UpdateQuota>(body.as_bytes())
    }

    #[test]
    fn aliases_absent_and_null() {
        let mut limits = QuotaLimits {
            listener: Some(3),
            pool: Some(4),
            ..QuotaLimits::default()
        };
        let req =
            parse(r#"{"quota": {"load_balancer": 2, "health_monitor": 7, "pool": null}}"#).unwrap();
        apply(&mut limits, req).unwrap();
        assert_eq!(limits.load_balancer, Some(2));
        assert_eq!(limits.health_monitor, Some(7));
        assert_eq!(limits.listener, Some(3), "absent is kept");
        assert_eq!(limits.pool, None, "null is the default");
        let req = parse(r#"{"quota": {"loadbalancer": 5, "load_balancer": 9}}"#).unwrap();
        apply(&mut limits, req).unwrap();
        assert_eq!(limits.load_balancer, Some(5), "the current name wins");
    }

    #[test]
    fn bad_limits() {
        let mut limits = QuotaLimits::default();
        let err = apply(&mut limits, parse(r#"{"quota": {"member": -2}}"#).unwrap()).unwrap_err();
        assert!(err.to_string().contains("member"), "{err}");
        let err = apply(
            &mut limits,
            parse(r#"{"quota": {"l7rule": 2000000001}}"#).unwrap(),
        );
        assert!(err.is_err());
        assert_eq!(limits, QuotaLimits::default(), "nothing applied");
        assert!(parse(r#"{"quota": {"pool": "x"}}"#).is_err());
        assert!(parse(r#"{"quota": {"colour": 1}}"#).is_err());
    }
}
