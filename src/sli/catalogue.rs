//! The catalogue of request-metric conventions: `conventions/*.toml`,
//! embedded in the binary, and the user's own files in
//! `<config dir>/conventions/`, which add entries or replace them by name.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::{Bad, Convention, Counting, Kind, Latency};

/// The shipped conventions, by name (the file's stem).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "prometheus-client",
        include_str!("../../conventions/prometheus-client.toml"),
    ),
    ("flask", include_str!("../../conventions/flask.toml")),
    ("django", include_str!("../../conventions/django.toml")),
    ("express", include_str!("../../conventions/express.toml")),
    (
        "otel-http",
        include_str!("../../conventions/otel-http.toml"),
    ),
    (
        "otel-http-stable",
        include_str!("../../conventions/otel-http-stable.toml"),
    ),
    (
        "micrometer",
        include_str!("../../conventions/micrometer.toml"),
    ),
    ("caddy", include_str!("../../conventions/caddy.toml")),
    ("haproxy", include_str!("../../conventions/haproxy.toml")),
    (
        "ingress-nginx",
        include_str!("../../conventions/ingress-nginx.toml"),
    ),
    ("traefik", include_str!("../../conventions/traefik.toml")),
    ("istio", include_str!("../../conventions/istio.toml")),
    ("blackbox", include_str!("../../conventions/blackbox.toml")),
];

/// One file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    title: String,
    kind: String,
    detect: String,
    #[serde(default)]
    service_labels: Vec<String>,
    join: Option<String>,
    #[serde(default)]
    note: String,
    requests: Option<RequestsEntry>,
    probe: Option<ProbeEntry>,
    latency: Option<LatencyEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestsEntry {
    metric: String,
    #[serde(default)]
    matchers: String,
    status_label: String,
    error: String,
    /// The label naming the version that served a request, if any.
    version_label: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeEntry {
    success: String,
    duration: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyEntry {
    histogram: Option<String>,
    #[serde(default)]
    matchers: String,
    unit: Option<String>,
    none: Option<String>,
}

/// The shipped conventions, parsed once per process and shared.
pub fn shipped() -> Arc<Vec<Convention>> {
    static SHIPPED: OnceLock<Arc<Vec<Convention>>> = OnceLock::new();
    SHIPPED
        .get_or_init(|| {
            let mut all: Vec<Convention> = EMBEDDED
                .iter()
                .filter_map(|(name, text)| parse(name, text).ok())
                .collect();
            all.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
            Arc::new(all)
        })
        .clone()
}

/// The conventions in force: the shipped ones, then the user's from
/// `user_dir/conventions/` (replacing a shipped one of the same name), in
/// preference order (`Kind`, then name); without any file of the user's,
/// the shipped ones as parsed once. Each problem names its file.
pub fn load(user_dir: Option<&Path>) -> (Arc<Vec<Convention>>, Vec<(String, String)>) {
    let own = user_dir.and_then(|d| std::fs::read_dir(d.join("conventions")).ok());
    match own {
        None => (shipped(), Vec::new()),
        Some(_) => {
            let (all, problems) = load_with(user_dir);
            (Arc::new(all), problems)
        }
    }
}

fn load_with(user_dir: Option<&Path>) -> (Vec<Convention>, Vec<(String, String)>) {
    let mut texts: Vec<(String, String, String)> = EMBEDDED
        .iter()
        .map(|(name, text)| {
            (
                name.to_string(),
                text.to_string(),
                format!("conventions/{name}.toml (built in)"),
            )
        })
        .collect();
    let mut problems = Vec::new();
    if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d.join("conventions")).ok()) {
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    texts.retain(|(n, _, _)| n != name);
                    texts.push((name.to_string(), text, path.display().to_string()));
                }
                Err(e) => problems.push((path.display().to_string(), format!("cannot read: {e}"))),
            }
        }
    }
    let mut out = Vec::new();
    for (name, text, file) in texts {
        match parse(&name, &text) {
            Ok(c) => out.push(c),
            Err(message) => problems.push((file, message)),
        }
    }
    out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    (out, problems)
}

