//! Simulated incidents: a few repeating streams of alerts, each occurrence
//! drawn from the seed, so incidents fire, escalate and resolve over time.

use chrono::Duration;
use rand::Rng;

use super::{DemoEstate, SERVICES, rng_for};
use crate::domain::{Alert, AlertsReading, Severity, Silence, Tier};

/// What an incident does to its service's signals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    Errors(f64),
    Latency(f64),
    TargetDown,
    None,
}

struct AlertKind {
    name: &'static str,
    summary: &'static str,
    effect: Effect,
    /// Effect once escalated to critical.
    escalated: Effect,
}

struct Stream {
    period: i64,
    phase: i64,
    duration: (i64, i64),
    severity: Severity,
    escalate_after: Option<i64>,
    tiers: &'static [Tier],
    kinds: &'static [AlertKind],
}

const PAGES: [AlertKind; 2] = [
    AlertKind {
        name: "HighErrorRate",
        summary: "5xx ratio above objective",
        effect: Effect::Errors(0.018),
        escalated: Effect::Errors(0.15),
    },
    AlertKind {
        name: "LatencySLOBreach",
        summary: "p99 latency far above objective",
        effect: Effect::Latency(3.0),
        escalated: Effect::Latency(14.0),
    },
];

const WARNINGS: [AlertKind; 3] = [
    AlertKind {
        name: "HighLatency",
        summary: "p95 latency above target",
        effect: Effect::Latency(2.4),
        escalated: Effect::Latency(2.4),
    },
    AlertKind {
        name: "PodCrashLooping",
        summary: "a pod restarted 5 times in 10 minutes",
        effect: Effect::TargetDown,
        escalated: Effect::TargetDown,
    },
    AlertKind {
        name: "ErrorBudgetBurn",
        summary: "error budget burning at 6x over 30 minutes",
        effect: Effect::Errors(0.006),
        escalated: Effect::Errors(0.006),
    },
];

const NOTICES: [AlertKind; 2] = [
    AlertKind {
        name: "CertificateExpiringSoon",
        summary: "TLS certificate expires in 12 days",
        effect: Effect::None,
        escalated: Effect::None,
    },
    AlertKind {
        name: "QueueBacklogGrowing",
        summary: "work queue backlog growing for 15 minutes",
        effect: Effect::None,
        escalated: Effect::None,
    },
];

const STREAMS: [Stream; 3] = [
    // A page that opens as a warning and escalates; one is always under way
    // when the demo starts.
    Stream {
        period: 900,
        phase: -330,
        duration: (420, 660),
        severity: Severity::Warning,
        escalate_after: Some(150),
        tiers: &[Tier::Critical, Tier::Standard],
        kinds: &PAGES,
    },
    Stream {
        period: 420,
        phase: -200,
        duration: (180, 360),
        severity: Severity::Warning,
        escalate_after: None,
        tiers: &[Tier::Critical, Tier::Standard, Tier::NonCritical],
        kinds: &WARNINGS,
    },
    Stream {
        period: 600,
        phase: -60,
        duration: (240, 480),
        severity: Severity::Info,
        escalate_after: None,
        tiers: &[Tier::Standard, Tier::NonCritical],
        kinds: &NOTICES,
    },
];

/// One occurrence of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveIncident {
    pub name: &'static str,
    pub summary: &'static str,
    pub service: &'static str,
    pub severity: Severity,
    pub start: i64,
    pub end: i64,
    pub effect: Effect,
    pub alerts: u32,
}

fn occurrence(seed: u64, stream_index: usize, n: i64) -> ActiveIncident {
    let stream = &STREAMS[stream_index];
    let mut rng = rng_for(seed, &[3, stream_index as u64, n as u64]);
    let start = n * stream.period + stream.phase + rng.random_range(0..60);
    let candidates: Vec<&str> = SERVICES
        .iter()
        .filter(|s| stream.tiers.contains(&s.tier))
        .map(|s| s.name)
        .collect();
    let kind = &stream.kinds[rng.random_range(0..stream.kinds.len())];
    ActiveIncident {
        name: kind.name,
        summary: kind.summary,
        service: candidates[rng.random_range(0..candidates.len())],
        severity: stream.severity,
        start,
        end: start + rng.random_range(stream.duration.0..stream.duration.1),
        effect: kind.effect,
        alerts: rng.random_range(1..=3),
    }
}

