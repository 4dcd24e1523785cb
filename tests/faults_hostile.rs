//! Hostile data, end to end: a fake Prometheus and a fake Alertmanager on
//! loopback put terminal escapes and invisible characters into every field
//! they control, and the real binary, in tmux, is walked through every tab,
//! a row's details and the KPI drill-down while `tmux pipe-pane` keeps
//! every byte it writes to its pty. On those bytes:
//!
//! (a) none of the payloads' control bytes: no OSC, DCS, APC, PM or SOS, no
//!     raw C1 code point, no U+202E or U+200B, no NUL, BS, CR or other C0
//!     control but ESC;
//! (b) every ESC starts one of the sequences opsdeck itself writes (the
//!     whitelist below, from `src/terminal.rs` and ratatui's crossterm
//!     backend), which a benign run of the same walk proves complete;
//! (c) on screen, the payloads are shown escaped (`\x1b[2J`, `\u{202e}`)
//!     and a 10,000-character value is cut with an ellipsis.
//!
//! Fakes, not real servers: neither Prometheus nor Alertmanager serves a
//! label name that is not a valid one, and Prometheus never answers with
//! an `error` or `warnings` text of our choosing. (A raw ESC in a label
//! value through the real servers is `e2e_live.rs`'s case.)
//!
//! The last test, headless, gives the same dashboard a Prometheus answer
//! of NaN, ±Inf, 1e308, negative counters, duplicate series (which no real
//! Prometheus sends, hence the fake again), timestamps far in the past and
//! the future and empty results, drawn into ratatui's
//! `TestBackend`: no panic, and what cannot be a number reads `—` or
//! `unknown` (README: "Nothing that cannot be computed is shown as 0% or
//! 100%"; `src/ui/format.rs`: "never NaN"; `src/sources/convert.rs`:
//! numbers from servers that do not fit — NaN, negative, out of range —
//! are refused).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::{
    Expect, FakeReply, FakeRequest, FakeServer, Harness, Tmux, exit_status, gated_quiet_script,
    require_tmux, sh_quote, start_gated, unix_now,
};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const HARNESS: Harness = Harness {
    prefix: "opsdeck-hostile",
    wait: Duration::from_secs(20),
    poll: Duration::from_millis(100),
};

// ---------------------------------------------------------------------------
// The payloads
// ---------------------------------------------------------------------------

