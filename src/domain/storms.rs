//! Alert storms: incidents on several services that started within a
//! minute of each other and share where they fire (an instance, a node, a
//! zone, a cluster) are one cause seen many times. They are grouped so the
//! table shows the cause once; each incident still counts on its own.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;

use super::PLACEMENT_LABELS;
use super::incidents::Incident;

/// How close together a storm's incidents start.
pub const WITHIN: Duration = Duration::seconds(60);

#[derive(Debug, Clone, PartialEq)]
pub struct Storm {
    /// The label its incidents share, and its value as Alertmanager holds it.
    pub label: String,
    pub value: String,
    /// Its incidents, as indexes into the grouped incidents, in their order.
    pub members: Vec<usize>,
}

impl Storm {
    /// A storm's identity across refreshes: its label and its value.
    pub fn key(&self) -> String {
        format!("storm:{}={}", self.label, self.value)
    }
}

/// The storms among `incidents`: for each placement label (in the order of
/// `PLACEMENT_LABELS`) and value, the incidents carrying it, cut into runs
/// whose starts lie within `WITHIN` of the run's first; a run on two
/// services or more is a storm. An incident is in one storm at most: the
/// largest claims it (then the earlier label, then the earlier start).
/// Storms come in the order of their first incident.
pub fn find(incidents: &[Incident]) -> Vec<Storm> {
    let mut by_value: BTreeMap<(usize, &str), Vec<usize>> = BTreeMap::new();
    for (i, inc) in incidents.iter().enumerate() {
        for (label, value) in &inc.placement {
            if let Some(rank) = PLACEMENT_LABELS.iter().position(|l| l == label) {
                by_value.entry((rank, value.as_str())).or_default().push(i);
            }
        }
    }
    let mut runs: Vec<(usize, &str, Vec<usize>)> = Vec::new();
    for ((rank, value), mut members) in by_value {
        members.sort_by_key(|&i| (incidents[i].started, i));
        let mut start = 0;
        while start < members.len() {
            let first = incidents[members[start]].started;
            let end = members[start..]
                .iter()
                .position(|&i| incidents[i].started - first > WITHIN)
                .map_or(members.len(), |n| start + n);
            let run = members[start..end].to_vec();
            let services: BTreeSet<&str> =
                run.iter().map(|&i| incidents[i].service.as_str()).collect();
            if services.len() >= 2 {
                runs.push((rank, value, run));
            }
            start = end;
        }
    }
    runs.sort_by(|a, b| {
        (b.2.len().cmp(&a.2.len()))
            .then(a.0.cmp(&b.0))
            .then(incidents[a.2[0]].started.cmp(&incidents[b.2[0]].started))
            .then(a.1.cmp(b.1))
    });
    let mut taken = vec![false; incidents.len()];
    let mut storms = Vec::new();
    for (rank, value, mut members) in runs {
        if members.iter().any(|&i| taken[i]) {
            continue;
        }
        members.sort_unstable();
        for &i in &members {
            taken[i] = true;
        }
        storms.push(Storm {
            label: PLACEMENT_LABELS[rank].to_string(),
            value: value.to_string(),
            members,
        });
    }
    storms.sort_by_key(|s| s.members[0]);
    storms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Severity;
    use chrono::{TimeZone, Utc};

    fn incident(service: &str, secs: i64, placement: &[(&str, &str)]) -> Incident {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap();
        Incident {
            name: "HighErrorRate".into(),
            service: service.into(),
            raw_name: "HighErrorRate".into(),
            raw_service: service.into(),
            service_label: "service".into(),
            severity: Severity::Critical,
            started: t0 + Duration::seconds(secs),
            alert_count: 1,
            summary: String::new(),
            runbook: None,
            silenced: false,
            inhibited: false,
            counted: true,
            sources: vec![],
            placement: placement
                .iter()
                .map(|(l, v)| (l.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn five_services_on_one_instance_within_a_minute_are_one_storm_of_five() {
        let db3 = [("instance", "db-3"), ("zone", "eu-1a")];
        let mut incidents: Vec<Incident> = ["a", "b", "c", "d", "e"]
            .iter()
            .enumerate()
            .map(|(n, s)| incident(s, n as i64 * 12, &db3))
            .collect();
        // The same instance two minutes later, another zone's incident at
        // the same moment, and one with no placement: none of the storm.
        incidents.push(incident("f", 180, &[("instance", "db-3")]));
        incidents.push(incident(
            "g",
            10,
            &[("instance", "web-1"), ("zone", "eu-1b")],
        ));
        incidents.push(incident("h", 5, &[]));
        let storms = find(&incidents);
        assert_eq!(storms.len(), 1, "{storms:?}");
        assert_eq!(
            (storms[0].label.as_str(), storms[0].value.as_str()),
            ("instance", "db-3"),
            "the instance before the zone they also share"
        );
        assert_eq!(storms[0].members, [0, 1, 2, 3, 4]);
        assert_eq!(storms[0].key(), "storm:instance=db-3");
    }

    #[test]
    fn one_service_is_no_storm_and_a_later_run_is_its_own() {
        let node = [("node", "n1")];
        let incidents = [
            incident("a", 0, &node),
            incident("a", 30, &node),
            incident("b", 200, &node),
            incident("c", 250, &node),
        ];
        let storms = find(&incidents);
        assert_eq!(storms.len(), 1);
        assert_eq!(storms[0].members, [2, 3]);
        assert!(find(&incidents[..2]).is_empty(), "one service: no storm");
    }

    #[test]
    fn an_incident_is_in_the_largest_storm_only() {
        let incidents = [
            incident("a", 0, &[("zone", "z"), ("node", "n")]),
            incident("b", 1, &[("zone", "z"), ("node", "n")]),
            incident("c", 2, &[("zone", "z")]),
        ];
        let storms = find(&incidents);
        assert_eq!(storms.len(), 1);
        assert_eq!(
            (storms[0].label.as_str(), storms[0].members.len()),
            ("zone", 3)
        );
    }
}
