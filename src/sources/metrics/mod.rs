//! A Prometheus-compatible endpoint as a `MetricsSource`: the queries of
//! `sli::queries` (those about traffic following the conventions the server
//! has, `plan.rs`) run concurrently, their answers joined into the estate.
//! One query failing is a warning on the panel; all of them failing is an
//! error.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

mod answers;
mod backups;
mod built;
mod canary;
mod deploys;
mod groups;
mod history;
pub mod plan;
mod recorded;
mod services;

use answers::{Answers, Kept};
use built::Built;

use super::convert::timestamp;

use super::prometheus::PrometheusApi;
use super::{Fetch, Fetched, MetricsSource};
use crate::config::file::{Config, Endpoint, ServiceMeta};
use crate::domain::{
    Backup, Deployment, HealthReading, Host, Phase, ResolvedIncident, ServiceHealth, forecast,
};

use groups::{
    BACKUP_GAUGES, BACKUP_WINDOW, BASELINES, COVERAGE, DEPLOY_GAUGES, DEPLOY_WINDOW,
    FIVE_MINUTE_WINDOWS, FORECASTS, GAUGES, HOUR_WINDOWS, RECORDED_SLOS, SLO_WINDOWS,
};
use history::History;
use plan::{Choice, Plan, Spec};

/// Sparkline history: five minutes, a point every five seconds.
const HISTORY: i64 = 300;
const HISTORY_STEP: u32 = 5;

pub struct PrometheusSource {
    name: String,
    api: PrometheusApi,
    cluster: Option<String>,
    /// The first service label: deployments' and backups' queries name
    /// their service by it.
    label: String,
    /// What the configuration says about SLIs, and the plan in force.
    spec: Spec,
    plan: Mutex<Arc<Plan>>,
    services: BTreeMap<String, ServiceMeta>,
    /// The answers of each `Reused` group (by its first query) and when
    /// they were asked.
    reused: Arc<Mutex<BTreeMap<&'static str, Kept>>>,
    /// The sparkline histories by query, extended a step at a time.
    histories: Mutex<BTreeMap<&'static str, History>>,
    /// What each feed last built, and from which answers.
    built_services: Built<Arc<Vec<ServiceHealth>>>,
    built_deployments: Built<Vec<Deployment>>,
    built_backups: Built<Vec<Backup>>,
    /// The canary query's last answer, and when the new version is worse.
    canary: canary::Kept,
    canary_thresholds: crate::domain::canary::CanaryThresholds,
    /// Whether anomalies are judged (`[thresholds] anomaly_deviations` above
    /// 0): off, their baselines are not asked either.
    anomalies: bool,
    /// The services whose rows are on screen, once the screen says
    /// (`MetricsSource::on_screen`): their traffic lines alone are asked.
    on_screen: Mutex<Option<Arc<Vec<String>>>>,
}

const SERVICE_QUERIES: [&str; 17] = [
    "error_ratio_5m",
    "error_ratio_30m",
    "error_ratio_1h",
    "error_ratio_2h",
    "error_ratio_6h",
    "error_ratio_1d",
    "error_ratio_3d",
    "requests",
    "errors",
    "latency_p95",
    "latency_p99",
    "requests_1h",
    "errors_1h",
    "requests_window",
    "errors_window",
    "saturation",
    "covered_window",
];

fn ratio(part: Option<f64>, whole: Option<f64>) -> f64 {
    match (part, whole) {
        (_, Some(w)) if w > 0.0 => part.unwrap_or(0.0) / w,
        _ => f64::NAN,
    }
}

impl PrometheusSource {
    pub fn new(endpoint: Endpoint, config: &Config) -> Result<PrometheusSource, String> {
        let spec = Spec {
            catalogue: config.conventions.clone(),
            global: config.sli.clone(),
            per_service: config.service_slis.clone(),
            labels: config.service_labels.clone(),
            window: crate::sli::queries::window(config.objectives.slo_window),
            overrides: config.queries.clone(),
        };
        Ok(PrometheusSource {
            name: endpoint.name.clone(),
            cluster: endpoint.cluster.clone(),
            label: config.service_labels[0].clone(),
            plan: Mutex::new(Arc::new(Plan::new(&spec, None))),
            spec,
            services: config.services.clone(),
            reused: Arc::new(Mutex::new(BTreeMap::new())),
            histories: Mutex::new(BTreeMap::new()),
            built_services: Built::new(),
            built_deployments: Built::new(),
            built_backups: Built::new(),
            canary: canary::Kept::default(),
            canary_thresholds: config.canary,
            anomalies: config.thresholds.anomaly_deviations > 0.0,
            on_screen: Mutex::new(None),
            api: PrometheusApi {
                http: super::http::HttpClient::new(endpoint)?,
            },
        })
    }

