//! The certificate-expiry task: every `[certificates] expiry_check_interval_seconds`, read the
//! TLS material every load balancer names (listeners' default, SNI and client CA certificates;
//! pools' client and CA certificates) and tell management which certificates expire within
//! `expiry_warning_days` or have expired (`AlertRaised` with the key
//! `certificate-expiring:<reference>`, raised as `CertificateExpiring`), and which no longer do
//! (`AlertCleared`). A cluster duty: one replica reads them.
//!
//! The task remembers what it last said of each certificate and says it again only when it
//! changes; after a start it says everything once, so an alert a renewal cleared while no
//! process ran is cleared too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fulcrum_core::events::Event;
use fulcrum_core::secrets::{CertificateStore, is_placeholder};
use fulcrum_core::tasks::{BackgroundTask, Report};
use fulcrum_store::Tree;
use openssl::asn1::Asn1Time;
use openssl::x509::X509;

use super::heartbeat::LeaseHolder;
use super::{TaskContext, performs};

/// The cluster duty of reading certificates' expiry.
pub const DUTY: &str = "certificate-expiry";

/// When a certificate bundle's first certificate to expire does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// Its `notAfter`, as the certificate states it (`Dec 31 23:59:59 2026 GMT`).
    pub not_after: String,
    /// Its subject's common name, when it has one.
    pub subject: String,
}

/// The earliest expiry among the certificates of a PEM bundle; `None` when it holds none.
pub fn earliest_expiry(pem: &[u8]) -> Option<Expiry> {
    let certificates = X509::stack_from_pem(pem).ok()?;
    let now = Asn1Time::days_from_now(0).ok()?;
    certificates
        .iter()
        .filter_map(|certificate| {
            let left = now.diff(certificate.not_after()).ok()?;
            // Whole days, rounded down: a certificate that ended an hour ago has -1 left.
            let days_left = i64::from(left.days) - i64::from(left.secs < 0);
            let subject = certificate
                .subject_name()
                .entries_by_nid(openssl::nid::Nid::COMMONNAME)
                .next()
                .and_then(|e| e.data().to_string().ok())
                .unwrap_or_default();
            Some(Expiry {
                days_left,
                not_after: certificate.not_after().to_string(),
                subject,
            })
        })
        .min_by_key(|e| e.days_left)
}

/// The certificate references of one load balancer's tree, with what names them.
fn references(tree: &Tree) -> BTreeMap<String, String> {
    let mut refs = BTreeMap::new();
    for listener in &tree.rows.listeners {
        let named = format!("listener {}", listener.id);
        let listed = listener
            .default_tls_container_ref
            .iter()
            .chain(&listener.sni_container_refs)
            .chain(&listener.client_ca_tls_container_ref);
        for reference in listed {
            refs.entry(reference.clone())
                .or_insert_with(|| named.clone());
        }
    }
    for pool in &tree.rows.pools {
        let named = format!("pool {}", pool.id);
        for reference in pool
            .tls_container_ref
            .iter()
            .chain(&pool.ca_tls_container_ref)
        {
            refs.entry(reference.clone())
                .or_insert_with(|| named.clone());
        }
    }
    refs
}

/// Reads certificates' expiry and tells management.
pub struct CertificateExpiryTask {
    context: TaskContext,
    holder: Arc<LeaseHolder>,
    certificates: Arc<dyn CertificateStore>,
    warning_days: i64,
    /// What was last said of each (load balancer, reference): expiring or not.
    said: Mutex<BTreeMap<(String, String), bool>>,
}

impl CertificateExpiryTask {
    /// The task over the context's store, reading material from `certificates`, warning
    /// `warning_days` ahead.
    pub fn new(
        context: TaskContext,
        holder: Arc<LeaseHolder>,
        certificates: Arc<dyn CertificateStore>,
        warning_days: u64,
    ) -> Self {
        CertificateExpiryTask {
            context,
            holder,
            certificates,
            warning_days: i64::try_from(warning_days).unwrap_or(i64::MAX),
            said: Mutex::new(BTreeMap::new()),
        }
    }