/// One convention from its file's text.
pub fn parse(name: &str, text: &str) -> Result<Convention, String> {
    let entry: Entry = toml::from_str(text).map_err(|e| crate::config::toml_error(text, &e))?;
    let kind = match entry.kind.as_str() {
        "app" => Kind::App,
        "proxy" => Kind::Proxy,
        "probe" => Kind::Probe,
        other => return Err(format!("kind '{other}' is not app, proxy or probe")),
    };
    let probe_duration = entry.probe.as_ref().and_then(|p| p.duration.clone());
    let version_label = entry
        .requests
        .as_ref()
        .and_then(|r| r.version_label.clone());
    if let Some(v) = &version_label {
        check_label("requests.version_label", v)?;
    }
    let counting = match (entry.requests, entry.probe) {
        (Some(r), None) => {
            check_metric("requests.metric", &r.metric)?;
            check_matchers("requests.matchers", &r.matchers)?;
            check_label("requests.status_label", &r.status_label)?;
            let errors = format!(r#"{}=~"{}""#, r.status_label, escape(&r.error));
            Counting::Requests {
                total: selector(&r.metric, &[&r.matchers]),
                bad: Bad::Errors(selector(&r.metric, &[&r.matchers, &errors])),
                status: format!(r#"{}=~"{}""#, r.status_label, r.error),
            }
        }
        (None, Some(p)) => {
            check_metric("probe.success", &p.success)?;
            // It becomes a query too (the probe's latency): a metric name,
            // like the others (found by fuzzing: `probe_duratio]_seconds`).
            if let Some(d) = &p.duration {
                check_metric("probe.duration", d)?;
            }
            Counting::Probes { success: p.success }
        }
        _ => return Err("give either [requests] or [probe], not both or neither".into()),
    };
    let latency = match (entry.latency, &counting) {
        (Some(l), _) => latency(l)?,
        (None, Counting::Probes { .. }) => Latency::None(String::new()),
        (None, _) => return Err("no [latency]: give histogram and unit, or none = \"why\"".into()),
    };
    // A probe's duration is its latency.
    let latency = match (&counting, latency) {
        (Counting::Probes { .. }, Latency::None(why)) => match probe_duration {
            Some(d) => Latency::Gauge { selector: d },
            None => Latency::None(why),
        },
        (_, l) => l,
    };
    for (i, l) in entry.service_labels.iter().enumerate() {
        check_label(&format!("service_labels[{i}]"), l)?;
    }
    let join_target_info = match entry.join.as_deref() {
        None => false,
        Some("target_info") => true,
        Some(other) => return Err(format!("join '{other}' is not target_info")),
    };
    check_selector("detect", &entry.detect)?;
    Ok(Convention {
        name: name.to_string(),
        title: entry.title,
        kind,
        detect: entry.detect,
        counting,
        latency,
        service_labels: entry.service_labels,
        join_target_info,
        note: entry.note,
        version_label,
    })
}

fn latency(l: LatencyEntry) -> Result<Latency, String> {
    match (l.histogram, l.none) {
        (Some(h), None) => {
            check_metric("latency.histogram", &h)?;
            check_matchers("latency.matchers", &l.matchers)?;
            let scale = match l.unit.as_deref() {
                Some("seconds") | None => 1.0,
                Some("milliseconds") => 0.001,
                Some(other) => {
                    return Err(format!(
                        "latency.unit '{other}' is not seconds or milliseconds"
                    ));
                }
            };
            Ok(Latency::Histogram {
                buckets: selector(&format!("{h}_bucket"), &[&l.matchers]),
                scale,
            })
        }
        (None, Some(why)) => Ok(Latency::None(why)),
        _ => Err("[latency] gives either histogram or none".into()),
    }
}

/// `metric{m1,m2}` from the non-empty matcher lists.
pub fn selector(metric: &str, matchers: &[&str]) -> String {
    let inner: Vec<&str> = matchers
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .collect();
    if inner.is_empty() {
        metric.to_string()
    } else {
        format!("{metric}{{{}}}", inner.join(","))
    }
}

/// A PromQL string literal's content: backslashes and quotes escaped, and
/// every control character written as `\u` and its code (a raw line break
/// ends a PromQL string).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str(r#"\""#),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn is_name(text: &str, colon: bool) -> bool {
    let mut chars = text.chars();
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':');
    chars.next().is_some_and(ok_first) && chars.all(|c| ok_first(c) || c.is_ascii_digit())
}

