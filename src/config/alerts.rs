//! `[alerts]` in the configuration: which alerts are the alerting
//! pipeline's heartbeat, whether one must be firing, and which alerts are
//! shown but not counted in the verdict. Each entry is a selector in
//! Alertmanager's syntax; a bad one is a problem with its line, and the
//! rest are kept.

use serde::Deserialize;
use toml::Spanned;

use super::file::Reader;
use crate::domain::matchers::{AlertRules, Selector};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSpec {
    /// Replaces the built-in list when given.
    heartbeats: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    not_counted: Vec<Spanned<String>>,
    expect_heartbeat: Option<bool>,
}

pub(super) fn read(reader: &mut Reader, spec: &AlertsSpec) -> AlertRules {
    let defaults = AlertRules::default();
    let mut selectors = |field: &str, entries: &[Spanned<String>]| -> Vec<Selector> {
        entries
            .iter()
            .filter_map(|e| match Selector::parse(e.get_ref()) {
                Ok(s) => Some(s),
                Err(message) => {
                    let line = Some(reader.line(e.span().start));
                    reader.problem(line, field, format!("{message}; this entry is left out"));
                    None
                }
            })
            .collect()
    };
    AlertRules {
        heartbeats: match &spec.heartbeats {
            Some(entries) => selectors("alerts.heartbeats", entries),
            None => defaults.heartbeats,
        },
        not_counted: selectors("alerts.not_counted", &spec.not_counted),
        expect_heartbeat: spec.expect_heartbeat.unwrap_or(defaults.expect_heartbeat),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::file::tests::parse;

    fn labels<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + Copy {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    #[test]
    fn alerts_rules_replace_the_heartbeats_and_name_what_is_not_counted() {
        let text = "[alerts]\nheartbeats = ['alertname=\"PipelineAlive\"']\nnot_counted = [\n  'team=\"sandbox\"',\n  'severity=~\"(\"',\n]\nexpect_heartbeat = true\n";
        let (config, problems) = parse(text);
        let rules = &config.alert_rules;
        assert!(rules.expect_heartbeat);
        assert!(rules.is_heartbeat(labels(&[("alertname", "PipelineAlive")])));
        assert!(
            !rules.is_heartbeat(labels(&[("alertname", "Watchdog")])),
            "the built-in list is replaced"
        );
        assert!(!rules.counts(labels(&[("team", "sandbox")])));
        assert!(rules.counts(labels(&[("team", "payments")])));
        // The bad entry is named with its line, and the good one kept.
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("line 5: alerts.not_counted: '(' is not a regular expression"),
            "{problems:?}"
        );
        let (defaults, none) = parse("");
        assert!(none.is_empty());
        assert!(
            defaults
                .alert_rules
                .is_heartbeat(labels(&[("alertname", "Watchdog")]))
        );
    }
}