/// Each payload as a server sends it, and as opsdeck must show it.
const PIECES: [(&str, &str); 17] = [
    ("\x1b[2J", r"\x1b[2J"),
    ("\x1b[6n", r"\x1b[6n"),
    ("\x1b]0;title\x07", r"\x1b]0;title\x07"),
    ("\x1b]8;;http://e/\x1b\\", r"\x1b]8;;http://e/\x1b\"),
    ("\x1b]52;c;cHduZWQ=\x07", r"\x1b]52;c;cHduZWQ=\x07"),
    ("\x1bP+q544e\x1b\\", r"\x1bP+q544e\x1b\"),
    ("\x1b_apc\x1b\\", r"\x1b_apc\x1b\"),
    ("\x1b^pm\x1b\\", r"\x1b^pm\x1b\"),
    ("\x1bXsos\x1b\\", r"\x1bXsos\x1b\"),
    ("\r", r"\x0d"),
    ("\x08", r"\x08"),
    ("\u{9b}31m", r"\x9b31m"),
    ("\u{9d}0;c1\u{9c}", r"\x9d0;c1\x9c"),
    ("\u{202e}", r"\u{202e}"),
    ("\u{200b}", r"\u{200b}"),
    ("\0", r"\x00"),
    ("\u{90}q\u{9c}", r"\x90q\x9c"),
];

/// 10,000 characters.
fn long(tag: &str) -> String {
    format!("{tag}{}", "x".repeat(10_000 - tag.len()))
}

/// What the fakes serve: `tag`, and, when hostile, every payload after it,
/// starting with payload `k` (so that each payload comes first, and shows
/// in full at the start of a table cell, in some field).
#[derive(Clone, Copy)]
struct Data {
    hostile: bool,
}

impl Data {
    fn text(self, tag: &str, k: usize) -> String {
        if !self.hostile {
            return tag.to_string();
        }
        let mut out = tag.to_string();
        for i in 0..PIECES.len() {
            out.push_str(PIECES[(k + i) % PIECES.len()].0);
        }
        out
    }

    /// How `text(tag, k)` starts on screen: the tag and the first payload.
    fn shown(self, tag: &str, k: usize) -> String {
        if self.hostile {
            format!("{tag}{}", PIECES[k % PIECES.len()].1)
        } else {
            tag.to_string()
        }
    }

    fn services(self) -> Vec<String> {
        let mut out: Vec<String> = (0..6).map(|i| self.text(&format!("Sv{i}"), i)).collect();
        out.push(long("Lx"));
        out
    }

    fn hosts(self) -> Vec<String> {
        (0..4)
            .map(|i| self.text(&format!("Ho{i}"), 6 + i))
            .collect()
    }

    fn targets(self) -> Vec<String> {
        (0..4)
            .map(|i| self.text(&format!("Tg{i}"), 10 + i))
            .collect()
    }

    fn alertnames(self) -> Vec<String> {
        (0..3)
            .map(|i| self.text(&format!("Al{i}"), 14 + i))
            .collect()
    }

    /// What the walk waits for on each table, and what must be on screen
    /// somewhere by the end: every name cell's start.
    fn names_shown(self) -> Vec<String> {
        let mut out: Vec<String> = (0..6).map(|i| self.shown(&format!("Sv{i}"), i)).collect();
        out.extend((0..4).map(|i| self.shown(&format!("Ho{i}"), 6 + i)));
        out.extend((0..4).map(|i| self.shown(&format!("Tg{i}"), 10 + i)));
        out.extend((0..3).map(|i| self.shown(&format!("Al{i}"), 14 + i)));
        out
    }
}

// ---------------------------------------------------------------------------
// The fake Prometheus
// ---------------------------------------------------------------------------

/// A hostile label name on every series, beside the real ones.
fn labels(data: Data, pairs: &[(&str, String)]) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(data.text("ln", 3), json!("x"));
    for (k, v) in pairs {
        map.insert((*k).to_string(), json!(v));
    }
    Value::Object(map)
}

fn vector(series: Vec<(Value, f64)>, warnings: Vec<String>) -> FakeReply {
    let now = unix_now();
    let result: Vec<Value> = series
        .into_iter()
        .map(|(metric, v)| json!({"metric": metric, "value": [now, v.to_string()]}))
        .collect();
    FakeReply::json(
        200,
        json!({"status": "success", "data": {"resultType": "vector", "result": result}, "warnings": warnings})
            .to_string(),
    )
}

fn matrix(series: Vec<(Value, f64)>, request: &FakeRequest) -> FakeReply {
    let param = |n: &str| request.param(n).and_then(|v| v.parse::<f64>().ok());
    let (start, end) = (param("start").unwrap_or(0.0), param("end").unwrap_or(0.0));
    let result: Vec<Value> = series
        .into_iter()
        .map(|(metric, v)| {
            json!({"metric": metric, "values": [[start, v.to_string()], [end, v.to_string()]]})
        })
        .collect();
    FakeReply::json(
        200,
        json!({"status": "success", "data": {"resultType": "matrix", "result": result}})
            .to_string(),
    )
}

/// Every query of `src/sources/queries.rs` answered from the estate, by
/// what its default text asks for.
fn prometheus_answer(data: Data, request: &FakeRequest) -> FakeReply {
    let q = request.param("query").unwrap_or("");
    let now = unix_now().floor();
    let per = |names: &[String], label: &str, v: f64| -> Vec<(Value, f64)> {
        names
            .iter()
            .map(|n| (labels(data, &[(label, n.clone())]), v))
            .collect()
    };
    let services = data.services();
    let deployed: Vec<String> = services[..3].to_vec();
    let per_deploy = |v: f64| -> Vec<(Value, f64)> {
        deployed
            .iter()
            .map(|s| {
                let l = labels(
                    data,
                    &[("service", s.clone()), ("environment", data.text("En", 7))],
                );
                (l, v)
            })
            .collect()
    };
    let range = request.path.ends_with("query_range");
    if range {
        return if q.contains("ALERTS") {
            FakeReply::html(500, &data.text("500 Gone", 5))
        } else if q.contains("node_cpu") {
            matrix(per(&data.hosts(), "instance", 0.3), request)
        } else if q.contains("http_requests_total") {
            matrix(per(&services, "service", 10.0), request)
        } else {
            matrix(Vec::new(), request)
        };
    }
    let series = if q.contains("saturation_ratio") {
        // An error envelope whose text is hostile too.
        return FakeReply::json(
            422,
            json!({"status": "error", "errorType": "execution", "error": data.text("Er", 12)})
                .to_string(),
        );
    } else if q.contains("changes(deployment_timestamp") {
        per_deploy(3.0)
    } else if q.contains("deployment_rollbacks_total[") {
        per_deploy(1.0)
    } else if q.contains("deployment_info") {
        deployed
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let strategy = ["canary", "blue-green", "rolling"][i];
                let l = labels(
                    data,
                    &[
                        ("service", s.clone()),
                        ("environment", data.text("En", 7)),
                        ("version", data.text("Ve", 8 + i)),
                        ("previous_version", data.text("Pv", 11 + i)),
                        ("strategy", strategy.to_string()),
                        ("color", data.text("green", 2)),
                        ("phase", data.text("Ph", 4)),
                    ],
                );
                (l, 1.0)
            })
            .collect()
    } else if q.contains("deployment_canary_weight") {
        per_deploy(25.0)
    } else if q.contains("deployment_timestamp_seconds") {
        per_deploy(now - 600.0)
    } else if q.contains("deployment_rollbacks_total") {
        per_deploy(2.0)
    } else if q.contains("changes(backup_last_success") {
        per(&data.targets(), "target", 10.0)
    } else if q.contains("changes(backup_last_failure") {
        per(&data.targets(), "target", 1.0)
    } else if q.contains("backup_last_success_timestamp_seconds") {
        data.targets()
            .iter()
            .map(|t| {
                let l = labels(data, &[("target", t.clone()), ("tier", data.text("Ti", 9))]);
                (l, now - 300.0)
            })
            .collect()
    } else if q.contains("backup_last_size_bytes") {
        per(&data.targets(), "target", 1e9)
    } else if q.contains("backup_last_duration_seconds") {
        per(&data.targets(), "target", 60.0)
    } else if q.contains("backup_last_verified") {
        per(&data.targets(), "target", now - 3600.0)
    } else if q.contains("dr_drill_last_timestamp") {
        per(&data.targets(), "target", now - 86_400.0)
    } else if q.contains("dr_drill_last_rto") {
        per(&data.targets(), "target", 1200.0)
    } else if q.contains("up{job") {
        per(&data.hosts(), "instance", 1.0)
    } else if q.contains("node_cpu") {
        per(&data.hosts(), "instance", 0.3)
    } else if q.contains("node_memory") {
        per(&data.hosts(), "instance", 0.5)
    } else if q.contains("node_filesystem") {
        per(&data.hosts(), "instance", 0.6)
    } else if q.contains("count by (job") || q.contains("sum by (job") {
        services
            .iter()
            .map(|s| {
                let l = labels(data, &[("service", s.clone()), ("job", data.text("jb", 1))]);
                (l, 2.0)
            })
            .collect()
    } else if q.contains("histogram_quantile(0.95") {
        per(&services, "service", 0.12)
    } else if q.contains("histogram_quantile(0.99") {
        per(&services, "service", 0.3)
    } else if q.contains(") / sum by") {
        per(&services, "service", 0.001)
    } else if q.contains("increase(http_requests_total{code") {
        per(&services, "service", 10.0)
    } else if q.contains("increase(http_requests_total[") {
        per(&services, "service", 100_000.0)
    } else if q.contains("rate(http_requests_total{code") {
        per(&services, "service", 0.01)
    } else if q.contains("rate(http_requests_total[5m]") {
        // The main traffic query also carries a warning from the server.
        return vector(per(&services, "service", 10.0), vec![data.text("Wa", 13)]);
    } else if q.contains("rate(http_requests_total[") {
        per(&services, "service", 10.0)
    } else {
        Vec::new()
    };
    vector(series, Vec::new())
}

// ---------------------------------------------------------------------------
// The fake Alertmanager
// ---------------------------------------------------------------------------

fn alertmanager_answer(data: Data, request: &FakeRequest) -> FakeReply {
    let iso = |offset: i64| {
        (chrono::Utc::now() + chrono::Duration::seconds(offset))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    if request.path.ends_with("/silences") {
        let silences = json!([
            {
                "id": data.text("id", 11),
                "status": {"state": "active"},
                "comment": data.text("why", 10),
                "createdBy": data.text("by", 9),
                "startsAt": iso(-3600), "endsAt": iso(3600),
                "matchers": [{"name": data.text("mn", 7), "value": data.text("mv", 8), "isRegex": false, "isEqual": true}]
            },
            {
                "id": "s2",
                "status": {"state": "pending"},
                "comment": long("Cm"),
                "createdBy": long("Cb"),
                "startsAt": iso(3600), "endsAt": iso(7200),
                "matchers": [{"name": "service", "value": long("Mv"), "isRegex": true, "isEqual": true}]
            }
        ]);
        return FakeReply::json(200, silences.to_string());
    }
    let alerts: Vec<Value> = data
        .alertnames()
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let mut labels = serde_json::Map::new();
            labels.insert("alertname".into(), json!(name));
            labels.insert("service".into(), json!(data.text("sv", i)));
            labels.insert("severity".into(), json!(["critical", "warning", "info"][i]));
            labels.insert(data.text("ln", 3 + i), json!(data.text("lv", 4 + i)));
            let summary = if i == 2 {
                long("Su")
            } else {
                data.text("Su", 5 + i)
            };
            json!({
                "labels": labels,
                "annotations": {
                    "summary": summary,
                    "description": data.text("De", 6 + i),
                    "runbook_url": data.text("https://rb/", 7 + i),
                },
                "startsAt": iso(-600 * (i as i64 + 1)),
                "endsAt": iso(3600),
                "fingerprint": data.text(&format!("fp{i}"), i),
                "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}
            })
        })
        .collect();
    FakeReply::json(200, Value::Array(alerts).to_string())
}

// ---------------------------------------------------------------------------
// The bytes on the pty
// ---------------------------------------------------------------------------

/// Where and what each thing in `bytes` is that opsdeck does not write
/// itself: a C0 control other than ESC, DEL, a C1 code point, a bidi or
/// zero-width character, invalid UTF-8, or an escape sequence not on the
/// whitelist. Empty when the stream is clean.
///
/// The whitelist, from the code: `src/terminal.rs` enters and leaves the
/// alternate screen (`CSI ?1049h/l`), hides and shows the cursor
/// (`CSI ?25l/h`) and turns bracketed paste on and off (`CSI ?2004h/l`);
/// ratatui's crossterm backend moves the cursor (`CSI row;col H`), sets
/// colours and attributes (SGR, `CSI ... m`), clears the screen on a
/// resize (`CSI 2J`; its other clears are for inline viewports, which
/// opsdeck does not use) and hides or shows the cursor. Nothing else: no
/// OSC (the
/// runbook's OSC 52 copy is only written on `u`, which the walk never
/// presses), no DCS/APC/PM/SOS, no other CSI.
fn foreign(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            out.push(format!("invalid UTF-8 at byte {}", e.valid_up_to()));
            return out;
        }
    };
    // 24 bytes either side of `at`, widened to whole characters.
    let context = |at: usize| {
        let mut start = at.saturating_sub(24);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (at + 24).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        format!("{:?}", &text[start..end])
    };
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\x1b' => {
                let Some(&(_, kind)) = chars.peek() else {
                    out.push(format!("a lone ESC at the end, byte {at}"));
                    break;
                };
                if kind != '[' {
                    out.push(format!("ESC {kind:?} at byte {at}: {}", context(at)));
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut fin = None;
                for (_, c) in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        fin = Some(c);
                        break;
                    }
                    params.push(c);
                }
                let Some(fin) = fin else {
                    out.push(format!("a CSI cut off at byte {at}"));
                    break;
                };
                if !whitelisted(&params, fin) {
                    out.push(format!(
                        "CSI {params:?} {fin:?} at byte {at}: {}",
                        context(at)
                    ));
                }
            }
            c if c < ' ' || c == '\x7f' => out.push(format!(
                "control {:#04x} at byte {at}: {}",
                c as u32,
                context(at)
            )),
            '\u{80}'..='\u{9f}' => out.push(format!(
                "C1 control U+{:04X} at byte {at}: {}",
                c as u32,
                context(at)
            )),
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}' => out.push(format!(
                "invisible U+{:04X} at byte {at}: {}",
                c as u32,
                context(at)
            )),
            _ => {}
        }
    }
    out
}

