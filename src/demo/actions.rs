//! Actions on the demo estate: a rollback puts the previous version back,
//! an acknowledgement or maintenance window is a silence the estate's
//! alerts honour, an expired silence ends, and a DR drill takes a few
//! seconds that opsdeck times like a real one. The estate stays a function
//! of time plus these changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::DemoEstate;
use crate::actions::{ActionOutcome, ActionRequest, ActionRunner};
use crate::domain::Silence;

/// A rollback made: when, and the version it went to.
pub type RollbackMade = (DateTime<Utc>, Option<String>);

/// What actions have changed in the estate.
#[derive(Debug, Default)]
pub struct Changes {
    /// Rollbacks by service: when each was made, and the version it went
    /// to (`None`: the last one healthy before the release it undid).
    pub rollbacks: BTreeMap<String, Vec<RollbackMade>>,
    /// Silences made by actions, with their matchers as label pairs.
    pub silences: Vec<(Silence, Vec<(String, String)>)>,
    /// Silences expired by actions, and when.
    pub expired: BTreeMap<String, DateTime<Utc>>,
}

impl Changes {
    /// A rollback of `service` at `at` to version `to`: it undoes the
    /// version current then (the deployments read these,
    /// `deploys::deployment`).
    pub fn record_rollback(&mut self, service: &str, at: DateTime<Utc>, to: Option<String>) {
        self.rollbacks
            .entry(service.to_string())
            .or_default()
            .push((at, to));
    }
}

/// Runs every action against the demo estate, after a short, visible show
/// of work that can be cancelled like a real one.
pub struct DemoRunner {
    pub estate: Arc<DemoEstate>,
}

fn steps(request: &ActionRequest) -> Vec<String> {
    let p = |k: &str| request.parameters.get(k).cloned().unwrap_or_default();
    match request.action.as_str() {
        "rollback" => vec![
            format!(
                "PLAY [rollback {} in {}]",
                p("service"),
                request.environment
            ),
            format!("TASK [switch traffic to {}]", p("target_version")),
            "ok: [lb-01] ok: [lb-02]".into(),
            format!("TASK [scale down {}]", p("version")),
            "changed: [k8s-prod]".into(),
            "TASK [wait for healthy targets]".into(),
            "ok: [k8s-prod] 4/4 healthy".into(),
            "PLAY RECAP ok=5 changed=1 failed=0".into(),
        ],
        "verify_backup" => vec![
            format!("{} check of {}", p("tool"), p("target")),
            "loading indexes".into(),
            "checking snapshots, trees and blobs".into(),
            "no errors were found".into(),
        ],
        "dr_drill" => vec![
            format!(
                "restoring {} from its last backup into the DR site",
                p("target")
            ),
            "restore: 25%".into(),
            "restore: 60%".into(),
            "restore: 100%".into(),
            "verifying row counts and checksums".into(),
            "row counts and checksums verified".into(),
            "switching the DR replica to read-write".into(),
            "smoke tests passed".into(),
        ],
        _ => vec![format!("POST /api/v2/silences ({})", request.action)],
    }
}

/// The label a silence matches the `service` value on: a host's window is
/// on `instance`, a backup target's on `target`.
fn label(request: &ActionRequest) -> String {
    request
        .parameters
        .get("service_label")
        .filter(|l| !l.is_empty())
        .map_or_else(|| "service".to_string(), String::clone)
}

#[async_trait]
impl ActionRunner for DemoRunner {
    fn describe(&self, request: &ActionRequest) -> Result<Vec<String>, String> {
        let p = |k: &str| request.parameters.get(k).cloned().unwrap_or_default();
        let what = match request.action.as_str() {
            // To the last version healthy before the current one, as the
            // app found it; with none known there is nothing to go to.
            "rollback" => match request.parameters.get("target_version") {
                Some(to) => format!("roll {} back from {} to {to}", request.target, p("version")),
                None => {
                    return Err(format!(
                        "no version of {} is known to have been healthy before {}",
                        request.target,
                        p("version")
                    ));
                }
            },
            "dr_drill" => format!("restore {} into the DR site and time it", request.target),
            "verify_backup" => format!("{} check of {}", p("tool"), request.target),
            "acknowledge" | "silence" => format!(
                "silence alertname=\"{}\", service=\"{}\" {}",
                p("alertname"),
                p("service"),
                match request.parameters.get("ends_at") {
                    Some(ends) => format!("until {ends}"),
                    None => "for 1h".to_string(),
                }
            ),
            "maintenance" => format!(
                "silence {}=\"{}\" from {} until {}",
                label(request),
                p("service"),
                p("starts_at"),
                p("ends_at")
            ),
            "expire_silence" => format!("expire silence {}", p("silence_id")),
            other => format!("{other} {}", request.target),
        };
        Ok(vec![what, "(simulated on the demo estate)".into()])
    }

