//! Every query about a service's traffic, derived from the SLI in force:
//! rates, error ratios for each burn window, the SLO window's counts,
//! latency quantiles and the sparkline, so no tile can disagree with
//! another. Each branch of the SLI is one part of each query, marked with
//! its id (`opsdeck_sli`); the parts are joined with `or`, so a query is
//! one request however many conventions are in force.

use super::identity::{BRANCH, SERVICE, SERVICE_LABEL, chain, fixed};
use super::{Bad, Branch, Counting, Latency, SliSet};

/// The burn-rate windows, as PromQL writes them, and in seconds.
pub const BURN_WINDOWS: [(&str, &str, u64); 7] = [
    ("error_ratio_5m", "5m", 300),
    ("error_ratio_30m", "30m", 1_800),
    ("error_ratio_1h", "1h", 3_600),
    ("error_ratio_2h", "2h", 7_200),
    ("error_ratio_6h", "6h", 21_600),
    ("error_ratio_1d", "1d", 86_400),
    ("error_ratio_3d", "3d", 259_200),
];

/// The names of the queries derived from the SLI.
pub const NAMES: [&str; 26] = [
    "requests",
    "errors",
    "latency_p95",
    "latency_p99",
    "requests_1h",
    "errors_1h",
    "requests_window",
    "errors_window",
    "covered_window",
    "traffic_history",
    "error_ratio_5m",
    "error_ratio_30m",
    "error_ratio_1h",
    "error_ratio_2h",
    "error_ratio_6h",
    "error_ratio_1d",
    "error_ratio_3d",
    "targets_total",
    "targets_up",
    "saturation",
    "baseline_requests",
    "baseline_requests_day",
    "baseline_error_ratio",
    "baseline_error_ratio_day",
    "baseline_latency_p95",
    "baseline_latency_p95_day",
];

/// OpenTelemetry's `service_name` by target, from `target_info`: as last
/// seen within the hour (a target that went down keeps its name, so its
/// `up` of 0 is its service's), and only where a target has one name (a
/// collector's exporter, scraped without `honor_labels`, can carry several;
/// a many-to-one join would fail the whole query).
const TARGET_NAMES: &str = "(max by (job, instance, service_name) (last_over_time(target_info[1h])) unless on (job, instance) count by (job, instance) (max by (job, instance, service_name) (last_over_time(target_info[1h]))) > 1)";

/// A query that answers nothing, where nothing gives the figure.
const NOTHING: &str = "vector(0) < 0";

/// Counts over a window per second (rates) or in all (the SLO window's).
#[derive(Clone, Copy)]
enum Per {
    Second,
    Window,
}

impl Per {
    /// A counter `selector` over `w`.
    fn of(self, selector: &str, w: Window) -> String {
        match self {
            Per::Second => format!("rate({selector}[{}])", w.0),
            Per::Window => format!("increase({selector}[{}])", w.0),
        }
    }

    /// Probes counted over `w` (`counted`), per second or in all.
    fn probes(self, counted: String, w: Window) -> String {
        match self {
            Per::Second => format!("{counted} / {}", w.1),
            Per::Window => counted,
        }
    }
}

/// A window: as PromQL writes it, and in seconds.
#[derive(Clone, Copy)]
struct Window<'a>(&'a str, u64);

/// One branch, with the labels that name its services, most specific
/// first: its convention's own, then the configured ones.
struct Part<'a> {
    branch: &'a Branch,
    labels: Vec<String>,
    /// Its rank in the SLI, where there are several parts.
    rank: Option<usize>,
}

