//! A Prometheus-compatible endpoint as a `MetricsSource`: the queries of
//! `queries.rs` run concurrently, their answers joined into the estate. One
//! query failing is a warning on the panel; all of them failing is an error.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;

mod backups;
mod deploys;
mod history;

use super::convert::timestamp;

use super::prometheus::{PrometheusApi, Sample};
use super::queries::Queries;
use super::{Fetch, Fetched, MetricsSource, SourceError};
use crate::config::file::{Config, Endpoint, ServiceMeta};
use crate::domain::{
    Backup, Deployment, HealthReading, Host, Phase, ResolvedIncident, ServiceHealth, SliCounts,
    Tier,
};

use history::History;

/// Sparkline history: five minutes, a point every five seconds.
const HISTORY: i64 = 300;
const HISTORY_STEP: u32 = 5;

pub struct PrometheusSource {
    name: String,
    api: PrometheusApi,
    cluster: Option<String>,
    label: String,
    queries: Queries,
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
}

/// A reading built from answers, and those answers: reused answers are
/// shared, so the same answers again (compared by address, safely, since
/// they are held here) build the same reading, which is not built again.
struct Built<T>(Mutex<Option<(Inputs, T)>>);

type Inputs = Vec<Option<Arc<Vec<Sample>>>>;

impl<T: Clone> Built<T> {
    fn new() -> Built<T> {
        Built(Mutex::new(None))
    }

    /// What was built from exactly `inputs`, if that was the last build.
    fn get(&self, inputs: &Inputs) -> Option<T> {
        let held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (from, value) = held.as_ref()?;
        let same = from.len() == inputs.len()
            && from.iter().zip(inputs).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            });
        same.then(|| value.clone())
    }

    /// `get`, else `build` kept for next time.
    fn or_build(&self, inputs: Inputs, build: impl FnOnce() -> T) -> T {
        self.get(&inputs)
            .unwrap_or_else(|| self.put(inputs, build()))
    }

    fn put(&self, inputs: Inputs, value: T) -> T {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((inputs, value.clone()));
        value
    }
}

/// One service's answers to `SERVICE_QUERIES`, in that order: `None` where
/// the query did not name it.
type Row = [Option<f64>; 16];

const SERVICE_QUERIES: [&str; 16] = [
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
];

/// Queries whose answers are kept between refreshes for `every`: each
/// averages over a window so much longer than `every` that a fresher answer
/// would barely differ (docs/decisions.md).
struct Reused {
    /// The group in the warning when none of its queries answers.
    what: &'static str,
    names: &'static [&'static str],
    every: std::time::Duration,
}

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

/// The SLO window (a month) and the windows of two hours or more: asked
/// once a minute; they cost the server the most.
const SLO_WINDOWS: Reused = Reused {
    what: "the SLO window queries",
    names: &[
        "requests_window",
        "errors_window",
        "error_ratio_2h",
        "error_ratio_6h",
        "error_ratio_1d",
        "error_ratio_3d",
    ],
    every: MINUTE,
};

/// The 30-minute and one-hour windows: asked every 15 s, which moves a
/// 30-minute average by under 1%.
const HOUR_WINDOWS: Reused = Reused {
    what: "the 30-minute and 1-hour queries",
    names: &[
        "error_ratio_30m",
        "error_ratio_1h",
        "requests_1h",
        "errors_1h",
    ],
    every: std::time::Duration::from_secs(15),
};

/// The five-minute rates and latencies: asked every 5 s, 1/60 of their
/// window. Prometheus scrapes every 15 s by default, so at a 1 s refresh
/// most answers re-read the same samples.
const FIVE_MINUTE_WINDOWS: Reused = Reused {
    what: "the 5-minute queries",
    names: &[
        "error_ratio_5m",
        "requests",
        "errors",
        "latency_p95",
        "latency_p99",
    ],
    every: std::time::Duration::from_secs(5),
};

/// Saturation and targets, gauges and `up` by service: asked every 5 s.
/// They change only when Prometheus scrapes (every 15 s by default), so a
/// change shows at most 5 s after it lands, and a service's row is not
/// read 1,000 times over to learn nothing. Hosts, a handful of series, stay
/// fresh every refresh.
const GAUGES: Reused = Reused {
    what: "the saturation and target queries",
    names: &["saturation", "targets_total", "targets_up"],
    every: std::time::Duration::from_secs(5),
};

