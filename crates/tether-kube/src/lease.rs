//! The `kubernetes` backend's lock: the Lease `tether-lock-<environment>`, renewed by its
//! holder, so that a lock left by a process that died expires instead of blocking forever.
//!
//! `spec.holderIdentity` is the lock id, and the annotation `tether.dev/lock` describes the
//! holder as JSON. An empty `holderIdentity` means released. Expiry compares `renewTime` plus
//! `leaseDurationSeconds` with this machine's clock, so clocks skewed by more than the lease
//! duration can take over a live lock early or late.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, PostParams};
use tether_engine::{LockError, LockInfo, StateLock};

use crate::error::KubeError;
use crate::secrets::Redactor;
use crate::state_store::lock_ignoring_poison;

/// How long a lock lasts without renewal.
pub const LEASE_DURATION: Duration = Duration::from_secs(60);

/// How often the holder renews: a third of the duration, so two renewals may fail in a row.
const RENEW_INTERVAL: Duration = Duration::from_secs(20);

/// The annotation with the holder's description as JSON.
pub const LOCK_ANNOTATION: &str = "tether.dev/lock";

/// Whether the lock this process took is still its own, shared with the renewal task.
#[derive(Debug, Default)]
pub(crate) struct LeaseStatus {
    lost: Mutex<Option<String>>,
}

impl LeaseStatus {
    /// Returns why the lock was lost, if it was.
    pub(crate) fn lost(&self) -> Option<String> {
        lock_ignoring_poison(&self.lost).clone()
    }

    fn mark_lost(&self, reason: String) {
        *lock_ignoring_poison(&self.lost) = Some(reason);
    }
}

/// A Lease this process holds, renewed in the background until released or dropped.
pub(crate) struct HeldLease {
    api: Api<Lease>,
    name: String,
    info: LockInfo,
    renewal: tokio::task::JoinHandle<()>,
}

fn lease_name(environment: &str) -> String {
    format!("tether-lock-{environment}")
}

