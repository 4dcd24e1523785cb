//! How much opsdeck keeps: series per query, alerts per answer, lines of
//! an action's output, and the audit log's size before it is rotated. Each
//! limit has a default and a setting in `[limits]`, and reaching it is said
//! on screen with the setting's name. `Capped` is how the decoders keep the
//! first N items of a list without holding the rest.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use toml::Spanned;

use super::file::{Reader, line_of};

pub const DEFAULT_MAX_SERIES: usize = 20_000;
pub const DEFAULT_MAX_ALERTS: usize = 5_000;
pub const DEFAULT_ACTION_OUTPUT_LINES: usize = 500;
pub const DEFAULT_AUDIT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// What all answer bodies being read at once may take together: about four
/// times the largest answer of the 10,000-service bench estate (1.8 MB;
/// `docs/benchmarks.md`, "Hostile servers"), since several come at once.
pub const DEFAULT_MAX_BODY_TOTAL: u64 = 8 * 1024 * 1024;

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Series kept from one Prometheus query's answer.
    pub max_series: usize,
    /// Alerts kept from one Alertmanager's answer.
    pub max_alerts: usize,
    /// Lines of output kept per action run (the latest).
    pub action_output_lines: usize,
    /// Size the audit log may reach before it is rotated.
    pub audit_max_bytes: u64,
    /// Bytes all answer bodies being read at once may take together.
    pub max_body_total: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_series: DEFAULT_MAX_SERIES,
            max_alerts: DEFAULT_MAX_ALERTS,
            action_output_lines: DEFAULT_ACTION_OUTPUT_LINES,
            audit_max_bytes: DEFAULT_AUDIT_MAX_BYTES,
            max_body_total: DEFAULT_MAX_BODY_TOTAL,
        }
    }
}

/// `[limits]` as written. Integers are read as `i64` so that a negative or
/// zero value is a message with its line, not a file that cannot be read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsSpec {
    max_series: Option<Spanned<i64>>,
    max_alerts: Option<Spanned<i64>>,
    action_output_lines: Option<Spanned<i64>>,
    audit_max_bytes: Option<Spanned<i64>>,
    max_body_total: Option<Spanned<i64>>,
}

/// The smallest value each limit accepts: under it opsdeck would show
/// next to nothing, or rotate the audit log at every line (a line can take
/// a few KiB).
const MIN_SERIES: u64 = 1;
const MIN_ALERTS: u64 = 1;
const MIN_OUTPUT_LINES: u64 = 10;
const MIN_AUDIT_BYTES: u64 = 64 * 1024;
const MIN_BODY_TOTAL: u64 = 64 * 1024;

impl Reader<'_> {
    /// `value` of `limits.name` if it is at least `min`; else a problem
    /// with its line, and `default`.
    fn limit(&mut self, name: &str, value: &Option<Spanned<i64>>, min: u64, default: u64) -> u64 {
        let Some(value) = value else {
            return default;
        };
        let line = line_of(self.text, value.span().start);
        match u64::try_from(*value.get_ref()) {
            Ok(v) if v >= min => v,
            _ => {
                self.problem(
                    Some(line),
                    &format!("limits.{name}"),
                    format!(
                        "{} is under {}; using {}",
                        value.get_ref(),
                        thousands(min),
                        thousands(default)
                    ),
                );
                default
            }
        }
    }

    pub(super) fn limits(&mut self, spec: &LimitsSpec) -> Limits {
        let d = Limits::default();
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Limits {
            max_series: count(self.limit(
                "max_series",
                &spec.max_series,
                MIN_SERIES,
                d.max_series as u64,
            )),
            max_alerts: count(self.limit(
                "max_alerts",
                &spec.max_alerts,
                MIN_ALERTS,
                d.max_alerts as u64,
            )),
            action_output_lines: count(self.limit(
                "action_output_lines",
                &spec.action_output_lines,
                MIN_OUTPUT_LINES,
                d.action_output_lines as u64,
            )),
            audit_max_bytes: self.limit(
                "audit_max_bytes",
                &spec.audit_max_bytes,
                MIN_AUDIT_BYTES,
                d.audit_max_bytes,
            ),
            max_body_total: self.limit(
                "max_body_total",
                &spec.max_body_total,
                MIN_BODY_TOTAL,
                d.max_body_total,
            ),
        }
    }
}

