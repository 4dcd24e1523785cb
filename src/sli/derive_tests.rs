//! Tests of `derive.rs`: the queries' shapes and sizes.

use super::*;
use crate::sli::catalogue::{EMBEDDED, parse};
use crate::sli::{SliSet, SliSpec};

fn catalogue() -> Vec<crate::sli::Convention> {
    EMBEDDED.iter().map(|(n, t)| parse(n, t).unwrap()).collect()
}

fn labels() -> Vec<String> {
    ["service", "job"].iter().map(|s| s.to_string()).collect()
}

fn query(set: &SliSet, name: &str) -> String {
    derive(set, ("30d", 2_592_000))
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
}

#[test]
fn every_name_is_derived_once() {
    let set = SliSet::build(&catalogue(), &SliSpec::Detect, &[], &[], &labels());
    let names: Vec<&str> = derive(&set, ("30d", 1)).iter().map(|(n, _)| *n).collect();
    assert_eq!(names, NAMES);
}

#[test]
fn each_detected_convention_is_one_marked_part_of_one_query() {
    let detected = vec!["flask".to_string(), "caddy".to_string()];
    let set = SliSet::build(&catalogue(), &SliSpec::Detect, &[], &detected, &labels());
    let ids: Vec<&str> = set.branches.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["flask", "caddy"], "the app before the proxy");
    let q = query(&set, "error_ratio_1h");
    // Each part marked by its rank: flask 0, caddy 1.
    assert_eq!(q.matches(r#""opsdeck_sli", "0""#).count(), 3, "{q}");
    assert_eq!(set.rank(Some("1")), Some(1));
    assert_eq!(set.rank(Some("2")), None);
    assert!(q.contains(r#"rate(flask_http_request_total{status=~"5.."}[1h])"#));
    assert!(q.contains(r#"rate(caddy_http_request_duration_seconds_count{code=~"5.."}[1h])"#));
    let window = query(&set, "errors_window");
    assert!(window.contains(r#"increase(flask_http_request_total{status=~"5.."}[30d])"#));
}

#[test]
fn milliseconds_become_seconds_and_a_convention_without_latency_is_left_out() {
    let detected = vec!["otel-http".to_string(), "haproxy".to_string()];
    let set = SliSet::build(&catalogue(), &SliSpec::Detect, &[], &detected, &labels());
    let q = query(&set, "latency_p99");
    assert!(q.contains("histogram_quantile(0.99"));
    assert!(q.contains("* 0.001"), "{q}");
    assert!(!q.contains("haproxy"), "{q}");
    assert!(q.contains("group_left (service_name)"), "{q}");
    assert!(query(&set, "requests").contains("haproxy_backend_http_responses_total"));
}

#[test]
fn probes_count_each_probe_and_each_failure() {
    let set = SliSet::build(
        &catalogue(),
        &SliSpec::Convention("blackbox".into()),
        &[],
        &[],
        &labels(),
    );
    let q = query(&set, "errors");
    assert!(
        q.contains("count_over_time(probe_success[5m]) - sum_over_time(probe_success[5m])"),
        "{q}"
    );
    // One branch: nothing to mark, and an unmarked series is its.
    assert!(!q.contains("opsdeck_sli\","), "{q}");
    assert_eq!(set.rank(None), Some(0));
    assert!(
        query(&set, "latency_p95").contains("quantile_over_time(0.95, probe_duration_seconds[5m])")
    );
}

#[test]
fn the_users_own_sli_with_good_requests_and_one_services_own() {
    let own = crate::sli::OwnSli {
        total: r#"app_requests_total{env="prod"}"#.into(),
        bad: crate::sli::Bad::Good(r#"app_requests_total{env="prod",ok="yes"}"#.into()),
        latency: Some(r#"app_seconds{env="prod"}"#.into()),
        latency_scale: 1.0,
    };
    let set = SliSet::build(
        &catalogue(),
        &SliSpec::Convention("flask".into()),
        &[("billing".into(), SliSpec::Own(own))],
        &[],
        &labels(),
    );
    assert_eq!(set.branches[0].id, "own:billing");
    let q = query(&set, "errors");
    assert!(q.contains(r#"label_replace(sum by () (rate(app_requests_total{env="prod"}[5m])), "opsdeck_service", "billing", "", "")"#), "{q}");
    assert!(query(&set, "latency_p95").contains(r#"app_seconds_bucket{env="prod"}"#));
}

#[test]
fn every_query_stays_short_enough_for_victoriametrics_with_every_convention() {
    // VictoriaMetrics refuses a query over 16 KiB (-search.maxQueryLen).
    let all: Vec<String> = catalogue().iter().map(|c| c.name.clone()).collect();
    let set = SliSet::build(&catalogue(), &SliSpec::Detect, &[], &all, &labels());
    let default = crate::sli::DEFAULT_SERVICE_LABELS
        .map(String::from)
        .to_vec();
    let wide = SliSet {
        labels: default.clone(),
        ..set
    };
    let sizes: Vec<(&str, usize)> = derive(&wide, ("30d", 2_592_000))
        .iter()
        .map(|(n, q)| (*n, q.len()))
        .collect();
    assert!(sizes.iter().all(|(_, n)| *n < MAX_QUERY), "{sizes:?}");
    assert!(detection(&catalogue(), &default).len() < MAX_QUERY);
}

#[test]
fn an_estate_of_a_few_conventions_keeps_every_baseline_whole() {
    // Three at once (an app library, a proxy, OpenTelemetry) over the
    // default labels: the week's and the day's statistics all fit.
    let some: Vec<String> = ["prometheus-client", "caddy", "otel-http"]
        .map(String::from)
        .to_vec();
    let set = SliSet::build(&catalogue(), &SliSpec::Detect, &[], &some, &labels());
    let set = SliSet {
        labels: crate::sli::DEFAULT_SERVICE_LABELS
            .map(String::from)
            .to_vec(),
        ..set
    };
    for name in [
        "baseline_requests",
        "baseline_error_ratio",
        "baseline_latency_p95",
    ] {
        let week = query(&set, name);
        assert!(
            week.contains(r#""week_sd""#) && week.contains(DAY_SHIFT),
            "{name}"
        );
        let day = query(&set, &format!("{name}_day"));
        assert!(day.contains(r#""day_n""#), "{name}_day: {}", day.len());
    }
}

#[test]
fn the_day_shift_takes_a_midnight_back_to_this_time_of_day() {
    // 2026-12-07 09:30:00 UTC: 14.5 h to midnight.
    let now = 1_796_635_800;
    assert_eq!(now % 86_400, 9 * 3_600 + 1_800);
    assert_eq!(at_time("x offset {day_shift}", now), "x offset 52200s");
    assert_eq!(
        at_time("x offset {day_shift}", now - now % 86_400),
        "x offset 86400s"
    );
    assert!(matches!(
        at_time("up", now),
        std::borrow::Cow::Borrowed("up")
    ));
}

/// Each branch of `set` as a part of the queries, in rank order.
fn parts_of(set: &SliSet) -> Vec<Part<'_>> {
    set.branches
        .iter()
        .enumerate()
        .map(|(r, b)| Part::new(r, b, set))
        .collect()
}

#[test]
fn one_chain_over_every_part_keeps_each_parts_order_of_labels() {
    let all: Vec<String> = catalogue().iter().map(|c| c.name.clone()).collect();
    let default = crate::sli::DEFAULT_SERVICE_LABELS
        .map(String::from)
        .to_vec();
    let set = SliSet::build(&catalogue(), &SliSpec::Detect, &[], &all, &default);
    let parts = parts_of(&set);
    let merged = merged_labels(&parts);
    for p in &parts {
        let at: Vec<usize> = p
            .labels
            .iter()
            .map(|l| merged.iter().position(|m| m == l).unwrap())
            .collect();
        assert!(
            at.is_sorted(),
            "{}: {:?} in {merged:?}",
            p.branch.id,
            p.labels
        );
    }
    assert_eq!(merged.last().map(String::as_str), Some("job"));
    // A configured list that puts HAProxy's label after the job.
    let odd: Vec<String> = ["service_name", "job", "proxy"].map(String::from).to_vec();
    let set = SliSet::build(&catalogue(), &SliSpec::Detect, &[], &all, &odd);
    let parts = parts_of(&set);
    let merged = merged_labels(&parts);
    let at = |l: &str| merged.iter().position(|m| m == l).unwrap();
    assert!(at("proxy") < at("job"), "{merged:?}");
}

#[test]
fn detection_asks_every_convention_in_one_query() {
    let q = detection(&catalogue(), &labels());
    assert_eq!(q.matches(r#""opsdeck_sli""#).count(), EMBEDDED.len());
    assert!(q.contains(r#"istio_requests_total{reporter="destination"}"#));
}

#[test]
fn a_query_for_some_services_names_each_raw_name_once_and_never_too_long() {
    let names = ["shop", r#"we"ird\x"#, "cost$1", "two\nlines"].map(String::from);
    let q = for_services("sum by (opsdeck_service) (up)", &names).unwrap();
    assert!(q.starts_with("(sum by (opsdeck_service) (up)) and on (opsdeck_service) ("));
    assert!(q.contains(r#""opsdeck_service", "shop", "", """#), "{q}");
    assert!(
        q.contains(r#""we\"ird\\x""#),
        "quote and backslash escaped: {q}"
    );
    assert!(q.contains(r#""cost$$1""#), "a replacement's $ doubled: {q}");
    assert!(q.contains(r#""two\u000alines""#), "no raw line break: {q}");
    assert_eq!(q.matches(" or ").count(), 3);
    assert_eq!(for_services("up", &[]), None, "no service, no query");
    let many: Vec<String> = (0..300).map(|i| format!("service-number-{i:04}")).collect();
    assert_eq!(
        for_services("up", &many),
        None,
        "past VictoriaMetrics' limit"
    );
    let screenful: Vec<String> = many[..60].to_vec();
    assert!(for_services("up", &screenful).is_some_and(|q| q.len() < MAX_QUERY));
}
