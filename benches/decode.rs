//! Decoding API responses through the sources' public entry points, over a
//! canned HTTP server on loopback (the decode steps themselves are private):
//! - Prometheus `PrometheusApi::query`: an instant vector of 10, 1,000 and
//!   10,000 series, and `query_range`: a range of as many series with 61
//!   points each (the health feed's five-minute traffic history, as asked
//!   on the first refresh) and with one point each (as asked once a step
//!   after that);
//! - Alertmanager `AlertmanagerSource::alerts`: 10, 1,000 and 10,000 alerts
//!   (v2 `/api/v2/alerts`), with a page of silences beside them.
//!
//! Each includes one loopback round trip on a kept-alive connection; the
//! `empty` cases measure that alone, to subtract.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use chrono::{Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opsdeck::config::file::Endpoint;
use opsdeck::config::limits::DEFAULT_MAX_ALERTS;
use opsdeck::demo::scaled::service_name;
use opsdeck::sources::AlertSource;
use opsdeck::sources::alertmanager::AlertmanagerSource;
use opsdeck::sources::http::HttpClient;
use opsdeck::sources::prometheus::PrometheusApi;

mod support;

const SIZES: [usize; 4] = [0, 10, 1_000, 10_000];
const NOW: f64 = 1_795_316_400.0;

/// Bodies by request path (without the query string).
type Routes = Arc<BTreeMap<&'static str, Vec<u8>>>;

/// Answers every request on one kept-alive connection with its route's body.
fn answer(stream: TcpStream, routes: Routes) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
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
        let path = request.split_whitespace().nth(1).unwrap_or("/");
        let path = path.split('?').next().unwrap_or(path);
        let body = routes.get(path).map_or(&b"[]"[..], Vec::as_slice);
        // One write, so Nagle's algorithm and the client's delayed ACK do
        // not add 40 ms to every answer.
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        answer.extend_from_slice(body);
        out.write_all(&answer)?;
    }
}

/// A server on a free loopback port; it lives as long as the bench process.
fn serve(routes: BTreeMap<&'static str, Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = Arc::new(routes);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let routes = routes.clone();
            thread::spawn(move || answer(stream, routes));
        }
    });
    addr
}

fn endpoint(addr: SocketAddr) -> Endpoint {
    Endpoint::plain("bench", format!("http://{addr}/").parse().unwrap())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn series_labels(i: usize) -> String {
    format!(
        r#"{{"service":"{}","cluster":"eu-west-1","namespace":"prod"}}"#,
        service_name(i)
    )
}

fn vector(series: usize) -> Vec<u8> {
    let result: Vec<String> = (0..series)
        .map(|i| {
            let value = (i * 7_919 % 100_000) as f64 / 97.0;
            format!(
                r#"{{"metric":{},"value":[{NOW},"{value}"]}}"#,
                series_labels(i)
            )
        })
        .collect();
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
        result.join(",")
    )
    .into_bytes()
}

/// A range of `series` series with `points` points each, the last at `NOW`.
fn matrix(series: usize, points: usize) -> Vec<u8> {
    let result: Vec<String> = (0..series)
        .map(|i| {
            let values: Vec<String> = (0..points)
                .map(|k| {
                    let t = NOW - 5.0 * (points - 1 - k) as f64;
                    format!(r#"[{t},"{}"]"#, ((i + k) * 7_919 % 100_000) as f64 / 97.0)
                })
                .collect();
            format!(
                r#"{{"metric":{},"values":[{}]}}"#,
                series_labels(i),
                values.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}}}"#,
        result.join(",")
    )
    .into_bytes()
}

fn prometheus(c: &mut Criterion) {
    let rt = runtime();
    let at = Utc.timestamp_opt(NOW as i64, 0).unwrap();
    for series in SIZES {
        let mut group = c.benchmark_group("decode_prometheus");
        support::sized(&mut group, series);
        let (vector, matrix, step) = (vector(series), matrix(series, 61), matrix(series, 1));
        let sizes = (vector.len(), matrix.len(), step.len());
        let addr = serve(BTreeMap::from([
            ("/api/v1/query", vector),
            ("/api/v1/query_range", matrix),
        ]));
        let api = PrometheusApi {
            http: HttpClient::new(endpoint(addr)).unwrap(),
        };
        // The same path answering one point a series: a server of its own.
        let one_step = serve(BTreeMap::from([("/api/v1/query_range", step)]));
        let one_step = PrometheusApi {
            http: HttpClient::new(endpoint(one_step)).unwrap(),
        };
        let check = rt.block_on(api.query("up", at)).unwrap();
        assert_eq!(check.result.len(), series);
        let id = |kind: &str| {
            BenchmarkId::new(
                kind,
                if series == 0 {
                    "empty".into()
                } else {
                    series.to_string()
                },
            )
        };
        group.throughput(Throughput::Bytes(sizes.0 as u64));
        group.bench_function(id("vector"), |b| {
            b.iter(|| rt.block_on(api.query("up", at)).unwrap())
        });
        group.throughput(Throughput::Bytes(sizes.1 as u64));
        group.bench_function(id("range_61_points"), |b| {
            b.iter(|| {
                rt.block_on(api.query_range("up", at - Duration::seconds(300), at, 5))
                    .unwrap()
            })
        });
        group.throughput(Throughput::Bytes(sizes.2 as u64));
        group.bench_function(id("range_1_point"), |b| {
            b.iter(|| rt.block_on(one_step.query_range("up", at, at, 5)).unwrap())
        });
        group.finish();
    }
}