impl ActiveIncident {
    /// The occurrence as it stands at `t`: escalated once it has run long enough.
    fn escalated_by(mut self, stream: &Stream, kind: &AlertKind, t: i64) -> ActiveIncident {
        if stream
            .escalate_after
            .is_some_and(|after| t >= self.start + after)
        {
            self.severity = Severity::Critical;
            self.effect = kind.escalated;
        }
        self
    }
}

fn stream_range(stream: &Stream, from: i64, to: i64) -> std::ops::RangeInclusive<i64> {
    // Occurrences start in [n·period + phase, +60) and last less than a period,
    // so one extra occurrence on each side covers every overlap.
    let first = (from - stream.phase).div_euclid(stream.period) - 1;
    let last = (to - stream.phase).div_euclid(stream.period);
    first..=last
}

fn kind_of(stream: &Stream, name: &str) -> &'static AlertKind {
    stream
        .kinds
        .iter()
        .find(|k| k.name == name)
        .expect("known kind")
}

/// The incidents active at `t`. The streams are the demo's own: before it
/// started only those still under way when it opened existed (the month
/// before is `past`).
pub fn active(seed: u64, t: i64) -> Vec<ActiveIncident> {
    let mut out = Vec::new();
    for (si, stream) in STREAMS.iter().enumerate() {
        for n in stream_range(stream, t, t) {
            let occ = occurrence(seed, si, n);
            if occ.start <= t && t < occ.end && occ.end >= 0 {
                let kind = kind_of(stream, occ.name);
                out.push(occ.escalated_by(stream, kind, t));
            }
        }
    }
    out
}

/// Extra errors an incident adds to its service's error ratio, from `from`
/// to `to` (seconds since the demo started).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    pub service: &'static str,
    pub from: i64,
    pub to: i64,
    pub ratio: f64,
}

/// The extra errors of every demo incident that began before `to`: one
/// burst before it escalates and one after, where its kind adds errors.
pub fn bursts(seed: u64, to: i64) -> Vec<Burst> {
    let mut out = Vec::new();
    for (si, stream) in STREAMS.iter().enumerate() {
        for n in stream_range(stream, 0, to.max(0)) {
            let occ = occurrence(seed, si, n);
            if occ.end < 0 || occ.start >= to {
                continue;
            }
            let kind = kind_of(stream, occ.name);
            let escalates = stream
                .escalate_after
                .map_or(occ.end, |after| (occ.start + after).min(occ.end));
            let parts = [
                (occ.start, escalates, kind.effect),
                (escalates, occ.end, kind.escalated),
            ];
            for (from, until, effect) in parts {
                if let Effect::Errors(ratio) = effect
                    && from < until
                {
                    out.push(Burst {
                        service: occ.service,
                        from,
                        to: until,
                        ratio,
                    });
                }
            }
        }
    }
    out
}

/// Incidents resolved in the month before the demo started: the streams
/// above run compressed in time, so the past is drawn at a realistic pace
/// (about one and a half a day, 5 to 95 minutes each). The last one began
/// two to three hours before the demo: the gap to the demo's first incident
/// is then shorter than the month's mean, so MTBF (the mean gap between
/// starts) does not jump up when that first incident resolves.
fn past(seed: u64) -> impl Iterator<Item = (i64, i64)> {
    let mut rng = rng_for(seed, &[7]);
    (0..45).map(move |k| {
        let earliest = if k == 0 { 3 * 3_600 } else { 30 * 86_400 };
        let start = -rng.random_range(2 * 3_600..earliest);
        let spread: f64 = rng.random_range(0.0..1.0);
        (start, start + 300 + (spread * spread * 5_400.0) as i64)
    })
}

/// (start, end) of every incident that resolved in `[from, to]`.
pub fn resolved(seed: u64, from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = past(seed)
        .filter(|&(_, end)| from <= end && end <= to && end < 0)
        .collect();
    for (si, stream) in STREAMS.iter().enumerate() {
        for n in stream_range(stream, from.max(0), to) {
            let occ = occurrence(seed, si, n);
            if from.max(0) <= occ.end && occ.end <= to {
                out.push((occ.start, occ.end));
            }
        }
    }
    out.sort_unstable();
    out
}

