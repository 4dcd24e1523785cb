//! The Prometheus source: its pure parts, and what it asks of a server
//! refresh after refresh.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use super::*;

#[test]
fn runs_of_points_are_incidents_and_the_open_one_is_not_resolved() {
    let points: Vec<(f64, f64)> = [1000.0, 1060.0, 1120.0, 2000.0, 2060.0, 5000.0]
        .iter()
        .map(|t| (*t, 1.0))
        .collect();
    let incidents = runs(&points, 60.0, 5030.0);
    let spans: Vec<(i64, i64)> = incidents
        .iter()
        .map(|i| (i.started.timestamp(), i.resolved.timestamp()))
        .collect();
    assert_eq!(
        spans,
        [(1000, 1120), (2000, 2060)],
        "the run at 5000 is still firing"
    );
}

#[test]
fn phases_from_any_pipeline_spelling() {
    assert_eq!(parse_phase("Healthy"), Phase::Complete);
    assert_eq!(parse_phase("rolled_back"), Phase::RolledBack);
    assert_eq!(parse_phase("weird"), Phase::Unknown);
}

/// A canned Prometheus on loopback that records what it is asked: every
/// instant query answers one sample, every range query a point every step
/// from its start to its end, valued a tenth of its timestamp. It is a
/// fake on purpose: what is under test is which queries are asked, which a
/// real server does not tell.
fn canned() -> (String, Arc<Mutex<Vec<String>>>) {
    canned_stalling(Arc::new(AtomicBool::new(false)))
}

/// The same, holding every answer to a query over a five-minute window
/// while `stall` is set.
fn canned_stalling(stall: Arc<AtomicBool>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (log, stall) = (log.clone(), stall.clone());
            thread::spawn(move || answer(stream, log, stall));
        }
    });
    (url, asked)
}

fn answer(
    stream: TcpStream,
    log: Arc<Mutex<Vec<String>>>,
    stall: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        let mut header = String::new();
        while reader.read_line(&mut header)? > 2 {
            header.clear();
        }
        let target = request.split_whitespace().nth(1).unwrap_or("/").to_string();
        let body = canned_body(&target);
        let five_minutes = target.contains("%5B5m%5D") || target.contains("[5m]");
        log.lock().unwrap().push(target);
        while five_minutes && stall.load(Ordering::SeqCst) {
            thread::sleep(std::time::Duration::from_millis(10));
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        out.write_all(format!("{head}{body}").as_bytes())?;
    }
}

fn canned_body(target: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let metric = r#"{"service":"checkout","instance":"host-1"}"#;
    if path.ends_with("query_range") {
        let (start, end) = (param(query, "start"), param(query, "end"));
        let values: Vec<String> = (start..=end)
            .step_by(5)
            .map(|t| format!(r#"[{t},"{}"]"#, t as f64 / 10.0))
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{metric},"values":[{}]}}]}}}}"#,
            values.join(",")
        )
    } else {
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{metric},"value":[0,"1"]}}]}}}}"#
        )
    }
}