/// `n` with a comma between thousands: `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a panel says when a limit cut a list short:
/// "12,345 series, the first 10,000 kept (limits.max_series)".
pub fn kept_message(total: usize, kept: usize, what: &str, setting: &str) -> String {
    format!(
        "{} {what}, the first {} kept (limits.{setting})",
        thousands(total as u64),
        thousands(kept as u64)
    )
}

/// A list read from a server, keeping its first items: the rest are read
/// past, so the answer stays valid JSON, but only counted, never held.
#[derive(Debug)]
pub struct Capped<T> {
    pub kept: Vec<T>,
    /// How many the server sent.
    pub total: usize,
    /// How many could not be read (read item by item, `read_tolerant`),
    /// and the first one's reason.
    pub unreadable: usize,
    pub error: Option<String>,
}

impl<T> Capped<T> {
    /// The panel's warning when items were left out.
    pub fn warning(&self, what: &str, setting: &str) -> Option<String> {
        (self.total > self.kept.len() + self.unreadable)
            .then(|| kept_message(self.total - self.unreadable, self.kept.len(), what, setting))
    }

    /// The panel's warning when items could not be read: "1 alert
    /// unreadable: invalid type: null, expected a map".
    pub fn unreadable_warning(&self, one: &str, many: &str) -> Option<String> {
        (self.unreadable > 0).then(|| {
            let what = if self.unreadable == 1 { one } else { many };
            let why = self.error.as_deref().unwrap_or("not readable");
            format!(
                "{} {what} unreadable: {why}",
                thousands(self.unreadable as u64)
            )
        })
    }
}