/// The deployments' and backups' gauges (versions, phases, timestamps,
/// sizes): every 5 s, as `GAUGES`.
const DEPLOY_GAUGES: Reused = Reused {
    what: "the deployment queries",
    names: &[
        "deployment_info",
        "deployment_canary_weight",
        "deployment_timestamp",
        "deployment_rollbacks",
        "rollout_info",
        "kube_deployment_updated",
        "kube_deployment_replicas",
    ],
    every: std::time::Duration::from_secs(5),
};

const BACKUP_GAUGES: Reused = Reused {
    what: "the backup queries",
    names: &[
        "backup_last_success",
        "backup_size",
        "backup_duration",
        "backup_verified",
        "drill_timestamp",
        "drill_rto",
        "velero_last_success",
    ],
    every: std::time::Duration::from_secs(5),
};

const DEPLOY_WINDOW: Reused = Reused {
    what: "the SLO window queries",
    names: &["deployments_window", "rollbacks_window"],
    every: MINUTE,
};

const BACKUP_WINDOW: Reused = Reused {
    what: "the SLO window queries",
    names: &["backup_successes_window", "backup_failures_window"],
    every: MINUTE,
};

/// A group's last answers, when they were asked, and whether a fresh ask is
/// under way.
#[derive(Clone)]
struct Kept {
    at: Instant,
    answers: Answers,
    asking: bool,
}

/// Answers of several queries by name, and the warnings they gave. Shared,
/// not copied, when a group's answers are reused between refreshes.
#[derive(Clone)]
struct Answers {
    by_name: BTreeMap<&'static str, Arc<Vec<Sample>>>,
    warnings: Vec<String>,
}

impl Answers {
    /// The answers of `names`, shared, for `Built`.
    fn inputs<'a>(&self, names: impl IntoIterator<Item = &'a &'static str>) -> Inputs {
        names
            .into_iter()
            .map(|q| self.by_name.get(q).cloned())
            .collect()
    }

    fn get(&self, name: &str) -> &[Sample] {
        self.by_name.get(name).map_or(&[], |v| v.as_slice())
    }

    /// The values of query `name` by one label.
    fn by(&self, name: &str, label: &str) -> BTreeMap<&str, f64> {
        let mut out = BTreeMap::new();
        for s in self.get(name) {
            if let Some(key) = s.label(label).filter(|k| !k.is_empty()) {
                out.insert(key, s.value);
            }
        }
        out
    }
}

fn ratio(part: Option<f64>, whole: Option<f64>) -> f64 {
    match (part, whole) {
        (_, Some(w)) if w > 0.0 => part.unwrap_or(0.0) / w,
        _ => f64::NAN,
    }
}

impl PrometheusSource {
    pub fn new(endpoint: Endpoint, config: &Config) -> Result<PrometheusSource, String> {
        let window = super::queries::window(config.objectives.slo_window);
        Ok(PrometheusSource {
            name: endpoint.name.clone(),
            cluster: endpoint.cluster.clone(),
            label: config.service_label.clone(),
            queries: Queries::new(&config.service_label, &window, &config.queries),
            services: config.services.clone(),
            reused: Arc::new(Mutex::new(BTreeMap::new())),
            histories: Mutex::new(BTreeMap::new()),
            built_services: Built::new(),
            built_deployments: Built::new(),
            built_backups: Built::new(),
            api: PrometheusApi {
                http: super::http::HttpClient::new(endpoint)?,
            },
        })
    }

    pub fn queries(&self) -> &Queries {
        &self.queries
    }

    pub fn api(&self) -> &PrometheusApi {
        &self.api
    }

