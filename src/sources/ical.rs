//! An iCalendar (RFC 5545) reader for on-call schedules, as PagerDuty,
//! Opsgenie and calendar apps export them: each VEVENT is a shift. Only
//! what a schedule needs is read — DTSTART, DTEND or DURATION, SUMMARY,
//! ATTENDEE, STATUS, and RRULE/EXDATE for simple daily and weekly
//! rotations. Times in UTC (`Z`), in a named zone (`TZID=Europe/Berlin`,
//! from the IANA database), floating (in the calendar's `X-WR-TIMEZONE`,
//! else UTC) and whole days are all read. Pure: the text in, shifts out.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::domain::oncall::Shift;

/// What a schedule's text gave: its shifts, and the events skipped, said.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub shifts: Vec<Shift>,
    pub warnings: Vec<String>,
}

/// No schedule needs more; past it the rest is not read.
const MAX_SHIFTS: usize = 20_000;

/// Reads `text`; repeating events are expanded up to `horizon`. Text that
/// is not an iCalendar at all is an error; an event that cannot be read is
/// skipped and said in a warning, the others kept.
pub fn parse(text: &str, horizon: DateTime<Utc>) -> Result<Parsed, String> {
    let lines = unfold(text);
    if !lines
        .iter()
        .any(|l| l.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err("not an iCalendar file (no BEGIN:VCALENDAR)".into());
    }
    let mut zone = None;
    let mut events: Vec<Vec<Property>> = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<Vec<Property>> = None;
    for line in &lines {
        let Some(p) = Property::parse(line) else {
            continue;
        };
        match (p.name.as_str(), current.is_some()) {
            ("BEGIN", false) if p.value.eq_ignore_ascii_case("VEVENT") => {
                current = Some(Vec::new());
                depth = 0;
            }
            ("BEGIN", true) => depth += 1,
            ("END", true) if depth > 0 => depth -= 1,
            ("END", true) => events.extend(current.take()),
            (_, true) if depth == 0 => {
                if let Some(e) = current.as_mut() {
                    e.push(p);
                }
            }
            ("X-WR-TIMEZONE", false) => zone = p.value.trim().parse::<Tz>().ok(),
            _ => {}
        }
    }
    let mut parsed = Parsed::default();
    let mut skipped: Vec<String> = Vec::new();
    for event in &events {
        match shifts_of(event, zone, horizon) {
            Ok(Some(shifts)) => parsed.shifts.extend(shifts),
            Ok(None) => {}
            Err(why) => skipped.push(why),
        }
        if parsed.shifts.len() > MAX_SHIFTS {
            parsed.shifts.truncate(MAX_SHIFTS);
            parsed
                .warnings
                .push(format!("more than {MAX_SHIFTS} shifts: the rest not read"));
            break;
        }
    }
    if let Some(first) = skipped.first() {
        let n = skipped.len();
        let s = if n == 1 { "" } else { "s" };
        parsed.warnings.push(crate::text::clean_owned(format!(
            "{n} event{s} unreadable: {first}"
        )));
    }
    parsed.shifts.sort_by_key(|s| (s.start, s.end));
    Ok(parsed)
}

/// RFC 5545 3.1: a line starting with a space or tab continues the last.
fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => out.push(raw.to_string()),
        }
    }
    out
}

