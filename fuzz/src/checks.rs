//! What each fuzz target asserts about one input. Shared with
//! `tests/fuzz_regressions.rs` (by `#[path]`), so an input that once broke a
//! target is replayed by `cargo test` through exactly the same checks. It
//! uses only opsdeck, reqwest's `Url`, serde_json and std, which both
//! crates have.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::catch_unwind;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use opsdeck::actions::Backend;
use opsdeck::config::file::{Config, Endpoint};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::domain::Alert;
use opsdeck::sources::alertmanager::{AlertmanagerSource, decode_silences};
use opsdeck::sources::prometheus::{
    Answered, Labels, Sample, Series, decode_matrix, decode_vector,
};
use opsdeck::sources::scrape;
use opsdeck::sources::{Fetched, SourceError};
use opsdeck::text::{MAX_CHARS, clean, clean_owned};
use serde_json::Value;

/// A target's check of one input: it panics when a property fails.
pub type Check = fn(&[u8]);

/// Every target, by the name of its directory under `fuzz/seeds/` and
/// `fuzz/regressions/` and of its file under `fuzz/fuzz_targets/`.
pub const TARGETS: [(&str, Check); 7] = [
    ("clean", clean_text),
    ("scrape", scrape_body),
    ("exposition_line", exposition_line),
    ("prometheus", prometheus_answer),
    ("alertmanager", alertmanager_answer),
    ("config", config_files),
    ("conventions", convention_files),
];

/// The longest escape `clean` writes for one character: `\u{e007f}`.
const LONGEST_ESCAPE: usize = 9;

/// The most characters one cleaned string can hold: `MAX_CHARS` characters
/// kept, each at worst escaped, and the ellipsis.
pub const MAX_CLEANED_CHARS: usize = MAX_CHARS * LONGEST_ESCAPE + 1;

/// The characters no text from a server may carry into the program: a copy
/// of `is_unsafe` in src/text.rs, kept apart on purpose so that a
/// character dropped from that list by mistake is caught here.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}'
        | '\u{e0000}'..='\u{e007f}'
    )
}

fn assert_safe(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| is_unsafe(c)) {
        panic!(
            "{what}: unsafe character U+{:04X} at byte {at} of {text:?}",
            c as u32
        );
    }
}

/// `text` is one string as `clean` leaves it: nothing unsafe, bounded.
fn assert_cleaned(what: &str, text: &str) {
    assert_safe(what, text);
    let chars = text.chars().count();
    assert!(
        chars <= MAX_CLEANED_CHARS,
        "{what}: {chars} characters, more than clean ever writes"
    );
}