/// Whether `CSI params final` is one opsdeck writes itself.
fn whitelisted(params: &str, fin: char) -> bool {
    let numeric = params
        .chars()
        .all(|c| c.is_ascii_digit() || c == ';' || c == ':');
    match fin {
        'H' | 'm' => numeric,
        // ratatui clears the whole screen (`Terminal::clear`, on a resize)
        // and nothing less.
        'J' => params == "2",
        'h' | 'l' => matches!(params, "?1049" | "?25" | "?2004"),
        _ => false,
    }
}

/// Every escape sequence in `bytes` by kind (`CSI ?1049 h`, `CSI m`...),
/// for the report of what opsdeck wrote.
fn kinds(bytes: &[u8]) -> BTreeSet<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = BTreeSet::new();
    for piece in text.split('\x1b').skip(1) {
        let Some(rest) = piece.strip_prefix('[') else {
            out.insert(format!("ESC {:?}", piece.chars().next()));
            continue;
        };
        let end = rest.find(|c: char| ('\x40'..='\x7e').contains(&c));
        if let Some(end) = end {
            let params = &rest[..end];
            let fin = &rest[end..end + 1];
            let shown = if params.starts_with('?') { params } else { "" };
            out.insert(format!("CSI {shown}{fin}"));
        }
    }
    out
}