    async fn run(
        &self,
        request: ActionRequest,
        output: mpsc::UnboundedSender<String>,
        mut cancel: oneshot::Receiver<()>,
    ) -> ActionOutcome {
        let pause = if request.action == "dr_drill" {
            700
        } else {
            400
        };
        for line in steps(&request) {
            tokio::select! {
                _ = &mut cancel => return ActionOutcome::Cancelled,
                _ = tokio::time::sleep(std::time::Duration::from_millis(pause)) => {}
            }
            let _ = output.send(line);
        }
        match self.apply(&request, Utc::now()) {
            Ok(detail) => ActionOutcome::Succeeded { detail },
            Err(detail) => ActionOutcome::Failed { detail },
        }
    }
}

impl DemoRunner {
    fn apply(&self, request: &ActionRequest, now: DateTime<Utc>) -> Result<String, String> {
        let p = |k: &str| request.parameters.get(k).cloned().unwrap_or_default();
        if request.action == "rollback" {
            return self.roll_back(request, now);
        }
        let time = |k: &str| {
            DateTime::parse_from_rfc3339(&p(k))
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| format!("{k} is not a time"))
        };
        let mut changes = self
            .estate
            .changes
            .lock()
            .map_err(|_| "the demo is broken")?;
        match request.action.as_str() {
            // Said so, the drill verifies the backup (`reports_verification`).
            "dr_drill" => Ok("drill passed: restore verified".into()),
            "verify_backup" => Ok("check passed: no errors were found".into()),
            "acknowledge" | "silence" | "maintenance" => {
                let mut pairs = vec![(label(request), p("service"))];
                if request.action != "maintenance" {
                    pairs.insert(0, ("alertname".to_string(), p("alertname")));
                }
                let (starts_at, ends_at) = if request.action == "maintenance" {
                    (time("starts_at")?, time("ends_at")?)
                } else if request.parameters.contains_key("ends_at") {
                    (now, time("ends_at")?)
                } else {
                    // An acknowledgement: the built-in hour.
                    (now, now + chrono::Duration::hours(1))
                };
                let id = format!("demo{:04}", changes.silences.len() + 1);
                let matchers = pairs
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ");
                let silence = Silence {
                    id: id.clone(),
                    matchers,
                    created_by: p("user"),
                    comment: format!("{} in opsdeck (demo)", request.action),
                    starts_at,
                    ends_at,
                };
                changes.silences.push((silence, pairs));
                Ok(format!("silence {id} created"))
            }
            "expire_silence" => {
                changes.expired.insert(p("silence_id"), now);
                Ok(format!("silence {} expired", p("silence_id")))
            }
            other => Err(format!("the demo has no {other} action")),
        }
    }
}

impl DemoRunner {
    /// A rollback from the version the dialog showed to the one it named,
    /// when the service is still at the former and the latter is one of
    /// its earlier releases.
    fn roll_back(&self, request: &ActionRequest, now: DateTime<Utc>) -> Result<String, String> {
        let p = |k: &str| request.parameters.get(k).cloned().unwrap_or_default();
        let (service, from) = (p("service"), p("version"));
        // Without a version named: the last one healthy before it.
        let to = request.parameters.get("target_version").cloned();
        let current = self
            .estate
            .deployments_at(now)
            .into_iter()
            .find(|d| d.service == service)
            .ok_or_else(|| format!("the demo has no service {service}"))?;
        if current.version != from {
            return Err(format!(
                "{service} is at {} now, not {from}: nothing rolled back",
                current.version
            ));
        }
        let mut changes = self
            .estate
            .changes
            .lock()
            .map_err(|_| "the demo is broken")?;
        changes.record_rollback(&service, now, to.clone());
        drop(changes);
        let after = self
            .estate
            .deployments_at(now)
            .into_iter()
            .find(|d| d.service == service);
        match (after, &to) {
            (Some(d), Some(to)) if d.version == *to => return Ok(format!("rolled back to {to}")),
            (Some(d), None) if d.version != from => {
                return Ok(format!("rolled back to {}", d.version));
            }
            _ => {}
        }
        // Not an earlier release: the rollback went nowhere, and is not kept.
        if let Ok(mut changes) = self.estate.changes.lock()
            && let Some(made) = changes.rollbacks.get_mut(&service)
        {
            made.pop();
        }
        Err(format!(
            "{} is not an earlier release of {service}",
            to.unwrap_or_default()
        ))
    }
}
