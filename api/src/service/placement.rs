//! Where a new load balancer goes, for a provider whose driver chooses among devices (the F5
//! driver among BIG-IP pairs): asked once, before anything of the load balancer is stored, and
//! kept on its row. Drivers that do not place cost nothing: the placements are counted only for
//! those that do.

use fulcrum_core::Error;
use fulcrum_core::driver::Placements;

use super::Service;

/// New load balancers placed by their driver, by provider and placement (`none`: refused).
const PLACEMENTS: &str = "fulcrum_placements_total";

/// Describe the placement metric, for the exposition's `HELP`.
pub fn describe_metrics() {
    metrics::describe_counter!(
        PLACEMENTS,
        "New load balancers placed by their driver, by provider and placement (none: refused for want of one)."
    );
}

impl Service {
    /// Whether the driver of `provider` places new load balancers.
    pub(crate) fn places(&self, provider: &str) -> bool {
        self.providers
            .find(provider)
            .is_some_and(|driver| driver.places_load_balancers())
    }

    /// The placement of a new load balancer of `provider` (none for drivers that do not
    /// place), or Octavia's `ProviderDriverError` when the driver has nowhere to put it.
    pub(crate) async fn placement_for_new(&self, provider: &str) -> Result<Option<String>, Error> {
        if !self.places(provider) {
            return Ok(None);
        }
        let driver = self.providers.get(provider)?;
        let placed = Placements::new(self.store.placement_counts(provider).await?);
        let placement = driver.place(&placed).await;
        let label = match &placement {
            Ok(Some(placement)) => placement.clone(),
            Ok(None) => "any".to_owned(),
            Err(_) => "none".to_owned(),
        };
        metrics::counter!(PLACEMENTS, "provider" => provider.to_string(), "placement" => label)
            .increment(1);
        placement.map_err(|refusal| Error::ProviderFailed {
            provider: provider.to_string(),
            message: refusal.message().to_string(),
        })
    }
}