#[test]
fn the_byte_check_flags_every_payload_and_passes_what_opsdeck_writes() {
    // What opsdeck writes, from the code: set-up, a frame, tear-down.
    let own = b"\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[2J\x1b[1;1H\x1b[38;5;2m\x1b[1m\xe2\x9c\x94 OK\x1b[39m\x1b[49m\x1b[59m\x1b[0m\x1b[2;3H\xe2\x94\x80\x1b[?2004l\x1b[?1049l\x1b[?25h";
    assert!(foreign(own).is_empty(), "{:?}", foreign(own));
    for (raw, shown) in PIECES {
        let stream = format!("\x1b[1;1Hsvc{raw}end\x1b[0m");
        let found = foreign(stream.as_bytes());
        // `\x1b[2J` is a clear opsdeck writes too: its raw form is caught
        // on screen instead (the walk finds no "svc" followed by a clear).
        if raw == "\x1b[2J" {
            assert!(found.is_empty());
            continue;
        }
        assert!(!found.is_empty(), "{shown} passes the byte check");
        // Its escaped form is plain text, which passes.
        let escaped = format!("\x1b[1;1Hsvc{shown}end\x1b[0m");
        assert!(foreign(escaped.as_bytes()).is_empty(), "{shown}");
    }
    assert!(!foreign(b"\xff\xfe").is_empty(), "invalid UTF-8");
    assert!(!foreign(b"a\x1b").is_empty(), "a lone ESC");
}

// ---------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------

/// Enter opens the selected row's details, Esc closes them (back to a
/// screen with `still` on it); both screens are kept.
fn details(t: &Tmux, screens: &mut Vec<String>, what: &str, still: &str) {
    screens.push(t.press("Enter", what, Expect::default().has(&["Esc closes"])));
    let still = [still];
    screens.push(t.press(
        "Escape",
        "the details closed",
        Expect::default().has(&still).lacks(&["Esc closes"]),
    ));
}

/// What a walk saw: every screen read, and every byte written.
struct Walk {
    screens: Vec<String>,
    /// Each tab's screen as the walk first found it, by its number.
    tabs: Vec<(usize, String)>,
    bytes: Vec<u8>,
}

/// Runs opsdeck on the fakes serving `data`, in a 120x40 pane captured
/// byte for byte, and walks it through every tab, a row's details on each,
/// the other panel's details where there is one, the KPI drill-down and
/// help; then quits.
fn walk(data: Data, name: &str) -> Walk {
    require_tmux();
    let prometheus = FakeServer::start(move |r| prometheus_answer(data, r));
    let alertmanager = FakeServer::start(move |r| alertmanager_answer(data, r));
    let mut t = Tmux::new(HARNESS, name);
    let config = t.dir().join("opsdeck.toml");
    std::fs::write(
        &config,
        format!(
            "[[prometheus]]\nname = \"prom\"\nurl = \"{}\"\n\n[[alertmanager]]\nname = \"am\"\nurl = \"{}\"\n",
            prometheus.url(),
            alertmanager.url()
        ),
    )
    .unwrap();
    let command = format!(
        "{} --config {} --audit-log {}",
        sh_quote(BIN),
        sh_quote(&config.display().to_string()),
        sh_quote(&t.path("audit.log"))
    );
    let script = gated_quiet_script(&t, &command);
    let capture = start_gated(&mut t, 120, 40, &script);
    let pid = t.opsdeck_pid();
    let mut screens = Vec::new();
    let names = data.names_shown();
    let has = |from: usize, to: usize| {
        names[from..to]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    };
    let (services, hosts, targets, alerts) = (has(0, 6), has(6, 10), has(10, 14), has(14, 17));

    // Each tab is told by its data, not its panel titles: a long server
    // text on a border must not stall the walk (the titles are checked
    // after it, from `tabs`).
    let mut tabs: Vec<(usize, String)> = Vec::new();

    // 1 KPIs: the services by error budget; then the tiles, and the
    // drill-down of the first.
    let kpis = t.expect(
        "the KPI tab with the services",
        Expect::default().has(&services).lines(&[
            &[" opsdeck ", "UTC"],
            &["Availability 30d", "Error budget left"],
        ]),
    );
    tabs.push((1, kpis.clone()));
    screens.push(kpis);
    t.send("w");
    screens.push(t.press(
        "Enter",
        "the drill-down of the first tile",
        Expect::default().has(&["Esc closes", "made of"]),
    ));
    screens.push(
        t.press(
            "Escape",
            "the drill-down closed",
            Expect::default()
                .has(&["Availability 30d"])
                .lacks(&["Esc closes"]),
        ),
    );

    // 2 Health: services and hosts, and the details of one of each.
    let both: Vec<&str> = services.iter().chain(&hosts).copied().collect();
    t.send("2");
    let health = t.expect(
        "the services and hosts",
        Expect::default().has(&both).lacks(&["Availability 30d"]),
    );
    tabs.push((2, health.clone()));
    screens.push(health);
    details(&t, &mut screens, "a service's details", "Req/s");
    t.send("w");
    details(&t, &mut screens, "a host's details", "Memory");

    // 3 Deploys.
    t.send("3");
    let deploys = t.expect(
        "the deployments",
        Expect::default().has(&services[..3]).lacks(&["Req/s"]),
    );
    tabs.push((3, deploys.clone()));
    screens.push(deploys);
    details(&t, &mut screens, "a deployment's details", "Strategy");

    // 4 Backups.
    t.send("4");
    let backups = t.expect("the backups", Expect::default().has(&targets));
    tabs.push((4, backups.clone()));
    screens.push(backups);
    details(&t, &mut screens, "a backup's details", "Last good");

    // 5 Incidents: the incidents and silences, and the details of one of
    // each, the long silence's too.
    t.send("5");
    let incidents = t.expect("the incidents", Expect::default().has(&alerts));
    tabs.push((5, incidents.clone()));
    screens.push(incidents);
    details(&t, &mut screens, "an incident's details", "Severity");
    t.send("w");
    details(&t, &mut screens, "a silence's details", "Matchers");
    t.send("Down");
    details(&t, &mut screens, "the long silence's details", "Matchers");

    // Help, then quit.
    screens.push(t.press("?", "help", Expect::default().has(&["╭ Keys"])));
    // Esc and q sent at once can arrive as one Alt-q: close help first.
    t.press(
        "Escape",
        "help closed",
        Expect::default().lacks(&["╭ Keys"]),
    );
    t.send("q");
    assert!(
        t.wait_exited(pid, Duration::from_secs(10)),
        "opsdeck still running after q; screen:\n{}",
        t.capture().unwrap_or_default()
    );
    let code = support::wait_until("the exit status", Duration::from_secs(5), || {
        exit_status(&t)
    });
    assert_eq!(code, 0, "exit status after q");
    let bytes = capture.settled(Duration::from_millis(300));
    drop((prometheus, alertmanager));
    Walk {
        screens,
        tabs,
        bytes,
    }
}

