//! Where a rollback goes: the last version that was healthy before the
//! current one, from the deploy history a source reports and the versions
//! opsdeck saw in this session, never blindly `previous_version` (after a
//! rollback that is the bad version just rolled away from). Pure: readings
//! and times in, answers out.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::{Deployment, Phase};

/// How far back a chain of versions is followed.
const CHAIN: usize = 64;

/// A rollback this recent is warned of when rolling back again.
pub const RECENT: Duration = Duration::hours(1);

/// One rollback: from which version to which, and when, where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    pub from: String,
    pub to: String,
    /// When it happened: seen in this session, or made by opsdeck.
    pub at: Option<DateTime<Utc>>,
}

/// What this session saw of one deployment's versions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// Each version's predecessor, from forward deploys.
    predecessor: BTreeMap<String, String>,
    /// Versions rolled away from (bad), and when, where known.
    bad: BTreeMap<String, Option<DateTime<Utc>>>,
    /// The latest rollback seen or made.
    pub last_rollback: Option<RolledBack>,
    /// The version and phase of the last reading.
    last: Option<(String, Phase)>,
}

impl Seen {
    /// A reading of the deployment at `now`.
    pub fn observe(&mut self, d: &Deployment, now: DateTime<Utc>) {
        let previous = d
            .previous_version
            .as_deref()
            .filter(|p| !p.is_empty() && *p != d.version);
        // A change to what this reading says, seen now; on first sight
        // nobody knows when it happened.
        let changed = self
            .last
            .as_ref()
            .is_some_and(|(v, phase)| *v != d.version || *phase != d.phase);
        let at = changed.then_some(now);
        if let Some(p) = previous {
            // Back to a version that came before the previous one is a
            // rollback whatever the phase says.
            let went_back = self.ancestors(p).any(|a| a == d.version);
            if d.phase == Phase::RolledBack || went_back {
                let fresh = !self.bad.contains_key(p);
                self.bad.entry(p.to_string()).or_insert(at);
                if fresh || changed {
                    self.last_rollback = Some(RolledBack {
                        from: p.to_string(),
                        to: d.version.clone(),
                        at: at.or_else(|| self.last_rollback_at(p, &d.version)),
                    });
                }
            } else {
                self.predecessor
                    .entry(d.version.clone())
                    .or_insert_with(|| p.to_string());
            }
        }
        self.last = Some((d.version.clone(), d.phase));
    }

    /// opsdeck rolled it back from `from` to `to` at `at` (its run
    /// succeeded).
    pub fn rolled_back(&mut self, from: &str, to: &str, at: DateTime<Utc>) {
        self.bad.insert(from.to_string(), Some(at));
        self.last_rollback = Some(RolledBack {
            from: from.to_string(),
            to: to.to_string(),
            at: Some(at),
        });
    }

    fn last_rollback_at(&self, from: &str, to: &str) -> Option<DateTime<Utc>> {
        self.last_rollback
            .as_ref()
            .filter(|r| r.from == from && r.to == to)
            .and_then(|r| r.at)
    }

    fn ancestors<'a>(&'a self, version: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut at = Some(version);
        std::iter::from_fn(move || {
            let next = self.predecessor.get(at?).map(String::as_str);
            at = next;
            next
        })
        .take(CHAIN)
    }

    fn is_bad(&self, version: &str) -> bool {
        self.bad.contains_key(version)
    }
}

/// The version a rollback of `d` goes to: the last one healthy before the
/// current one. From the source's history first (the release after which
/// the current one came, skipping releases that failed or were rolled
/// back), then the versions seen this session, then `previous_version`
/// when the current release is a forward deploy from it. `None` when
/// nothing known is healthy.
pub fn target(d: &Deployment, seen: Option<&Seen>) -> Option<String> {
    let bad = |v: &str| v == d.version || seen.is_some_and(|s| s.is_bad(v));
    if let Some(i) = d.history.iter().position(|e| e.version == d.version)
        && let Some(e) = d.history[i + 1..]
            .iter()
            .find(|e| e.outcome == Phase::Complete && !bad(&e.version))
    {
        return Some(e.version.clone());
    }
    if let Some(seen) = seen
        && let Some(v) = seen.ancestors(&d.version).find(|v| !bad(v))
    {
        return Some(v.to_string());
    }
    d.previous_version
        .as_deref()
        .filter(|p| !p.is_empty() && d.phase != Phase::RolledBack && !bad(p))
        .map(String::from)
}

