//! Backups from the documented convention and Velero's own metrics.

use super::Answers;
use crate::domain::{Backup, DrillResult, RunCounts, Tier};
use crate::sources::convert::{seconds, tier as parse_tier, timestamp};

pub(super) fn read(a: &Answers, label: &str) -> Vec<Backup> {
    let by = |q: &str| a.by(q, "target");
    let (size, duration, verified, drill_at, drill_rto) = (
        by("backup_size"),
        by("backup_duration"),
        by("backup_verified"),
        by("drill_timestamp"),
        by("drill_rto"),
    );
    let (successes, failures) = (by("backup_successes_window"), by("backup_failures_window"));
    let count = |m: &std::collections::BTreeMap<&str, f64>, target: &str| {
        m.get(target)
            .copied()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map_or(0, |v| v.round() as u64)
    };
    // Counted only when the successes query answered; a job that never
    // pushes a failure timestamp has no failures to count.
    let runs = |target: &str| {
        a.by_name
            .contains_key("backup_successes_window")
            .then(|| RunCounts {
                succeeded: count(&successes, target),
                failed: count(&failures, target),
            })
    };
    let mut out: Vec<Backup> = a
        .get("backup_last_success")
        .iter()
        .filter_map(|s| {
            let target = s.label("target")?.to_string();
            let drill = match (
                drill_at.get(target.as_str()).copied().and_then(timestamp),
                drill_rto.get(target.as_str()),
            ) {
                (Some(at), rto) => Some(DrillResult {
                    at,
                    measured_rto: rto.copied().and_then(seconds),
                }),
                _ => None,
            };
            Some(Backup {
                service: s.label(label).filter(|v| !v.is_empty()).map(String::from),
                tier: parse_tier(s.label("tier")),
                last_success: timestamp(s.value),
                size_bytes: size.get(target.as_str()).copied().unwrap_or(f64::NAN),
                duration: duration.get(target.as_str()).copied().and_then(seconds),
                last_verified: verified.get(target.as_str()).copied().and_then(timestamp),
                last_drill: drill,
                runs: runs(&target),
                target,
                ..Default::default()
            })
        })
        .collect();
    // A target whose runs are counted but that never succeeded (its first
    // run failed) is listed too: never having succeeded is a breach, and
    // its failures count in the success rate.
    let listed: std::collections::BTreeSet<&str> = out.iter().map(|b| b.target.as_str()).collect();
    let unlisted: std::collections::BTreeSet<&str> = successes
        .keys()
        .chain(failures.keys())
        .copied()
        .filter(|t| !listed.contains(t))
        .collect();
    out.extend(unlisted.into_iter().map(|target| Backup {
        service: None,
        target: target.to_string(),
        tier: Tier::Standard,
        last_success: None,
        size_bytes: size.get(target).copied().unwrap_or(f64::NAN),
        duration: duration.get(target).copied().and_then(seconds),
        last_verified: verified.get(target).copied().and_then(timestamp),
        last_drill: None,
        runs: runs(target),
        ..Default::default()
    }));
    out.extend(a.get("velero_last_success").iter().filter_map(|s| {
        Some(Backup {
            service: None,
            target: format!("velero/{}", s.label("schedule")?),
            tier: Tier::Standard,
            last_success: timestamp(s.value),
            size_bytes: f64::NAN,
            duration: None,
            last_verified: None,
            last_drill: None,
            runs: None,
            ..Default::default()
        })
    }));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;

    fn answer(labels: &str, value: &str) -> Arc<Vec<crate::sources::prometheus::Sample>> {
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{{labels}}},"value":[0,"{value}"]}}]}}}}"#
        );
        Arc::new(
            crate::sources::prometheus::decode_vector(200, body.as_bytes())
                .unwrap()
                .result,
        )
    }

    /// A duration that is not a number is unknown, never 0s; Velero's,
    /// never reported, too.
    #[test]
    fn a_duration_that_is_not_a_number_is_unknown() {
        let target = r#""target":"orders-db","tier":"critical","service":"orders""#;
        let a = Answers {
            by_name: BTreeMap::from([
                ("backup_last_success", answer(target, "1796600000")),
                ("backup_duration", answer(r#""target":"orders-db""#, "NaN")),
                (
                    "velero_last_success",
                    answer(r#""schedule":"daily""#, "1796600000"),
                ),
            ]),
            warnings: Vec::new(),
        };
        let backups = read(&a, "service");
        assert_eq!(backups.len(), 2);
        assert!(backups.iter().all(|b| b.duration.is_none()), "{backups:?}");
        assert_eq!(backups[0].service.as_deref(), Some("orders"));
    }

    /// A target whose first run failed has no last success: it is listed
    /// with its counted runs, never succeeded; a listed one is not twice.
    #[test]
    fn a_target_known_only_from_its_runs_is_listed() {
        let a = Answers {
            by_name: BTreeMap::from([
                (
                    "backup_last_success",
                    answer(r#""target":"orders-db","tier":"critical""#, "1796600000"),
                ),
                (
                    "backup_successes_window",
                    answer(r#""target":"orders-db""#, "3"),
                ),
                (
                    "backup_failures_window",
                    answer(r#""target":"new-db""#, "1"),
                ),
            ]),
            warnings: Vec::new(),
        };
        let backups = read(&a, "service");
        let targets: Vec<_> = backups.iter().map(|b| b.target.as_str()).collect();
        assert_eq!(targets, ["orders-db", "new-db"]);
        assert_eq!(backups[1].last_success, None);
        assert_eq!(
            backups[1].runs,
            Some(RunCounts {
                succeeded: 0,
                failed: 1
            })
        );
        assert_eq!(
            backups[0].runs,
            Some(RunCounts {
                succeeded: 3,
                failed: 0
            })
        );
    }

    /// A drill with a time and an RTO that is not a number happened: its
    /// time is shown, its RTO unknown, never "never".
    #[test]
    fn a_drill_with_a_time_and_no_usable_rto_still_happened() {
        let target = r#""target":"orders-db","tier":"critical""#;
        let a = Answers {
            by_name: BTreeMap::from([
                ("backup_last_success", answer(target, "1796600000")),
                (
                    "drill_timestamp",
                    answer(r#""target":"orders-db""#, "1796500000"),
                ),
                ("drill_rto", answer(r#""target":"orders-db""#, "NaN")),
            ]),
            warnings: Vec::new(),
        };
        let backups = read(&a, "service");
        let drill = backups[0].last_drill.expect("the drill happened");
        assert_eq!(drill.at.timestamp(), 1_796_500_000);
        assert_eq!(drill.measured_rto, None);
        let now = drill.at + chrono::Duration::hours(1);
        let status = crate::domain::slo::rto_status(&backups[0], backups[0].tier.objectives(), now);
        assert_eq!(status, crate::domain::Status::Unknown);
    }
}
