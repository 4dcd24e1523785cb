//! Tests of the KPIs over time: backup success, deploys a day, the window's
//! coverage, MTBF with open incidents.

use super::*;

/// A KPI over more services than the drill-down can use keeps the worst
/// `PARTS_KEPT`, exactly the first ones of the whole list sorted worst
/// first, and counts the rest.
#[test]
fn a_kpi_keeps_its_worst_parts_and_counts_them_all() {
    let n = PARTS_KEPT * 3 + 7;
    // Error ratios in a scrambled order, some equal, so ties are broken by
    // name as in the full sort.
    let services: Vec<ServiceHealth> = (0..n)
        .map(|i| {
            let ratio = ((i * 37) % 101) as f64 / 1000.0;
            svc(&format!("svc-{i:03}"), Tier::Standard, 0.0, 10.0, ratio)
        })
        .collect();
    let k = kpis(&services, None);
    let rate = by_id(&k, "error_rate");
    assert_eq!(rate.parts.total, n);
    assert_eq!(rate.parts.len(), PARTS_KEPT);
    // The error rate KPI's rule for each service, as documented.
    let (objective, threshold) = (
        Objectives::default().error_ratio,
        Thresholds::default().error_ratio,
    );
    let mut all: Vec<(Status, f64, String)> = services
        .iter()
        .map(|s| {
            let status = match s.error_ratio {
                r if r >= threshold => Status::Crit,
                r if r > objective => Status::Warn,
                _ => Status::Ok,
            };
            (status, s.error_ratio, s.name.clone())
        })
        .collect();
    all.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
    let kept: Vec<&str> = rate.parts.iter().map(|p| p.name.as_str()).collect();
    let expected: Vec<&str> = all[..PARTS_KEPT].iter().map(|t| t.2.as_str()).collect();
    assert_eq!(kept, expected);
}

#[test]
fn a_negative_or_infinite_latency_is_not_a_latency() {
    let mut services = vec![svc("a", Tier::Critical, 0.0, 10.0, 0.0)];
    for bad in [-5000.0, f64::INFINITY, f64::NAN] {
        services[0].latency_p95_ms = bad;
        let k = kpis(&services, None);
        let p95 = by_id(&k, "latency_p95");
        assert_eq!((p95.status, p95.value), (Status::Unknown, None), "{bad}");
    }
}

#[test]
fn six_minutes_of_data_say_so_and_spend_no_more_than_six_minutes() {
    // 6.9% bad over the 6 minutes a fresh server holds: the ratio is
    // what it is (-6800% of budget left), but the minutes are the span's.
    let mut fresh = svc("checkout", Tier::Critical, 0.069, 10.0, 0.069);
    fresh.covered = Some(Duration::minutes(6));
    let k = kpis(std::slice::from_ref(&fresh), None);
    let budget = find(&k, "Error budget left");
    assert_eq!(budget.window, Some(Duration::days(30)));
    assert_eq!(budget.covered, Some(Duration::minutes(6)));
    // 6.9% of 360 s is 24.84 s spent; 0.1% of 360 s is 0.36 s allowed:
    // 24.48 s over.
    assert_eq!(
        budget.note, "6 min of data · lowest checkout · 24s over 0.36s",
        "never 2980 min over 43.2"
    );
    let availability = find(&k, "Availability 30d");
    assert!(
        availability
            .note
            .starts_with("6 min of data · worst checkout"),
        "{}",
        availability.note
    );
    // The hour's burn covers its 6 minutes too.
    let burn = find(&k, "Burn rate 1h");
    assert_eq!(
        (burn.window, burn.covered),
        (Some(Duration::hours(1)), Some(Duration::minutes(6)))
    );
    // A whole window says nothing of coverage.
    let mut old = fresh.clone();
    old.covered = Some(Duration::days(45));
    let k = kpis(std::slice::from_ref(&old), None);
    let budget = find(&k, "Error budget left");
    assert_eq!(budget.covered, Some(Duration::days(30)));
    assert!(
        budget.note.starts_with("lowest checkout"),
        "{}",
        budget.note
    );
}

#[test]
fn deploys_a_day_are_per_day_of_data_and_at_least_a_day() {
    use crate::domain::{ChangeCounts, Deployment, Phase, Strategy};
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    let deployment = Deployment {
        service: "checkout".into(),
        environment: "prod".into(),
        version: "v2".into(),
        previous_version: None,
        strategy: Strategy::Rolling {
            updated: 1,
            total: 1,
        },
        phase: Phase::Complete,
        deployed_at: Some(now),
        rollbacks: 0,
        history: vec![],
        window: Some(ChangeCounts {
            deploys: 6,
            rollbacks: Some(0),
        }),
        canary: None,
    };
    let per_day = |covered: Option<Duration>| {
        let mut s = svc("checkout", Tier::Critical, 0.0, 10.0, 0.0);
        s.covered = covered;
        let services = [s];
        let deployments = [deployment.clone()];
        let k = compute(&Inputs {
            services: &services,
            backups: &[],
            deployments: Some(&deployments),
            resolved: None,
            open: &[],
            objectives: &Objectives::default(),
            thresholds: &Thresholds::default(),
            now,
        });
        k.iter().find(|k| k.id == "deploy_frequency").unwrap().value
    };
    assert_eq!(per_day(None), Some(6.0 / 30.0), "the whole window");
    assert_eq!(
        per_day(Some(Duration::days(3))),
        Some(2.0),
        "3 days of data"
    );
    assert_eq!(
        per_day(Some(Duration::minutes(6))),
        Some(6.0),
        "a day at least"
    );
}

#[test]
fn mtbf_counts_an_open_incident_from_its_start_so_resolving_it_moves_nothing() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    let at = |h: i64| now - Duration::hours(h);
    let done = |h: i64| ResolvedIncident {
        started: at(h),
        resolved: at(h) + Duration::minutes(20),
    };
    let mtbf = |resolved: &[ResolvedIncident], open: &[DateTime<Utc>]| {
        let k = compute(&Inputs {
            services: &[],
            backups: &[],
            deployments: None,
            resolved: Some(resolved),
            open,
            objectives: &Objectives::default(),
            thresholds: &Thresholds::default(),
            now,
        });
        k.iter().find(|k| k.id == "mtbf").unwrap().value
    };
    // Failures started 30, 20 and 1 hours ago: gaps of 10 h and 19 h.
    let open = mtbf(&[done(30), done(20)], &[at(1)]);
    assert_eq!(open, Some(14.5 * 3600.0));
    let resolved = mtbf(&[done(30), done(20), done(1)], &[]);
    assert_eq!(open, resolved, "resolving it adds no failure");
}
