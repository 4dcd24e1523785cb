//! Services from the answers: a row per service read from the branch of
//! the SLI chosen for it, and every service a scrape target or the
//! configuration names, with what is known and what is missing.

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::sync::Arc;

use super::plan::{Choice, NAMING, Plan};
use super::{Answers, PrometheusSource, SERVICE_QUERIES, measure, ratio};
use crate::domain::anomaly::{Baseline, Baselines, Stats};
use crate::domain::{ServiceHealth, SliCounts, Tier, Via};
use crate::sli::identity;

/// One service's answers to `SERVICE_QUERIES`, in that order: `None` where
/// the query did not name it.
type Row = [Option<f64>; 17];

/// The baseline queries (src/sli/derive.rs `baseline`), the factor from
/// their unit to the row's, and the baseline each gives.
type Pick = fn(&mut Baselines) -> &mut Option<Baseline>;
const BASELINES: [([&str; 2], f64, Pick); 3] = [
    (["baseline_requests", "baseline_requests_day"], 1.0, |b| {
        &mut b.traffic
    }),
    (
        ["baseline_error_ratio", "baseline_error_ratio_day"],
        1.0,
        |b| &mut b.errors,
    ),
    (
        ["baseline_latency_p95", "baseline_latency_p95_day"],
        1000.0,
        |b| &mut b.p95,
    ),
];

impl PrometheusSource {
    /// Every service from the answers and the traffic history, in name
    /// order: those the request metrics name, then those only a scrape
    /// target or the configuration names.
    pub(super) fn services(
        &self,
        plan: &Plan,
        choice: &Choice,
        a: &Answers,
        mut traffic: BTreeMap<String, Vec<f64>>,
    ) -> Vec<ServiceHealth> {
        let targets = self.targets(plan, a);
        // One `SliVia` for every service read the same way.
        let mut shared: HashMap<(usize, &str, u64), Arc<crate::domain::SliVia>> =
            HashMap::default();
        let mut names: Vec<(&str, Via)> = choice
            .by_service
            .iter()
            .map(|(n, c)| {
                let via = shared
                    .entry(c.key())
                    .or_insert_with(|| Arc::new(choice.via(&plan.set, c)));
                (*n, Via::Sli(via.clone()))
            })
            .chain(targets.keys().map(|n| (*n, Via::Only("scrape targets"))))
            .chain(
                self.services
                    .keys()
                    .map(|n| (n.as_str(), Via::Only("the configuration"))),
            )
            .collect();
        // Each name once, with its request metrics where it has them.
        names.sort_by(|a, b| {
            a.0.cmp(b.0)
                .then(a.1.has_requests().cmp(&b.1.has_requests()).reverse())
        });
        names.dedup_by(|a, b| a.0 == b.0);
        // Every answer split by service in one pass: a row per service.
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
        let mut rows: Vec<Row> = vec![[None; 17]; names.len()];
        for (q, query) in SERVICE_QUERIES.iter().enumerate() {
            for s in a.get(query) {
                let Some(&i) = choice
                    .owner(&plan.set, |l| s.label(l))
                    .and_then(|k| index.get(k))
                else {
                    continue;
                };
                let value = measure(s.value);
                // A service named by two labels is two series of requests.
                rows[i][q] = match (rows[i][q], *query) {
                    (Some(had), "requests") => Some(had + value),
                    _ => Some(value),
                };
            }
        }
        let answered = SERVICE_QUERIES.map(|q| a.by_name.contains_key(q));
        let mut baselines = vec![Baselines::default(); names.len()];
        for (queries, scale, pick) in BASELINES {
            let mut stats: HashMap<usize, [Stats; 2]> = HashMap::default();
            for s in queries.iter().flat_map(|q| a.get(q)) {
                let (Some(&i), Some(stat)) = (
                    choice
                        .owner(&plan.set, |l| s.label(l))
                        .and_then(|k| index.get(k)),
                    s.label("opsdeck_stat"),
                ) else {
                    continue;
                };
                let [week, day] = stats.entry(i).or_default();
                let value = measure(s.value);
                match stat {
                    "week_mean" => week.mean = value * scale,
                    "week_sd" => week.deviation = value * scale,
                    "week_n" => week.count = value,
                    "day_mean" => day.mean = value * scale,
                    "day_sd" => day.deviation = value * scale,
                    "day_n" => day.count = value,
                    _ => {}
                }
            }
            for (i, [week, day]) in stats {
                *pick(&mut baselines[i]) = Baseline::choose(week, day);
            }
        }
        names
            .into_iter()
            .zip(rows)
            .zip(baselines)
            .map(|(((n, via), row), baselines)| {
                // A service with no request metrics knows none of them.
                let answered = if via.has_requests() {
                    answered
                } else {
                    [false; 17]
                };
                let mut s = self.service(n, via, row, answered, &targets, &mut traffic);
                s.baselines = baselines;
                s
            })
            .collect()
    }

    /// One service from its answers (`row`), whether each query answered
    /// at all (`answered`), and its targets counted (`targets`).
    fn service(
        &self,
        name: &str,
        via: Via,
        row: Row,
        answered: [bool; 17],
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
            covered,
        ] = row;
        let [.., errors, _, _, _, errors_1h, _, errors_window, _, _] = got;
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
            // Seconds since its first sample in the window, at most the
            // window; garbage is not known.
            covered: covered
                .filter(|c| c.is_finite() && *c >= 0.0)
                .map(|c| chrono::Duration::seconds(c.min(1e10) as i64)),
            via,
            objective: None,
            baselines: Baselines::default(),
        }
    }

    /// Targets up and in all, by the service they name (the same labels
    /// as the request metrics).
    fn targets<'a>(&self, plan: &Plan, a: &'a Answers) -> BTreeMap<&'a str, (f64, f64)> {
        let name = |s: &'a crate::sources::prometheus::Sample| {
            identity::name_of(|l| s.label(l), &plan.set.labels)
        };
        let mut out: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for s in a.get("targets_total") {
            if let Some(owner) = name(s) {
                out.entry(owner).or_default().1 += s.value;
            }
        }
        for s in a.get("targets_up") {
            if let Some(entry) = name(s).and_then(|owner| out.get_mut(owner)) {
                entry.0 += s.value;
            }
        }
        out
    }
}

/// The samples that make a service known to have request metrics.
pub(super) fn naming(a: &Answers) -> impl Iterator<Item = &crate::sources::prometheus::Sample> {
    NAMING.iter().flat_map(|q| a.get(q))
}