fn same_number(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

// ---------------------------------------------------------------- clean

/// How `clean` must show one character.
fn shown(c: char) -> String {
    match c {
        c if is_unsafe(c) && (c as u32) < 0x100 => format!("\\x{:02x}", c as u32),
        c if is_unsafe(c) => format!("\\u{{{:x}}}", c as u32),
        c => c.to_string(),
    }
}

/// The sanitiser, on the input read as UTF-8 and read as code points (so
/// the fuzzer reaches every plane, not only what it spells in UTF-8).
pub fn clean_text(data: &[u8]) {
    check_clean(&String::from_utf8_lossy(data));
    let points: String = data
        .chunks(3)
        .filter_map(|b| {
            let n = b.iter().fold(0u32, |n, &b| n << 8 | u32::from(b));
            char::from_u32(n % 0x11_0000)
        })
        .collect();
    check_clean(&points);
}

fn check_clean(text: &str) {
    let out = clean(text);
    assert_cleaned("clean", &out);
    // Exactly the text, each unsafe character escaped, cut after MAX_CHARS
    // characters with an ellipsis.
    let mut rest: &str = &out;
    for (count, c) in text.chars().enumerate() {
        if count == MAX_CHARS {
            assert_eq!(rest, "…", "a long text ends in one ellipsis");
            rest = "";
            break;
        }
        let want = shown(c);
        rest = rest.strip_prefix(want.as_str()).unwrap_or_else(|| {
            panic!("character {count} ({c:?}) should be shown as {want:?}; clean wrote {out:?}")
        });
    }
    assert!(rest.is_empty(), "clean added {rest:?}");
    assert_eq!(
        matches!(out, Cow::Borrowed(_)),
        *out == *text,
        "copied exactly when something changed"
    );
    assert_eq!(clean_owned(text.to_string()), *out);
    if out.chars().count() <= MAX_CHARS {
        assert!(
            matches!(clean(&out), Cow::Borrowed(_)),
            "cleaned text passes the gate unchanged: {out:?}"
        );
    }
}

// ------------------------------------------------------------- exposition

thread_local! {
    /// Set while opsdeck runs code that is expected to catch panics inside
    /// it (its guard around the third-party exposition parser): the fuzz
    /// targets' panic hook lets such a panic unwind instead of aborting.
    pub static GUARDED_CALL: Cell<bool> = const { Cell::new(false) };
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".into())
}

/// `scrape::parse`, whose panics must stay inside its own guard.
fn scrape_parse(body: &str) -> Result<Vec<scrape::Line>, String> {
    GUARDED_CALL.set(true);
    let outcome = catch_unwind(|| scrape::parse(body));
    GUARDED_CALL.set(false);
    outcome.unwrap_or_else(|p| panic!("scrape::parse panicked past its guard: {}", panic_text(&*p)))
}

/// A `/metrics` body as a scrape reads it (UTF-8 or an error before
/// parsing): no panic escapes, every name and label is clean, and no
/// sample is made up.
pub fn scrape_body(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(lines) = scrape_parse(body) else {
        return;
    };
    let most = body.lines().count();
    assert!(
        lines.len() <= most,
        "{} samples from {most} lines",
        lines.len()
    );
    for line in &lines {
        assert_cleaned("metric name", &line.name);
        for (name, value) in &line.labels {
            assert_cleaned("label name", name);
            assert_cleaned("label value", value);
        }
    }
}

/// A well-formed sample line built from fuzz data: a valid metric name,
/// valid label names, any label values, one of a few values. The text
/// format allows blanks between the tokens of a label set (Prometheus's
/// parsers skip them): a space in the input's first field puts one after
/// each comma, as some hand-written exporters do, and a tab puts one
/// between every two tokens.
struct WellFormed {
    line: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

const VALUES: [&str; 8] = [
    "1",
    "0",
    "-2.5",
    "1e3",
    "0.000132215",
    "NaN",
    "+Inf",
    "-Inf",
];

/// How a label set is punctuated, chosen by the input's first field.
fn blanks(first: &str) -> [&'static str; 4] {
    if first.contains('\t') {
        ["{ ", " = ", " , ", " }"]
    } else if first.contains(' ') {
        ["{", "=", ", ", "}"]
    } else {
        ["{", "=", ",", "}"]
    }
}

fn wellformed(data: &[u8]) -> WellFormed {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1}').peekable();
    let [open, equals, comma, close] = blanks(parts.peek().copied().unwrap_or(""));
    let name_chars = |s: &str, colon: bool| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || (colon && *c == ':'))
            .take(64)
            .collect()
    };
    let mut name = name_chars(parts.next().unwrap_or(""), true);
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':') {
        name.insert(0, 'm');
    }
    let mut labels = BTreeMap::new();
    let mut written = Vec::new();
    while let Some(raw) = parts.next() {
        let mut label = name_chars(raw, false);
        if !label.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            label.insert(0, 'l');
        }
        let value = parts.next().unwrap_or("").to_string();
        if labels.contains_key(&label) {
            continue;
        }
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        written.push(format!("{label}{equals}\"{escaped}\""));
        labels.insert(label, value);
    }
    let value = VALUES[name.len() % VALUES.len()];
    let braces = if written.is_empty() {
        String::new()
    } else {
        format!("{open}{}{close}", written.join(comma))
    };
    // An even-length name also carries a timestamp, which is ignored.
    let stamp = if name.len().is_multiple_of(2) {
        " 1795335055070"
    } else {
        ""
    };
    WellFormed {
        line: format!("{name}{braces} {value}{stamp}\n"),
        name,
        labels,
        value: value.parse().expect("a listed value"),
    }
}