thread_local! {
    /// How many items a `Capped` keeps. serde's derived types pass no
    /// context down to a list nested in them, so `read_capped` sets it for
    /// the length of one synchronous read.
    static MAX_ITEMS: Cell<usize> = const { Cell::new(usize::MAX) };
    /// Whether a `Capped` reads item by item, skipping what it cannot read
    /// (`read_tolerant`).
    static TOLERANT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read` (one deserialisation) with every `Capped` in it keeping at
/// most `max` items.
pub fn read_capped<R>(max: usize, read: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            MAX_ITEMS.set(self.0);
        }
    }
    let _restore = Restore(MAX_ITEMS.replace(max));
    read()
}

/// `read_capped`, but each item of a `Capped` list is first taken whole
/// as JSON text and then read: one that cannot be read is skipped and
/// counted, and the rest kept. Slower (each item is scanned twice), so it
/// is the second try, after a strict read failed. JSON only.
pub fn read_tolerant<R>(max: usize, read: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            TOLERANT.set(self.0);
        }
    }
    let _restore = Restore(TOLERANT.replace(true));
    read_capped(max, read)
}

/// A serde error without serde_json's position, which is the item's own
/// and means nothing to whoever reads the panel.
fn reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Capped<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Capped<T>, D::Error> {
        CappedSeq {
            max: MAX_ITEMS.get(),
            item: PhantomData,
        }
        .deserialize(deserializer)
    }
}

struct CappedSeq<T> {
    max: usize,
    item: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for CappedSeq<T> {
    type Value = Capped<T>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Capped<T>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for CappedSeq<T> {
    type Value = Capped<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Capped<T>, S::Error> {
        let room = seq.size_hint().unwrap_or(0).min(self.max).min(4096);
        let mut kept = Vec::with_capacity(room);
        let (mut unreadable, mut error) = (0, None);
        let tolerant = TOLERANT.get();
        while kept.len() < self.max {
            let item = if tolerant {
                let Some(raw) = seq.next_element::<&'de serde_json::value::RawValue>()? else {
                    break;
                };
                match serde_json::from_str::<T>(raw.get()) {
                    Ok(item) => Some(item),
                    Err(e) => {
                        unreadable += 1;
                        error.get_or_insert_with(|| reason(&e));
                        continue;
                    }
                }
            } else {
                seq.next_element()?
            };
            match item {
                Some(item) => kept.push(item),
                None => break,
            }
        }
        let mut total = kept.len() + unreadable;
        if kept.len() >= self.max {
            while seq.next_element::<IgnoredAny>()?.is_some() {
                total += 1;
            }
        }
        Ok(Capped {
            kept,
            total,
            unreadable,
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::file::Config;

    fn parse(text: &str) -> (Limits, Vec<String>) {
        let (config, problems) = Config::parse(Path::new("opsdeck.toml"), text);
        (
            config.limits,
            problems.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn every_limit_has_a_default_and_a_setting() {
        let (limits, problems) = parse("");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            limits,
            Limits {
                max_series: 20_000,
                max_alerts: 5_000,
                action_output_lines: 500,
                audit_max_bytes: 10 * 1024 * 1024,
                max_body_total: 8 * 1024 * 1024,
            }
        );
        let text = "[limits]\nmax_series = 100\nmax_alerts = 50\naction_output_lines = 20\naudit_max_bytes = 1048576\nmax_body_total = 65536\n";
        let (limits, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            limits,
            Limits {
                max_series: 100,
                max_alerts: 50,
                action_output_lines: 20,
                audit_max_bytes: 1024 * 1024,
                max_body_total: 64 * 1024,
            }
        );
    }

    #[test]
    fn a_limit_too_small_is_reported_with_its_line_and_the_default_kept() {
        let text = "[limits]\nmax_series = 0\nmax_alerts = -5\naction_output_lines = 3\naudit_max_bytes = 10\n";
        let (limits, problems) = parse(text);
        assert_eq!(limits, Limits::default());
        assert_eq!(
            problems,
            [
                "opsdeck.toml: line 2: limits.max_series: 0 is under 1; using 20,000",
                "opsdeck.toml: line 3: limits.max_alerts: -5 is under 1; using 5,000",
                "opsdeck.toml: line 4: limits.action_output_lines: 3 is under 10; using 500",
                "opsdeck.toml: line 5: limits.audit_max_bytes: 10 is under 65,536; using 10,485,760",
            ]
        );
    }

    #[test]
    fn a_mistyped_limit_names_its_line() {
        for (text, expected) in [
            (
                "[limits]\nmax_series = \"lots\"\n",
                "line 2, column 14: invalid type: string \"lots\", expected i64",
            ),
            ("[limits]\nmax_seires = 10\n", "unknown field `max_seires`"),
        ] {
            let (_, problems) = parse(text);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{text:?}: {problems:?}"
            );
        }
    }

    #[test]
    fn the_limits_reach_every_source() {
        let text = "[limits]\nmax_series = 7\nmax_alerts = 3\n[[prometheus]]\nurl = \"http://127.0.0.1:1\"\n[[alertmanager]]\nurl = \"http://127.0.0.1:2\"\n";
        let (mut config, problems) = Config::parse(Path::new("opsdeck.toml"), text);
        assert!(problems.is_empty(), "{problems:?}");
        let limits = |e: &crate::config::file::Endpoint| (e.max_series, e.max_alerts);
        assert_eq!(limits(&config.prometheus[0]), (7, 3));
        assert_eq!(limits(&config.alertmanager[0]), (7, 3));
        config.override_urls(&["http://127.0.0.1:3".into()], &[]);
        assert_eq!(limits(&config.prometheus[0]), (7, 3), "--prometheus too");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (12_345, "12,345"),
            (1_234_567, "1,234,567"),
        ];
        for (n, text) in cases {
            assert_eq!(thousands(n), text);
        }
        assert_eq!(
            kept_message(12_345, 10_000, "series", "max_series"),
            "12,345 series, the first 10,000 kept (limits.max_series)"
        );
    }

    #[test]
    fn a_capped_list_keeps_its_first_items_and_counts_the_rest() {
        let read = |max: usize, text: &str| {
            read_capped(max, || serde_json::from_str::<Capped<u32>>(text)).unwrap()
        };
        let all = read(5, "[1,2,3]");
        assert_eq!((all.kept, all.total), (vec![1, 2, 3], 3));
        let cut = read(2, "[1,2,3,{\"big\":[4,5]},\"six\"]");
        assert_eq!((&cut.kept, cut.total), (&vec![1, 2], 5));
        assert_eq!(
            cut.warning("alerts", "max_alerts").as_deref(),
            Some("5 alerts, the first 2 kept (limits.max_alerts)")
        );
        assert_eq!(read(1, "[]").warning("alerts", "max_alerts"), None);
        assert!(
            read_capped(1, || serde_json::from_str::<Capped<u32>>("[1,2,]")).is_err(),
            "what is left out must still be valid JSON"
        );
        let outside = serde_json::from_str::<Capped<u32>>("[1,2,3]").unwrap();
        assert_eq!(outside.kept.len(), 3, "no cap outside read_capped");
    }
}
