//! Canary verdicts for the deployments in progress: one query
//! (`sli::canary`) asked only while a canary or blue-green deployment is
//! under way, kept for ten seconds, its answer read into each
//! deployment's `canary`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::Deployment;
use crate::domain::canary::{Basis, Canary, CanaryThresholds, VersionFigures};
use crate::sli::canary::{BASIS, FIGURE, InCanary, VERSION, query};
use crate::sli::identity::SERVICE;
use crate::sources::prometheus::{PrometheusApi, Sample};

/// How long an answer is kept: as the five-minute queries.
const KEEP: Duration = Duration::from_secs(10);

/// The longest stretch compared before and after a deploy.
const MAX_MINUTES: u64 = 360;

/// When a query was asked, its text, and its answer.
type Asked = (Instant, String, Arc<Vec<Sample>>);

/// The last canary query asked, when, and its answer.
#[derive(Default)]
pub(super) struct Kept(Mutex<Option<Asked>>);

impl Kept {
    fn get(&self, expr: &str) -> Option<Arc<Vec<Sample>>> {
        let held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, asked, answer) = held.as_ref()?;
        (asked == expr && at.elapsed() < KEEP).then(|| answer.clone())
    }

    fn put(&self, expr: String, answer: Arc<Vec<Sample>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), expr, answer));
    }
}

/// The whole minutes since `d` began, for the before/after comparison.
fn minutes(d: &Deployment, now: DateTime<Utc>) -> u64 {
    d.deployed_at
        .map_or(0, |at| (now - at).num_minutes().max(0) as u64)
        .min(MAX_MINUTES)
}

/// Each deployment in canary given its verdict; a failed query is a
/// warning, and leaves the verdicts unknown.
pub(super) async fn attach(
    api: &PrometheusApi,
    kept: &Kept,
    plan: &super::plan::Plan,
    thresholds: &CanaryThresholds,
    list: &mut [Deployment],
    now: DateTime<Utc>,
    warnings: &mut Vec<String>,
) {
    let services: Vec<InCanary> = list
        .iter()
        .filter(|d| d.in_canary())
        .map(|d| InCanary {
            service: &d.service,
            minutes: minutes(d, now),
        })
        .collect();
    if services.is_empty() {
        return;
    }
    let Some(expr) = query(
        &plan.set,
        plan.queries.get("error_ratio_5m"),
        plan.queries.get("latency_p95"),
        &services,
    ) else {
        return;
    };
    let answer = match kept.get(&expr) {
        Some(a) => a,
        None => match api.query(&expr, now).await {
            Ok(a) => {
                warnings.extend(a.warnings.into_iter().map(|w| format!("canary: {w}")));
                let answer = Arc::new(a.result);
                kept.put(expr, answer.clone());
                answer
            }
            Err(e) => {
                warnings.push(format!("canary: {e}"));
                Arc::new(Vec::new())
            }
        },
    };
    let figures = Figures::read(&answer);
    for d in list.iter_mut().filter(|d| d.in_canary()) {
        let m = minutes(d, now);
        d.canary = Some(figures.judge(d, m, thresholds));
    }
}

/// The answer by (service, basis, version) and figure.
struct Figures<'a>(BTreeMap<(&'a str, &'a str, &'a str), VersionFigures>);

impl<'a> Figures<'a> {
    fn read(answer: &'a [Sample]) -> Figures<'a> {
        let mut out: BTreeMap<_, VersionFigures> = BTreeMap::new();
        for s in answer {
            let (Some(service), Some(basis)) = (s.label(SERVICE), s.label(BASIS)) else {
                continue;
            };
            let version = s.label(VERSION).unwrap_or("");
            if basis == "version" && version.is_empty() {
                continue;
            }
            let f = out
                .entry((service, basis, version))
                .or_insert(VersionFigures::UNKNOWN);
            let value = super::measure(s.value);
            match s.label(FIGURE) {
                Some("errors") => f.error_ratio = value,
                Some("p95") => f.p95 = value,
                _ => {}
            }
        }
        Figures(out)
    }

    fn get(&self, service: &str, basis: &str, version: &str) -> Option<VersionFigures> {
        self.0.get(&(service, basis, version)).copied()
    }

    /// By version where the new version and another have an error ratio
    /// (traffic in the last five minutes: the previous version when it
    /// has, else the other with the lowest name); else before and after
    /// the deploy (a blue-green switched over, the old colour idle); else
    /// unknown.
    fn judge(&self, d: &Deployment, minutes: u64, t: &CanaryThresholds) -> Canary {
        let served = |f: &VersionFigures| f.error_ratio.is_finite();
        let others: Vec<&str> = self
            .0
            .iter()
            .filter(|((s, b, v), f)| {
                *s == d.service && *b == "version" && *v != d.version && served(f)
            })
            .map(|((_, _, v), _)| *v)
            .collect();
        let stable = d
            .previous_version
            .as_deref()
            .filter(|p| others.contains(p))
            .or(others.first().copied());
        let new = self.get(&d.service, "version", &d.version).filter(served);
        if let (Some(new), Some(stable)) = (new, stable)
            && let Some(old) = self.get(&d.service, "version", stable)
        {
            let basis = Basis::Version {
                new: d.version.clone(),
                stable: stable.to_string(),
            };
            return Canary::judge(new, old, basis, t);
        }
        let basis = Basis::BeforeAfter { minutes };
        match (
            self.get(&d.service, "after", ""),
            self.get(&d.service, "before", ""),
        ) {
            (Some(after), Some(before)) => Canary::judge(after, before, basis, t),
            _ => Canary::judge(VersionFigures::UNKNOWN, VersionFigures::UNKNOWN, basis, t),
        }
    }
}