/// One well-formed exposition line reads back as exactly what was
/// written, cleaned: the exposition format's own rules, whichever of
/// prometheus-parse and opsdeck's reader takes the line. A label with an
/// empty value is the same as no label, so either reading is accepted.
pub fn exposition_line(data: &[u8]) {
    let sample = wellformed(data);
    let lines =
        scrape_parse(&sample.line).unwrap_or_else(|e| panic!("{:?} was refused: {e}", sample.line));
    assert_eq!(lines.len(), 1, "{:?} read as {lines:?}", sample.line);
    let line = &lines[0];
    let read: BTreeMap<&String, &String> =
        line.labels.iter().filter(|(_, v)| !v.is_empty()).collect();
    let written: BTreeMap<String, String> = sample
        .labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (clean(k).into_owned(), clean(v).into_owned()))
        .collect();
    assert_eq!(line.name, clean(&sample.name), "name of {:?}", sample.line);
    assert_eq!(
        read,
        written.iter().collect::<BTreeMap<_, _>>(),
        "labels of {:?}",
        sample.line
    );
    assert!(
        same_number(line.value, sample.value),
        "value of {:?} read as {}",
        sample.line,
        line.value
    );
}

// ------------------------------------------------------------ prometheus

/// The string literals of a `Debug` rendering, unescaped, in order.
fn debug_strings(debug: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = debug.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        loop {
            match chars.next().expect("a closed literal") {
                '"' => break,
                '\\' => match chars.next().expect("an escape") {
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    '0' => s.push('\0'),
                    'u' => {
                        let hex: String =
                            chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                        let n = u32::from_str_radix(&hex, 16).expect("hex");
                        s.push(char::from_u32(n).expect("a char"));
                    }
                    other => s.push(other),
                },
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

/// Every pair of a series' labels. `Labels` shows them only through
/// `get` and `Debug`; the pairs are read from `Debug`, and each is then
/// looked up with `get`, which proves both the reading and the lookup.
fn label_pairs(labels: &Labels) -> Vec<(String, String)> {
    let debug = format!("{labels:?}");
    assert!(debug.starts_with("Labels(["), "{debug}");
    let strings = debug_strings(&debug);
    assert!(strings.len().is_multiple_of(2), "{debug}");
    let pairs: Vec<(String, String)> = strings
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    for (i, (name, value)) in pairs.iter().enumerate() {
        assert_cleaned("label name", name);
        assert_cleaned("label value", value);
        assert_eq!(labels.get(name), Some(value.as_str()), "lookup of {name:?}");
        if i > 0 {
            assert!(pairs[i - 1].0 < *name, "names sorted, each once: {debug}");
        }
    }
    pairs
}

/// The labels the answer's JSON gives a series: each name with the
/// values it may have once cleaned (two names can clean alike).
fn json_labels(metric: Option<&Value>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Some(Value::Object(map)) = metric {
        for (name, value) in map {
            let value = value.as_str().expect("a label value is a string");
            out.entry(clean(name).into_owned())
                .or_default()
                .insert(clean(value).into_owned());
        }
    }
    out
}

fn assert_labels_match(labels: &Labels, metric: Option<&Value>) {
    let pairs = label_pairs(labels);
    let want = json_labels(metric);
    assert_eq!(pairs.len(), want.len(), "{pairs:?} against {want:?}");
    for (name, value) in &pairs {
        assert!(
            want.get(name).is_some_and(|v| v.contains(value)),
            "label {name}={value:?} is not what the answer says: {want:?}"
        );
    }
}

fn json_value(pair: &Value) -> f64 {
    opsdeck::sources::prometheus::value(pair[1].as_str().expect("a value is a string"))
}

fn assert_failed(what: &str, error: &SourceError) -> String {
    let SourceError::Failed(message) = error else {
        panic!("{what}: decoding fails only as Failed, not {error:?}");
    };
    assert!(!message.is_empty(), "{what}: an error says something");
    assert_safe(what, message);
    message.clone()
}

/// An instant or range query's answer: errors are clean `Failed` values,
/// the HTTP status matters only when the body is not the API's JSON, and
/// what decodes is what the JSON says, every label cleaned. (The JSON is
/// compared only when `serde_json::Value` reads it too: the decoders skip
/// fields they do not know without checking their UTF-8, `Value` does not.)
pub fn prometheus_answer(data: &[u8]) {
    let json: Option<Value> = serde_json::from_slice(data).ok();
    let vector = decode_vector(200, data);
    let matrix = decode_matrix(200, data);
    assert!(
        !(vector.is_ok() && matrix.is_ok()),
        "one answer is not both a vector and a matrix"
    );
    let outcome = |r: Result<(), SourceError>| r.map_err(|e| assert_failed("prometheus", &e));
    for (at_200, at_503) in [
        (
            vector.as_ref().map(|_| ()),
            decode_vector(503, data).map(|_| ()),
        ),
        (
            matrix.as_ref().map(|_| ()),
            decode_matrix(503, data).map(|_| ()),
        ),
    ] {
        match (outcome(at_200.map_err(Clone::clone)), outcome(at_503)) {
            (Ok(()), Ok(())) => {}
            (Err(ours), Err(theirs)) if ours.starts_with("not a Prometheus API response") => {
                assert!(theirs.starts_with("HTTP 503: "), "{theirs}");
            }
            (Err(ours), Err(theirs)) => assert_eq!(ours, theirs, "the server's own error"),
            (ours, theirs) => panic!("only the body decides: {ours:?} at 200, {theirs:?} at 503"),
        }
    }
    if let Ok(answer) = vector {
        assert_answer_clean(&answer.warnings, answer.result.iter().map(|s| &s.labels));
        if let Some(json) = &json {
            vector_is_the_json(&answer, &json["data"]);
        }
    }
    if let Ok(answer) = matrix {
        assert_answer_clean(&answer.warnings, answer.result.iter().map(|s| &s.labels));
        if let Some(json) = &json {
            matrix_is_the_json(&answer, &json["data"]);
        }
    }
}

fn assert_answer_clean<'a>(warnings: &[String], series: impl Iterator<Item = &'a Labels>) {
    warnings.iter().for_each(|w| assert_cleaned("warning", w));
    for labels in series {
        label_pairs(labels);
    }
}

fn vector_is_the_json(answer: &Answered<Vec<Sample>>, data: &Value) {
    if data["resultType"] == "scalar" {
        assert_eq!(answer.result.len(), 1);
        assert_labels_match(&answer.result[0].labels, None);
        assert!(same_number(
            answer.result[0].value,
            json_value(&data["result"])
        ));
        return;
    }
    let result = data["result"].as_array().expect("a vector is a list");
    assert_kept(
        "samples",
        answer.result.len(),
        result.len(),
        &answer.warnings,
    );
    // Item by item where none was skipped as unreadable (then only the
    // counts above hold: kept and unreadable account for every one).
    let result = if unreadable(&answer.warnings) == 0 {
        &result[..]
    } else {
        &[]
    };
    for (sample, raw) in answer.result.iter().zip(result) {
        assert_labels_match(&sample.labels, raw.get("metric"));
        assert!(same_number(sample.value, json_value(&raw["value"])));
    }
}

fn matrix_is_the_json(answer: &Answered<Vec<Series>>, data: &Value) {
    let result = data["result"].as_array().expect("a matrix is a list");
    assert_kept(
        "series",
        answer.result.len(),
        result.len(),
        &answer.warnings,
    );
    let result = if unreadable(&answer.warnings) == 0 {
        &result[..]
    } else {
        &[]
    };
    for (series, raw) in answer.result.iter().zip(result) {
        assert_labels_match(&series.labels, raw.get("metric"));
        let values = raw.get("values").and_then(Value::as_array);
        assert_eq!(series.values.len(), values.map_or(0, Vec::len));
        for ((_, v), pair) in series.values.iter().zip(values.into_iter().flatten()) {
            assert!(same_number(*v, json_value(pair)));
        }
    }
}

// ---------------------------------------------------------- alertmanager

/// `kept` items of a list of `given`: all of them, or the first ones with
/// a warning that a limit left the rest out.
fn assert_kept(what: &str, kept: usize, given: usize, warnings: &[String]) {
    assert!(kept <= given, "{what}: {kept} from {given}");
    // Items the limit left out are said "kept"; items that could not be
    // read are counted "N … unreadable", and together they account for
    // every one left out.
    let unreadable = unreadable(warnings);
    assert!(
        kept + unreadable == given || warnings.iter().any(|w| w.contains("kept")),
        "{what}: {kept} of {given} kept, {unreadable} unreadable, without a warning"
    );
}

/// How many items a warning says could not be read ("2 alerts
/// unreadable: …").
fn unreadable(warnings: &[String]) -> usize {
    warnings
        .iter()
        .find(|w| w.contains(" unreadable: "))
        .and_then(|w| w.split(' ').next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .unwrap_or(0)
}

fn alertmanager() -> &'static AlertmanagerSource {
    static SOURCE: OnceLock<AlertmanagerSource> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let endpoint = Endpoint::plain("am", "http://127.0.0.1:9".parse().expect("a URL"));
        AlertmanagerSource::new(endpoint, &["service".to_string()]).expect("a client")
    })
}