pub fn check_label(field: &str, name: &str) -> Result<(), String> {
    if is_name(name, false) {
        Ok(())
    } else {
        Err(format!("{field}: '{name}' is not a label name"))
    }
}

fn check_metric(field: &str, name: &str) -> Result<(), String> {
    if is_name(name, true) {
        Ok(())
    } else {
        Err(format!("{field}: '{name}' is not a metric name"))
    }
}

/// Matchers as they go between braces: `label op "value"`, comma
/// separated (a trailing comma allowed), `op` one of `=`, `!=`, `=~`,
/// `!~`, the value a double- or single-quoted string. Anything else
/// (found by fuzzing: `status_cod[[=""`) would make every query built on
/// it a syntax error.
fn check_matchers(field: &str, text: &str) -> Result<(), String> {
    if matchers_ok(text) {
        Ok(())
    } else {
        Err(format!("{field}: '{text}' is not a list of label matchers"))
    }
}

fn matchers_ok(text: &str) -> bool {
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if !is_name(&rest[..end], false) {
            return false;
        }
        rest = rest[end..].trim_start();
        let Some(op) = ["=~", "!~", "!=", "="]
            .iter()
            .find(|op| rest.starts_with(**op))
        else {
            return false;
        };
        rest = rest[op.len()..].trim_start();
        let Some(after) = quoted(rest) else {
            return false;
        };
        rest = after.trim_start();
        match rest.strip_prefix(',') {
            Some(r) => rest = r.trim_start(),
            None if rest.is_empty() => {}
            None => return false,
        }
    }
    true
}

/// What follows a PromQL string literal at the start of `text` (`"…"` or
/// `'…'`, backslash escapes), or `None` when none opens or it never closes.
fn quoted(text: &str) -> Option<&str> {
    let quote = text.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next()?;
        } else if c == quote {
            return Some(&text[i + 1..]);
        }
    }
    None
}

