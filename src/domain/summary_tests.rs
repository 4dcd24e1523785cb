//! Tests of `summary`: one verdict, its reasons and the tabs' marks.
use super::*;
use crate::demo::DemoEstate;
use chrono::{Duration, TimeZone};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

fn parts<'a>(
    services: &'a [ServiceHealth],
    hosts: &'a [Host],
    incidents: &'a [Incident],
    backups: &'a [Backup],
    t: &'a Thresholds,
    o: &'a Objectives,
) -> Parts<'a> {
    Parts {
        services: Some(services),
        hosts: Some(hosts),
        incidents: Some(incidents),
        pipeline: &Pipeline::Unknown,
        backups: Some(backups),
        deployments: Some(&[]),
        kpis: &[],
        thresholds: t,
        objectives: o,
        now: now(),
    }
}

#[test]
fn an_unusual_figure_is_a_warning_of_its_own_unless_the_service_is_critical() {
    use crate::domain::anomaly::{Baseline, Basis};
    let (t, o) = (Thresholds::default(), Objectives::default());
    let mut s = ServiceHealth::unknown("search", "test");
    (s.requests_per_second, s.error_ratio) = (300.0, 0.0);
    (s.latency_p95_ms, s.latency_p99_ms) = (50.0, 90.0);
    (s.targets_up, s.targets_total) = (2, 2);
    s.baselines.traffic = Some(Baseline {
        mean: 100.0,
        deviation: 20.0,
        basis: Basis::Week { days: 7 },
    });
    let texts = |services: &[ServiceHealth]| -> (Status, Vec<String>) {
        let sum = summarise(&parts(services, &[], &[], &[], &t, &o));
        let texts = sum.reasons.iter().map(|r| r.text.clone()).collect();
        (sum.marks.health, texts)
    };
    let (mark, said) = texts(std::slice::from_ref(&s));
    assert_eq!(mark, Status::Warn, "{said:?}");
    assert!(
        said.contains(&"search traffic ↑10σ unusual".to_string()),
        "{said:?}"
    );
    assert!(!said.iter().any(|r| r.contains("degraded")), "{said:?}");
    // Critical by its errors: counted as critical, not again as unusual.
    s.error_ratio = 0.2;
    let (mark, said) = texts(std::slice::from_ref(&s));
    assert_eq!(mark, Status::Crit);
    assert!(said.contains(&"1 service critical".to_string()), "{said:?}");
    assert!(!said.iter().any(|r| r.contains("unusual")), "{said:?}");
}

#[test]
fn every_state_above_ok_has_a_reason_worst_first() {
    let demo = DemoEstate::new(11, now());
    let health = demo.health_at(now());
    let incidents = crate::domain::incidents::group(&demo.alerts_at(now()).alerts);
    let backups = demo.backups_at(now());
    let (t, o) = (Thresholds::default(), Objectives::default());
    let s = summarise(&parts(
        &health.services,
        &health.hosts,
        &incidents,
        &backups,
        &t,
        &o,
    ));
    assert_eq!(s.status, Status::Crit);
    let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
    assert!(
        texts.iter().any(|r| r.ends_with("incidents (1 crit)")),
        "{texts:?}"
    );
    assert!(texts.contains(&"1 RPO breach"), "{texts:?}");
    assert!(texts.contains(&"1 host critical"), "db-02 disk: {texts:?}");
    assert!(
        texts.contains(&"1 drill over RTO"),
        "a readiness risk, a warning: {texts:?}"
    );
    assert!(
        texts.contains(&"1 drill stale"),
        "search-index, 120 days: {texts:?}"
    );
    assert!(
        texts.contains(&"1 backup unverified"),
        "media-bucket: {texts:?}"
    );
    assert!(texts.contains(&"1 target never drilled"), "{texts:?}");
    assert!(s.reasons.windows(2).all(|w| w[0].status >= w[1].status));
}

#[test]
fn a_never_drilled_target_alone_is_unknown_and_says_why() {
    let (t, o) = (Thresholds::default(), Objectives::default());
    let backup = Backup {
        service: None,
        target: "config-etcd".into(),
        tier: crate::domain::Tier::Critical,
        last_success: Some(now() - Duration::minutes(1)),
        size_bytes: 1.0,
        duration: Some(Duration::seconds(10)),
        last_verified: Some(now() - Duration::hours(1)),
        last_drill: None,
        runs: None,
        ..Default::default()
    };
    let s = summarise(&parts(&[], &[], &[], std::slice::from_ref(&backup), &t, &o));
    assert_eq!(s.status, Status::Unknown);
    assert_eq!(s.reasons[0].text, "1 target never drilled");
}

fn deployment(phase: crate::domain::Phase, started: Duration) -> Deployment {
    Deployment {
        service: "checkout".into(),
        environment: "prod".into(),
        version: "v2".into(),
        previous_version: Some("v1".into()),
        strategy: crate::domain::Strategy::Rolling {
            updated: 1,
            total: 3,
        },
        phase,
        deployed_at: Some(now() - started),
        rollbacks: 0,
        history: vec![],
        window: None,
        canary: None,
    }
}