    /// The named queries with their PromQL in force.
    fn asked(&self, names: &[&'static str]) -> Vec<(&'static str, String)> {
        names
            .iter()
            .map(|n| (*n, self.queries.get(n).to_string()))
            .collect()
    }

    /// The named queries of this source, asked at once (`ask`).
    async fn instant(
        &self,
        names: &[&'static str],
        now: DateTime<Utc>,
    ) -> Result<Answers, SourceError> {
        ask(&self.api, self.asked(names), now).await
    }

    /// The last five minutes of range query `name` by `label`, oldest
    /// first; only the steps since the last refresh are asked (`History`).
    async fn history(
        &self,
        name: &'static str,
        label: &str,
        now: DateTime<Utc>,
        warnings: &mut Vec<String>,
    ) -> BTreeMap<String, Vec<f64>> {
        let Some(due) = self.held(name, |h| h.due(now.timestamp())) else {
            return self.held(name, |h| h.values());
        };
        let at = |secs| DateTime::from_timestamp(secs, 0).unwrap_or(now);
        let expr = self.queries.get(name);
        match self
            .api
            .query_range(expr, at(due.start), at(due.end), HISTORY_STEP)
            .await
        {
            Ok(a) => {
                let complete = a.warnings.is_empty();
                warnings.extend(a.warnings.into_iter().map(|w| format!("{name}: {w}")));
                // One series a key, the last answered, as a map collects.
                let answer: BTreeMap<&str, &[(f64, f64)]> = a
                    .result
                    .iter()
                    .filter_map(|s| Some((s.labels.get(label)?, s.values.as_slice())))
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

    /// One service from its answers (`row`), whether each query answered
    /// at all (`answered`), and its targets counted (`targets`).
    fn service(
        &self,
        name: &str,
        row: Row,
        answered: [bool; 16],
        targets: &BTreeMap<&str, (f64, f64)>,
        history: &mut BTreeMap<String, Vec<f64>>,
    ) -> ServiceHealth {
        // A query that failed is unknown; one that answered without this
        // service means none (no 5xx at all is a 0% error ratio).
        let got: Row = std::array::from_fn(|i| answered[i].then(|| row[i].unwrap_or(0.0)));
        // In the order of SERVICE_QUERIES; the counts of bad as `got`.
        let [
            m5,
            m30,
            h1,
            h2,
            h6,
            d1,
            d3,
            requests,
            _,
            p95,
            p99,
            requests_1h,
            _,
            requests_window,
            _,
            saturation,
        ] = row;
        let [.., errors, _, _, _, errors_1h, _, errors_window, _] = got;
        let meta = self.services.get(name);
        let (up, total) = targets.get(name).copied().unwrap_or((0.0, 0.0));
        let errors = errors.unwrap_or(f64::NAN);
        ServiceHealth {
            name: name.to_string(),
            cluster: self.cluster.clone(),
            tier: meta.map_or(Tier::Standard, |m| m.tier),
            team: meta.map(|m| m.team.clone()).unwrap_or_default(),
            requests_per_second: requests.unwrap_or(f64::NAN),
            error_ratio: ratio(Some(errors), requests),
            latency_p95_ms: p95.map_or(f64::NAN, |s| measure(s * 1000.0)),
            latency_p99_ms: p99.map_or(f64::NAN, |s| measure(s * 1000.0)),
            saturation: saturation.unwrap_or(f64::NAN),
            targets_up: up.max(0.0) as u32,
            targets_total: total.max(0.0) as u32,
            sli: match (requests_window, errors_window) {
                // More errors than requests is two counters read a moment
                // apart: every request failed.
                (Some(total), Some(bad)) if total.is_finite() && bad.is_finite() => SliCounts {
                    good: total - bad.min(total),
                    total,
                },
                _ => SliCounts::default(),
            },
            error_ratio_1h: ratio(errors_1h, requests_1h),
            error_ratios: crate::domain::reliability::ErrorRatios {
                m5,
                m30,
                h1,
                h2,
                h6,
                d1,
                d3,
            },
            traffic_history: history.remove(name).unwrap_or_default(),
            latency_history: Vec::new(),
        }
    }

    /// Targets up and in all, by service: a target belongs to the service
    /// its service label names, or else its job names.
    fn targets<'a>(&self, a: &'a Answers) -> BTreeMap<&'a str, (f64, f64)> {
        let l = &self.label;
        let key = |s: &'a Sample| (s.label("job").unwrap_or(""), s.label(l).unwrap_or(""));
        let ups: BTreeMap<(&str, &str), f64> = a
            .get("targets_up")
            .iter()
            .map(|s| (key(s), s.value))
            .collect();
        let mut out: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for s in a.get("targets_total") {
            let k = key(s);
            let owner = if k.1.is_empty() { k.0 } else { k.1 };
            let entry = out.entry(owner).or_default();
            entry.0 += ups.get(&k).copied().unwrap_or(0.0);
            entry.1 += s.value;
        }
        out
    }

    /// The answers of `group` (kept under its first query): asked again
    /// once they are `group.every` old, else the last ones.
    async fn reused(&self, group: &Reused, now: DateTime<Utc>) -> Result<Answers, SourceError> {
        let key = group.names[0];
        {
            let mut kept = self.reused.lock().unwrap_or_else(PoisonError::into_inner);
            match kept.get_mut(key) {
                Some(k) if k.at.elapsed() < group.every => return Ok(k.answers.clone()),
                // Stale, but not by much: shown while a fresh ask goes on
                // in the background, so a slow window query never holds up
                // the refresh it rides along with.
                Some(k) if k.at.elapsed() < group.every * 3 => {
                    if !k.asking {
                        k.asking = true;
                        self.ask_in_background(group, now);
                    }
                    return Ok(k.answers.clone());
                }
                _ => {}
            }
        }
        let answers = self.instant(group.names, now).await?;
        keep(&self.reused, key, answers.clone());
        Ok(answers)
    }

    /// Asks `group` again on a task of its own; its answers replace the
    /// kept ones when they come, and a failure leaves them to age.
    fn ask_in_background(&self, group: &Reused, now: DateTime<Utc>) {
        let key = group.names[0];
        let asked = self.asked(group.names);
        let (api, kept) = (self.api.clone(), self.reused.clone());
        tokio::spawn(async move {
            match ask(&api, asked, now).await {
                Ok(answers) => keep(&kept, key, answers),
                Err(_) => {
                    let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(k) = kept.get_mut(key) {
                        k.asking = false;
                    }
                }
            }
        });
    }

    /// The answers of `names` and the kept answers of `groups`, asked at
    /// once; a group that cannot be read is a warning, unless nothing at
    /// all could be, which is the error.
    async fn with_reused(
        &self,
        names: &[&'static str],
        groups: &[&Reused],
        now: DateTime<Utc>,
    ) -> Result<Answers, SourceError> {
        let reused = join_all(groups.iter().map(|g| self.reused(g, now)));
        let (a, reused) = futures::join!(self.instant(names, now), reused);
        let mut a = a?;
        let mut first_error = None;
        for (group, answers) in groups.iter().zip(reused) {
            match answers {
                Ok(s) => {
                    a.warnings.extend(s.warnings);
                    a.by_name.extend(s.by_name);
                }
                Err(e) => {
                    a.warnings.push(format!(
                        "{} ({}) failed",
                        group.what,
                        group.names.join(", ")
                    ));
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if a.by_name.is_empty() => Err(e),
            _ => Ok(a),
        }
    }

    /// Every service from the answers and the traffic history, in name
    /// order.
    fn services(&self, a: &Answers, mut traffic: BTreeMap<String, Vec<f64>>) -> Vec<ServiceHealth> {
        // A service is one the configuration lists or the main queries
        // name; in name order.
        let label = self.label.as_str();
        let mut names: Vec<&str> = ["requests", "errors", "latency_p95", "requests_window"]
            .iter()
            .flat_map(|q| a.get(q))
            .filter_map(|s| s.label(label).filter(|k| !k.is_empty()))
            .chain(self.services.keys().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        // Every answer split by service in one pass: a row per service.
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut rows: Vec<Row> = vec![[None; 16]; names.len()];
        for (q, query) in SERVICE_QUERIES.iter().enumerate() {
            for s in a.get(query) {
                if let Some(&i) = s.label(label).and_then(|k| index.get(k)) {
                    rows[i][q] = Some(measure(s.value));
                }
            }
        }
        let answered = SERVICE_QUERIES.map(|q| a.by_name.contains_key(q));
        let targets = self.targets(a);
        names
            .iter()
            .zip(rows)
            .map(|(n, row)| self.service(n, row, answered, &targets, &mut traffic))
            .collect()
    }

    fn hosts(&self, a: &Answers, mut history: BTreeMap<String, Vec<f64>>) -> Vec<Host> {
        let (cpu, memory, disk, up) = (
            a.by("host_cpu", "instance"),
            a.by("host_memory", "instance"),
            a.by("host_disk", "instance"),
            a.by("host_up", "instance"),
        );
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
                cpu_history: history.remove(name).unwrap_or_default(),
            })
            .collect()
    }
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

/// Runs the named queries at once; each failure is a warning naming the
/// query, unless all fail, which is the error.
async fn ask(
    api: &PrometheusApi,
    asked: Vec<(&'static str, String)>,
    now: DateTime<Utc>,
) -> Result<Answers, SourceError> {
    let answers = join_all(asked.iter().map(|(_, expr)| api.query(expr, now))).await;
    let mut out = Answers {
        by_name: BTreeMap::new(),
        warnings: Vec::new(),
    };
    let mut first_error = None;
    for ((name, _), answer) in asked.iter().zip(answers) {
        match answer {
            Ok(a) => {
                out.warnings
                    .extend(a.warnings.into_iter().map(|w| format!("{name}: {w}")));
                out.by_name.insert(name, Arc::new(a.result));
            }
            Err(e) => {
                out.warnings.push(format!("{name}: {e}"));
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if out.by_name.is_empty() => Err(e),
        _ => Ok(out),
    }
}

/// Keeps a group's fresh answers, asked now.
fn keep(kept: &Mutex<BTreeMap<&'static str, Kept>>, key: &'static str, answers: Answers) {
    kept.lock().unwrap_or_else(PoisonError::into_inner).insert(
        key,
        Kept {
            at: Instant::now(),
            answers,
            asking: false,
        },
    );
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

    async fn health(&self, now: DateTime<Utc>) -> Fetch<HealthReading> {
        const NAMES: [&str; 4] = ["host_up", "host_cpu", "host_memory", "host_disk"];
        let a = self
            .with_reused(
                &NAMES,
                &[&GAUGES, &FIVE_MINUTE_WINDOWS, &HOUR_WINDOWS, &SLO_WINDOWS],
                now,
            )
            .await?;
        let mut warnings = a.warnings.clone();
        // The services as built last time when nothing they are built from
        // changed: the same answers kept, no new step of traffic history.
        let inputs = a.inputs(
            SERVICE_QUERIES
                .iter()
                .chain(&["targets_total", "targets_up"]),
        );
        let traffic_due = self.held("traffic_history", |h| h.due(now.timestamp()).is_some());
        let kept = if traffic_due {
            None
        } else {
            self.built_services.get(&inputs)
        };
        let services = match kept {
            Some(services) => services,
            None => {
                let traffic = self
                    .history("traffic_history", &self.label, now, &mut warnings)
                    .await;
                self.built_services
                    .put(inputs, Arc::new(self.services(&a, traffic)))
            }
        };
        let cpu = self
            .history("host_cpu", "instance", now, &mut warnings)
            .await;
        Ok(Fetched {
            value: HealthReading {
                services,
                hosts: self.hosts(&a, cpu),
            },
            warnings,
        })
    }

    async fn deployments(&self, now: DateTime<Utc>) -> Fetch<Vec<Deployment>> {
        let a = self
            .with_reused(&[], &[&DEPLOY_GAUGES, &DEPLOY_WINDOW], now)
            .await?;
        let inputs = a.inputs(DEPLOY_GAUGES.names.iter().chain(DEPLOY_WINDOW.names));
        Ok(Fetched {
            value: self
                .built_deployments
                .or_build(inputs, || deploys::read(&a, &self.label)),
            warnings: a.warnings,
        })
    }

    async fn backups(&self, now: DateTime<Utc>) -> Fetch<Vec<Backup>> {
        let a = self
            .with_reused(&[], &[&BACKUP_GAUGES, &BACKUP_WINDOW], now)
            .await?;
        let inputs = a.inputs(BACKUP_GAUGES.names.iter().chain(BACKUP_WINDOW.names));
        Ok(Fetched {
            value: self.built_backups.or_build(inputs, || backups::read(&a)),
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
            .query_range(self.queries.get("alerts_firing"), now - window, now, step)
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