fn alert(i: usize) -> String {
    let service = service_name(i * 7 % 10_000);
    let (name, severity) = [
        ("HighErrorRate", "critical"),
        ("HighLatencyP99", "warning"),
        ("TargetDown", "warning"),
    ][i % 3];
    let silenced = if i.is_multiple_of(10) {
        r#""3f1c0a7d-2b44-4e0e-9d5f-6a1b2c3d4e5f""#
    } else {
        ""
    };
    format!(
        r#"{{"annotations":{{"summary":"{service}: {name} on instance {i}","description":"The 5xx ratio of {service} has been above 5% for 5 minutes.","runbook_url":"https://runbooks.example.com/{name}"}},"endsAt":"2026-11-22T03:05:00.000Z","fingerprint":"{i:016x}","receivers":[{{"name":"pager"}}],"startsAt":"2026-11-22T02:{:02}:00.000Z","status":{{"inhibitedBy":[],"silencedBy":[{silenced}],"state":"{}"}},"updatedAt":"2026-11-22T03:00:00.000Z","generatorURL":"http://prometheus.example.com:9090/graph?g0.expr=job%3Aerrors%3Aratio5m+%3E+0.05","labels":{{"alertname":"{name}","instance":"10.0.{}.{}:9100","job":"{service}","namespace":"prod","service":"{service}","severity":"{severity}"}}}}"#,
        i % 60,
        if silenced.is_empty() {
            "active"
        } else {
            "suppressed"
        },
        i / 250 % 256,
        i % 250,
    )
}

fn silences(count: usize) -> Vec<u8> {
    let list: Vec<String> = (0..count)
        .map(|k| {
            format!(
                r#"{{"id":"{k:08x}-2b44-4e0e-9d5f-6a1b2c3d4e5f","status":{{"state":"active"}},"updatedAt":"2026-11-22T02:00:00.000Z","comment":"Maintenance window: change CHG-{k:05}","createdBy":"ops-bot","endsAt":"2026-11-22T05:00:00.000Z","startsAt":"2026-11-22T02:00:00.000Z","matchers":[{{"isEqual":true,"isRegex":false,"name":"service","value":"{}"}}]}}"#,
                service_name(k)
            )
        })
        .collect();
    format!("[{}]", list.join(",")).into_bytes()
}

fn alertmanager(c: &mut Criterion) {
    let rt = runtime();
    let now = Utc.timestamp_opt(NOW as i64, 0).unwrap();
    for count in SIZES {
        let mut group = c.benchmark_group("decode_alertmanager");
        support::sized(&mut group, count);
        let alerts: Vec<String> = (0..count).map(alert).collect();
        let body = format!("[{}]", alerts.join(",")).into_bytes();
        group.throughput(Throughput::Bytes(body.len() as u64));
        let addr = serve(BTreeMap::from([
            ("/api/v2/alerts", body),
            (
                "/api/v2/silences",
                silences(if count == 0 { 0 } else { 20 }),
            ),
        ]));
        let source = AlertmanagerSource::new(endpoint(addr), &["service".to_string()]).unwrap();
        let check = rt.block_on(source.alerts(now)).unwrap();
        // Past the alert cap (`[limits] max_alerts`) every alert is decoded
        // and the first 5,000 kept, with a warning that says so.
        assert_eq!(check.value.alerts.len(), count.min(DEFAULT_MAX_ALERTS));
        let id = if count == 0 {
            "empty".to_string()
        } else {
            count.to_string()
        };
        group.bench_function(BenchmarkId::new("alerts_v2", id), |b| {
            b.iter(|| rt.block_on(source.alerts(now)).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, prometheus, alertmanager);
criterion_main!(benches);