/// A series selector: a metric name, then optional `{matchers}`.
pub fn check_selector(field: &str, text: &str) -> Result<(), String> {
    let text = text.trim();
    let (metric, rest) = match text.find('{') {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let matchers_ok = rest.is_empty()
        || rest
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .is_some_and(|m| check_matchers(field, m).is_ok());
    if is_name(metric.trim(), true) && matchers_ok {
        Ok(())
    } else {
        Err(format!(
            "{field}: '{text}' is not a series selector (metric{{label=\"value\"}})"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_convention_parses() {
        for (name, text) in EMBEDDED {
            parse(name, text).unwrap_or_else(|e| panic!("conventions/{name}.toml: {e}"));
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conventions");
        let files = std::fs::read_dir(dir).unwrap().count();
        assert_eq!(
            files,
            EMBEDDED.len(),
            "every file in conventions/ is embedded"
        );
    }

    #[test]
    fn errors_are_told_by_the_status_label() {
        let c = parse("flask", EMBEDDED[1].1).unwrap();
        let Counting::Requests { total, bad, .. } = &c.counting else {
            panic!("flask counts requests");
        };
        assert_eq!(total, "flask_http_request_total");
        assert_eq!(
            bad,
            &Bad::Errors(r#"flask_http_request_total{status=~"5.."}"#.into())
        );
        let express = parse("express", EMBEDDED[3].1).unwrap();
        let Counting::Requests { bad, .. } = &express.counting else {
            panic!("express counts requests");
        };
        assert_eq!(
            bad,
            &Bad::Errors(
                r#"http_request_duration_seconds_count{status_code!="",status_code=~"5.."}"#.into()
            )
        );
    }

    #[test]
    fn milliseconds_are_scaled_and_probes_time_their_probe() {
        let otel = parse("otel-http", EMBEDDED[4].1).unwrap();
        assert_eq!(
            otel.latency,
            Latency::Histogram {
                buckets: "http_server_duration_milliseconds_bucket".into(),
                scale: 0.001
            }
        );
        assert!(otel.join_target_info);
        let probe = parse("blackbox", EMBEDDED.last().unwrap().1).unwrap();
        assert_eq!(
            probe.latency,
            Latency::Gauge {
                selector: "probe_duration_seconds".into()
            }
        );
    }

    #[test]
    fn a_bad_entry_says_what_is_wrong() {
        let bad = |text: &str| parse("x", text).unwrap_err();
        assert!(bad("title = 1").contains("line 1"), "{}", bad("title = 1"));
        let base = "title = \"t\"\nkind = \"app\"\ndetect = \"m\"\n";
        assert!(bad(&format!("{base}[latency]\nnone = \"n\"\n")).contains("either [requests]"));
        let e = bad(&format!(
            "{base}[requests]\nmetric = \"bad name\"\nstatus_label = \"code\"\nerror = \"5..\"\n[latency]\nnone = \"n\"\n"
        ));
        assert!(
            e.contains("requests.metric: 'bad name' is not a metric name"),
            "{e}"
        );
        let e = bad(&base.replace("app", "sidecar"));
        assert!(e.contains("kind 'sidecar'"), "{e}");
        // A probe's duration becomes a query: a metric name too.
        let probe = "title = \"t\"\nkind = \"probe\"\ndetect = \"m\"\n[probe]\nsuccess = \"probe_success\"\nduration = \"probe_duratio]_seconds\"\n";
        let e = bad(probe);
        assert!(
            e.contains("probe.duration: 'probe_duratio]_seconds' is not a metric name"),
            "{e}"
        );
    }

    #[test]
    fn a_version_label_is_a_label_name_and_only_some_conventions_have_one() {
        let with: Vec<(&str, Option<String>)> = EMBEDDED
            .iter()
            .map(|(n, t)| (*n, parse(n, t).unwrap().version_label))
            .filter(|(_, v)| v.is_some())
            .collect();
        assert_eq!(
            with,
            [
                ("prometheus-client", Some("version".to_string())),
                ("istio", Some("destination_version".to_string())),
            ]
        );
        let text = "title = \"t\"\nkind = \"app\"\ndetect = \"m\"\n[requests]\nmetric = \"m\"\nstatus_label = \"code\"\nerror = \"5..\"\nversion_label = \"ver sion\"\n[latency]\nnone = \"n\"\n";
        let e = parse("x", text).unwrap_err();
        assert!(
            e.contains("requests.version_label: 'ver sion' is not a label name"),
            "{e}"
        );
        let misspelt = text.replace("version_label = \"ver sion\"", "versions = \"v\"");
        assert!(parse("x", &misspelt).is_err(), "the parse stays strict");
    }

    #[test]
    fn a_users_file_replaces_a_shipped_one_and_adds_its_own() {
        let dir = std::env::temp_dir().join(format!("opsdeck-conv-{}", std::process::id()));
        let conv = dir.join("conventions");
        std::fs::create_dir_all(&conv).unwrap();
        let own = "title = \"mine\"\nkind = \"app\"\ndetect = \"my_requests_total\"\n[requests]\nmetric = \"my_requests_total\"\nstatus_label = \"rc\"\nerror = \"5..\"\n[latency]\nnone = \"none kept\"\n";
        std::fs::write(conv.join("flask.toml"), own).unwrap();
        std::fs::write(conv.join("mine.toml"), own).unwrap();
        std::fs::write(conv.join("broken.toml"), "kind = 3").unwrap();
        let (all, problems) = load(Some(&dir));
        std::fs::remove_dir_all(&dir).ok();
        let flask = all.iter().find(|c| c.name == "flask").unwrap();
        assert_eq!(flask.title, "mine");
        assert!(all.iter().any(|c| c.name == "mine"));
        assert_eq!(all.len(), EMBEDDED.len() + 1);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].0.ends_with("broken.toml"));
        // Apps before proxies before probes.
        let kinds: Vec<Kind> = all.iter().map(|c| c.kind).collect();
        assert!(kinds.is_sorted());
    }

    #[test]
    fn selectors_are_checked() {
        assert!(check_selector("s", r#"http_requests_total{job="a"}"#).is_ok());
        assert!(check_selector("s", "up").is_ok());
        assert!(check_selector("s", "rate(x[5m])").is_err());
        assert!(check_selector("s", r#"x{job="a}"#).is_err());
        assert!(check_selector("s", r#"x{a="1", b!~'2\'', c=~"x|y",}"#).is_ok());
        assert!(check_selector("s", r#"x{}"#).is_ok());
        for bad in [
            r#"status_cod[[="""#,
            r#"a="1" b="2""#,
            "a",
            r#"a=="1""#,
            r#"a="1"#,
        ] {
            assert!(check_matchers("m", bad).is_err(), "{bad}");
        }
    }
}
