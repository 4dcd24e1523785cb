//! `[incidents]`: how far back before an incident the changes on its
//! service are listed (`change_lead`, 30 minutes unless written).

use super::reader::Reader;
use super::*;

/// Longest lead accepted: a day's changes before an incident are no
/// longer "just before" it.
const MAX_LEAD: chrono::Duration = chrono::Duration::hours(24);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IncidentsSpec {
    change_lead: Option<Dur>,
}

impl IncidentsSpec {
    /// The lead, a bad one a problem and the default used.
    pub(super) fn change_lead(&self, reader: &mut Reader) -> chrono::Duration {
        let default = crate::domain::changes::DEFAULT_LEAD;
        let Some(Dur(lead)) = self.change_lead else {
            return default;
        };
        match chrono::Duration::from_std(lead) {
            Ok(lead) if lead > chrono::Duration::zero() && lead <= MAX_LEAD => lead,
            _ => {
                let message = format!(
                    "{} is not a lead between 1s and 24h; using 30m",
                    humantime::format_duration(lead)
                );
                reader.problem(None, "incidents.change_lead", message);
                default
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;

    #[test]
    fn the_change_lead_from_the_file_else_30_minutes() {
        let (config, problems) = parse("");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.change_lead, chrono::Duration::minutes(30));
        let (config, problems) = parse("[incidents]\nchange_lead = \"45m\"\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.change_lead, chrono::Duration::minutes(45));
    }

    #[test]
    fn a_lead_of_nothing_or_over_a_day_is_a_problem_and_30_minutes_used() {
        for bad in ["0s", "2days"] {
            let (config, problems) = parse(&format!("[incidents]\nchange_lead = \"{bad}\"\n"));
            assert_eq!(config.change_lead, chrono::Duration::minutes(30));
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(
                problems[0].contains("line 2: incidents.change_lead: ")
                    && problems[0].contains("is not a lead between 1s and 24h"),
                "{problems:?}"
            );
        }
    }
}
