//! SLOs that Sloth or Pyrra already record as rules: their error ratios
//! for each burn window, their objectives and windows, read as they are,
//! each SLO a row beside the services.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::reliability::ErrorRatios;
use crate::domain::{ServiceHealth, SliCounts, SliVia, Tier, Via};
use crate::sli::{Convention, Counting, Kind, Latency};
use crate::sources::prometheus::Sample;

/// What detection asks for each: a series wherever the rules exist. (The
/// queries that read them are `sloth_slos` and `pyrra_slos`.)
pub const DETECT: [(&str, &str); 2] = [
    ("sloth", "slo:objective:ratio"),
    // Its shortest window scales with the SLO's (burnrate1m for 7 days):
    // the objective, which opsdeck needs anyway, is the sure sign.
    ("pyrra", "pyrra_objective"),
];

/// One SLO as read.
#[derive(Default)]
struct Slo {
    ratios: BTreeMap<u64, f64>,
    objective: Option<f64>,
    window_secs: Option<u64>,
    availability: Option<f64>,
}

/// `5m`, `1h4m`, `4d`, `4w` in seconds.
fn seconds(text: &str) -> Option<u64> {
    let mut total = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = number
            .parse::<u64>()
            .ok()?
            .checked_mul(unit)?
            .checked_add(total)?;
        number.clear();
    }
    (number.is_empty() && total > 0).then_some(total)
}

/// The burn-rate windows opsdeck judges by, with the nearest of the
/// windows each SLO records (Pyrra scales them to its SLO window: 4d, not
/// 3d, for 28 days).
fn error_ratios(by_window: &BTreeMap<u64, f64>) -> ErrorRatios {
    let near = |secs: u64| -> Option<f64> {
        by_window
            .iter()
            .filter(|(w, _)| {
                let (a, b) = (**w as f64, secs as f64);
                (a / b).max(b / a) < 1.5
            })
            .min_by_key(|(w, _)| w.abs_diff(secs))
            .map(|(_, r)| *r)
            .filter(|r| r.is_finite() && *r >= 0.0)
    };
    ErrorRatios {
        m5: near(300),
        m30: near(1_800),
        h1: near(3_600),
        h2: near(7_200),
        h6: near(21_600),
        d1: near(86_400),
        d3: near(259_200),
    }
}

/// The SLOs of a Sloth answer, by `service/slo`.
pub fn sloth(answer: &[Sample]) -> Vec<ServiceHealth> {
    let mut slos: BTreeMap<String, Slo> = BTreeMap::new();
    for s in answer {
        let (Some(service), Some(name), Some(metric)) = (
            s.label("sloth_service"),
            s.label("sloth_slo"),
            s.label("__name__"),
        ) else {
            continue;
        };
        let slo = slos.entry(format!("{service}/{name}")).or_default();
        match metric {
            "slo:objective:ratio" => slo.objective = Some(s.value),
            "slo:time_period:days" => slo.window_secs = Some((s.value * 86_400.0) as u64),
            m => {
                if let Some(w) = m.strip_prefix("slo:sli_error:ratio_rate").and_then(seconds) {
                    slo.ratios.insert(w, s.value);
                }
            }
        }
    }
    slos.into_iter()
        .filter_map(|(name, mut slo)| {
            let window = slo.window_secs?;
            slo.availability = slo.ratios.get(&window).map(|r| 1.0 - r);
            row(&name, slo, "sloth", "Sloth's recording rules")
        })
        .collect()
}

/// The SLOs of a Pyrra answer, by its `slo` label.
pub fn pyrra(answer: &[Sample]) -> Vec<ServiceHealth> {
    let mut slos: BTreeMap<String, Slo> = BTreeMap::new();
    for s in answer {
        let (Some(name), Some(metric)) = (s.label("slo"), s.label("__name__")) else {
            continue;
        };
        let slo = slos.entry(name.to_string()).or_default();
        match metric {
            "pyrra_objective" => slo.objective = Some(s.value),
            "pyrra_window" => slo.window_secs = Some(s.value as u64),
            "pyrra_availability" => slo.availability = Some(s.value),
            m => {
                if let Some(w) = m.rsplit_once(":burnrate").and_then(|(_, w)| seconds(w)) {
                    slo.ratios.insert(w, s.value);
                }
            }
        }
    }
    slos.into_iter()
        .filter_map(|(name, slo)| row(&name, slo, "pyrra", "Pyrra's recording rules"))
        .collect()
}

