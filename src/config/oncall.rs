//! `[[oncall]]`: on-call schedules, each an iCalendar file or URL (PagerDuty
//! and Opsgenie export schedules this way) covering one team's services.
//! Declarations only; `sources::oncall` reads them.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::file::{Dur, Endpoint, Reader, mask_userinfo};

/// A URL is read every 15 minutes by default: a schedule changes rarely.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(15 * 60);

/// Where a schedule is read from.
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    /// An http(s) URL, with the endpoint's timeouts and size cap.
    Url(Box<Endpoint>),
}

/// One schedule.
#[derive(Debug, Clone)]
pub struct OnCallSchedule {
    /// Its name, shown with the person (`platform primary`).
    pub name: String,
    /// The team whose services it covers, as `[services.X] team = …`.
    pub team: String,
    pub location: Location,
    /// How often it is read again.
    pub every: Duration,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnCallEntry {
    name: String,
    #[serde(default)]
    team: String,
    file: Option<PathBuf>,
    url: Option<String>,
    every: Option<Dur>,
    timeout: Option<Dur>,
}

/// The declared schedules; one with a mistake is left out and reported
/// with its line, the others kept.
pub(super) fn read(reader: &mut Reader, entries: &[Spanned<OnCallEntry>]) -> Vec<OnCallSchedule> {
    let mut out: Vec<OnCallSchedule> = Vec::new();
    for entry in entries {
        let at = reader.line(entry.span().start);
        let e = entry.get_ref();
        let field = format!("oncall.{}", crate::text::clean(&e.name));
        match schedule(e) {
            Ok(s) if out.iter().any(|o| o.name == s.name) => {
                reader.problem(Some(at), &field, "declared twice; the first is kept");
            }
            Ok(s) => out.push(s),
            Err(message) => reader.problem(Some(at), &field, message),
        }
    }
    out
}

fn schedule(e: &OnCallEntry) -> Result<OnCallSchedule, String> {
    let name = e.name.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err("name: give the schedule's name".into());
    }
    let location = match (&e.file, &e.url) {
        (Some(file), None) => Location::File(file.clone()),
        (None, Some(url)) => {
            let parsed = reqwest::Url::parse(url).map_err(|err| {
                format!(
                    "url '{}' is not a URL: {err}",
                    crate::text::clean(&mask_userinfo(url))
                )
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!(
                    "url: unsupported scheme '{}' (use http or https; webcal:// is https://)",
                    parsed.scheme()
                ));
            }
            let mut endpoint = Endpoint::from_url(Some(name), parsed);
            if let Some(Dur(t)) = e.timeout {
                endpoint.timeout = t.max(Duration::from_millis(100));
            }
            Location::Url(Box::new(endpoint))
        }
        _ => return Err("give file = \"…\" or url = \"…\" (one of them)".into()),
    };
    let every = e.every.map_or(DEFAULT_EVERY, |Dur(d)| d);
    if every < Duration::from_secs(10) {
        return Err("every: under 10s; a schedule changes rarely".into());
    }
    Ok(OnCallSchedule {
        name: name.to_string(),
        team: e.team.trim().to_string(),
        location,
        every,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::tests::parse;

    #[test]
    fn schedules_are_read_with_their_defaults() {
        let text = r#"
[[oncall]]
name = "platform primary"
team = "platform"
file = "/etc/opsdeck/platform.ics"

[[oncall]]
name = "payments"
team = "payments"
url = "https://example.com/schedule.ics"
every = "1h"
"#;
        let (config, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        let [platform, payments] = &config.oncall[..] else {
            panic!("{:?}", config.oncall);
        };
        assert_eq!(platform.team, "platform");
        assert_eq!(platform.every, DEFAULT_EVERY);
        assert!(matches!(&platform.location, Location::File(p) if p.ends_with("platform.ics")));
        assert_eq!(payments.every, Duration::from_secs(3600));
        assert!(
            matches!(&payments.location, Location::Url(e) if e.url.as_str() == "https://example.com/schedule.ics")
        );
    }

    #[test]
    fn a_broken_schedule_is_left_out_with_its_line_and_the_rest_kept() {
        let text = r#"
[[oncall]]
name = "both"
file = "a.ics"
url = "https://example.com/a.ics"

[[oncall]]
name = "webcal"
url = "webcal://example.com/a.ics"

[[oncall]]
name = "fast"
file = "a.ics"
every = "1s"

[[oncall]]
name = "kept"
file = "a.ics"
"#;
        let (config, problems) = parse(text);
        let names: Vec<_> = config.oncall.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["kept"]);
        let joined = problems.join("\n");
        assert!(
            joined.contains("line 2: oncall.both: give file"),
            "{joined}"
        );
        assert!(
            joined.contains("line 7: oncall.webcal: url: unsupported scheme 'webcal'"),
            "{joined}"
        );
        assert!(
            joined.contains("line 11: oncall.fast: every: under 10s"),
            "{joined}"
        );
    }
}