impl Part<'_> {
    /// A convention with labels of its own tries them first, then the
    /// configured ones but those another convention in force owns (an
    /// ingress's `service` names its backend, not a Micrometer app).
    fn new<'a>(rank: usize, branch: &'a Branch, set: &SliSet) -> Part<'a> {
        let own = &branch.convention.service_labels;
        let owned_elsewhere = |l: &String| {
            !own.is_empty()
                && set
                    .branches
                    .iter()
                    .any(|b| b.convention.service_labels.contains(l))
        };
        let mut labels = own.clone();
        for l in &set.labels {
            if !labels.contains(l) && !owned_elsewhere(l) {
                labels.push(l.clone());
            }
        }
        Part {
            branch,
            labels,
            rank: (set.branches.len() > 1).then_some(rank),
        }
    }

    /// `x` with OpenTelemetry's `service_name` joined in from
    /// `target_info`, where the convention keeps it there.
    fn joined(&self, x: String) -> String {
        if self.branch.convention.join_target_info {
            format!(
                "(({x}) * on (job, instance) group_left (service_name) {TARGET_NAMES} or on (job, instance) ({x}))"
            )
        } else {
            x
        }
    }

    /// `agg` of `x` by the labels that can name a service (and `extra`);
    /// a branch for one service of the user's own names it outright.
    fn agg(&self, agg: &str, x: String, extra: &str) -> String {
        let x = self.joined(x);
        match &self.branch.only {
            Some(service) if self.branch.convention.name.starts_with("own:") => {
                let by = extra.trim_start_matches(", ");
                fixed(&format!("{agg} by ({by}) ({x})"), service)
            }
            _ => format!("{agg} by ({}{extra}) ({x})", self.labels.join(", ")),
        }
    }

    fn sum(&self, x: String) -> String {
        self.agg("sum", x, "")
    }

    /// Every request over `w`, per second or in all.
    fn total(&self, w: Window, per: Per) -> String {
        match &self.branch.convention.counting {
            Counting::Requests { total, .. } => self.sum(per.of(total, w)),
            Counting::Probes { success } => {
                per.probes(self.sum(format!("count_over_time({success}[{}])", w.0)), w)
            }
            Counting::Elsewhere(_) => NOTHING.into(),
        }
    }

    /// The failed requests over `w`, per second or in all.
    fn bad(&self, w: Window, per: Per) -> String {
        match &self.branch.convention.counting {
            Counting::Requests {
                bad: Bad::Errors(e),
                ..
            } => self.sum(per.of(e, w)),
            Counting::Requests {
                bad: Bad::Good(g), ..
            } => {
                let t = self.total(w, per);
                let good = self.sum(per.of(g, w));
                format!("({t} - ({good} or {t} * 0))")
            }
            Counting::Probes { success } => per.probes(
                self.sum(format!(
                    "count_over_time({success}[{w}]) - sum_over_time({success}[{w}])",
                    w = w.0
                )),
                w,
            ),
            Counting::Elsewhere(_) => NOTHING.into(),
        }
    }

    /// Latency buckets by service, with the factor to seconds.
    fn buckets(&self) -> Option<(String, f64)> {
        match &self.branch.convention.latency {
            Latency::Histogram { buckets, scale } => Some((
                self.agg("sum", format!("rate({buckets}[5m])"), ", le"),
                *scale,
            )),
            _ => None,
        }
    }

    /// The `q` quantile of a latency gauge (a probe's duration) over 5m.
    /// How much of `w` each series' samples cover, in seconds. A series
    /// younger than five minutes: the time since its first sample, found
    /// to ten seconds (a subquery of 30 steps: one of 300, to the second,
    /// still cost Prometheus a core and a half at 10,000 services). An older one: its samples
    /// in `w` times its scrape interval (five minutes over its samples in
    /// the last five), which reads each sample once, as the window's counts
    /// do. (A subquery over the whole window, a first timestamp to a
    /// five-minute step, cost Prometheus a core and a half at 1,000
    /// services.)
    fn covered(&self, w: Window) -> Option<String> {
        let selector = match &self.branch.convention.counting {
            Counting::Requests { total, .. } => total,
            Counting::Probes { success } => success,
            Counting::Elsewhere(_) => return None,
        };
        // A series whose first sample came after the subquery's last step
        // (under 10 s old) has no step yet: its latest sample's time then.
        let young = format!(
            "(time() - (min_over_time(timestamp({selector})[5m:10s]) or timestamp({selector}))) < 295"
        );
        let spanned = format!(
            "count_over_time({selector}[{}]) * 300 / count_over_time({selector}[5m])",
            w.0
        );
        Some(self.agg("max", format!("({young}) or ({spanned})"), ""))
    }

    fn gauge(&self, q: &str) -> Option<String> {
        match &self.branch.convention.latency {
            Latency::Gauge { selector } => Some(self.agg(
                "max",
                format!("quantile_over_time({q}, {selector}[5m])"),
                "",
            )),
            _ => None,
        }
    }

    /// `x` marked with its branch's rank, where there are several: a
    /// short mark, since every series of every answer carries it.
    fn mark(&self, x: String) -> String {
        match self.rank {
            None => x,
            Some(rank) => format!(r#"label_replace({x}, "{BRANCH}", "{rank}", "", "")"#),
        }
    }
}

/// Where the week's baseline reads each past day: replaced when asked
/// (`at_time`) by the seconds from now to the next midnight (UTC), which
/// take a day-aligned subquery step back to this time of day.
pub const DAY_SHIFT: &str = "{day_shift}";

/// `expr` as asked at `now` (unix seconds): `DAY_SHIFT` filled in.
pub fn at_time(expr: &str, now: i64) -> std::borrow::Cow<'_, str> {
    if expr.contains(DAY_SHIFT) {
        let shift = 86_400 - now.rem_euclid(86_400);
        expr.replace(DAY_SHIFT, &format!("{shift}s")).into()
    } else {
        expr.into()
    }
}