/// An `/api/v2/alerts` or `/api/v2/silences` answer: errors are clean
/// `Failed` values, an error status is an error whatever the body, and
/// every text an alert or a silence shows is cleaned.
pub fn alertmanager_answer(data: &[u8]) {
    let source = alertmanager();
    for e in [
        source
            .decode_alerts(503, data)
            .expect_err("an error status"),
        decode_silences(503, data).expect_err("an error status"),
    ] {
        let message = assert_failed("error status", &e);
        assert!(message.starts_with("HTTP 503: "), "{message}");
    }
    // Compared with the JSON only when `Value` reads it (see
    // `prometheus_answer`).
    let json: Option<Value> = serde_json::from_slice(data).ok();
    let list = json.as_ref().and_then(Value::as_array);
    match source.decode_alerts(200, data) {
        Err(e) => {
            assert_failed("alerts", &e);
        }
        Ok(Fetched {
            value: alerts,
            warnings,
        }) => {
            warnings.iter().for_each(|w| assert_cleaned("warning", w));
            alerts.iter().for_each(assert_alert_clean);
            if let Some(raw) = list {
                assert_kept("alerts", alerts.len(), raw.len(), &warnings);
                // Item by item only where none was skipped.
                let aligned = if unreadable(&warnings) == 0 {
                    &raw[..]
                } else {
                    &[]
                };
                for (alert, raw) in alerts.iter().zip(aligned) {
                    let inhibited = raw["status"]["inhibitedBy"]
                        .as_array()
                        .is_some_and(|l| !l.is_empty());
                    assert_eq!(alert.inhibited, inhibited);
                }
            }
        }
    }
    silences_are_clean(data, list);
}

