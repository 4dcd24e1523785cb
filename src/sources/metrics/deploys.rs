//! Deployments from the metrics pipelines already export: the documented
//! convention first, then Argo Rollouts and kube-state-metrics for services
//! the convention does not cover.

use std::collections::BTreeMap;

use super::{Answers, parse_phase, timestamp};
use crate::domain::{ChangeCounts, Colour, Deployment, Phase, Strategy};
use crate::sources::prometheus::Sample;

/// A series' item and where it runs, by the two labels that name them.
fn key<'a>(s: &'a Sample, name: &str, env: &str) -> (&'a str, &'a str) {
    (s.label(name).unwrap_or(""), s.label(env).unwrap_or(""))
}

pub(super) fn read(a: &Answers, label: &str) -> Vec<Deployment> {
    let by_key = |q: &str| -> BTreeMap<(&str, &str), f64> {
        a.get(q)
            .iter()
            .map(|s| (key(s, label, "environment"), s.value))
            .collect()
    };
    let (weights, times, rollbacks) = (
        by_key("deployment_canary_weight"),
        by_key("deployment_timestamp"),
        by_key("deployment_rollbacks"),
    );
    let (deploys_window, rollbacks_window) =
        (by_key("deployments_window"), by_key("rollbacks_window"));
    let count = |v: f64| (v.is_finite() && v >= 0.0).then(|| v.round() as u64);
    // Counted only when the query answered: a key it does not name deployed
    // nothing in the window (its timestamp did not change).
    let window = |k: &(&str, &str)| {
        a.by_name
            .contains_key("deployments_window")
            .then(|| ChangeCounts {
                deploys: deploys_window.get(k).copied().and_then(count).unwrap_or(0),
                rollbacks: rollbacks_window.get(k).copied().and_then(count),
            })
    };
    let mut out: BTreeMap<(&str, &str), Deployment> = BTreeMap::new();
    for s in a.get("deployment_info") {
        let k = key(s, label, "environment");
        if k.0.is_empty() {
            continue;
        }
        let strategy = match s
            .label("strategy")
            .unwrap_or("")
            .to_ascii_lowercase()
            .replace(['_', ' '], "-")
            .as_str()
        {
            "canary" => Strategy::Canary {
                weight: weights.get(&k).copied().unwrap_or(f64::NAN),
            },
            "blue-green" | "bluegreen" => Strategy::BlueGreen {
                live: if s.label("color") == Some("green") {
                    Colour::Green
                } else {
                    Colour::Blue
                },
            },
            _ => Strategy::Rolling {
                updated: 0,
                total: 0,
            },
        };
        let deployed_at = times.get(&k).copied().and_then(timestamp);
        out.insert(
            k,
            Deployment {
                service: k.0.to_string(),
                environment: k.1.to_string(),
                version: s.label("version").unwrap_or("—").to_string(),
                previous_version: s
                    .label("previous_version")
                    .filter(|v| !v.is_empty())
                    .map(String::from),
                strategy,
                phase: parse_phase(s.label("phase").unwrap_or("")),
                deployed_at,
                rollbacks: rollbacks
                    .get(&k)
                    .copied()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .unwrap_or(0.0) as u32,
                history: Vec::new(),
                window: window(&k),
                canary: None,
            },
        );
    }
    for s in a.get("rollout_info") {
        let k = key(s, "name", "namespace");
        out.entry(k).or_insert_with(|| Deployment {
            service: k.0.to_string(),
            environment: k.1.to_string(),
            version: "—".into(),
            previous_version: None,
            strategy: if s.label("strategy") == Some("blueGreen") {
                Strategy::BlueGreen { live: Colour::Blue }
            } else {
                Strategy::Canary { weight: f64::NAN }
            },
            phase: parse_phase(s.label("phase").unwrap_or("")),
            deployed_at: None,
            rollbacks: 0,
            history: Vec::new(),
            window: None,
            canary: None,
        });
    }
    let replicas: BTreeMap<(&str, &str), f64> = a
        .get("kube_deployment_replicas")
        .iter()
        .map(|s| (key(s, "deployment", "namespace"), s.value))
        .collect();
    for s in a.get("kube_deployment_updated") {
        let k = key(s, "deployment", "namespace");
        let total = replicas.get(&k).copied().unwrap_or(s.value).max(0.0) as u32;
        let updated = s.value.max(0.0) as u32;
        out.entry(k).or_insert_with(|| Deployment {
            service: k.0.to_string(),
            environment: k.1.to_string(),
            version: "—".into(),
            previous_version: None,
            strategy: Strategy::Rolling { updated, total },
            phase: if updated < total {
                Phase::Progressing
            } else {
                Phase::Complete
            },
            deployed_at: None,
            rollbacks: 0,
            history: Vec::new(),
            window: None,
            canary: None,
        });
    }
    out.into_values().collect()
}