/// One content line: `NAME;PARAM=value;…:value`.
#[derive(Debug, Clone)]
struct Property {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Property {
    fn parse(line: &str) -> Option<Property> {
        let mut params = Vec::new();
        let (mut head_end, mut in_quotes) = (None, false);
        for (i, c) in line.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ':' if !in_quotes => {
                    head_end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let head_end = head_end?;
        let head = &line[..head_end];
        let mut parts = split_unquoted(head, ';').into_iter();
        let name = parts.next()?.trim().to_ascii_uppercase();
        for part in parts {
            if let Some((k, v)) = part.split_once('=') {
                params.push((
                    k.trim().to_ascii_uppercase(),
                    v.trim_matches('"').to_string(),
                ));
            }
        }
        Some(Property {
            name,
            params,
            value: line[head_end + 1..].to_string(),
        })
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn split_unquoted(text: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut in_quotes) = (Vec::new(), 0, false);
    for (i, c) in text.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            out.push(&text[start..i]);
            start = i + 1;
        }
    }
    out.push(&text[start..]);
    out
}

/// An instant as written: its wall-clock time and how to place it.
#[derive(Debug, Clone, Copy)]
struct When {
    local: NaiveDateTime,
    zone: Place,
    all_day: bool,
}

#[derive(Debug, Clone, Copy)]
enum Place {
    Utc,
    Zone(Tz),
}

impl When {
    fn read(p: &Property, floating: Option<Tz>) -> Result<When, String> {
        let v = p.value.trim();
        let zone = match p.param("TZID") {
            Some(id) => Place::Zone(
                id.trim_start_matches('/')
                    .parse::<Tz>()
                    .map_err(|_| format!("unknown time zone '{id}'"))?,
            ),
            None if v.ends_with(['Z', 'z']) => Place::Utc,
            None => floating.map_or(Place::Utc, Place::Zone),
        };
        let bad = || format!("{} '{v}' is not a date", p.name);
        if v.len() == 8
            || p.param("VALUE")
                .is_some_and(|t| t.eq_ignore_ascii_case("DATE"))
        {
            let date = NaiveDate::parse_from_str(v, "%Y%m%d").map_err(|_| bad())?;
            return Ok(When {
                local: date.and_hms_opt(0, 0, 0).ok_or_else(bad)?,
                zone,
                all_day: true,
            });
        }
        let text = v.trim_end_matches(['Z', 'z']);
        let local = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        Ok(When {
            local,
            zone,
            all_day: false,
        })
    }

    /// The UTC instant of `local` in this place. A wall-clock time that a
    /// DST change skips is read an hour later, as calendar apps do; one it
    /// repeats, at its first occurrence.
    fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.zone {
            Place::Utc => Some(Utc.from_utc_datetime(&local)),
            Place::Zone(tz) => tz
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&(local + Duration::hours(1)))
                        .earliest()
                })
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

/// The shifts of one event: none when cancelled; several when it repeats.
fn shifts_of(
    event: &[Property],
    floating: Option<Tz>,
    horizon: DateTime<Utc>,
) -> Result<Option<Vec<Shift>>, String> {
    let get = |name: &str| event.iter().find(|p| p.name == name);
    if get("STATUS").is_some_and(|p| p.value.trim().eq_ignore_ascii_case("CANCELLED")) {
        return Ok(None);
    }
    let person = person(event).ok_or("an event names nobody (no ATTENDEE CN, no SUMMARY)")?;
    let start = When::read(get("DTSTART").ok_or("an event has no DTSTART")?, floating)?;
    // The length in wall-clock time, so a repeat keeps its local hours
    // across a DST change.
    let end = get("DTEND").map(|e| When::read(e, floating)).transpose()?;
    let length = match (end, get("DURATION")) {
        (Some(end), _) => end.local - start.local,
        (None, Some(d)) => duration(d.value.trim())
            .ok_or_else(|| format!("DURATION '{}' cannot be read", d.value.trim()))?,
        (None, None) if start.all_day => Duration::days(1),
        (None, None) => return Err("an event has no DTEND or DURATION".into()),
    };
    let excluded: Vec<NaiveDateTime> = event
        .iter()
        .filter(|p| p.name == "EXDATE")
        .flat_map(|p| {
            p.value.split(',').filter_map(|v| {
                let one = Property {
                    value: v.to_string(),
                    ..p.clone()
                };
                When::read(&one, floating).ok().map(|w| w.local)
            })
        })
        .collect();
    let starts = match get("RRULE") {
        Some(rule) => repeats(&rule.value, &start, horizon)?,
        None => {
            // One event: its end placed in its own zone, which may differ
            // from its start's.
            let start_at = start.instant(start.local).ok_or("DTSTART does not exist")?;
            let end_at = match end {
                Some(e) => e.instant(e.local),
                None => start.instant(start.local + length),
            };
            let end_at = end_at.ok_or("DTEND does not exist")?;
            return Ok(Some(
                (end_at > start_at)
                    .then_some(Shift {
                        person,
                        start: start_at,
                        end: end_at,
                    })
                    .into_iter()
                    .collect(),
            ));
        }
    };
    let shifts = starts
        .into_iter()
        .filter(|s| !excluded.contains(s))
        .filter_map(|s| {
            Some(Shift {
                person: person.clone(),
                start: start.instant(s)?,
                end: start.instant(s + length)?,
            })
        })
        .filter(|s| s.end > s.start)
        .collect();
    Ok(Some(shifts))
}