    /// The plan in force: the SLI and its queries.
    pub fn plan(&self) -> Arc<Plan> {
        self.plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Asks the server which conventions it has when the last answer is
    /// old, and puts the plan that follows in force; answers and histories
    /// of the old plan are dropped when its queries change.
    pub async fn detect(&self, now: DateTime<Utc>, warnings: &mut Vec<String>) -> Arc<Plan> {
        let old = self.plan();
        if !old.due() {
            return old;
        }
        let answer = self.api.query(&plan::detection(&self.spec), now).await;
        let (found, ok) = match answer {
            Ok(a) => (Some(plan::found(&a.result, &self.spec.catalogue)), true),
            Err(e) => {
                warnings.push(format!("detecting the metric conventions: {e}"));
                (old.found.clone(), false)
            }
        };
        let mut fresh = if found == old.found {
            Plan {
                set: old.set.clone(),
                queries: old.queries.clone(),
                found,
                checked: None,
            }
        } else {
            Plan::new(&self.spec, found)
        };
        fresh.checked = Some((Instant::now(), ok));
        if fresh.queries != old.queries {
            self.reused
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
            self.histories
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
        let fresh = Arc::new(fresh);
        *self.plan.lock().unwrap_or_else(PoisonError::into_inner) = fresh.clone();
        fresh
    }

    pub fn api(&self) -> &PrometheusApi {
        &self.api
    }

    /// The last five minutes of range query `name` by `label`, oldest
    /// first; only the steps since the last refresh are asked (`History`).
    async fn history(
        &self,
        name: &'static str,
        key: impl for<'s> Fn(&'s super::prometheus::Series) -> Option<&'s str>,
        now: DateTime<Utc>,
        warnings: &mut Vec<String>,
    ) -> BTreeMap<String, Vec<f64>> {
        let Some(due) = self.held(name, |h| h.due(now.timestamp())) else {
            return self.held(name, |h| h.values());
        };
        let at = |secs| DateTime::from_timestamp(secs, 0).unwrap_or(now);
        let plan = self.plan();
        let all = plan.queries.get(name);
        // A query of the configuration's own may name its services by
        // another label than `opsdeck_service`: asked whole.
        let only = self
            .held(name, |h| h.watched().map(<[String]>::to_vec))
            .filter(|_| !plan.queries.is_overridden(name));
        // Nothing on screen draws it: nothing to ask.
        if only.as_ref().is_some_and(Vec::is_empty) {
            return self.held(name, |h| {
                h.record(due, [], true);
                h.values()
            });
        }
        // Too many names to fit in one query: every series, as unwatched.
        let expr = only
            .and_then(|names| crate::sli::derive::for_services(all, &names))
            .map_or(std::borrow::Cow::Borrowed(all), std::borrow::Cow::Owned);
        match self
            .api
            .query_range(&expr, at(due.start), at(due.end), HISTORY_STEP)
            .await
        {
            Ok(a) => {
                let complete = a.warnings.is_empty();
                warnings.extend(a.warnings.into_iter().map(|w| format!("{name}: {w}")));
                // One series a key, the last answered, as a map collects.
                let answer: BTreeMap<&str, &[(f64, f64)]> = a
                    .result
                    .iter()
                    .filter_map(|s| Some((key(s)?, s.values.as_slice())))
                    .collect();
                self.held(name, |h| {
                    h.record(due, answer, complete);
                    h.values()
                })
            }
            Err(e) => {
                warnings.push(format!("{name}: {e}"));
                self.held(name, History::forget);
                BTreeMap::new()
            }
        }
    }

    /// `f` on the history of query `name`.
    fn held<T>(&self, name: &'static str, f: impl FnOnce(&mut History) -> T) -> T {
        let mut all = self
            .histories
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(all
            .entry(name)
            .or_insert_with(|| History::new(HISTORY, HISTORY_STEP.into())))
    }

    fn hosts(&self, a: &Answers, mut history: BTreeMap<String, Vec<f64>>) -> Vec<Host> {
        let (cpu, memory, disk, up) = (
            a.by("host_cpu", "instance"),
            a.by("host_memory", "instance"),
            a.by("host_disk", "instance"),
            a.by("host_up", "instance"),
        );
        let full_in = a.by("host_disk_full_in", "instance");
        let names: BTreeSet<&str> = cpu
            .keys()
            .chain(memory.keys())
            .chain(disk.keys())
            .chain(up.keys())
            .copied()
            .collect();
        names
            .into_iter()
            .map(|name| Host {
                name: name.to_string(),
                up: up.get(name).is_none_or(|v| *v >= 1.0),
                cpu: cpu.get(name).copied().unwrap_or(f64::NAN),
                memory: memory.get(name).copied().unwrap_or(f64::NAN),
                disk: disk.get(name).copied().unwrap_or(f64::NAN),
                full_in: full_in.get(name).and_then(|s| forecast::seconds(*s)),
                cpu_history: history.remove(name).unwrap_or_default(),
            })
            .collect()
    }
}

/// A series' key for `history`, as a closure that says so for any borrow.
fn keyed<F>(f: F) -> F
where
    F: for<'s> Fn(&'s super::prometheus::Series) -> Option<&'s str>,
{
    f
}