/// VictoriaMetrics refuses a query over 16 KiB (`-search.maxQueryLen`).
pub const MAX_QUERY: usize = 16_384;

/// `expr`, a query by `SERVICE`, answered for the services `names` only:
/// the series whose service is one of them. For what only the rows on
/// screen draw (their sparklines): the server still reads every series,
/// but answers a few dozen, not every service of the estate. The names are
/// the raw label values, each set as a label by `label_replace` (its
/// replacement's `$` doubled); none when the query would be too long.
pub fn for_services(expr: &str, names: &[String]) -> Option<String> {
    let set = names
        .iter()
        .map(|n| {
            let name = super::catalogue::escape(&n.replace('$', "$$"));
            format!(r#"label_replace(vector(1), "{SERVICE}", "{name}", "", "")"#)
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let q = format!("({expr}) and on ({SERVICE}) ({set})");
    (!names.is_empty() && q.len() < MAX_QUERY).then_some(q)
}

/// What is usual for a service's figure `x` (a query by `BRANCH` and
/// `SERVICE`), each series marked `opsdeck_stat`: its mean, standard
/// deviation and count at this time of day on each of the past seven days
/// (`week_*`: a subquery a day long steps on the UTC midnights, and
/// `DAY_SHIFT` takes each step back to this time of day a day earlier);
/// and, asked apart, over every hour of the last day but its last ten
/// minutes (`day_*`: a figure that just jumped is not its own usual). The client takes the week's from three days, else
/// the day's. One too long for VictoriaMetrics (every convention in force
/// at once) asks nothing.
fn baseline(x: &str) -> [String; 2] {
    if x == NOTHING {
        return [NOTHING.into(), NOTHING.into()];
    }
    let week = format!("(last_over_time(({x})[1m:1m] offset {DAY_SHIFT}))[7d:1d]");
    let day = format!("({x})[1d:1h] offset 10m");
    let stats = |prefix: &str, range: &str| {
        let q = [("mean", "avg"), ("sd", "stddev"), ("n", "count")]
            .map(|(stat, f)| {
                format!(r#"label_replace({f}_over_time({range}), "opsdeck_stat", "{prefix}_{stat}", "", "")"#)
            })
            .join(" or ");
        if q.len() < MAX_QUERY {
            q
        } else {
            NOTHING.into()
        }
    };
    [stats("week", &week), stats("day", &day)]
}

/// Every label of every part for one chain over their union, in an order
/// that keeps each part's own: a series of one part carries only its own
/// labels (its part aggregates by them), so each is named as its part
/// would be. Where two parts disagree (a configured list that names
/// HAProxy's `proxy` after `job`), the part with labels of its own wins:
/// the proxy label names HAProxy's backends, not the job that scrapes it.
fn merged_labels(parts: &[Part]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let (own, rest): (Vec<&Part>, Vec<&Part>) = parts
        .iter()
        .partition(|p| !p.branch.convention.service_labels.is_empty());
    for part in own.into_iter().chain(rest) {
        for (i, label) in part.labels.iter().enumerate() {
            if out.contains(label) {
                continue;
            }
            // Before the first of this part's later labels already placed.
            let at = part.labels[i + 1..]
                .iter()
                .find_map(|later| out.iter().position(|l| l == later))
                .unwrap_or(out.len());
            out.insert(at, label.clone());
        }
    }
    out
}

/// Every derived query by name, for `set` and the SLO window (`window`, as
/// PromQL writes it, and in seconds). Each part aggregates by its labels
/// and is marked with its branch; one chain over their union names the
/// services, and a last sum joins what one service's label sets split.
pub fn derive(set: &SliSet, window: (&str, u64)) -> Vec<(&'static str, String)> {
    let parts: Vec<Part> = set
        .branches
        .iter()
        .enumerate()
        .map(|(r, b)| Part::new(r, b, set))
        .collect();
    let labels = merged_labels(&parts);
    let union = |f: &dyn Fn(&Part) -> Option<String>| -> Option<String> {
        let joined: Vec<String> = parts.iter().filter_map(|p| Some(p.mark(f(p)?))).collect();
        (!joined.is_empty()).then(|| joined.join(" or "))
    };
    let named = |x: &str| chain(x, &labels, false);
    let by_service = |agg: &str, x: &str| format!("{agg} by ({BRANCH}, {SERVICE}) ({})", named(x));
    let nothing = || NOTHING.to_string();
    let sum = |f: &dyn Fn(&Part) -> String| {
        union(&|p| Some(f(p))).map_or_else(nothing, |u| by_service("sum", &u))
    };
    let ratio = |w: Window| match (
        union(&|p| Some(p.bad(w, Per::Second))),
        union(&|p| Some(p.total(w, Per::Second))),
    ) {
        (Some(bad), Some(total)) => format!(
            "{} / {}",
            by_service("sum", &format!("({bad}) or ({total}) * 0")),
            by_service("sum", &total)
        ),
        _ => nothing(),
    };
    let quantile = |q: &str| {
        let mut groups = Vec::new();
        for scale in [1.0, 0.001] {
            if let Some(u) = union(&|p| p.buckets().filter(|b| b.1 == scale).map(|b| b.0)) {
                let by = format!("{BRANCH}, {SERVICE}, le");
                let x = format!("histogram_quantile({q}, sum by ({by}) ({}))", named(&u));
                groups.push(if scale == 1.0 {
                    x
                } else {
                    format!("{x} * {scale}")
                });
            }
        }
        if let Some(u) = union(&|p| p.gauge(q)) {
            groups.push(by_service("max", &u));
        }
        if groups.is_empty() {
            nothing()
        } else {
            groups.join(" or ")
        }
    };
    let (m5, h1, m1) = (Window("5m", 300), Window("1h", 3_600), Window("1m", 60));
    let slo = Window(window.0, window.1);
    let requests = union(&|p| Some(p.total(m5, Per::Second))).map_or_else(nothing, |u| {
        let by = format!("{BRANCH}, {SERVICE}, {SERVICE_LABEL}");
        format!("sum by ({by}) ({})", chain(&u, &labels, true))
    });
    let mut out = vec![
        ("requests", requests),
        ("errors", sum(&|p| p.bad(m5, Per::Second))),
        ("latency_p95", quantile("0.95")),
        ("latency_p99", quantile("0.99")),
        ("requests_1h", sum(&|p| p.total(h1, Per::Second))),
        ("errors_1h", sum(&|p| p.bad(h1, Per::Second))),
        ("requests_window", sum(&|p| p.total(slo, Per::Window))),
        ("errors_window", sum(&|p| p.bad(slo, Per::Window))),
        (
            "covered_window",
            union(&|p| p.covered(slo)).map_or_else(nothing, |u| by_service("max", &u)),
        ),
        ("traffic_history", sum(&|p| p.total(m1, Per::Second))),
    ];
    for (name, w, secs) in BURN_WINDOWS {
        out.push((name, ratio(Window(w, secs))));
    }
    // A target of an OpenTelemetry app is named by its service.name too.
    let up = format!(
        "(up * on (job, instance) group_left (service_name) {TARGET_NAMES} or on (job, instance) up)"
    );
    let up = chain(&up, &set.labels, false);
    out.push(("targets_total", format!("count by ({SERVICE}) ({up})")));
    out.push(("targets_up", format!("sum by ({SERVICE}) ({up})")));
    let saturation = chain("saturation_ratio", &set.labels, false);
    out.push(("saturation", format!("max by ({SERVICE}) ({saturation})")));
    // What is usual: of the figures the Health table shows, a service's
    // requests summed over the labels that name it.
    let of = |name: &str| out.iter().find(|(n, _)| *n == name).map(|(_, q)| q.clone());
    let figures = [
        (
            ["baseline_requests", "baseline_requests_day"],
            of("requests").map(|q| by_service_of(&q)),
        ),
        (
            ["baseline_error_ratio", "baseline_error_ratio_day"],
            of("error_ratio_5m"),
        ),
        (
            ["baseline_latency_p95", "baseline_latency_p95_day"],
            of("latency_p95"),
        ),
    ];
    for (names, q) in figures {
        let [week, day] = baseline(&q.unwrap_or_else(nothing));
        out.push((names[0], week));
        out.push((names[1], day));
    }
    out
}

/// `q`'s series summed by branch and service, whatever else they carry.
fn by_service_of(q: &str) -> String {
    if q == NOTHING {
        return q.into();
    }
    format!("sum by ({BRANCH}, {SERVICE}) ({q})")
}

/// One request that says which conventions of `catalogue` have series,
/// and for about how many services: a series per convention found, marked
/// with its name, valued at its count of distinct naming label sets.
pub fn detection(catalogue: &[super::Convention], labels: &[String]) -> String {
    catalogue
        .iter()
        .map(|c| {
            let mut by = c.service_labels.clone();
            by.extend(
                labels
                    .iter()
                    .filter(|l| !c.service_labels.contains(l))
                    .cloned(),
            );
            format!(
                r#"label_replace(count(group by ({}) ({})), "{BRANCH}", "{}", "", "")"#,
                by.join(", "),
                c.detect,
                super::catalogue::escape(&c.name)
            )
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
#[path = "derive_tests.rs"]
mod tests;