fn backend_error(operation: &'static str, name: &str, error: kube::Error) -> LockError {
    LockError::Backend {
        operation,
        location: format!("Lease {name}"),
        source: Box::new(KubeError::from_kube(error, &Redactor::default())),
    }
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// Returns when the lease expires, or `None` when it is released or has no times.
fn expiry(lease: &Lease) -> Option<Timestamp> {
    let spec = lease.spec.as_ref()?;
    spec.holder_identity.as_deref().filter(|holder| !holder.is_empty())?;
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    renewed.checked_add(SignedDuration::from_secs(seconds)).ok()
}

/// True when someone holds the lease and it has not expired at `now`.
pub(crate) fn is_held(lease: &Lease, now: Timestamp) -> bool {
    expiry(lease).is_some_and(|expires| expires > now)
}

/// Describes the lease's holder from its annotation, or from `holderIdentity` alone.
fn holder_info(lease: &Lease) -> LockInfo {
    let annotation = lease.metadata.annotations.as_ref().and_then(|annotations| annotations.get(LOCK_ANNOTATION));
    let mut info = annotation.and_then(|text| serde_json::from_str::<LockInfo>(text).ok()).unwrap_or_else(|| {
        let spec = lease.spec.clone().unwrap_or_default();
        LockInfo {
            id: spec.holder_identity.unwrap_or_default(),
            holder: tether_engine::LockHolder {
                user: "unknown".to_owned(),
                host: "unknown".to_owned(),
                pid: 0,
                ci_run: None,
            },
            operation: "unknown".to_owned(),
            created: spec.acquire_time.map_or_else(Timestamp::now, |time| time.0),
            expires: None,
        }
    });
    info.expires = expiry(lease);
    info
}

/// Writes this process's lock into `lease`, keeping its name, version and transitions.
fn claim(lease: &mut Lease, info: &LockInfo, now: Timestamp) {
    let annotation = serde_json::to_string(info).unwrap_or_default();
    lease.metadata.annotations.get_or_insert_default().insert(LOCK_ANNOTATION.to_owned(), annotation);
    let spec = lease.spec.get_or_insert_default();
    let taken_over = spec.holder_identity.as_deref().is_some_and(|holder| !holder.is_empty());
    spec.holder_identity = Some(info.id.clone());
    spec.lease_duration_seconds = Some(LEASE_DURATION.as_secs() as i32);
    spec.acquire_time = Some(MicroTime(now));
    spec.renew_time = Some(MicroTime(now));
    if taken_over {
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
}

/// Clears the holder, which releases the lease but keeps its transition count.
fn clear(lease: &mut Lease) {
    if let Some(annotations) = lease.metadata.annotations.as_mut() {
        annotations.remove(LOCK_ANNOTATION);
    }
    let spec = lease.spec.get_or_insert_default();
    spec.holder_identity = None;
    spec.renew_time = None;
}

/// Takes the environment's lease when it is free or expired, without waiting.
pub(crate) async fn take(
    api: Api<Lease>,
    environment: &str,
    info: &LockInfo,
    status: Arc<LeaseStatus>,
) -> Result<HeldLease, LockError> {
    let name = lease_name(environment);
    let now = Timestamp::now();
    let current = api.get_opt(&name).await.map_err(|error| backend_error("take", &name, error))?;
    let written = match current {
        None => {
            let mut lease = Lease {
                metadata: ObjectMeta { name: Some(name.clone()), ..ObjectMeta::default() },
                spec: Some(LeaseSpec::default()),
            };
            claim(&mut lease, info, now);
            api.create(&PostParams::default(), &lease).await
        }
        Some(lease) if is_held(&lease, now) => return Err(LockError::Held(Box::new(holder_info(&lease)))),
        Some(mut lease) => {
            if expiry(&lease).is_some() {
                tracing::warn!(lock = %holder_info(&lease), "taking over an expired state lock");
            }
            claim(&mut lease, info, now);
            api.replace(&name, &PostParams::default(), &lease).await
        }
    };
    match written {
        Ok(_) => {}
        // Another process wrote the lease between the read and the write; it holds it now.
        Err(error) if is_conflict(&error) => {
            let lease = api.get(&name).await.map_err(|error| backend_error("read", &name, error))?;
            return Err(LockError::Held(Box::new(holder_info(&lease))));
        }
        Err(error) => return Err(backend_error("take", &name, error)),
    }
    let mut info = info.clone();
    info.expires = now.checked_add(SignedDuration::from_secs(LEASE_DURATION.as_secs() as i64)).ok();
    let renewal = tokio::spawn(renew(api.clone(), name.clone(), info.id.clone(), status));
    Ok(HeldLease { api, name, info, renewal })
}

/// Renews the lease every [`RENEW_INTERVAL`] until it is found taken over.
async fn renew(api: Api<Lease>, name: String, id: String, status: Arc<LeaseStatus>) {
    loop {
        tokio::time::sleep(RENEW_INTERVAL).await;
        let mut lease = match api.get(&name).await {
            Ok(lease) => lease,
            Err(error) => {
                tracing::warn!(%error, lease = %name, "cannot read the state lock to renew it; trying again");
                continue;
            }
        };
        let holder = lease.spec.as_ref().and_then(|spec| spec.holder_identity.clone()).unwrap_or_default();
        if holder != id {
            let reason = match holder.is_empty() {
                true => "it was released by `tether force-unlock`".to_owned(),
                false => format!("it expired and was taken over: {}", holder_info(&lease)),
            };
            tracing::error!(lease = %name, %reason, "lost the state lock");
            status.mark_lost(reason);
            return;
        }
        lease.spec.get_or_insert_default().renew_time = Some(MicroTime(Timestamp::now()));
        match api.replace(&name, &PostParams::default(), &lease).await {
            Ok(_) => tracing::debug!(lease = %name, "renewed the state lock"),
            Err(error) => tracing::warn!(%error, lease = %name, "cannot renew the state lock; trying again"),
        }
    }
}

/// Releases the lease with id `id` held by another process and returns its description.
pub(crate) async fn force_unlock(api: Api<Lease>, environment: &str, id: &str) -> Result<LockInfo, LockError> {
    let name = lease_name(environment);
    let Some(mut lease) = api.get_opt(&name).await.map_err(|error| backend_error("read", &name, error))? else {
        return Err(LockError::NotLocked { location: format!("Lease {name}") });
    };
    if expiry(&lease).is_none() {
        return Err(LockError::NotLocked { location: format!("Lease {name}") });
    }
    let info = holder_info(&lease);
    if info.id != id {
        return Err(LockError::OtherHolder { id: id.to_owned(), current: Box::new(info) });
    }
    clear(&mut lease);
    api.replace(&name, &PostParams::default(), &lease).await.map_err(|error| backend_error("release", &name, error))?;
    Ok(info)
}

#[async_trait::async_trait]
impl StateLock for HeldLease {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    async fn release(self: Box<Self>) -> Result<(), LockError> {
        self.renewal.abort();
        let mut lease = self.api.get(&self.name).await.map_err(|error| backend_error("release", &self.name, error))?;
        let holder = lease.spec.as_ref().and_then(|spec| spec.holder_identity.as_deref());
        if holder != Some(self.info.id.as_str()) {
            // Someone broke or took over the lock; it is not this process's to release.
            return Ok(());
        }
        clear(&mut lease);
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map_err(|error| backend_error("release", &self.name, error))?;
        Ok(())
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, renewed: Timestamp) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_owned),
                lease_duration_seconds: Some(60),
                renew_time: Some(MicroTime(renewed)),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn renewed_lease_is_held_until_expiry() {
        let renewed: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let lease = lease(Some("id"), renewed);
        assert!(is_held(&lease, renewed.checked_add(SignedDuration::from_secs(59)).unwrap()));
        assert!(!is_held(&lease, renewed.checked_add(SignedDuration::from_secs(61)).unwrap()));
    }

    #[test]
    fn released_lease_is_not_held() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert!(!is_held(&lease(None, now), now));
        assert!(!is_held(&lease(Some(""), now), now));
    }

    #[test]
    fn claim_counts_takeover_and_describes_holder() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut taken = lease(Some("old"), now);
        let info = LockInfo::new("apply");
        claim(&mut taken, &info, now);
        assert_eq!(taken.spec.as_ref().unwrap().lease_transitions, Some(1));
        let described = holder_info(&taken);
        assert_eq!(described.id, info.id);
        assert_eq!(described.holder, info.holder);
    }
}