/// Who the event puts on call: its attendee's name (CN), else its summary
/// without PagerDuty's "On Call - " and a trailing " - <schedule>".
fn person(event: &[Property]) -> Option<String> {
    let attendee = event
        .iter()
        .filter(|p| p.name == "ATTENDEE")
        .find_map(|p| p.param("CN").map(str::to_string))
        .filter(|n| !n.trim().is_empty());
    let name = attendee.or_else(|| {
        let summary = unescape(&event.iter().find(|p| p.name == "SUMMARY")?.value);
        let lower = summary.to_ascii_lowercase();
        let rest = [
            "on call - ",
            "on-call - ",
            "on call: ",
            "on-call: ",
            "oncall: ",
        ]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map_or(summary.as_str(), |p| &summary[p.len()..]);
        let rest = rest.split(" - ").next().unwrap_or(rest);
        Some(rest.to_string())
    })?;
    let name = crate::text::clean_owned(name.trim().to_string());
    (!name.is_empty()).then_some(name)
}

/// TEXT values escape `\,` `\;` `\\` and `\n`.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push(' '),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// An RFC 5545 duration: `PT12H`, `P1D`, `P1W`, `P1DT6H30M`.
fn duration(text: &str) -> Option<Duration> {
    let text = text.strip_prefix('+').unwrap_or(text);
    let rest = text.strip_prefix('P')?;
    let (mut total, mut number, mut in_time) = (Duration::zero(), String::new(), false);
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                let n: i64 = std::mem::take(&mut number).parse().ok()?;
                total += match (unit, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    (number.is_empty() && total > Duration::zero()).then_some(total)
}

/// The wall-clock starts of a daily or weekly rule (FREQ, INTERVAL, COUNT,
/// UNTIL), up to `horizon`. A rule with more than that (BYDAY…) is refused:
/// a rotation exported by a scheduling tool lists its shifts instead.
fn repeats(rule: &str, start: &When, horizon: DateTime<Utc>) -> Result<Vec<NaiveDateTime>, String> {
    let (mut step, mut interval, mut count, mut until) = (None, 1i64, None, None);
    for part in rule.trim().split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match k.to_ascii_uppercase().as_str() {
            "FREQ" => {
                step = match v.to_ascii_uppercase().as_str() {
                    "DAILY" => Some(Duration::days(1)),
                    "WEEKLY" => Some(Duration::weeks(1)),
                    other => return Err(format!("RRULE FREQ={other} is not read (DAILY, WEEKLY)")),
                }
            }
            "INTERVAL" => interval = v.parse().ok().filter(|n| *n > 0).ok_or("RRULE INTERVAL")?,
            "COUNT" => count = Some(v.parse::<usize>().map_err(|_| "RRULE COUNT")?),
            "UNTIL" => {
                let p = Property {
                    name: "UNTIL".into(),
                    params: Vec::new(),
                    value: v.into(),
                };
                let w = When::read(&p, None)?;
                until = w.instant(w.local);
            }
            "WKST" => {}
            other => {
                return Err(format!(
                    "RRULE {other} is not read (FREQ, INTERVAL, COUNT, UNTIL)"
                ));
            }
        }
    }
    let step = step.ok_or("RRULE without FREQ")? * interval as i32;
    let mut out = Vec::new();
    let mut at = start.local;
    while out.len() < count.unwrap_or(MAX_SHIFTS).min(MAX_SHIFTS) {
        let Some(instant) = start.instant(at) else {
            break;
        };
        if instant > horizon || until.is_some_and(|u| instant > u) {
            break;
        }
        out.push(at);
        at += step;
    }
    Ok(out)
}

#[cfg(test)]
#[path = "ical_tests.rs"]
mod tests;
