//! Whether a load balancer's provider can realize the tree a write leaves: its driver checks the
//! desired tree inside the write's transaction, after the write and before the commit, so that
//! what the backend cannot realize is refused in the request and nothing is stored (Octavia's
//! provider validation) rather than failing in the reconciler and leaving objects in ERROR.

use fulcrum_core::Error;
use fulcrum_core::driver::{DriverError, DriverErrorKind};
use fulcrum_store::Tx;

use super::Service;

impl Service {
    /// Octavia's 501 (an option the provider does not support) or 400 (anything else the
    /// driver refuses) unless the driver of `provider` accepts the desired tree of
    /// `load_balancer_id` as `tx` holds it now. Drivers that check nothing are not asked, and
    /// the tree is not read for them.
    pub(crate) async fn check_realizable(
        &self,
        tx: &mut Tx,
        provider: &str,
        load_balancer_id: &str,
    ) -> Result<(), Error> {
        let driver = self.providers.get(provider)?;
        if !driver.validates_trees() {
            return Ok(());
        }
        let tree = tx
            .tree(load_balancer_id)
            .await?
            .ok_or_else(|| Error::not_found("Load Balancer", load_balancer_id))?;
        driver
            .validate(&tree.desired())
            .map_err(|refusal| refused(provider, refusal))
    }
}

/// The API's answer to a driver's refusal.
fn refused(provider: &str, refusal: DriverError) -> Error {
    match refusal.kind() {
        DriverErrorKind::Unsupported => Error::ProviderUnsupported {
            provider: provider.to_string(),
            option: refusal.message().to_string(),
        },
        _ => Error::BadRequest(format!(
            "Provider '{provider}' refused the request: {}",
            refusal.message()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_options_are_501_and_other_refusals_400() {
        let e = refused(
            "haproxy",
            DriverError::unsupported("COOKIE rule key \"a'b\""),
        );
        assert_eq!(
            e.to_string(),
            "Provider 'haproxy' does not support a requested option: COOKIE rule key \"a'b\""
        );
        assert!(matches!(e, Error::ProviderUnsupported { .. }));
        let e = refused("x", DriverError::rejected("no"));
        assert_eq!(
            e,
            Error::BadRequest("Provider 'x' refused the request: no".into())
        );
    }
}