/// The silences of an answer: every text cleaned, every one not expired.
fn silences_are_clean(data: &[u8], list: Option<&Vec<Value>>) {
    let (silences, warnings) = match decode_silences(200, data) {
        Ok(Fetched { value, warnings }) => (value, warnings),
        Err(e) => {
            assert_failed("silences", &e);
            return;
        }
    };
    warnings.iter().for_each(|w| assert_cleaned("warning", w));
    for s in &silences {
        assert_cleaned("silence id", &s.id);
        assert_cleaned("silence author", &s.created_by);
        assert_cleaned("silence comment", &s.comment);
        // Each matcher's name and value is one cleaned string.
        assert_safe("silence matchers", &s.matchers);
    }
    if let Some(raw) = list {
        let live = raw
            .iter()
            .filter(|s| s["status"]["state"] != "expired")
            .count();
        // Every silence not expired, but those that could not be read.
        let skipped = unreadable(&warnings);
        assert!(
            silences.len() <= live && silences.len() + skipped >= live,
            "{} of {live} silences not expired, {skipped} unreadable",
            silences.len()
        );
    }
}

fn assert_alert_clean(alert: &Alert) {
    assert!(!alert.name.is_empty() && !alert.service.is_empty());
    for (what, text) in [
        ("alert name", Some(&alert.name)),
        ("alert service", Some(&alert.service)),
        ("alert summary", Some(&alert.summary)),
        ("alert runbook", alert.runbook.as_ref()),
        ("alert silenced by", alert.silenced_by.as_ref()),
        ("alert fingerprint", Some(&alert.fingerprint)),
    ] {
        text.into_iter().for_each(|t| assert_cleaned(what, t));
    }
    assert_eq!(alert.sources, ["am"]);
}

