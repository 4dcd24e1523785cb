//! A `/metrics` endpoint read directly, for a host with an exporter and no
//! Prometheus: node_exporter's CPU, memory and disk, and the backup
//! convention's gauges. The text format is read with `prometheus-parse`,
//! guarded where it goes wrong (see docs/prometheus-parse.md).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::convert::{self, timestamp};
use super::http::{HttpClient, snippet};
use super::{Feed, Fetch, Fetched, MetricsSource, SourceError};
use crate::config::file::{Config, Endpoint};
use crate::domain::{Backup, Deployment, DrillResult, HealthReading, Host, ResolvedIncident};
use crate::text::clean;

/// One sample as opsdeck needs it: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// True when a sample line is one prometheus-parse 0.2 gets wrong: a metric
/// name with a colon (a recording rule's), empty braces, or a label value
/// with an escape, a comma, a brace or an equals sign inside the quotes, or
/// blanks between the tokens of the label set.
fn needs_guard(line: &str) -> bool {
    let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    if line[..name_end].contains(':') || line.contains("{}") {
        return true;
    }
    let Some(open) = line.find('{') else {
        return false;
    };
    let mut quoted = false;
    for c in line[open..].chars() {
        match c {
            '"' => quoted = !quoted,
            '\\' | ',' | '}' | '=' if quoted => return true,
            // Blanks between the tokens of a label set are valid; the
            // library keeps them in names and values.
            c if c.is_whitespace() && !quoted => return true,
            '}' => return false,
            _ => {}
        }
    }
    false
}

/// Reads one sample line exactly as the exposition format defines it.
fn parse_line(line: &str) -> Option<Line> {
    let Some(open) = line.find('{') else {
        let mut parts = line.split_whitespace();
        let name = parts.next()?.to_string();
        let value = sample_value(parts.next()?)?;
        return Some(Line {
            name,
            labels: BTreeMap::new(),
            value,
        });
    };
    let name = line[..open].trim().to_string();
    let mut labels = BTreeMap::new();
    let mut chars = line[open + 1..].char_indices().peekable();
    let rest_start;
    loop {
        while chars
            .next_if(|(_, c)| *c == ',' || c.is_whitespace())
            .is_some()
        {}
        if let Some(&(i, '}')) = chars.peek() {
            rest_start = open + 1 + i + 1;
            break;
        }
        let mut key = String::new();
        for (_, c) in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()?.1 {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key.trim().to_string(), value);
    }
    let value = line[rest_start..].split_whitespace().next()?;
    Some(Line {
        name,
        labels,
        value: sample_value(value)?,
    })
}

/// A sample's value as the format writes it (`1e3`, `NaN`, `+Inf`); `None`
/// for anything else.
fn sample_value(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

/// True when prometheus-parse reads `line` as a sample with a number for a
/// value; it skips any other line without a word.
fn library_reads(line: &str) -> bool {
    matches!(
        prometheus_parse::LineInfo::parse(line),
        prometheus_parse::LineInfo::Sample { value, .. } if sample_value(value).is_some()
    )
}

/// Comments and blank lines carry no sample and are not a fault.
fn is_comment_or_blank(line: &str) -> bool {
    let line = line.trim_start();
    line.is_empty() || line.starts_with('#')
}

/// The first line that is not a sample, a comment or blank, as an error
/// that shows where and what it is, cut short; a body of no samples at all
/// is one too (a proxy's empty 200, an HTML page of only comments).
fn check_format(body: &str) -> Result<(), String> {
    let mut samples = 0;
    for (i, line) in body.lines().enumerate() {
        if is_comment_or_blank(line) {
            continue;
        }
        let read = if needs_guard(line) {
            parse_line(line).is_some()
        } else {
            library_reads(line)
        };
        if !read {
            let shown: String = line.trim().chars().take(80).collect();
            return Err(format!(
                "not the text exposition format: line {}: {}",
                i + 1,
                clean(&shown)
            ));
        }
        samples += 1;
    }
    if samples == 0 {
        return Err("not the text exposition format: no samples in the body".into());
    }
    Ok(())
}

/// Every sample in an exposition body; lines prometheus-parse would spoil
/// are read by `parse_line`, and a panic inside the library is an error.
/// A line that is none of sample, comment or blank makes the whole body an
/// error: a proxy's login page must not read as a host with no values.
pub fn parse(body: &str) -> Result<Vec<Line>, String> {
    check_format(body)?;
    let (guarded, plain): (Vec<&str>, Vec<&str>) = body
        .lines()
        .partition(|l| !l.starts_with('#') && needs_guard(l));
    let lines = plain.into_iter().map(|l| Ok(l.to_string()));
    let scraped = crate::terminal::guarded(|| prometheus_parse::Scrape::parse(lines))
        .ok_or_else(|| "the exposition parser gave up on this body".to_string())?
        .map_err(|e| format!("not the text exposition format: {e}"))?;
    let mut out: Vec<Line> = scraped
        .samples
        .into_iter()
        .filter_map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => return None,
            };
            let labels = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Some(Line {
                name: s.metric,
                labels,
                value,
            })
        })
        .collect();
    out.extend(guarded.into_iter().filter_map(parse_line));
    for line in &mut out {
        line.name = clean(&line.name).into_owned();
        line.labels = std::mem::take(&mut line.labels)
            .into_iter()
            // A blank after a comma (`{cpu="0", mode="idle"}`) is valid
            // text format that prometheus-parse keeps in the next name.
            .map(|(k, v)| (clean(k.trim()).into_owned(), clean(&v).into_owned()))
            .collect();
    }
    Ok(out)
}