#[test]
fn a_failed_deployment_is_a_breach_and_a_stalled_one_a_warning() {
    use crate::domain::Phase;
    let (t, o) = (Thresholds::default(), Objectives::default());
    let judge = |d: Vec<Deployment>| {
        let mut p = parts(&[], &[], &[], &[], &t, &o);
        p.deployments = Some(&d);
        let s = summarise(&p);
        (
            s.status,
            s.marks.deploys,
            s.reasons.first().map(|r| r.text.clone()),
        )
    };
    assert_eq!(
        judge(vec![deployment(Phase::Failed, Duration::minutes(3))]),
        (
            Status::Crit,
            Status::Crit,
            Some("1 deployment failed".into())
        )
    );
    // Progressing 11 minutes: past the 10-minute deadline.
    assert_eq!(
        judge(vec![
            deployment(Phase::Progressing, Duration::minutes(11)),
            deployment(Phase::Progressing, Duration::minutes(11)),
        ]),
        (
            Status::Warn,
            Status::Warn,
            Some("2 deployments stalled".into())
        )
    );
    assert_eq!(
        judge(vec![deployment(Phase::Progressing, Duration::minutes(9))]),
        (Status::Ok, Status::Ok, None)
    );
    assert_eq!(
        judge(vec![deployment(Phase::RolledBack, Duration::minutes(30))]),
        (
            Status::Warn,
            Status::Warn,
            Some("1 deployment paused or rolled back".into())
        )
    );
}

#[test]
fn a_canary_worse_than_stable_is_a_breach_with_its_own_reason() {
    use crate::domain::Phase;
    use crate::domain::canary::{Basis, Canary, CanaryThresholds, VersionFigures};
    let (t, o) = (Thresholds::default(), Objectives::default());
    let figures = |error_ratio| VersionFigures {
        error_ratio,
        p95: 0.1,
    };
    let mut d = deployment(Phase::Progressing, Duration::minutes(3));
    d.canary = Some(Canary::judge(
        figures(0.04),
        figures(0.002),
        Basis::BeforeAfter { minutes: 3 },
        &CanaryThresholds::default(),
    ));
    let list = vec![d];
    let mut p = parts(&[], &[], &[], &[], &t, &o);
    p.deployments = Some(&list);
    let s = summarise(&p);
    assert_eq!((s.status, s.marks.deploys), (Status::Crit, Status::Crit));
    let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, ["1 canary worse than stable"]);
}

#[test]
fn a_tile_off_its_objective_marks_the_kpi_tab_and_says_which() {
    use crate::domain::kpi::{Goal, Unit};
    let (t, o) = (Thresholds::default(), Objectives::default());
    let tile = |id: &'static str, title: &str, status: Status| Kpi {
        id,
        title: title.into(),
        value: Some(1.0),
        objective: Some(0.5),
        unit: Unit::Seconds,
        goal: Goal::Below,
        status,
        note: String::new(),
        trend: vec![],
        parts: Default::default(),
        queries: &[],
        window: None,
        covered: None,
    };
    let kpis = [
        tile("mttr", "MTTR 30d", Status::Crit),
        tile("mtbf", "MTBF 30d", Status::Unknown),
        tile("burn_rate", "Burn rate 1h", Status::Warn),
    ];
    let mut p = parts(&[], &[], &[], &[], &t, &o);
    p.kpis = &kpis;
    let s = summarise(&p);
    assert_eq!((s.status, s.marks.kpis), (Status::Crit, Status::Crit));
    let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
    // The burn is the services' to explain, and is outranked here.
    assert_eq!(texts, ["MTTR 30d above objective"]);
    // A burn no service row explains still counts, by its title.
    let burn = [tile("burn_rate", "Burn rate 1h", Status::Warn)];
    p.kpis = &burn;
    let s = summarise(&p);
    assert_eq!(s.status, Status::Warn);
    assert_eq!(s.reasons[0].text, "Burn rate 1h");
}

#[test]
fn a_heartbeat_gone_warns_and_an_incident_not_counted_is_no_part_of_the_verdict() {
    let (t, o) = (Thresholds::default(), Objectives::default());
    let demo = DemoEstate::new(11, now());
    let mut incidents = crate::domain::incidents::group(&demo.alerts_at(now()).alerts);
    assert!(!incidents.is_empty());
    for i in &mut incidents {
        i.counted = false;
    }
    let gone = Pipeline::Gone(vec!["Watchdog".into()]);
    let mut p = parts(&[], &[], &incidents, &[], &t, &o);
    p.pipeline = &gone;
    let s = summarise(&p);
    assert_eq!((s.status, s.marks.incidents), (Status::Warn, Status::Warn));
    let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, ["alerting pipeline heartbeat gone (Watchdog)"]);
    let alive = Pipeline::Alive(vec!["Watchdog".into()]);
    p.pipeline = &alive;
    assert_eq!(summarise(&p).status, Status::Ok);
}

#[test]
fn missing_feeds_are_unknown_not_ok() {
    let (t, o) = (Thresholds::default(), Objectives::default());
    let s = summarise(&Parts {
        services: None,
        hosts: None,
        incidents: Some(&[]),
        pipeline: &Pipeline::Unknown,
        backups: None,
        deployments: None,
        kpis: &[],
        thresholds: &t,
        objectives: &o,
        now: now(),
    });
    assert_eq!(s.status, Status::Unknown);
    assert_eq!(s.reasons[0].text, "no health, backups, deployments data");
    let all_clear = summarise(&parts(&[], &[], &[], &[], &t, &o));
    assert_eq!((all_clear.status, all_clear.reasons.len()), (Status::Ok, 0));
}
