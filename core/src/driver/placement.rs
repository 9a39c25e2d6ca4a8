//! [`Placements`]: how many load balancers of a provider each placement holds, handed to a
//! driver that chooses where a new load balancer goes ([`Driver::place`](super::Driver::place)).
//!
//! Placement is decided once, when a load balancer is created, and stored with it
//! ([`LoadBalancer::placement`](crate::model::LoadBalancer::placement)): a later update, a
//! restart or a device going into maintenance never moves a load balancer that exists.

/// How many load balancers of a provider each placement holds now (any status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placements {
    counts: Vec<(Option<String>, u64)>,
}

impl Placements {
    /// From (placement, count) pairs; `None` counts the load balancers stored without one.
    pub fn new(counts: Vec<(Option<String>, u64)>) -> Self {
        Placements { counts }
    }

    /// How many load balancers `placement` holds (`None`: those stored without one).
    pub fn count(&self, placement: Option<&str>) -> u64 {
        self.counts
            .iter()
            .filter(|(p, _)| p.as_deref() == placement)
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_by_placement_and_unplaced_rows_apart() {
        let placed = Placements::new(vec![(Some("a".into()), 3), (None, 2)]);
        assert_eq!(placed.count(Some("a")), 3);
        assert_eq!(placed.count(None), 2);
        assert_eq!(placed.count(Some("b")), 0);
    }
}
