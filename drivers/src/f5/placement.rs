//! Which pair a new load balancer goes to: of the pairs every device of which management lets
//! take new work, the one holding the fewest load balancers, the first configured on a tie.
//! Decided once, when the load balancer is created; it stays there afterwards.

/// A pair as placement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The pair's name.
    pub name: &'a str,
    /// How many load balancers are placed on it.
    pub load: u64,
    /// Whether every one of its devices may take a new load balancer.
    pub open: bool,
}

/// The pair a new load balancer goes to, of `candidates` in configuration order; none when no
/// pair is open.
pub fn choose<'a>(candidates: &[Candidate<'a>]) -> Option<&'a str> {
    candidates
        .iter()
        .filter(|c| c.open)
        .min_by_key(|c| c.load)
        .map(|c| c.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, load: u64, open: bool) -> Candidate<'_> {
        Candidate { name, load, open }
    }

    #[test]
    fn the_least_loaded_open_pair_is_chosen() {
        let pairs = [pair("a", 3, true), pair("b", 1, true), pair("c", 2, true)];
        assert_eq!(choose(&pairs), Some("b"));
    }

    #[test]
    fn a_tie_goes_to_the_first_configured() {
        let pairs = [pair("a", 2, true), pair("b", 1, true), pair("c", 1, true)];
        assert_eq!(choose(&pairs), Some("b"));
        let empty = [pair("a", 0, true), pair("b", 0, true)];
        assert_eq!(choose(&empty), Some("a"));
    }

    #[test]
    fn a_held_back_pair_is_skipped_however_light() {
        let pairs = [pair("a", 0, false), pair("b", 9, true)];
        assert_eq!(choose(&pairs), Some("b"));
    }

    #[test]
    fn no_open_pair_places_nothing() {
        assert_eq!(choose(&[pair("a", 0, false), pair("b", 0, false)]), None);
        assert_eq!(choose(&[]), None);
    }
}