// ---------------------------------------------------------------- config

/// Whether reading `text` could open a device or a /proc or /sys file (a
/// secret's or CA's path), which might block or never end: such inputs
/// skip `Config::parse`, whose reads are real.
fn names_a_special_file(text: &str) -> bool {
    ["dev/", "proc/", "sys/", "\\u", "\\U", "\\x"]
        .iter()
        .any(|p| text.contains(p))
}

/// The configuration file, a theme and a keymap from the same text: no
/// panic, every mistake a message, and what is loaded keeps the limits the
/// loader promises.
pub fn config_files(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Theme::parse("fuzz", text) {
        assert!(!e.is_empty(), "a theme error says something");
    }
    // Every keymap this one extends is itself, so `extends` loops are
    // exercised up to their limit.
    if let Err(e) = Keymap::parse("fuzz", text, &|_| Some(text.to_string())) {
        assert!(!e.is_empty(), "a keymap error says something");
    }
    if !names_a_special_file(text) {
        check_config(text);
    }
}

fn check_config(text: &str) {
    let (config, problems) = Config::parse(Path::new("fuzz.toml"), text);
    for p in &problems {
        assert_eq!(p.file, "fuzz.toml");
        assert!(!p.message.is_empty());
    }
    if problems
        .iter()
        .any(|p| p.message.ends_with("using the built-in defaults"))
    {
        assert_eq!(problems.len(), 1, "an unreadable file is one problem");
        assert_eq!(config.prometheus.len(), 1);
        assert_eq!(config.alertmanager.len(), 1);
        assert!(config.scrape.is_empty());
    }
    let min = Duration::from_millis(100);
    let mut names = BTreeSet::new();
    for e in config
        .prometheus
        .iter()
        .chain(&config.alertmanager)
        .chain(&config.scrape)
    {
        assert!(names.insert(e.name.clone()), "two sources named {}", e.name);
        assert!(matches!(e.url.scheme(), "http" | "https"), "{}", e.url);
        assert!(e.url.username().is_empty() && e.url.password().is_none());
        assert!(e.timeout >= min, "timeout {:?}", e.timeout);
        assert!(e.max_response_bytes >= 1024);
    }
    assert!(config.refresh >= min, "refresh {:?}", config.refresh);
    let o = &config.objectives;
    let t = &config.thresholds;
    for (what, ratio) in [
        ("availability", o.availability),
        ("error_ratio", o.error_ratio),
        ("change_failure_rate", o.change_failure_rate),
        ("backup_success", o.backup_success),
        ("cpu", t.cpu),
        ("memory", t.memory),
        ("disk", t.disk),
        ("thresholds.error_ratio", t.error_ratio),
    ] {
        assert!(ratio > 0.0 && ratio < 1.0, "{what} = {ratio}");
    }
    for name in config.queries.keys() {
        assert!(opsdeck::sli::queries::is_name(name), "{name}");
    }
    // The labels that name a service are label names, and at least one.
    assert!(!config.service_labels.is_empty());
    for l in &config.service_labels {
        assert!(
            opsdeck::sli::catalogue::check_label("service_labels", l).is_ok(),
            "{l}"
        );
    }
    check_actions(&config);
}