/// CPU counters at one scrape, to rate against the next.
#[derive(Debug, Clone, Copy)]
struct CpuTotals {
    idle: f64,
    all: f64,
}

pub struct ScrapeSource {
    name: String,
    http: HttpClient,
    previous_cpu: Mutex<Option<CpuTotals>>,
}

fn sum(lines: &[Line], name: &str, keep: impl Fn(&Line) -> bool) -> Option<f64> {
    let values: Vec<f64> = lines
        .iter()
        .filter(|l| l.name == name && keep(l))
        .map(|l| l.value)
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

fn real_filesystem(l: &Line) -> bool {
    !matches!(
        l.labels.get("fstype").map(String::as_str),
        Some("tmpfs" | "ramfs" | "overlay" | "squashfs" | "nsfs" | "devtmpfs")
    )
}

impl ScrapeSource {
    pub fn new(endpoint: Endpoint, _config: &Config) -> Result<ScrapeSource, String> {
        Ok(ScrapeSource {
            name: endpoint.name.clone(),
            http: HttpClient::new(endpoint)?,
            previous_cpu: Mutex::new(None),
        })
    }

    async fn scrape(&self) -> Result<Vec<Line>, SourceError> {
        let answer = self.http.get("", &[]).await?;
        if !(200..300).contains(&answer.status) {
            return Err(SourceError::Failed(format!(
                "HTTP {}: {}",
                answer.status,
                snippet(&answer.body)
            )));
        }
        let body = std::str::from_utf8(&answer.body)
            .map_err(|e| SourceError::Failed(format!("not UTF-8 text: {e}")))?;
        parse(body).map_err(|e| SourceError::Failed(clean(&e).into_owned()))
    }

    /// CPU busy fraction since the previous scrape; unknown on the first.
    fn cpu(&self, lines: &[Line]) -> f64 {
        let now = sum(lines, "node_cpu_seconds_total", |l| {
            l.labels.get("mode").is_some_and(|m| m == "idle")
        })
        .zip(sum(lines, "node_cpu_seconds_total", |_| true))
        .map(|(idle, all)| CpuTotals { idle, all });
        let mut previous = self.previous_cpu.lock().unwrap_or_else(|p| p.into_inner());
        let busy = match (*previous, now) {
            (Some(p), Some(n)) if n.all > p.all => 1.0 - (n.idle - p.idle) / (n.all - p.all),
            _ => f64::NAN,
        };
        *previous = now;
        busy
    }
}

#[async_trait]
impl MetricsSource for ScrapeSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn feeds(&self) -> &'static [Feed] {
        &[Feed::Health, Feed::Backups]
    }

    async fn health(&self, _now: DateTime<Utc>) -> Fetch<HealthReading> {
        let lines = self.scrape().await?;
        let memory = sum(&lines, "node_memory_MemAvailable_bytes", |_| true)
            .zip(sum(&lines, "node_memory_MemTotal_bytes", |_| true))
            .map_or(f64::NAN, |(avail, total)| 1.0 - avail / total);
        let disk = lines
            .iter()
            .filter(|l| l.name == "node_filesystem_avail_bytes" && real_filesystem(l))
            .filter_map(|avail| {
                let size = lines
                    .iter()
                    .find(|s| s.name == "node_filesystem_size_bytes" && s.labels == avail.labels)?;
                (size.value > 0.0).then(|| 1.0 - avail.value / size.value)
            })
            .fold(f64::NAN, f64::max);
        let host = Host {
            name: self.name.clone(),
            up: true,
            cpu: self.cpu(&lines),
            memory,
            disk,
            // One scrape has no history to forecast from.
            full_in: None,
            cpu_history: Vec::new(),
        };
        Ok(Fetched::clean(HealthReading {
            looked_for: String::new(),
            services: Default::default(),
            hosts: vec![host],
        }))
    }

    async fn deployments(&self, _now: DateTime<Utc>) -> Fetch<Vec<Deployment>> {
        Ok(Fetched::clean(Vec::new()))
    }

    async fn backups(&self, _now: DateTime<Utc>) -> Fetch<Vec<Backup>> {
        let lines = self.scrape().await?;
        let of = |name: &str, target: &str| {
            lines
                .iter()
                .find(|l| l.name == name && l.labels.get("target").is_some_and(|t| t == target))
                .map(|l| l.value)
        };
        let backups = lines
            .iter()
            .filter(|l| l.name == "backup_last_success_timestamp_seconds")
            .filter_map(|l| {
                let target = l.labels.get("target")?.clone();
                let tier = convert::tier(l.labels.get("tier").map(String::as_str));
                let drill = of("dr_drill_last_timestamp_seconds", &target)
                    .and_then(timestamp)
                    .zip(of("dr_drill_last_rto_seconds", &target));
                Some(Backup {
                    service: None,
                    tier,
                    last_success: timestamp(l.value),
                    size_bytes: of("backup_last_size_bytes", &target).unwrap_or(f64::NAN),
                    duration: of("backup_last_duration_seconds", &target)
                        .and_then(convert::seconds),
                    last_verified: of("backup_last_verified_timestamp_seconds", &target)
                        .and_then(timestamp),
                    last_drill: drill.map(|(at, rto)| DrillResult {
                        at,
                        measured_rto: convert::seconds(rto),
                    }),
                    // One scrape is one moment: runs over a window need history.
                    runs: None,
                    target,
                    ..Default::default()
                })
            })
            .collect();
        Ok(Fetched::clean(backups))
    }

    async fn incident_history(
        &self,
        _now: DateTime<Utc>,
        _window: Duration,
    ) -> Fetch<Vec<ResolvedIncident>> {
        Err(SourceError::Failed(
            "a /metrics endpoint has no incident history".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Line {
        let mut lines = parse(text).unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines.remove(0)
    }

    #[test]
    fn label_values_prometheus_parse_spoils_are_read_right() {
        // prometheus-parse 0.2.5 drops ",y", loses every label after "=", drops
        // the sample at "}", and leaves escapes unprocessed.
        assert_eq!(one("m{a=\"x,y\",b=\"z\"} 1\n").labels["a"], "x,y");
        assert_eq!(one("m{a=\"x=y\"} 2\n").labels["a"], "x=y");
        assert_eq!(one("m{a=\"x}y\"} 3\n").value, 3.0);
        assert_eq!(one("m{a=\"say \\\"hi\\\"\"} 4\n").labels["a"], "say \"hi\"");
        assert_eq!(one("m{a=\"two\\nlines\"} 5\n").labels["a"], "two\\x0alines");
        // And it drops recording-rule names and empty braces altogether.
        assert_eq!(
            one("job:requests:rate5m{job=\"api\"} 6\n").name,
            "job:requests:rate5m"
        );
        assert_eq!(one("job:up 7\n").value, 7.0);
        assert_eq!(one("m{} 8\n").value, 8.0);
    }

    #[test]
    fn ordinary_exposition_still_goes_through_the_library() {
        let text = "# HELP node_cpu_seconds_total CPU\n# TYPE node_cpu_seconds_total counter\nnode_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 90\nnode_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 10 1700000000000\nup NaN\n";
        let lines = parse(text).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(sum(&lines, "node_cpu_seconds_total", |_| true), Some(100.0));
        assert!(lines[2].value.is_nan());
    }

    #[test]
    fn a_body_that_is_not_the_format_is_an_error_naming_the_line() {
        let login = "# a comment\n\n<html><body>login required</body></html>\nup 1\n";
        assert_eq!(
            parse(login).unwrap_err(),
            "not the text exposition format: line 3: <html><body>login required</body></html>"
        );
        // A name and a word look like a sample to prometheus-parse, which
        // then drops it for its value.
        let words = parse("up 1\nlogin required\n").unwrap_err();
        assert!(words.ends_with("line 2: login required"), "{words}");
        let guarded = parse("m{a=\"x,y\"} soon\n").unwrap_err();
        assert!(guarded.contains("line 1: m{a="), "{guarded}");
        let long = parse(&"x".repeat(500)).unwrap_err();
        assert!(long.len() < 150, "{long}");
        for nothing in ["", "\n", "# HELP up Up.\n# TYPE up gauge\n"] {
            assert!(
                parse(nothing).unwrap_err().contains("no samples"),
                "{nothing:?}"
            );
        }
    }

    #[test]
    fn out_of_range_timestamps_and_garbage_do_not_panic() {
        for text in [
            "m 1 9223372036854775807\n",
            "m 1 -9223372036854775808\n",
            "\u{1b}[31m{{{\n",
            "m{a=\"unterminated} 1\n",
        ] {
            let _ = parse(text);
        }
        assert_eq!(one("m{a=\"\u{1b}[2J\"} 1\n").labels["a"], "\\x1b[2J");
    }

    #[test]
    fn blanks_between_the_tokens_of_a_label_set_are_not_part_of_them() {
        let lines = parse(concat!(
            "node_cpu_seconds_total{cpu=\"0\", mode=\"idle\"} 12\n",
            "backup_last{ target = \"orders-db\" , tier = \"critical\" } 1\n",
        ))
        .unwrap();
        let labels = |i: usize, name: &str| lines[i].labels.get(name).map(String::as_str);
        assert_eq!(labels(1, "target"), Some("orders-db"));
        assert_eq!(labels(1, "tier"), Some("critical"));
        assert_eq!(
            lines[0].labels.get("mode").map(String::as_str),
            Some("idle")
        );
        assert_eq!(lines[0].labels.get("cpu").map(String::as_str), Some("0"));
    }
}
