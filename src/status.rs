//! `opsdeck status`: the SLA glance, printed once — every feed fetched once
//! from every source, the same KPIs and states as the dashboard, as text
//! that fits 80 columns or as JSON (schema in docs/status.md) — and an exit
//! code scripts can use.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::{Value, json};

use crate::app::{App, Msg};
use crate::domain::Status;
use crate::domain::kpi::{Goal, budget_left, burn_1h, service_slo_status};
use crate::domain::slo::{availability, backup_status, host_status, service_status};
use crate::sources::poller::{self, PollPlan};
use crate::sources::{FeedUpdate, Source};
use crate::ui::format;

/// Exit codes: the worst thing found, in this order of precedence.
pub const EXIT_OK: u8 = 0;
pub const EXIT_WARNING: u8 = 1;
pub const EXIT_BREACH: u8 = 2;
pub const EXIT_UNREACHABLE: u8 = 3;

/// Every feed of every source, fetched once and at once.
pub async fn fetch_all(sources: &[Source], plan: &PollPlan, now: DateTime<Utc>) -> Vec<FeedUpdate> {
    let fetches = sources.iter().flat_map(|source| {
        source
            .feeds()
            .iter()
            .map(move |&feed| poller::fetch(source, feed, plan, now))
    });
    join_all(fetches).await
}

/// The glance of an app that has received one round of updates.
pub struct Glance<'a> {
    app: &'a App,
    unreachable: Vec<String>,
}

impl<'a> Glance<'a> {
    pub fn new(app: &'a mut App, updates: Vec<FeedUpdate>) -> Glance<'a> {
        // One line per source that failed, with its first error.
        let mut failed: std::collections::BTreeMap<&str, String> =
            std::collections::BTreeMap::new();
        for u in &updates {
            if let Err(e) = &u.result {
                failed.entry(&u.source).or_insert_with(|| e.to_string());
            }
        }
        let unreachable: Vec<String> = failed
            .into_iter()
            .map(|(s, e)| format!("{s}: {e}"))
            .collect();
        for update in updates {
            app.update(Msg::Feed(update));
        }
        Glance { app, unreachable }
    }

    /// The estate's verdict, the header's: everything opsdeck judges.
    fn worst(&self) -> Status {
        self.app.estate.summary.status
    }

    /// 2 for a breach, else 1 for a warning, else 3 when a source could not
    /// be read, else 0. Unknown for lack of data changes nothing by itself.
    pub fn exit_code(&self) -> u8 {
        match self.worst() {
            Status::Crit => EXIT_BREACH,
            Status::Warn => EXIT_WARNING,
            _ if !self.unreachable.is_empty() => EXIT_UNREACHABLE,
            _ => EXIT_OK,
        }
    }

    /// The state in one word: the verdict, or UNREACHABLE when that is all
    /// there is to say, or UNKNOWN without data.
    fn headline(&self) -> &'static str {
        let known = self
            .app
            .estate
            .kpis
            .iter()
            .any(|k| k.status != Status::Unknown)
            || self.worst() != Status::Ok;
        match self.exit_code() {
            EXIT_UNREACHABLE => "UNREACHABLE",
            _ if !known => "UNKNOWN",
            _ => self.worst().label(),
        }
    }

    /// The glance as text, each line at most `COLUMNS` columns (80 when
    /// it is not set, at least 40), cut at a word with an ellipsis.
    pub fn text(&self) -> String {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .map_or(80, |c| c.clamp(40, 500));
        self.text_at(width)
    }

    /// `text` at `width` columns.
    fn text_at(&self, width: usize) -> String {
        let mut out = vec![format!(
            "opsdeck status: {} at {} UTC",
            self.headline(),
            self.app.now.format("%Y-%m-%d %H:%M:%S")
        )];
        // Why, as the header says it.
        let reasons: Vec<&str> = (self.app.estate.summary.reasons.iter())
            .map(|r| r.text.as_str())
            .collect();
        out.extend(wrap("because ", &reasons, width));
        if let crate::domain::incidents::Pipeline::Alive(_) = &self.app.estate.pipeline {
            let alive = self.app.estate.pipeline.describe().unwrap_or_default();
            out.push(cut(&alive, width));
        }
        for kpi in &self.app.estate.kpis {
            let value = kpi
                .value
                .map_or_else(|| "unknown".into(), |v| format::value(kpi.unit, v));
            let line = format!(
                "{:<8}{:<20}{:>9}  {:<9} {}",
                kpi.status.label(),
                kpi.title,
                value,
                format::objective(kpi).1,
                kpi.note
            );
            out.push(cut(&line, width));
        }
        for source in &self.unreachable {
            out.push(cut(&format!("UNREACHABLE {source}"), width));
        }
        out.join("\n") + "\n"
    }