fn check_actions(config: &Config) {
    let mut seen = BTreeSet::new();
    for a in &config.actions {
        assert!(seen.insert((&a.name, &a.when)), "{} declared twice", a.name);
        let texts: Vec<String> = match &a.backend {
            Backend::Exec { argv, env, .. } => {
                assert!(!argv.is_empty() && !argv[0].contains('{'), "{argv:?}");
                argv.iter().chain(env.values()).cloned().collect()
            }
            Backend::Http {
                url, headers, body, ..
            } => {
                let fixed = url.split('{').next().unwrap_or("");
                let parsed = reqwest::Url::parse(fixed).unwrap_or_else(|e| panic!("{url:?}: {e}"));
                assert!(matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some());
                let mut t = vec![url.clone()];
                t.extend(headers.values().cloned());
                t.extend(body.iter().map(Value::to_string));
                t
            }
            _ => Vec::new(),
        };
        for text in texts {
            for part in text.split("{secret.").skip(1) {
                let name = part.split('}').next().unwrap_or("");
                assert!(config.secrets.get(name).is_some(), "secret {name:?}");
            }
        }
    }
    for builtin in ["acknowledge", "silence", "maintenance", "expire_silence"] {
        assert!(
            config.actions.iter().any(|a| a.name == builtin),
            "built-in {builtin} kept unless replaced"
        );
    }
}

/// Whether every bracket in a PromQL expression closes, outside its
/// strings (`"…"` and `'…'` with backslash escapes, `` `…` `` raw), and no
/// string is left open.
fn promql_is_whole(q: &str) -> bool {
    let mut depth: Vec<char> = Vec::new();
    let mut chars = q.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' && c != '`' {
                        chars.next();
                    } else if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return false;
                }
            }
            '(' | '[' | '{' => depth.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if depth.pop() != Some(open) {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth.is_empty()
}

/// A user's convention file (`conventions/*.toml`) and an `[alerts]`
/// selector, both from the same bytes: each is read or refused with a
/// message, never a panic. A convention read gives queries that are whole
/// PromQL (every bracket closed outside strings, no control character
/// written raw) in which its metric appears, and a detection query that
/// asks for it; a selector read keeps its text and matches any labels
/// without panicking, a label it requires absent failing an `=` on a
/// value that is not empty.
pub fn convention_files(data: &[u8]) {
    use opsdeck::domain::matchers::Selector;
    use opsdeck::sli::{SliSet, SliSpec};
    let text = String::from_utf8_lossy(data);
    match opsdeck::sli::catalogue::parse("fuzz", &text) {
        Err(message) => assert!(!message.is_empty(), "a refusal says why"),
        Ok(convention) => {
            let labels = vec!["service".to_string(), "job".to_string()];
            let catalogue = vec![convention];
            let set = SliSet::build(
                &catalogue,
                &SliSpec::Convention("fuzz".into()),
                &[],
                &[],
                &labels,
            );
            for (name, q) in opsdeck::sli::derive::derive(&set, ("30d", 2_592_000)) {
                assert!(!q.is_empty(), "{name} is a query");
                assert!(
                    !q.chars().any(|c| c.is_control()),
                    "{name} writes no control character raw: {q:?}"
                );
                assert!(promql_is_whole(&q), "{name} is whole PromQL: {q}");
            }
            let detect = opsdeck::sli::derive::detection(&catalogue, &labels);
            assert!(promql_is_whole(&detect), "detection is whole: {detect}");
            assert!(detect.contains("fuzz"), "detection asks for it: {detect}");
        }
    }
    if let Ok(selector) = Selector::parse(&text) {
        assert_eq!(selector.text(), text.trim(), "a selector keeps its text");
        let none = |_: &str| None;
        let odd = |_: &str| Some("\u{1b}[2J\u{202e}");
        let _ = selector.matches(none);
        let _ = selector.matches(odd);
    }
}