/// Each tab's panel titles, which no server text may push off a border.
const TITLES: [(usize, &[&str]); 5] = [
    (1, &["╭ Services by error budget"]),
    (2, &["╭ Services", "╭ Hosts"]),
    (3, &["╭ Deployments"]),
    (4, &["╭ Backups"]),
    (5, &["╭ Incidents", "╭ Silences"]),
];

/// The panel titles missing from the walk's tabs.
fn titles_missing(walk: &Walk) -> Vec<String> {
    let mut out = Vec::new();
    for (n, titles) in TITLES {
        let screen = walk
            .tabs
            .iter()
            .find(|(tab, _)| *tab == n)
            .map_or("", |(_, s)| s.as_str());
        for title in titles.iter().filter(|t| !screen.contains(*t)) {
            out.push(format!("tab {n}: {title:?} is gone:\n{screen}"));
        }
    }
    out
}

#[test]
fn a_benign_estate_writes_only_the_sequences_opsdeck_itself_emits() {
    let walk = walk(Data { hostile: false }, "benign");
    let kinds = kinds(&walk.bytes);
    eprintln!(
        "[hostile] benign run: {} bytes, sequences {kinds:?}",
        walk.bytes.len()
    );
    // The whitelist covers everything opsdeck wrote...
    let foreign = foreign(&walk.bytes);
    assert!(
        foreign.is_empty(),
        "opsdeck itself wrote what the whitelist does not allow, so the whitelist is wrong:\n{}",
        foreign.join("\n")
    );
    // ...and the walk exercised it: set-up, frames and tear-down.
    for needed in [
        "CSI ?1049h",
        "CSI ?25l",
        "CSI ?2004h",
        "CSI H",
        "CSI m",
        "CSI ?2004l",
        "CSI ?1049l",
        "CSI ?25h",
    ] {
        assert!(kinds.contains(needed), "no {needed} in {kinds:?}");
    }
    // Every panel keeps its title (which the hostile run checks too).
    let missing = titles_missing(&walk);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn hostile_strings_in_every_field_reach_the_terminal_only_escaped() {
    let data = Data { hostile: true };
    let walk = walk(data, "hostile");
    eprintln!("[hostile] hostile run: {} bytes", walk.bytes.len());
    for (n, screen) in &walk.tabs {
        eprintln!("[hostile] tab {n}:\n{screen}");
    }

    // (a) and (b): nothing in the stream but text and opsdeck's own
    // sequences.
    let foreign = foreign(&walk.bytes);
    assert!(
        foreign.is_empty(),
        "{} things in the pty stream that opsdeck does not write itself:\n{}",
        foreign.len(),
        foreign
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // A clear (`ESC [2J`) is one of opsdeck's own sequences, so the check
    // above passes it: no field's text is ever followed by its first
    // payload raw, that one included.
    let text = String::from_utf8_lossy(&walk.bytes);
    for (tag, k) in fields() {
        let raw = format!("{tag}{}", PIECES[k % PIECES.len()].0);
        assert!(
            !text.contains(&raw),
            "{tag:?} followed by its payload {:?}, raw, in the pty stream",
            PIECES[k % PIECES.len()].1
        );
    }

    // (c) On screen: every payload escaped, at the start of some name
    // cell; the error envelope's text escaped, from its start; long values
    // cut with an ellipsis; and no server text pushing a panel's title off
    // its border.
    let all = walk.screens.join("\n");
    let mut misses: Vec<String> = data
        .names_shown()
        .into_iter()
        .filter(|n| !all.contains(n.as_str()))
        .map(|n| format!("{n:?} not on any screen"))
        .collect();
    misses.extend(
        PIECES
            .iter()
            .filter(|(_, shown)| !all.contains(shown))
            .map(|(_, shown)| format!("{shown} never on screen")),
    );
    let error = format!("⚠ saturation: execution: {}", data.shown("Er", 12));
    if !all.contains(&error) {
        misses.push(format!("{error:?} is not on any screen"));
    }
    misses.extend(cut_without_ellipsis(&walk));
    misses.extend(titles_missing(&walk));
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

/// Every hostile field the fakes serve: its tag and its first payload.
fn fields() -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    out.extend((0..6).map(|i| (format!("Sv{i}"), i)));
    out.extend((0..4).map(|i| (format!("Ho{i}"), 6 + i)));
    out.extend((0..4).map(|i| (format!("Tg{i}"), 10 + i)));
    out.extend((0..3).map(|i| (format!("Al{i}"), 14 + i)));
    for i in 0..3 {
        out.extend([
            ("Ve".to_string(), 8 + i),
            ("Pv".to_string(), 11 + i),
            ("sv".to_string(), i),
            ("ln".to_string(), 3 + i),
            ("lv".to_string(), 4 + i),
            ("De".to_string(), 6 + i),
            ("https://rb/".to_string(), 7 + i),
            (format!("fp{i}"), i),
        ]);
    }
    for (tag, k) in [
        ("En", 7),
        ("green", 2),
        ("Ph", 4),
        ("Ti", 9),
        ("jb", 1),
        ("Er", 12),
        ("Wa", 13),
        ("Su", 5),
        ("Su", 6),
        ("id", 11),
        ("why", 10),
        ("by", 9),
        ("mn", 7),
        ("mv", 8),
        ("500 Gone", 5),
    ] {
        out.push((tag.to_string(), k));
    }
    out
}

/// The 10,000-character values: a service name, an alert's summary, a
/// silence's comment, author and matcher value, each a tag and `x`s.
const LONG_TAGS: [&str; 5] = ["Lx", "Su", "Cm", "Cb", "Mv"];

/// Where a 10,000-character value shows on a tab's screen without an
/// ellipsis at its end, so that nobody can tell it was cut. (Details
/// pop-ups wrap instead, and are not judged here.)
fn cut_without_ellipsis(walk: &Walk) -> Vec<String> {
    let mut out = Vec::new();
    for (n, screen) in &walk.tabs {
        for line in screen.lines() {
            for tag in LONG_TAGS {
                for (at, _) in line.match_indices(&format!("{tag}xxx")) {
                    let rest = &line[at + tag.len()..];
                    let run = rest.chars().take_while(|c| *c == 'x').count();
                    if rest.chars().nth(run) != Some('…') {
                        let shown: String = rest.chars().take(run + 1).collect();
                        out.push(format!(
                            "tab {n}: a 10,000-character value cut without an ellipsis: {tag}{shown}"
                        ));
                    }
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Numbers that are not numbers, headless
// ---------------------------------------------------------------------------

mod numbers {
    use super::*;
    use chrono::{DateTime, Utc};
    use opsdeck::app::command::Command;
    use opsdeck::app::{App, Msg, Settings};
    use opsdeck::config::file::{Config, Endpoint, ServiceMeta};
    use opsdeck::config::keymap::Keymap;
    use opsdeck::config::theme::Theme;
    use opsdeck::domain::{Status, Tier};
    use opsdeck::sources::metrics::PrometheusSource;
    use opsdeck::sources::{Feed, FeedUpdate, Source};
    use std::sync::Arc;
    use support::render;

    /// The values each service's answers carry: (service, value). "dup"
    /// comes twice in each answer, as two series with the same labels.
    const SERVICES: [(&str, f64); 7] = [
        ("s-nan", f64::NAN),
        ("s-inf", f64::INFINITY),
        ("s-neginf", f64::NEG_INFINITY),
        ("s-huge", 1e308),
        ("s-neg", -5.0),
        ("s-dup", 1.0),
        ("s-dup", 2.0),
    ];
    /// The same without the service whose values are numbers after all
    /// (its latency, 2 s, is a real one).
    const NOT_NUMBERS: [(&str, f64); 5] = [
        ("s-nan", f64::NAN),
        ("s-inf", f64::INFINITY),
        ("s-neginf", f64::NEG_INFINITY),
        ("s-huge", 1e308),
        ("s-neg", -5.0),
    ];

    fn prom_value(v: f64) -> String {
        if v.is_nan() {
            "NaN".into()
        } else if v == f64::INFINITY {
            "+Inf".into()
        } else if v == f64::NEG_INFINITY {
            "-Inf".into()
        } else {
            format!("{v:e}")
        }
    }

    fn answer(series: Vec<(Value, f64)>, range: bool) -> FakeReply {
        let now = unix_now();
        let result: Vec<Value> = series
            .into_iter()
            .map(|(metric, v)| {
                if range {
                    json!({"metric": metric, "values": [[now - 60.0, prom_value(v)], [now, prom_value(v)]]})
                } else {
                    json!({"metric": metric, "value": [now, prom_value(v)]})
                }
            })
            .collect();
        let kind = if range { "matrix" } else { "vector" };
        FakeReply::json(
            200,
            json!({"status": "success", "data": {"resultType": kind, "result": result}})
                .to_string(),
        )
    }

    fn by(label: &str, pairs: &[(&str, f64)]) -> Vec<(Value, f64)> {
        pairs
            .iter()
            .map(|(n, v)| (json!({label: n, "environment": "prod"}), *v))
            .collect()
    }

    /// One answer per query with every kind of number that is not one.
    fn numbers(request: &FakeRequest) -> FakeReply {
        let q = request.param("query").unwrap_or("");
        let range = request.path.ends_with("query_range");
        let now = unix_now().floor();
        let services = || by("service", &SERVICES);
        let hosts = || {
            by(
                "instance",
                &[
                    ("h-nan", f64::NAN),
                    ("h-inf", f64::INFINITY),
                    ("h-neg", -0.5),
                    ("h-huge", 1e308),
                ],
            )
        };
        let series = if q.contains("ALERTS") {
            // An empty result: no incident in the window.
            Vec::new()
        } else if q.contains("increase(http_requests_total{code") {
            // Errors over the window: none of them a count; negative for
            // "s-negerr" (a counter reset read wrong), whose requests are a
            // count.
            by(
                "service",
                &[
                    ("s-nan", f64::NAN),
                    ("s-inf", f64::INFINITY),
                    ("s-neginf", f64::NEG_INFINITY),
                    ("s-neg", -5.0),
                    ("s-negerr", -5.0),
                ],
            )
        } else if q.contains("increase(http_requests_total[") {
            by(
                "service",
                &[
                    ("s-nan", f64::NAN),
                    ("s-inf", f64::INFINITY),
                    ("s-neginf", f64::NEG_INFINITY),
                    ("s-neg", -100.0),
                    ("s-negerr", 1000.0),
                ],
            )
        } else if q.contains("histogram_quantile") {
            by("service", &NOT_NUMBERS)
        } else if q.contains("http_requests_total") {
            services()
        } else if q.contains("node_") || q.contains("up{job") {
            hosts()
        } else if q.contains("deployment_info") && !q.contains("changes") {
            SERVICES
                .iter()
                .map(|(s, _)| {
                    (
                        json!({"service": s, "environment": "prod", "version": "v2", "previous_version": "v1", "strategy": "canary", "phase": "progressing"}),
                        1.0,
                    )
                })
                .collect()
        } else if q.contains("deployment_canary_weight") {
            services()
        } else if q.contains("deployment_timestamp_seconds") && !q.contains("changes") {
            // Far in the future, beyond any date: unknown.
            by(
                "service",
                &[("s-nan", 1e15), ("s-inf", f64::INFINITY), ("s-neg", -1.0)],
            )
        } else if q.contains("backup_last_success_timestamp_seconds") && !q.contains("changes") {
            by(
                "target",
                &[
                    ("b-ancient", 1.0),
                    ("b-future", 1e15),
                    ("b-nan", f64::NAN),
                    ("b-fine", now - 60.0),
                ],
            )
        } else if q.contains("backup_last_size_bytes") {
            by(
                "target",
                &[
                    ("b-ancient", 1e308),
                    ("b-future", -1.0),
                    ("b-nan", f64::NAN),
                ],
            )
        } else if q.contains("backup_last_duration_seconds") || q.contains("dr_drill_last_rto") {
            by(
                "target",
                &[
                    ("b-ancient", f64::INFINITY),
                    ("b-future", -60.0),
                    ("b-nan", 1e308),
                ],
            )
        } else if q.contains("dr_drill_last_timestamp") {
            by(
                "target",
                &[("b-ancient", now), ("b-future", now), ("b-nan", now)],
            )
        } else {
            // Everything else answers with nothing at all.
            Vec::new()
        };
        answer(series, range)
    }

    /// Words on `screen` that are a float's way of saying "not a number":
    /// `NaN`, or `inf` / `-inf` with whatever unit follows (`inf%`,
    /// `infx`). The names in this test are chosen not to look like them.
    fn non_numbers(screen: &str) -> Vec<String> {
        screen
            .split(|c: char| c.is_whitespace() || c == '│' || c == '·' || c == '/')
            .filter(|w| {
                let bare = w.trim_start_matches(['-', '+']);
                w.contains("NaN") || bare.starts_with("inf") && !bare.starts_with("info")
            })
            .map(String::from)
            .collect()
    }

    /// The text under column `header` in the row whose line holds `key`,
    /// on a table whose header line holds `header` and `first` (cells are
    /// read by the header's position).
    fn cell(screen: &str, first: &str, header: &str, key: &str) -> String {
        let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
        let as_text = |l: &[char]| l.iter().collect::<String>();
        let head = lines
            .iter()
            .position(|l| {
                let t = as_text(l);
                t.contains(first) && t.contains(header)
            })
            .unwrap_or_else(|| panic!("no header with {first:?} and {header:?}:\n{screen}"));
        let text = as_text(&lines[head]);
        let col = text[..text.find(header).unwrap()].chars().count();
        // The next column starts at the next header word after this one.
        let rest: String = lines[head][col + header.chars().count()..].iter().collect();
        let gap = rest
            .find(|c: char| c != ' ')
            .map_or(rest.len(), |i| rest[..i].chars().count());
        let width = header.chars().count() + gap;
        let row = lines[head + 1..]
            .iter()
            .find(|l| {
                let t = as_text(l);
                t.split_whitespace().any(|w| w == key)
            })
            .unwrap_or_else(|| panic!("no row {key:?} under {header:?}:\n{screen}"));
        row[col..(col + width).min(row.len())]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    }

    /// An app fed one fetch of every Prometheus feed from the fake, as the
    /// poller would feed it; the services are critical, so the latency
    /// tiles judge them.
    async fn app_on(fake: &FakeServer) -> App {
        let mut config = Config::default();
        let mut endpoint = Endpoint::plain("prom", reqwest::Url::parse(&fake.url()).unwrap());
        endpoint.timeout = Duration::from_secs(2);
        config.prometheus = vec![endpoint.clone()];
        for (name, _) in SERVICES.iter().chain(&[("s-negerr", 0.0)]) {
            let meta = ServiceMeta {
                tier: Tier::Critical,
                team: "ops".into(),
                runbook: None,
            };
            config.services.insert(name.to_string(), meta);
        }
        let source = Source::Metrics(Arc::new(PrometheusSource::new(endpoint, &config).unwrap()));
        let at: DateTime<Utc> = Utc::now();
        let settings = Settings::from_config(&config, false);
        let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), at);
        for feed in [
            Feed::Health,
            Feed::Deployments,
            Feed::Backups,
            Feed::History,
        ] {
            let fetched = source
                .fetch(feed, at, chrono::Duration::days(30))
                .await
                .unwrap_or_else(|e| panic!("{feed:?}: {e}"));
            app.update(Msg::Feed(FeedUpdate {
                source: "prom".into(),
                feed,
                at,
                result: Ok(fetched.value),
                warnings: fetched.warnings,
            }));
        }
        app
    }

    /// Every tab at 120x40 and 80x24, with the details of every row of
    /// every panel (on the KPI tab, the drill-down of every tile).
    fn every_screen(app: &mut App) -> Vec<String> {
        let mut screens = Vec::new();
        for (width, height) in [(120, 40), (80, 24)] {
            for tab in [
                Command::ShowKpis,
                Command::ShowHealth,
                Command::ShowDeploys,
                Command::ShowBackups,
            ] {
                app.run(tab);
                screens.push(render(app, width, height));
                for panel in 0..2 {
                    if panel == 1 {
                        app.run(Command::NextPanel);
                    }
                    app.run(Command::Top);
                    for _ in 0..14 {
                        app.run(Command::Open);
                        screens.push(render(app, width, height));
                        app.run(Command::Back);
                        app.run(Command::Down);
                    }
                }
                app.run(Command::NextPanel);
            }
        }
        screens
    }

    /// Each word that is not a number, once, with the first screen it is on.
    fn not_a_number_anywhere(screens: &[String]) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut misses = Vec::new();
        for screen in screens {
            let fresh: Vec<String> = non_numbers(screen)
                .into_iter()
                .filter(|w| seen.insert(w.clone()))
                .collect();
            if !fresh.is_empty() {
                misses.push(format!("not a number, shown: {fresh:?} in\n{screen}"));
            }
        }
        misses
    }

    /// How many rows of `screen` name `key`.
    fn rows_of(screen: &str, key: &str) -> usize {
        screen
            .lines()
            .filter(|l| l.split_whitespace().any(|w| w == key))
            .count()
    }

    /// The Health tab, cell by cell.
    fn health_misses(app: &mut App) -> Vec<String> {
        app.run(Command::ShowHealth);
        let health = render(app, 120, 40);
        let mut misses = Vec::new();
        for service in ["s-nan", "s-inf", "s-neginf", "s-neg"] {
            for header in ["Req/s", "p95", "p99"] {
                let shown = cell(&health, "Service", header, service);
                if shown != "—" {
                    misses.push(format!("{service} {header}: {shown:?}, not —"));
                }
            }
        }
        // A negative error count over the window is no availability at all,
        // not 100%.
        let budget = cell(&health, "Service", "Budget", "s-negerr");
        if budget != "—" {
            misses.push(format!(
                "s-negerr Budget: {budget:?}, not — (errors_window is -5)"
            ));
        }
        // 1e308 requests a second is not shown as a smaller number.
        let huge = cell(&health, "Service", "Req/s", "s-huge");
        let read = huge
            .trim_end_matches('k')
            .parse::<f64>()
            .unwrap_or(f64::NAN);
        if huge != "—" && !(read.is_finite() && read >= 1e300) {
            misses.push(format!("s-huge Req/s: {huge:?}, neither — nor 1e308"));
        }
        // Exactly one row for the service whose series came twice.
        if rows_of(&health, "s-dup") != 1 {
            misses.push(format!(
                "{} rows for s-dup on Health",
                rows_of(&health, "s-dup")
            ));
        }
        // Hosts: CPU, memory and disk of NaN, Inf, -50% and 1e308 are —.
        for host in ["h-nan", "h-inf", "h-neg", "h-huge"] {
            for header in ["CPU", "Memory", "Disk"] {
                let shown = cell(&health, "Host", header, host);
                if !shown.ends_with('—') {
                    misses.push(format!("{host} {header}: {shown:?}, not —"));
                }
            }
        }
        misses
    }

    /// The Deploys tab: a canary weight that is not a percentage is —, and
    /// so is a deployment time past any date.
    fn deploy_misses(app: &mut App) -> Vec<String> {
        app.run(Command::ShowDeploys);
        let deploys = render(app, 120, 40);
        let mut misses = Vec::new();
        for service in ["s-nan", "s-inf", "s-neginf", "s-huge", "s-neg"] {
            let shown = cell(&deploys, "Service", "Progress", service);
            if shown != "—" {
                misses.push(format!("{service} canary Progress: {shown:?}, not —"));
            }
        }
        if rows_of(&deploys, "s-dup") != 1 {
            misses.push(format!(
                "{} rows for s-dup on Deploys",
                rows_of(&deploys, "s-dup")
            ));
        }
        let deployed = cell(&deploys, "Service", "Deployed", "s-nan");
        if deployed != "—" {
            misses.push(format!(
                "s-nan Deployed (timestamp 1e15): {deployed:?}, not —"
            ));
        }
        misses
    }

    /// The Backups tab: sizes that are not sizes are —; a last success
    /// beyond any date reads never; one from 1970 is a breach.
    fn backup_misses(app: &mut App) -> Vec<String> {
        app.run(Command::ShowBackups);
        let backups = render(app, 120, 40);
        let mut misses = Vec::new();
        for target in ["b-ancient", "b-future", "b-nan"] {
            let size = cell(&backups, "Target", "Size", target);
            if size != "—" {
                misses.push(format!("{target} Size: {size:?}, not —"));
            }
        }
        let future = cell(&backups, "Target", "Last good", "b-future");
        if future != "never" {
            misses.push(format!("b-future Last good (1e15): {future:?}, not never"));
        }
        if !backups
            .lines()
            .any(|l| l.contains("b-ancient") && l.contains("CRIT"))
        {
            misses.push(format!("b-ancient (1970) is not a breach:\n{backups}"));
        }
        misses
    }

    /// KPIs: what cannot be computed is unknown, with its reason.
    fn kpi_misses(app: &App) -> Vec<String> {
        let mut misses = Vec::new();
        for (id, why) in [
            // Every service's window counts are NaN, ±Inf or negative.
            ("availability", "no request counts"),
            ("error_budget", "no request counts"),
            // The incident history answered with nothing.
            ("mttr", "no incident resolved in the window"),
            // Every critical service's p95 is NaN, ±Inf, 1e308 s or -5 s.
            ("latency_p95", "no critical service reports latency"),
        ] {
            let k = app
                .estate
                .kpis
                .iter()
                .find(|k| k.id == id)
                .unwrap_or_else(|| panic!("no KPI {id}"));
            if k.status != Status::Unknown || k.value.is_some() || !k.note.contains(why) {
                misses.push(format!(
                    "KPI {id}: {:?} {:?} {:?}, not unknown because {why:?}",
                    k.status, k.value, k.note
                ));
            }
        }
        misses
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn numbers_that_are_not_numbers_read_unknown_or_a_dash_never_a_wrong_number() {
        let fake = FakeServer::start(numbers);
        let mut app = app_on(&fake).await;
        // Drawing every screen must not panic, and none may show NaN or inf.
        let screens = every_screen(&mut app);
        let mut misses = not_a_number_anywhere(&screens);
        misses.extend(health_misses(&mut app));
        misses.extend(deploy_misses(&mut app));
        misses.extend(backup_misses(&mut app));
        misses.extend(kpi_misses(&app));
        assert!(misses.is_empty(), "{}", misses.join("\n"));
    }
}