/// The rollback to warn of when rolling `d` back again: one within
/// `RECENT` of `now`, or the one its row shows (rolled back, its
/// "previous" version the one rolled away from) when nobody knows when.
pub fn recent(d: &Deployment, seen: Option<&Seen>, now: DateTime<Utc>) -> Option<RolledBack> {
    let known = seen
        .and_then(|s| s.last_rollback.clone())
        .filter(|r| r.to == d.version && r.at.is_none_or(|at| now - at <= RECENT));
    known.or_else(|| {
        let from = d.previous_version.as_deref().filter(|p| !p.is_empty())?;
        (d.phase == Phase::RolledBack).then(|| RolledBack {
            from: from.to_string(),
            to: d.version.clone(),
            at: None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DeployEvent, Strategy};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
    }

    fn deployment(version: &str, previous: &str, phase: Phase) -> Deployment {
        Deployment {
            service: "checkout".into(),
            environment: "production".into(),
            version: version.into(),
            previous_version: Some(previous.into()),
            strategy: Strategy::Canary { weight: 25.0 },
            phase,
            deployed_at: None,
            rollbacks: 0,
            history: Vec::new(),
            window: None,
            canary: None,
        }
    }

    fn event(version: &str, outcome: Phase) -> DeployEvent {
        DeployEvent {
            version: version.into(),
            at: now(),
            outcome,
        }
    }

    #[test]
    fn a_forward_deploy_goes_back_to_its_previous_version() {
        let d = deployment("v40", "v39", Phase::Progressing);
        assert_eq!(target(&d, None).as_deref(), Some("v39"));
        assert_eq!(recent(&d, None, now()), None);
    }

    #[test]
    fn after_a_rollback_the_previous_version_is_never_the_target() {
        let d = deployment("v39", "v40", Phase::RolledBack);
        assert_eq!(target(&d, None), None, "nothing known before v39");
        let warned = recent(&d, None, now()).unwrap();
        assert_eq!((warned.from.as_str(), warned.to.as_str()), ("v40", "v39"));
    }

    #[test]
    fn the_history_names_the_last_healthy_release_before_the_current() {
        let mut d = deployment("v39", "v40", Phase::RolledBack);
        d.history = vec![
            event("v40", Phase::RolledBack),
            event("v39", Phase::Complete),
            event("v38", Phase::RolledBack),
            event("v37", Phase::Complete),
        ];
        assert_eq!(target(&d, None).as_deref(), Some("v37"));
        // A new release after a failed one goes back past it.
        let mut d = deployment("v41", "v40", Phase::Progressing);
        d.history = vec![
            event("v41", Phase::Progressing),
            event("v40", Phase::RolledBack),
            event("v39", Phase::Complete),
        ];
        assert_eq!(target(&d, None).as_deref(), Some("v39"));
    }

    #[test]
    fn versions_seen_this_session_lead_back_past_the_bad_ones() {
        let mut seen = Seen::default();
        seen.observe(&deployment("v39", "v38", Phase::Complete), now());
        seen.observe(&deployment("v40", "v39", Phase::Progressing), now());
        let later = now() + Duration::minutes(5);
        // Rolled back to v39: the source says v40 is previous.
        let d = deployment("v39", "v40", Phase::RolledBack);
        seen.observe(&d, later);
        assert_eq!(target(&d, Some(&seen)).as_deref(), Some("v38"));
        let warned = recent(&d, Some(&seen), later + Duration::minutes(1)).unwrap();
        assert_eq!(warned.at, Some(later));
        assert_eq!((warned.from.as_str(), warned.to.as_str()), ("v40", "v39"));
        // A pipeline that calls the rollback "complete": still going back.
        let mut quiet = Seen::default();
        quiet.observe(&deployment("v39", "v38", Phase::Complete), now());
        quiet.observe(&deployment("v40", "v39", Phase::Complete), now());
        let d = deployment("v39", "v40", Phase::Complete);
        quiet.observe(&d, later);
        assert_eq!(target(&d, Some(&quiet)).as_deref(), Some("v38"));
        assert!(recent(&d, Some(&quiet), later).is_some());
    }

    #[test]
    fn an_old_rollback_is_not_warned_of_once_the_row_moved_on() {
        let mut seen = Seen::default();
        seen.rolled_back("v40", "v39", now());
        let d = deployment("v39", "v38", Phase::Complete);
        assert!(recent(&d, Some(&seen), now() + Duration::minutes(30)).is_some());
        assert!(recent(&d, Some(&seen), now() + Duration::minutes(61)).is_none());
        assert_eq!(target(&d, Some(&seen)).as_deref(), Some("v38"));
    }
}