    /// The events for one load balancer's certificates that say something new.
    fn events_for(&self, tree: &Tree, seen: &mut BTreeSet<(String, String)>) -> Vec<Event> {
        let lb = &tree.rows.load_balancer;
        let mut events = Vec::new();
        let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
        for (reference, named) in references(tree) {
            let Ok(pem) = self.certificates.fetch(&reference) else {
                continue;
            };
            if is_placeholder(&pem) {
                continue;
            }
            let Some(expiry) = earliest_expiry(&pem) else {
                continue;
            };
            let slot = (lb.id.clone(), reference.clone());
            seen.insert(slot.clone());
            let expiring = expiry.days_left <= self.warning_days;
            if said.get(&slot) == Some(&expiring) {
                continue;
            }
            said.insert(slot, expiring);
            let key = format!("certificate-expiring:{reference}");
            events.push(if expiring {
                let when = if expiry.days_left < 0 {
                    format!("expired on {}", expiry.not_after)
                } else {
                    format!(
                        "expires on {} ({} days)",
                        expiry.not_after, expiry.days_left
                    )
                };
                tracing::warn!(load_balancer = %lb.id, reference = %reference, days_left = expiry.days_left, "certificate expiring");
                Event::AlertRaised {
                    key,
                    load_balancer_id: lb.id.clone(),
                    provider: lb.provider.clone(),
                    message: format!(
                        "the certificate {reference} ({}) of {named} {when}",
                        expiry.subject
                    ),
                }
            } else {
                Event::AlertCleared {
                    key,
                    load_balancer_id: lb.id.clone(),
                }
            });
        }
        events
    }
}

#[async_trait]
impl BackgroundTask for CertificateExpiryTask {
    fn name(&self) -> &'static str {
        DUTY
    }

    fn description(&self) -> &'static str {
        "Warns management of load balancers' certificates that expire soon or have expired."
    }

    async fn activate(&self) -> Result<Report, String> {
        let store = &self.context.store;
        if !performs(&self.holder, store, DUTY).await? {
            return Ok(Report::from([("standby", 1)]));
        }
        let load_balancers = store
            .load_balancer_providers()
            .await
            .map_err(|e| format!("listing load balancers failed: {e}"))?;
        let mut seen = BTreeSet::new();
        let mut events = Vec::new();
        for (id, _) in load_balancers {
            if let Some(tree) = store.tree(&id).await.map_err(|e| e.to_string())? {
                events.extend(self.events_for(&tree, &mut seen));
            }
        }
        // Certificates no longer named (a listener deleted, a reference changed) are forgotten,
        // their alerts cleared.
        let gone: Vec<(String, String)> = {
            let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
            let gone: Vec<_> = said
                .keys()
                .filter(|k| !seen.contains(*k))
                .cloned()
                .collect();
            for slot in &gone {
                if said.remove(slot) == Some(true) {
                    events.push(Event::AlertCleared {
                        key: format!("certificate-expiring:{}", slot.1),
                        load_balancer_id: slot.0.clone(),
                    });
                }
            }
            gone
        };
        let expiring = self
            .said
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|e| **e)
            .count();
        if !events.is_empty() {
            store
                .append_events(&events)
                .await
                .map_err(|e| format!("recording certificate events failed: {e}"))?;
            self.context.events.notify_committed();
        }
        Ok(Report::from([
            ("certificates", seen.len() as u64),
            ("expiring", expiring as u64),
            ("forgotten", gone.len() as u64),
            ("events", events.len() as u64),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::X509NameBuilder;

    fn certificate(common_name: &str, days: u32) -> Vec<u8> {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", common_name).unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder
            .set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        builder
            .set_not_after(&Asn1Time::days_from_now(days).unwrap())
            .unwrap();
        builder.sign(&key, MessageDigest::sha256()).unwrap();
        builder.build().to_pem().unwrap()
    }

    #[test]
    fn the_earliest_certificate_of_a_bundle_sets_its_expiry() {
        let mut bundle = certificate("later.test", 400);
        bundle.extend(certificate("sooner.test", 10));
        let expiry = earliest_expiry(&bundle).unwrap();
        assert!((9..=10).contains(&expiry.days_left), "{expiry:?}");
        assert_eq!(expiry.subject, "sooner.test");
        assert!(expiry.not_after.ends_with("GMT"), "{expiry:?}");
        assert_eq!(earliest_expiry(b"no certificate here"), None);
    }
}
