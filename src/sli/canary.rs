//! The canary query: a service's error ratio and p95 per version, by the
//! version label of the conventions that have one, and for services whose
//! metrics carry none, its figures since the deploy began against the same
//! length of time before it. One request for every canary in progress,
//! computed on the server.

use super::identity::{SERVICE, chain};
use super::{Bad, Counting, Latency, SliSet, catalogue::escape};

/// The version a figure is of (by the convention's version label).
pub const VERSION: &str = "opsdeck_version";
/// Which figure a series is: `errors` (a ratio) or `p95` (seconds).
pub const FIGURE: &str = "opsdeck_figure";
/// How the figure was taken: `version`, or `after` / `before` the deploy.
pub const BASIS: &str = "opsdeck_basis";

/// A service in canary, and the whole minutes since its deploy began.
pub struct InCanary<'a> {
    pub service: &'a str,
    pub minutes: u64,
}

fn mark(x: &str, label: &str, value: &str) -> String {
    format!(r#"label_replace({x}, "{label}", "{value}", "", "")"#)
}

/// The labels that name a service for a convention: its own, then the
/// configured ones.
fn labels_of(own: &[String], configured: &[String]) -> Vec<String> {
    let mut out = own.to_vec();
    out.extend(configured.iter().filter(|l| !own.contains(l)).cloned());
    out
}

/// Error ratio and p95 per service and version over five minutes, from
/// every convention in force with a version label; `None` without one.
pub fn by_version(set: &SliSet) -> Option<String> {
    let mut errors = Vec::new();
    let mut p95 = Vec::new();
    for branch in &set.branches {
        let c = &branch.convention;
        let Some(v) = &c.version_label else { continue };
        let Counting::Requests {
            total,
            bad: Bad::Errors(bad),
            ..
        } = &c.counting
        else {
            continue;
        };
        let labels = labels_of(&c.service_labels, &set.labels);
        let by = labels.join(", ");
        let named = |x: String| {
            let versioned = format!(r#"label_replace({x}, "{VERSION}", "$1", "{v}", "(.+)")"#);
            chain(&versioned, &labels, false)
        };
        let per = format!("{SERVICE}, {VERSION}");
        let tot = format!("sum by ({by}, {v}) (rate({total}[5m]))");
        let failed = format!("sum by ({by}, {v}) (rate({bad}[5m]))");
        errors.push(format!(
            "sum by ({per}) ({}) / sum by ({per}) ({})",
            named(format!("({failed}) or ({tot}) * 0")),
            named(tot.clone())
        ));
        if let Latency::Histogram { buckets, scale } = &c.latency {
            let b = format!("sum by ({by}, {v}, le) (rate({buckets}[5m]))");
            let q = format!(
                "histogram_quantile(0.95, sum by ({per}, le) ({}))",
                named(b)
            );
            p95.push(if *scale == 1.0 {
                q
            } else {
                format!("({q}) * {scale}")
            });
        }
    }
    if errors.is_empty() {
        return None;
    }
    let mut parts = vec![mark(
        &format!("({})", errors.join(" or ")),
        FIGURE,
        "errors",
    )];
    if !p95.is_empty() {
        parts.push(mark(&format!("({})", p95.join(" or ")), FIGURE, "p95"));
    }
    Some(mark(&format!("({})", parts.join(" or ")), BASIS, "version"))
}

/// The service's error ratio and p95 since its deploy began and over the
/// same length before it, from the derived five-minute queries
/// (`error_ratio`, `latency_p95`) with their windows stretched.
pub fn before_after(error_ratio: &str, latency_p95: &str, services: &[InCanary]) -> Option<String> {
    let mut parts = Vec::new();
    for s in services.iter().filter(|s| s.minutes > 0) {
        let only = format!(
            r#"label_replace(vector(1), "{SERVICE}", "{}", "", "")"#,
            escape(&s.service.replace('$', "$$"))
        );
        for (basis, window) in [
            ("after", format!("[{}m]", s.minutes)),
            ("before", format!("[{m}m] offset {m}m", m = s.minutes)),
        ] {
            for (figure, q) in [("errors", error_ratio), ("p95", latency_p95)] {
                if q.is_empty() {
                    continue;
                }
                let stretched = q.replace("[5m]", &window);
                let x = format!("(({stretched}) and on ({SERVICE}) {only})");
                parts.push(mark(&mark(&x, FIGURE, figure), BASIS, basis));
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join(" or "))
}

/// The one canary query: by version where a convention has a version
/// label, and before/after for the services given.
pub fn query(
    set: &SliSet,
    error_ratio: &str,
    latency_p95: &str,
    services: &[InCanary],
) -> Option<String> {
    let parts: Vec<String> = [
        by_version(set),
        before_after(error_ratio, latency_p95, services),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sli::catalogue::{EMBEDDED, parse};
    use crate::sli::{SliSet, SliSpec};

    fn set(name: &str) -> SliSet {
        let catalogue: Vec<_> = EMBEDDED.iter().map(|(n, t)| parse(n, t).unwrap()).collect();
        SliSet::build(
            &catalogue,
            &SliSpec::Convention(name.into()),
            &[],
            &[],
            &["service".to_string(), "job".to_string()],
        )
    }

    #[test]
    fn by_the_version_label_where_the_convention_has_one() {
        let q = by_version(&set("prometheus-client")).unwrap();
        assert!(
            q.contains(
                r#"sum by (service, job, version) (rate(http_requests_total{code=~"5.."}[5m]))"#
            ),
            "{q}"
        );
        assert!(
            q.contains(r#""opsdeck_version", "$1", "version", "(.+)""#),
            "{q}"
        );
        assert!(q.contains("histogram_quantile(0.95"), "{q}");
        let istio = by_version(&set("istio")).unwrap();
        assert!(istio.contains("destination_version"), "{istio}");
        assert!(istio.contains("* 0.001"), "{istio}");
        // Flask's exporter labels no version.
        assert_eq!(by_version(&set("flask")), None);
    }

    #[test]
    fn before_and_after_stretch_the_five_minute_window_per_service() {
        let q = before_after(
            "sum(rate(x[5m]))",
            "",
            &[InCanary {
                service: "checkout",
                minutes: 12,
            }],
        )
        .unwrap();
        assert!(q.contains("rate(x[12m])"), "{q}");
        assert!(q.contains("rate(x[12m] offset 12m)"), "{q}");
        assert!(q.contains(r#""opsdeck_service", "checkout""#), "{q}");
        assert!(!q.contains("p95"), "no latency query, no p95: {q}");
        assert_eq!(before_after("q", "", &[]), None);
    }
}