/// An SLO as a row: an SLO with no objective is not one opsdeck can judge.
fn row(name: &str, slo: Slo, tool: &str, title: &str) -> Option<ServiceHealth> {
    let objective = slo.objective.filter(|o| *o > 0.0 && *o < 1.0)?;
    let ratios = error_ratios(&slo.ratios);
    let window = slo
        .window_secs
        .map_or("an unknown window".into(), |w| format!("{}d", w / 86_400));
    let convention = Convention {
        name: tool.to_string(),
        title: title.to_string(),
        kind: Kind::App,
        detect: String::new(),
        counting: Counting::Elsewhere(if tool == "sloth" {
            "slo:sli_error:ratio_rate* (Sloth's rules)".into()
        } else {
            "<metric>:burnrate* (Pyrra's rules)".into()
        }),
        latency: Latency::None("an SLO's rules record no latency".into()),
        service_labels: Vec::new(),
        join_target_info: false,
        version_label: None,
        note: format!(
            "objective {:.3}% over {window}, as the rules declare; availability is the rules' own over that window",
            objective * 100.0
        ),
    };
    let sli = match slo
        .availability
        .filter(|a| a.is_finite() && (0.0..=1.0).contains(a))
    {
        // Ratios only: one "request", so availability reads as the rules say.
        Some(a) => SliCounts {
            good: a,
            total: 1.0,
        },
        None => SliCounts::default(),
    };
    Some(ServiceHealth {
        name: name.to_string(),
        cluster: None,
        tier: Tier::Standard,
        team: String::new(),
        requests_per_second: f64::NAN,
        error_ratio: ratios.m5.unwrap_or(f64::NAN),
        latency_p95_ms: f64::NAN,
        latency_p99_ms: f64::NAN,
        saturation: f64::NAN,
        targets_up: 0,
        targets_total: 0,
        sli,
        error_ratio_1h: ratios.h1.unwrap_or(f64::NAN),
        error_ratios: ratios,
        traffic_history: Vec::new(),
        latency_history: Vec::new(),
        covered: None,
        via: Via::Sli(Arc::new(SliVia {
            convention: Arc::new(convention),
            label: if tool == "sloth" {
                "sloth_service, sloth_slo".into()
            } else {
                "slo".into()
            },
            also: Vec::new(),
        })),
        objective: Some(objective),
        baselines: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
        let mut body = String::from(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"#,
        );
        let pairs: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!(r#""{k}":"{v}""#))
            .collect();
        body.push_str(&pairs.join(","));
        body.push_str(&format!(r#"}},"value":[0,"{value}"]}}]}}}}"#));
        crate::sources::prometheus::decode_vector(200, body.as_bytes())
            .unwrap()
            .result
            .remove(0)
    }

    #[test]
    fn windows_are_read_from_the_rule_names() {
        assert_eq!(seconds("5m"), Some(300));
        assert_eq!(seconds("1h4m"), Some(3_840));
        assert_eq!(seconds("4w"), Some(2_419_200));
        assert_eq!(seconds("rate"), None);
        assert_eq!(seconds("30000000000000000w"), None, "overflow is no window");
        assert_eq!(seconds(""), None);
    }

    #[test]
    fn a_sloth_slo_has_its_objective_window_and_burn_windows() {
        let l = |name: &'static str| {
            vec![
                ("__name__", name),
                ("sloth_id", "orders-requests-availability"),
                ("sloth_service", "orders"),
                ("sloth_slo", "requests-availability"),
            ]
        };
        let answer = vec![
            sample(&l("slo:objective:ratio"), 0.999),
            sample(&l("slo:time_period:days"), 30.0),
            sample(&l("slo:sli_error:ratio_rate5m"), 0.05),
            sample(&l("slo:sli_error:ratio_rate1h"), 0.04),
            sample(&l("slo:sli_error:ratio_rate30d"), 0.002),
        ];
        let rows = sloth(&answer);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.name, "orders/requests-availability");
        assert_eq!(r.objective, Some(0.999));
        assert_eq!(
            (r.error_ratios.m5, r.error_ratios.h1, r.error_ratios.h6),
            (Some(0.05), Some(0.04), None)
        );
        assert!((r.sli.good - 0.998).abs() < 1e-12 && r.sli.total == 1.0);
    }

    #[test]
    fn a_pyrra_slo_maps_its_scaled_windows_and_one_without_objective_is_left_out() {
        let l = |name: &'static str, slo: &'static str| vec![("__name__", name), ("slo", slo)];
        let answer = vec![
            sample(&l("pyrra_objective", "payments-availability"), 0.995),
            sample(&l("pyrra_window", "payments-availability"), 2_419_200.0),
            sample(&l("pyrra_availability", "payments-availability"), 0.9991),
            sample(
                &l("http_requests:burnrate4d", "payments-availability"),
                0.001,
            ),
            sample(
                &l("http_requests:burnrate1h4m", "payments-availability"),
                0.002,
            ),
            sample(&l("http_requests:burnrate5m", "no-objective"), 0.5),
        ];
        let rows = pyrra(&answer);
        assert_eq!(
            rows.len(),
            1,
            "the SLO without pyrra_objective is not judged"
        );
        let r = &rows[0];
        assert_eq!(r.objective, Some(0.995));
        assert_eq!(r.error_ratios.d3, Some(0.001), "4d stands in for 3d");
        assert_eq!(r.error_ratios.h1, Some(0.002), "1h4m for 1h");
        assert_eq!(r.sli.good, 0.9991);
    }
}