pub(super) fn runbook(name: &str) -> String {
    format!(
        "https://runbooks.example.com/alerts/{}",
        name.to_ascii_lowercase()
    )
}

fn silences(estate: &DemoEstate) -> Vec<Silence> {
    let at = |secs: i64| estate.at(secs);
    vec![
        Silence {
            id: "5e1c0a7d".into(),
            matchers: "service=\"reporting\"".into(),
            created_by: "ops-bot".into(),
            comment: "Maintenance window: nightly warehouse rebuild".into(),
            starts_at: at(-Duration::minutes(50).num_seconds()),
            ends_at: at(Duration::minutes(190).num_seconds()),
        },
        Silence {
            id: "9b4f2e11".into(),
            matchers: "service=\"search\"".into(),
            created_by: "alice".into(),
            comment: "Search cluster upgrade, change CHG-2291".into(),
            starts_at: at(Duration::hours(2).num_seconds()),
            ends_at: at(Duration::hours(4).num_seconds()),
        },
    ]
}

/// Firing alerts and silences at `t`, as Alertmanager would report them.
pub fn alerts(estate: &DemoEstate, t: i64) -> AlertsReading {
    let now = estate.at(t);
    // The estate's own silences match on service; those made by actions on
    // their label pairs. An expired one ends when it was expired.
    let mut matched: Vec<(Silence, Vec<(String, String)>)> = silences(estate)
        .into_iter()
        .map(|s| {
            let service = s
                .matchers
                .trim_start_matches("service=\"")
                .trim_end_matches('"');
            let pairs = vec![("service".to_string(), service.to_string())];
            (s, pairs)
        })
        .collect();
    if let Ok(changes) = estate.changes.lock() {
        matched.extend(changes.silences.iter().cloned());
        for (s, _) in matched.iter_mut() {
            if let Some(at) = changes.expired.get(&s.id) {
                s.ends_at = s.ends_at.min(*at);
            }
        }
    }
    matched.retain(|(s, _)| s.ends_at > now);
    let silenced = |name: &str, service: &str| {
        matched
            .iter()
            .find(|(s, pairs)| {
                s.is_active(now)
                    && pairs.iter().all(|(k, v)| match k.as_str() {
                        "alertname" => v == name,
                        "service" => v == service,
                        _ => false,
                    })
            })
            .map(|(s, _)| s.id.clone())
    };
    let silences: Vec<Silence> = matched.iter().map(|(s, _)| s.clone()).collect();
    let mut alerts = Vec::new();
    for occ in active(estate.seed, t) {
        for copy in 0..occ.alerts {
            alerts.push(Alert {
                name: occ.name.to_string(),
                service: occ.service.to_string(),
                raw_name: occ.name.to_string(),
                raw_service: occ.service.to_string(),
                service_label: "service".into(),
                heartbeat: false,
                counted: true,
                severity: occ.severity,
                summary: occ.summary.to_string(),
                runbook: Some(runbook(occ.name)),
                starts_at: estate.at(occ.start),
                silenced_by: silenced(occ.name, occ.service),
                inhibited: false,
                fingerprint: format!("{}/{}/{}/{copy}", occ.name, occ.service, occ.start),
                sources: vec!["demo".into()],
                placement: vec![],
            });
        }
    }
    // A slow burner that has been open since before the demo started.
    alerts.push(Alert {
        name: "HostDiskAlmostFull".into(),
        service: "db-02".into(),
        raw_name: "HostDiskAlmostFull".into(),
        raw_service: "db-02".into(),
        // A host's alert: named by its instance, not a service.
        service_label: "instance".into(),
        heartbeat: false,
        counted: true,
        severity: Severity::Warning,
        summary: "filesystem /var/lib/postgresql above 90%".into(),
        runbook: Some(runbook("HostDiskAlmostFull")),
        starts_at: estate.at(-Duration::minutes(133).num_seconds()),
        silenced_by: silenced("HostDiskAlmostFull", "db-02"),
        inhibited: false,
        fingerprint: "HostDiskAlmostFull/db-02".into(),
        sources: vec!["demo".into()],
        placement: vec![("instance".into(), "db-02".into())],
    });
    alerts.extend(super::storm::alerts(estate, t, &silenced));
    AlertsReading { alerts, silences }
}