    /// The glance as JSON, schema version 2 (docs/status.md).
    pub fn json(&self) -> Value {
        let app = self.app;
        let (now, objective) = (app.now, app.settings.objectives.availability);
        let kpis: Vec<Value> = app
            .estate
            .kpis
            .iter()
            .map(|k| {
                json!({
                    "id": k.id, "name": k.title, "value": k.value.filter(|v| v.is_finite()), "objective": k.objective,
                    "unit": k.unit.json(),
                    "goal": if k.goal == Goal::AtLeast { "at_least" } else { "below" },
                    "state": state(k.status), "reason": k.note,
                    "window_seconds": k.window.map(|w| w.num_seconds()),
                    "covered_seconds": k.covered.map(|c| c.num_seconds()),
                })
            })
            .collect();
        let services: Vec<Value> = app
            .estate
            .services()
            .iter()
            .map(|s| {
                let slo = service_slo_status(s, objective);
                let health = service_status(s, &app.settings.thresholds, &app.settings.objectives);
                let window = app.settings.objectives.slo_window;
                let exhausted = crate::domain::forecast::service_budget(s, objective, window);
                let limit = app.settings.thresholds.anomaly_deviations;
                let anomalies: Vec<Value> = crate::domain::anomaly::anomalies(s, limit)
                    .iter()
                    .map(anomaly_json)
                    .collect();
                json!({
                    "name": s.name, "cluster": s.cluster, "tier": s.tier.label(),
                    "availability": availability(s.sli), "objective": s.objective_or(objective),
                    "budget_left": budget_left(s, objective).filter(|v| v.is_finite()),
                    "burn_rate_1h": burn_1h(s, objective),
                    "budget_exhausted_in_seconds": exhausted.map(|f| f.seconds()),
                    "anomalies": anomalies,
                    "state": state(health),
                    "slo_state": state(slo),
                    "reason": if availability(s.sli).is_none() { "no request counts over the SLO window" } else { "" },
                })
            })
            .collect();
        let e = &app.estate;
        let hosts: Vec<Value> = e
            .health
            .data
            .as_ref()
            .map_or(&[][..], |h| &h.hosts[..])
            .iter()
            .map(|h| {
                json!({
                    "name": h.name, "up": h.up,
                    "cpu": finite(h.cpu), "memory": finite(h.memory), "disk": finite(h.disk),
                    "disk_full_in_seconds": h.full_in.map(|d| d.num_seconds()),
                    "state": state(host_status(h, &app.settings.thresholds)),
                })
            })
            .collect();
        let storm_of = |index: usize| e.storms.iter().find(|s| s.members.contains(&index));
        let incidents: Vec<Value> = e
            .incidents
            .iter()
            .enumerate()
            .map(|(index, i)| {
                let changes: Vec<Value> = e.changes.get(index).map_or(&[][..], |c| &c[..])
                    .iter()
                    .map(|p| json!({
                        "what": p.change.what, "at": p.change.at.to_rfc3339(),
                        "before_seconds": p.before.num_seconds(), "text": p.describe(),
                    }))
                    .collect();
                json!({
                    "name": i.name, "service": i.service, "severity": i.severity.label(),
                    "started_at": i.started.to_rfc3339(), "alerts": i.alert_count,
                    "silenced": i.silenced, "counted": i.counted, "summary": i.summary,
                    "changes_before": changes,
                    "storm": storm_of(index).map(|s| format!("{}={}", s.label, s.value)),
                    "state": state(if i.silenced || !i.counted { Status::Ok } else { i.severity.status() }),
                })
            })
            .collect();
        let backups: Vec<Value> = e.backups.data.as_deref().unwrap_or_default()
            .iter()
            .map(|b| {
                json!({
                    "target": b.target, "service": b.service, "tier": b.tier.label(),
                    "last_success": b.last_success.map(|t| t.to_rfc3339()),
                    "last_verified": b.last_verified.map(|t| t.to_rfc3339()),
                    "duration_seconds": b.duration.map(|d| d.num_seconds()),
                    "size_bytes": b.size_bytes.is_finite().then_some(b.size_bytes),
                    "tool": b.tool,
                    "snapshots": b.kept.map(|k| k.count),
                    "oldest": b.kept.and_then(|k| k.oldest).map(|t| t.to_rfc3339()),
                    "check": b.check.as_ref().map(|c| json!({
                        "at": c.at.to_rfc3339(), "passed": c.passed, "words": c.words,
                    })),
                    "problem": b.problem,
                    "last_drill": b.last_drill.as_ref().map(|d| d.at.to_rfc3339()),
                    "drill_rto_seconds": b.last_drill.as_ref().and_then(|d| d.measured_rto).map(|d| d.num_seconds()),
                    "state": state(backup_status(b, now)),
                })
            })
            .collect();
        let deadline = app.settings.thresholds.progress_deadline;
        let deployments: Vec<Value> = e
            .deployments
            .data
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|d| {
                json!({
                    "service": d.service, "environment": d.environment, "version": d.version,
                    "previous_version": d.previous_version, "phase": d.phase.label(),
                    "stalled": d.stalled(now, deadline),
                    "deployed_at": d.deployed_at.map(|t| t.to_rfc3339()),
                    "state": state(d.status(now, deadline)),
                    "canary": d.canary.as_ref().map(canary_json),
                })
            })
            .collect();
        // The new version's figures beside the stable one's, and the verdict.
        fn canary_json(c: &crate::domain::canary::Canary) -> Value {
            use crate::domain::canary::Basis;
            let figures = |f: &crate::domain::canary::VersionFigures, version: Option<&str>| json!({ "version": version, "error_ratio": f.error_ratio, "p95_seconds": f.p95 });
            let (basis, new, stable) = match &c.basis {
                Basis::Version { new, stable } => {
                    ("version", Some(new.as_str()), Some(stable.as_str()))
                }
                Basis::BeforeAfter { .. } => ("before_after", None, None),
            };
            json!({
                "basis": basis, "new": figures(&c.new, new), "stable": figures(&c.stable, stable),
                "state": state(c.status), "verdict": c.verdict,
            })
        }
        let summary = &e.summary;
        let reasons: Vec<Value> = summary
            .reasons
            .iter()
            .map(|r| json!({ "state": state(r.status), "text": r.text }))
            .collect();
        let m = &summary.marks;
        use crate::domain::incidents::Pipeline;
        let (heartbeat, names) = match &e.pipeline {
            Pipeline::Alive(names) => ("alive", names.clone()),
            Pipeline::Gone(names) if names.is_empty() => ("missing", vec![]),
            Pipeline::Gone(names) => ("gone", names.clone()),
            Pipeline::Quiet => ("none", vec![]),
            Pipeline::Unknown => ("unknown", vec![]),
        };
        json!({
            "schema": 2,
            "generated_at": now.to_rfc3339(),
            "state": self.headline().to_ascii_lowercase(),
            "exit_code": self.exit_code(),
            "reasons": reasons,
            "tabs": {
                "kpis": state(m.kpis), "health": state(m.health), "deployments": state(m.deploys),
                "backups": state(m.backups), "incidents": state(m.incidents),
            },
            "kpis": kpis,
            "services": services,
            "hosts": hosts,
            "incidents": incidents,
            "backups": backups,
            "deployments": deployments,
            "alerting": { "heartbeat": heartbeat, "names": names },
            "unreachable": self.unreachable,
            "oncall": oncall(&app.oncall, now),
        })
    }
}