fn param(query: &str, name: &str) -> i64 {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// The range queries asked since the last call, as (start, end), and how
/// many instant queries.
fn asked_since(asked: &Mutex<Vec<String>>) -> (Vec<(i64, i64)>, usize) {
    let all = std::mem::take(&mut *asked.lock().unwrap());
    let (ranges, instants): (Vec<_>, Vec<_>) = all.iter().partition(|t| t.contains("query_range"));
    let ranges = ranges
        .iter()
        .map(|t| {
            let query = t.split_once('?').map_or("", |(_, q)| q);
            (param(query, "start"), param(query, "end"))
        })
        .collect();
    (ranges, instants.len())
}

/// A source of the canned server that holds the five-minute answers while
/// the flag is set.
fn stalling_source() -> (PrometheusSource, Arc<AtomicBool>, Arc<Mutex<Vec<String>>>) {
    let stall = Arc::new(AtomicBool::new(false));
    let (url, asked) = canned_stalling(stall.clone());
    let endpoint = Endpoint::plain("prometheus", url.parse().unwrap());
    let source = PrometheusSource::new(endpoint, &Config::default()).unwrap();
    (source, stall, asked)
}

/// Every kept group as if asked 11 s earlier: the 10 s groups due again.
fn next_round(source: &PrometheusSource) {
    for kept in source.reused.lock().unwrap().values_mut() {
        kept.age(std::time::Duration::from_secs(11));
    }
}

/// Until the 10 s groups' background asks are in (at most 2 s).
async fn settled(source: &PrometheusSource) {
    for _ in 0..200 {
        if !source.settling(&[&GAUGES, &FIVE_MINUTE_WINDOWS]) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_refresh_asks_only_the_new_steps_and_the_windows_that_are_due() {
    let (url, asked) = canned();
    let endpoint = Endpoint::plain("prometheus", url.parse().unwrap());
    let source = PrometheusSource::new(endpoint, &Config::default()).unwrap();
    let base = 1_795_316_400;
    let at = |secs: i64| DateTime::from_timestamp(secs, 500_000_000).unwrap();
    let history = |h: &HealthReading| h.services[0].traffic_history.clone();
    let whole = |end: i64| -> Vec<f64> {
        (end - 300..=end)
            .step_by(5)
            .map(|t| t as f64 / 10.0)
            .collect()
    };

    let first = source.health(at(base)).await.unwrap().value;
    let (ranges, instants) = asked_since(&asked);
    assert_eq!(
        ranges,
        [(base - 300, base); 2],
        "traffic and host CPU, whole"
    );
    assert_eq!(
        instants,
        1 + 4 + 3 + 5 + 4 + 6 + 1 + 1 + 6,
        "the detection of conventions and every instant query (the coverage, the disk forecast and the baselines last), once"
    );
    assert_eq!(history(&first), whole(base));
    assert_eq!(first.hosts[0].cpu_history, whole(base));

    let same_step = source.health(at(base + 3)).await.unwrap().value;
    let (ranges, instants) = asked_since(&asked);
    assert!(ranges.is_empty(), "no new step is due: {ranges:?}");
    assert_eq!(
        instants, 4,
        "only the hosts: the gauges and the 5-minute, 30m/1h and SLO windows are reused"
    );
    assert_eq!(history(&same_step), whole(base));

    let next_step = source.health(at(base + 7)).await.unwrap().value;
    let (ranges, _) = asked_since(&asked);
    assert_eq!(ranges, [(base + 5, base + 5)], "the hosts' step, one point");
    assert_eq!(next_step.hosts[0].cpu_history, whole(base + 5));
    assert_eq!(
        history(&next_step),
        whole(base),
        "the traffic lines' step waits for the services' next answers"
    );

    // The services' next round: built again, with the steps since.
    next_round(&source);
    source.health(at(base + 12)).await.unwrap();
    settled(&source).await;
    let next_round = source.health(at(base + 12)).await.unwrap().value;
    let (ranges, _) = asked_since(&asked);
    assert_eq!(
        ranges,
        [(base + 10, base + 10), (base + 5, base + 10)],
        "the hosts' step, then the traffic lines' two, once the round is in"
    );
    assert_eq!(
        history(&next_round),
        whole(base + 10),
        "as the whole range gives"
    );
}

#[tokio::test]
async fn a_stalled_window_query_never_holds_up_the_refresh() {
    let (source, stall, asked) = stalling_source();
    let first = source.health(Utc::now()).await.unwrap().value;
    assert_eq!(first.services[0].requests_per_second, 1.0);
    asked.lock().unwrap().clear();

    // The five-minute answers are now past their 5 s, and the server will
    // never answer them again.
    stall.store(true, Ordering::SeqCst);
    next_round(&source);
    for refresh in 0..3 {
        let reading =
            tokio::time::timeout(std::time::Duration::from_secs(5), source.health(Utc::now()))
                .await
                .expect("the refresh does not wait for the stalled queries")
                .unwrap()
                .value;
        assert_eq!(
            reading.services[0].requests_per_second, 1.0,
            "refresh {refresh}: the kept answer, not unknown"
        );
    }
    let five_minute = || {
        asked
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.contains("%5B5m%5D") || t.contains("[5m]"))
            .count()
    };
    // The background ask is a task of its own: on a loaded machine it may
    // not have sent its queries yet.
    for _ in 0..40 {
        if five_minute() >= FIVE_MINUTE_WINDOWS.names.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let five_minute = five_minute();
    assert_eq!(
        five_minute,
        FIVE_MINUTE_WINDOWS.names.len(),
        "one fresh ask in the background, not one per refresh"
    );
}

#[tokio::test]
async fn a_round_of_fresh_answers_builds_one_reading() {
    let (source, stall, asked) = stalling_source();
    // Mid-round, so that 11 s later is the next round of 10 s.
    let now = DateTime::from_timestamp(Utc::now().timestamp() / 5 * 5 + 2, 0).unwrap();
    let first = source.health(now).await.unwrap().value.services;

    // A round later: the gauges answer at once, the five-minute windows
    // are held, and a new step of the traffic lines is due.
    stall.store(true, Ordering::SeqCst);
    next_round(&source);
    let later = now + Duration::seconds(11);
    asked.lock().unwrap().clear();
    let groups = [&GAUGES, &FIVE_MINUTE_WINDOWS];
    let waiting = source.health(later).await.unwrap().value.services;
    assert!(source.settling(&groups), "the round is still coming");
    assert!(
        Arc::ptr_eq(&first, &waiting),
        "not built from part of a round's answers"
    );
    let gauges_in = || source.reused.lock().unwrap()["saturation"].of == later;
    for _ in 0..200 {
        if gauges_in() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(gauges_in(), "the gauges' fresh answers came");
    let again = source.health(later).await.unwrap().value.services;
    assert!(
        Arc::ptr_eq(&first, &again),
        "the gauges' fresh answers wait for the five-minute windows"
    );
    let ranges = |asked: &Mutex<Vec<String>>| {
        let asked = asked.lock().unwrap();
        asked.iter().filter(|t| t.contains("query_range")).count()
    };
    assert_eq!(ranges(&asked), 1, "the hosts' CPU step only: {asked:?}");

    stall.store(false, Ordering::SeqCst);
    settled(&source).await;
    let built = source.health(later).await.unwrap().value.services;
    assert!(!Arc::ptr_eq(&first, &built), "built once the round is in");
    assert_eq!(ranges(&asked), 2, "with the traffic lines' step");
    let still = source.health(later).await.unwrap().value.services;
    assert!(Arc::ptr_eq(&built, &still), "and not again");
}

#[test]
fn groups_are_due_again_at_the_next_round_of_their_interval() {
    let every = std::time::Duration::from_secs(5);
    let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap();
    let answers = Answers {
        by_name: BTreeMap::new(),
        warnings: Vec::new(),
    };
    // Asked 3 s ago, at 1,001 s: due from 1,005, with the round.
    let asked = Instant::now() - std::time::Duration::from_secs(3);
    let kept = Kept::new(answers.clone(), asked, at(1_001));
    assert!(!kept.due(every, at(1_004)), "the same round");
    assert!(kept.due(every, at(1_005)), "the next");
    // Asked at 1,004 s, a moment ago: not again at 1,005 s, though a new
    // round has begun, before half the interval has passed.
    let just = Kept::new(answers, Instant::now(), at(1_004));
    assert!(!just.due(every, at(1_005)));
}

#[test]
fn a_reading_is_built_again_only_from_other_answers() {
    let built: Built<usize> = Built::new();
    let answer = Arc::new(Vec::new());
    let builds = std::cell::Cell::new(0);
    let build = || {
        builds.set(builds.get() + 1);
        builds.get()
    };
    assert_eq!(built.or_build(vec![Some(answer.clone()), None], build), 1);
    assert_eq!(
        built.or_build(vec![Some(answer.clone()), None], build),
        1,
        "the same answers: the same reading, not built again"
    );
    assert_eq!(
        built.or_build(vec![Some(Arc::new(Vec::new())), None], build),
        2,
        "a fresh answer, even an equal one, is built from"
    );
    assert_eq!(
        built.or_build(vec![Some(answer.clone())], build),
        3,
        "fewer answers"
    );
    assert_eq!(built.or_build(vec![None], build), 4, "one answer gone");
}

#[tokio::test]
async fn anomalies_turned_off_ask_no_baselines() {
    let (url, asked) = canned();
    let endpoint = Endpoint::plain("prometheus", url.parse().unwrap());
    let mut config = Config::default();
    config.thresholds.anomaly_deviations = 0.0;
    let source = PrometheusSource::new(endpoint, &config).unwrap();
    source.health(Utc::now()).await.unwrap();
    let all = std::mem::take(&mut *asked.lock().unwrap());
    let baselines = |all: &[String]| all.iter().filter(|t| t.contains("opsdeck_stat")).count();
    assert_eq!(baselines(&all), 0, "{all:?}");
    // On by default: the six.
    let (url, asked) = canned();
    let endpoint = Endpoint::plain("prometheus", url.parse().unwrap());
    let source = PrometheusSource::new(endpoint, &Config::default()).unwrap();
    source.health(Utc::now()).await.unwrap();
    let all = std::mem::take(&mut *asked.lock().unwrap());
    assert_eq!(baselines(&all), 6, "{all:?}");
}
