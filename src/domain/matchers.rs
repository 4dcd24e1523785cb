//! Label matchers in Alertmanager's own syntax (`alertname="Watchdog"`,
//! `severity=~"none|info"`, `{team!="sandbox", env="prod"}`), for the
//! rules that say which alerts are the pipeline's heartbeat and which are
//! shown but not counted.

use regex::Regex;

#[derive(Debug, Clone)]
enum Op {
    Eq(String),
    Ne(String),
    /// Anchored at both ends, as Alertmanager's are.
    Re(Regex),
    NotRe(Regex),
}

#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: Op,
}

impl Matcher {
    /// Whether a label of this value matches; a missing label is the empty
    /// string, as in Alertmanager.
    fn matches(&self, value: Option<&str>) -> bool {
        let v = value.unwrap_or("");
        match &self.op {
            Op::Eq(want) => v == want,
            Op::Ne(want) => v != want,
            Op::Re(re) => re.is_match(v),
            Op::NotRe(re) => !re.is_match(v),
        }
    }
}

/// Matchers that must all match, written as one string.
#[derive(Debug, Clone)]
pub struct Selector {
    matchers: Vec<Matcher>,
    text: String,
}

impl Selector {
    /// `{a="b", c=~"d"}` or the same without braces; values quoted (with
    /// `\"` and `\\` escapes) or bare.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let inner = text.trim();
        let inner = inner
            .strip_prefix('{')
            .and_then(|i| i.strip_suffix('}'))
            .unwrap_or(inner);
        let mut matchers = Vec::new();
        for part in split_outside_quotes(inner) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            matchers.push(matcher(part)?);
        }
        if matchers.is_empty() {
            return Err(format!("'{text}' has no matcher"));
        }
        Ok(Selector {
            matchers,
            text: text.trim().to_string(),
        })
    }

    /// Whether every matcher matches the labels `get` gives.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.matchers.iter().all(|m| m.matches(get(&m.name)))
    }

    /// As written, for messages.
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn split_outside_quotes(s: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn matcher(part: &str) -> Result<Matcher, String> {
    let at = part
        .find(['=', '!'])
        .ok_or_else(|| format!("'{part}' is not name=value, !=, =~ or !~"))?;
    let name = part[..at].trim();
    let rest = &part[at..];
    let (op, value) = ["=~", "!~", "!=", "="]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
        .ok_or_else(|| format!("'{part}' is not name=value, !=, =~ or !~"))?;
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(format!("'{name}' is not a label name"));
    }
    let value = unquote(value.trim())?;
    let regex = |v: &str| {
        Regex::new(&format!("^(?:{v})$"))
            .map_err(|e| format!("'{v}' is not a regular expression: {e}"))
    };
    let op = match op {
        "=" => Op::Eq(value),
        "!=" => Op::Ne(value),
        "=~" => Op::Re(regex(&value)?),
        _ => Op::NotRe(regex(&value)?),
    };
    Ok(Matcher {
        name: name.to_string(),
        op,
    })
}

fn unquote(v: &str) -> Result<String, String> {
    let Some(inner) = v.strip_prefix('"') else {
        return Ok(v.to_string());
    };
    let inner = inner
        .strip_suffix('"')
        .ok_or_else(|| format!("{v}: a quote is not closed"))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => return Err(format!("{v}: ends in a backslash")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Which alerts are the alerting pipeline's heartbeat (fire always by
/// design: never an incident, their absence a warning) and which are shown
/// but do not count in the verdict.
#[derive(Debug, Clone)]
pub struct AlertRules {
    pub heartbeats: Vec<Selector>,
    pub not_counted: Vec<Selector>,
    /// Warn when no heartbeat fires although Alertmanager answers, even if
    /// none was seen before (for `status`, which sees one moment).
    pub expect_heartbeat: bool,
}

/// kube-prometheus' `Watchdog` (severity `none`), a `DeadMansSwitch`,
/// awesome-prometheus-alerts' `…DeadManSwitch`, and any alert of severity
/// `none`.
pub const DEFAULT_HEARTBEATS: [&str; 3] = [
    r#"alertname="Watchdog""#,
    r#"alertname=~".*DeadMans?Switch""#,
    r#"severity=~"(?i)none""#,
];

impl Default for AlertRules {
    fn default() -> AlertRules {
        AlertRules {
            heartbeats: DEFAULT_HEARTBEATS
                .iter()
                .map(|s| Selector::parse(s).expect("the built-in heartbeats parse"))
                .collect(),
            not_counted: Vec::new(),
            expect_heartbeat: false,
        }
    }
}

impl AlertRules {
    pub fn is_heartbeat<'a>(&self, get: impl Fn(&str) -> Option<&'a str> + Copy) -> bool {
        self.heartbeats.iter().any(|s| s.matches(get))
    }

    pub fn counts<'a>(&self, get: impl Fn(&str) -> Option<&'a str> + Copy) -> bool {
        !self.not_counted.iter().any(|s| s.matches(get))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + Copy {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    #[test]
    fn matchers_follow_alertmanager_syntax_and_semantics() {
        let s = Selector::parse(r#"{alertname="Watchdog", team!="sandbox"}"#).unwrap();
        assert!(s.matches(labels(&[("alertname", "Watchdog")])));
        assert!(!s.matches(labels(&[("alertname", "Watchdog"), ("team", "sandbox")])));
        assert!(!s.matches(labels(&[("alertname", "Watchdogs")])));
        // Regexes are anchored at both ends.
        let re = Selector::parse(r#"alertname=~".*DeadMans?Switch""#).unwrap();
        assert!(re.matches(labels(&[(
            "alertname",
            "PrometheusAlertmanagerE2eDeadManSwitch"
        )])));
        assert!(!re.matches(labels(&[("alertname", "DeadManSwitchBroken")])));
        let not = Selector::parse("severity!~info|none").unwrap();
        assert!(not.matches(labels(&[("severity", "critical")])));
        assert!(!not.matches(labels(&[("severity", "info")])));
        // A missing label is the empty string.
        assert!(Selector::parse(r#"env="""#).unwrap().matches(labels(&[])));
        // A comma inside quotes is part of the value.
        let comma = Selector::parse(r#"summary="a, b""#).unwrap();
        assert!(comma.matches(labels(&[("summary", "a, b")])));
        let quote = Selector::parse(r#"x="say \"hi\"""#).unwrap();
        assert!(quote.matches(labels(&[("x", r#"say "hi""#)])));
    }

    #[test]
    fn a_bad_matcher_says_what_is_wrong() {
        for (text, says) in [
            ("alertname", "is not name=value"),
            ("{}", "has no matcher"),
            ("9x=a", "is not a label name"),
            ("a=~\"(\"", "is not a regular expression"),
            ("a=\"open", "a quote is not closed"),
        ] {
            let e = Selector::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn the_default_heartbeats_are_watchdog_dead_mans_switches_and_severity_none() {
        let rules = AlertRules::default();
        let hb = |name: &'static str, severity: &'static str| {
            let pairs = [("alertname", name), ("severity", severity)];
            rules.is_heartbeat(labels(&pairs))
        };
        assert!(hb("Watchdog", "none"));
        assert!(hb("PrometheusAlertmanagerE2eDeadManSwitch", "critical"));
        assert!(hb("DeadMansSwitch", "critical"));
        assert!(hb("AnyName", "None"));
        assert!(!hb("HighErrorRate", "critical"));
        assert!(rules.counts(labels(&[("alertname", "HighErrorRate")])));
    }
}