/// Who is on call now and next, by schedule.
fn oncall(schedules: &[crate::domain::oncall::Schedule], now: DateTime<Utc>) -> Vec<Value> {
    let shift = |s: Option<crate::domain::oncall::Shift>| {
        s.map(|s| json!({ "person": s.person, "from": s.start.to_rfc3339(), "until": s.end.to_rfc3339() }))
    };
    schedules
        .iter()
        .map(|s| {
            let o = s.on_call(now);
            json!({
                "schedule": s.name, "team": s.team, "now": shift(o.now), "next": shift(o.next),
                "error": s.error, "warnings": s.warnings,
                "read_at": s.read_at.map(|t| t.to_rfc3339()),
            })
        })
        .collect()
}

fn state(s: Status) -> String {
    s.label().to_ascii_lowercase()
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// `items` after `lead`, joined by " · " and wrapped at the joins into
/// lines of at most `width` characters (one item too long is cut).
fn wrap(lead: &str, items: &[&str], width: usize) -> Vec<String> {
    let indent = " ".repeat(lead.chars().count());
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for item in items {
        let start = if line.is_empty() { lead } else { " · " };
        let fits = line.chars().count() + start.chars().count() + item.chars().count() <= width;
        if !line.is_empty() && !fits {
            lines.push(std::mem::take(&mut line));
        }
        if line.is_empty() {
            line.push_str(if lines.is_empty() { lead } else { &indent });
        } else {
            line.push_str(" · ");
        }
        line.push_str(item);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.iter().map(|l| cut(l, width)).collect()
}

/// `line` in at most `width` characters: whole, or cut after the last
/// whole word that fits, with an ellipsis.
fn cut(line: &str, width: usize) -> String {
    let line = line.trim_end();
    if line.chars().count() <= width {
        return line.to_string();
    }
    let room: String = line.chars().take(width.saturating_sub(1)).collect();
    let at_word = match room.rfind(' ') {
        // Not so far back that most of the room is lost.
        Some(i) if i >= room.len() / 2 => &room[..i],
        _ => room.as_str(),
    };
    format!("{}…", at_word.trim_end())
}

/// An unusual figure as `services[].anomalies[]` (docs/status.md).
fn anomaly_json(a: &crate::domain::anomaly::Anomaly) -> Value {
    use crate::domain::anomaly::Basis;
    let (basis, count) = match a.usual.basis {
        Basis::Week { days } => ("week", days),
        Basis::Day { hours } => ("day", hours),
    };
    json!({
        "signal": a.signal.word(), "value": finite(a.value),
        "usual": finite(a.usual.mean), "deviation": finite(a.spread),
        "deviations": finite(a.deviations),
        "direction": if a.deviations > 0.0 { "above" } else { "below" },
        "basis": basis, "basis_count": count, "text": a.text(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Settings;
    use crate::config::keymap::Keymap;
    use crate::config::theme::Theme;
    use crate::domain::{HealthReading, ServiceHealth, SliCounts, Tier};
    use crate::sources::{Feed, Reading, SourceError};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
    }

    /// A quiet standard service whose 30-day availability is `availability`.
    fn service(availability: f64) -> ServiceHealth {
        ServiceHealth {
            name: "checkout".into(),
            cluster: None,
            tier: Tier::Standard,
            team: "payments".into(),
            requests_per_second: 10.0,
            error_ratio: 0.0,
            latency_p95_ms: 50.0,
            latency_p99_ms: 90.0,
            saturation: 0.2,
            targets_up: 1,
            targets_total: 1,
            sli: SliCounts {
                good: 1e6 * availability,
                total: 1e6,
            },
            error_ratio_1h: 0.0,
            error_ratios: Default::default(),
            traffic_history: vec![],
            latency_history: vec![],
            covered: None,
            via: crate::domain::Via::Simulated,
            objective: None,
            baselines: Default::default(),
        }
    }

    fn health(availability: f64) -> FeedUpdate {
        FeedUpdate {
            source: "prometheus".into(),
            feed: Feed::Health,
            at: now(),
            result: Ok(Reading::Health(HealthReading {
                services: std::sync::Arc::new(vec![service(availability)]),
                hosts: vec![],
                looked_for: String::new(),
            })),
            warnings: vec![],
        }
    }

    fn unreachable() -> FeedUpdate {
        FeedUpdate {
            source: "alertmanager".into(),
            feed: Feed::Alerts,
            at: now(),
            result: Err(SourceError::Unreachable("connection refused".into())),
            warnings: vec![],
        }
    }

    /// Answers with nothing to report from the other feeds, so the verdict
    /// is not unknown for want of them.
    fn quiet(feed: Feed, reading: Reading) -> FeedUpdate {
        FeedUpdate {
            source: "quiet".into(),
            feed,
            at: now(),
            result: Ok(reading),
            warnings: vec![],
        }
    }

    fn glance(updates: Vec<FeedUpdate>) -> (u8, Value) {
        let quiet = [
            quiet(Feed::Backups, Reading::Backups(vec![])),
            quiet(Feed::Deployments, Reading::Deployments(vec![])),
            quiet(
                Feed::Alerts,
                Reading::Alerts(crate::domain::AlertsReading::default()),
            ),
        ];
        glance_only(quiet.into_iter().chain(updates).collect())
    }

    fn glance_only(updates: Vec<FeedUpdate>) -> (u8, Value) {
        let mut app = App::new(
            Settings::default(),
            Theme::builtin(),
            Keymap::builtin(),
            now(),
        );
        let g = Glance::new(&mut app, updates);
        (g.exit_code(), g.json())
    }

    #[test]
    fn the_exit_code_is_the_worst_state_then_unreachable_then_ok() {
        // Against 99.9%: 99.95% leaves half the budget (ok), 99.92% a fifth
        // (warning), 99.8% overspends it (breach).
        let cases = [
            (vec![health(0.9995)], EXIT_OK, "ok"),
            (vec![health(0.9992)], EXIT_WARNING, "warn"),
            (vec![health(0.998)], EXIT_BREACH, "crit"),
            (
                vec![health(0.9995), unreachable()],
                EXIT_UNREACHABLE,
                "unreachable",
            ),
            // A breach outranks a source that could not be read.
            (vec![health(0.998), unreachable()], EXIT_BREACH, "crit"),
        ];
        for (updates, code, state) in cases {
            let (exit, json) = glance(updates);
            assert_eq!(
                (exit, json["state"].as_str()),
                (code, Some(state)),
                "{json:#}"
            );
            assert_eq!(json["exit_code"], code);
        }
    }

    fn alerts(severity: crate::domain::Severity) -> FeedUpdate {
        let alert = crate::domain::Alert {
            name: "HostDown".into(),
            service: "db-01".into(),
            raw_name: "HostDown".into(),
            raw_service: "db-01".into(),
            service_label: "instance".into(),
            heartbeat: false,
            counted: true,
            severity,
            summary: String::new(),
            runbook: None,
            starts_at: now(),
            silenced_by: None,
            inhibited: false,
            fingerprint: "f".into(),
            placement: vec![],
            sources: vec!["alertmanager".into()],
        };
        FeedUpdate {
            source: "alertmanager".into(),
            feed: Feed::Alerts,
            at: now(),
            result: Ok(Reading::Alerts(crate::domain::AlertsReading {
                alerts: vec![alert],
                silences: vec![],
            })),
            warnings: vec![],
        }
    }

    #[test]
    fn a_line_is_cut_at_a_word_with_an_ellipsis() {
        let line =
            "CRIT    p95 latency          unknown  < 200ms   no critical service reports latency";
        let cut80 = cut(line, 80);
        assert!(cut80.chars().count() <= 80);
        assert!(cut80.ends_with("reports…"), "{cut80}");
        assert_eq!(cut("short line", 80), "short line");
        assert!(cut(line, 40).ends_with('…') && cut(line, 40).chars().count() <= 40);
    }

    #[test]
    fn reasons_wrap_at_their_joins_and_every_one_is_kept() {
        let items = [
            "4 incidents (1 crit)",
            "2 services critical",
            "1 RPO breach",
        ];
        let lines = wrap("because ", &items, 40);
        assert_eq!(
            lines,
            [
                "because 4 incidents (1 crit)",
                "        2 services critical",
                "        1 RPO breach"
            ]
        );
        let wide = wrap("because ", &items, 80);
        assert_eq!(wide.len(), 1);
        assert!(wrap("because ", &[], 80).is_empty());
        let long = ["a reason far too long to fit in twenty columns"];
        assert!(wrap("because ", &long, 20)[0].ends_with('…'));
    }

    #[test]
    fn a_dead_mans_switch_firing_by_design_is_no_incident() {
        use crate::domain::Severity;
        let mut update = alerts(Severity::Critical);
        if let Ok(Reading::Alerts(a)) = &mut update.result {
            a.alerts[0].name = "PrometheusAlertmanagerE2eDeadManSwitch".into();
            a.alerts[0].heartbeat = true;
        }
        let (exit, json) = glance(vec![health(0.9995), update]);
        assert_eq!(
            (exit, json["state"].as_str()),
            (EXIT_OK, Some("ok")),
            "{json:#}"
        );
        assert_eq!(json["alerting"]["heartbeat"], "alive");
        assert_eq!(
            json["alerting"]["names"][0],
            "PrometheusAlertmanagerE2eDeadManSwitch"
        );
    }

    #[test]
    fn an_open_critical_incident_alone_is_a_breach() {
        use crate::domain::Severity;
        let (exit, json) = glance(vec![health(0.9995), alerts(Severity::Critical)]);
        assert_eq!(
            (exit, json["state"].as_str()),
            (EXIT_BREACH, Some("crit")),
            "{json:#}"
        );
        let (exit, _) = glance(vec![health(0.9995), alerts(Severity::Warning)]);
        assert_eq!(exit, EXIT_WARNING);
    }

    #[test]
    fn unknown_for_lack_of_data_does_not_change_the_exit_code() {
        // Backups, deployments and incidents never came: their KPIs are
        // unknown with a reason, and the glance is still ok.
        let (exit, json) = glance_only(vec![health(0.9995)]);
        assert_eq!(exit, EXIT_OK);
        let rpo = json["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == "rpo")
            .unwrap();
        assert_eq!(
            (rpo["state"].as_str(), rpo["value"].is_null()),
            (Some("unknown"), true)
        );
        assert_eq!(rpo["reason"], "no backup data");
        // Nothing at all: unknown, not ok, and exit 0 (nothing is wrong
        // that opsdeck knows of).
        let (exit, json) = glance_only(vec![]);
        assert_eq!((exit, json["state"].as_str()), (EXIT_OK, Some("unknown")));
    }
}