/// A per-service answer as a measure: every one of them (a rate, a ratio,
/// a latency, a saturation, a count over a window) is finite and not
/// negative, so anything else (NaN, ±Inf, a counter reset read as a
/// negative increase) is unknown, never a number to show or add up.
fn measure(value: f64) -> f64 {
    if value.is_finite() && value >= 0.0 {
        value
    } else {
        f64::NAN
    }
}

fn parse_phase(text: &str) -> Phase {
    match text.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
        "progressing" | "in-progress" | "running" => Phase::Progressing,
        "paused" => Phase::Paused,
        "complete" | "completed" | "healthy" | "succeeded" | "success" | "done" => Phase::Complete,
        "failed" | "degraded" | "error" | "aborted" => Phase::Failed,
        "rolled-back" | "rolledback" | "rollback" => Phase::RolledBack,
        _ => Phase::Unknown,
    }
}

#[async_trait]
impl MetricsSource for PrometheusSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_screen(&self, services: Arc<Vec<String>>) {
        *self
            .on_screen
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(services);
    }

    async fn health(&self, now: DateTime<Utc>) -> Fetch<HealthReading> {
        const NAMES: [&str; 4] = ["host_up", "host_cpu", "host_memory", "host_disk"];
        let mut warnings = Vec::new();
        let plan = self.detect(now, &mut warnings).await;
        // The groups the services are built from; the disks' forecast is
        // the hosts'.
        let mut groups = vec![
            &GAUGES,
            &FIVE_MINUTE_WINDOWS,
            &HOUR_WINDOWS,
            &SLO_WINDOWS,
            &COVERAGE,
        ];
        if self.anomalies {
            groups.push(&BASELINES);
        }
        if plan.has_recorded_slos() {
            groups.push(&RECORDED_SLOS);
        }
        let asked = [groups.as_slice(), &[&FORECASTS]].concat();
        let a = self.with_reused(&NAMES, &asked, now).await?;
        warnings.extend(a.warnings.iter().cloned());
        // The services as built last time while their groups' fresh answers
        // are still coming, or when nothing they are built from changed.
        // Their traffic lines' new steps come with the next build (every
        // 10 s, two steps of 5 s), unless other rows are shown: those are
        // asked whole at once.
        let settling = self.settling(&groups);
        let inputs = a.inputs(
            SERVICE_QUERIES
                .iter()
                .chain(&["targets_total", "targets_up"])
                .chain(RECORDED_SLOS.names)
                .chain(BASELINES.names),
        );
        let shown = self
            .on_screen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let traffic_whole = self.held("traffic_history", |h| {
            h.watch(shown.as_deref().map(Vec::as_slice));
            h.whole_due(now.timestamp())
        });
        let kept = match (settling, traffic_whole) {
            (true, _) => self.built_services.last(),
            (false, true) => None,
            (false, false) => self.built_services.get(&inputs),
        };
        let services = match kept {
            Some(services) => services,
            None => {
                let choice = Choice::new(&plan.set, services::naming(&a));
                let owner = keyed(|s| choice.owner(&plan.set, |l| s.labels.get(l)));
                let traffic = self
                    .history("traffic_history", owner, now, &mut warnings)
                    .await;
                let mut services = self.services(&plan, &choice, &a, traffic);
                services.extend(recorded::sloth(a.get("sloth_slos")));
                services.extend(recorded::pyrra(a.get("pyrra_slos")));
                self.built_services.put(inputs, Arc::new(services))
            }
        };
        let cpu = self
            .history(
                "host_cpu",
                keyed(|s| s.labels.get("instance")),
                now,
                &mut warnings,
            )
            .await;
        Ok(Fetched {
            value: HealthReading {
                services,
                hosts: self.hosts(&a, cpu),
                looked_for: plan.looked_for(&self.spec.catalogue),
            },
            warnings,
        })
    }

    async fn deployments(&self, now: DateTime<Utc>) -> Fetch<Vec<Deployment>> {
        let a = self
            .with_reused(&[], &[&DEPLOY_GAUGES, &DEPLOY_WINDOW], now)
            .await?;
        let inputs = a.inputs(DEPLOY_GAUGES.names.iter().chain(DEPLOY_WINDOW.names));
        let mut value = self
            .built_deployments
            .or_build(inputs, || deploys::read(&a, &self.label));
        let mut warnings = a.warnings;
        let (plan, t) = (self.plan(), &self.canary_thresholds);
        canary::attach(
            &self.api,
            &self.canary,
            &plan,
            t,
            &mut value,
            now,
            &mut warnings,
        )
        .await;
        Ok(Fetched { value, warnings })
    }

    async fn backups(&self, now: DateTime<Utc>) -> Fetch<Vec<Backup>> {
        let a = self
            .with_reused(&[], &[&BACKUP_GAUGES, &BACKUP_WINDOW], now)
            .await?;
        let inputs = a.inputs(BACKUP_GAUGES.names.iter().chain(BACKUP_WINDOW.names));
        Ok(Fetched {
            value: self
                .built_backups
                .or_build(inputs, || backups::read(&a, &self.label)),
            warnings: a.warnings,
        })
    }

    /// Incidents from the history of `ALERTS{alertstate="firing"}`: each run
    /// of consecutive points of one alert is an incident; runs that end
    /// before now are resolved. The step is as fine as the API allows over
    /// the window (at most 10,000 points a series), so starts and ends are
    /// known to within one step.
    async fn incident_history(
        &self,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Fetch<Vec<ResolvedIncident>> {
        let step = ((window.num_seconds() / 10_000).max(15) as u32).div_ceil(15) * 15;
        let answer = self
            .api
            .query_range(
                self.plan().queries.get("alerts_firing"),
                now - window,
                now,
                step,
            )
            .await?;
        let mut out = Vec::new();
        for series in &answer.result {
            out.extend(runs(
                &series.values,
                f64::from(step),
                now.timestamp() as f64,
            ));
        }
        Ok(Fetched {
            value: out,
            warnings: answer.warnings,
        })
    }
}

/// Resolved runs of consecutive points (no gap over one step) in a series.
fn runs(points: &[(f64, f64)], step: f64, now: f64) -> Vec<ResolvedIncident> {
    let mut out = Vec::new();
    let mut start: Option<f64> = None;
    let mut last = 0.0;
    for &(t, _) in points {
        match start {
            Some(s) if t - last > step * 1.5 => {
                out.extend(incident(s, last));
                start = Some(t);
            }
            None => start = Some(t),
            _ => {}
        }
        last = t;
    }
    if let Some(s) = start
        && now - last > step * 1.5
    {
        out.extend(incident(s, last));
    }
    out
}

fn incident(start: f64, end: f64) -> Option<ResolvedIncident> {
    Some(ResolvedIncident {
        started: timestamp(start)?,
        resolved: timestamp(end)?,
    })
}

#[cfg(test)]
mod tests;
