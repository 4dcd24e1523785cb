//! The answers of a source's queries, and the groups of them kept between
//! refreshes (`groups.rs`): each group asked again once its answers are as
//! old as it allows, a stale one shown while a fresh ask goes on in the
//! background.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::future::join_all;

use super::PrometheusSource;
use super::built::Inputs;
use super::groups::Reused;
use crate::sources::SourceError;
use crate::sources::prometheus::{PrometheusApi, Sample};

/// A group's last answers, when they were asked, and when a fresh ask
/// under way began.
#[derive(Clone)]
pub(super) struct Kept {
    at: Instant,
    /// The time the answers are of (the refresh's `now`).
    pub(super) of: DateTime<Utc>,
    answers: Answers,
    asking: Option<Instant>,
}

impl Kept {
    pub(super) fn new(answers: Answers, at: Instant, of: DateTime<Utc>) -> Kept {
        Kept {
            at,
            of,
            answers,
            asking: None,
        }
    }

    /// Due again once a new round of `every` has begun on the clock, and
    /// not sooner than half of `every` after the last ask. Every group of
    /// one interval, and the traffic line's steps, are then asked at the
    /// same refresh, so the reading built from them is built once a round
    /// rather than once for each answer as it lands (docs/decisions.md).
    pub(super) fn due(&self, every: std::time::Duration, now: DateTime<Utc>) -> bool {
        let secs = i64::try_from(every.as_secs()).unwrap_or(i64::MAX).max(1);
        let round = |t: DateTime<Utc>| t.timestamp().div_euclid(secs);
        round(now) != round(self.of) && self.at.elapsed() >= every / 2
    }

    /// As if asked `by` earlier, for tests of what ageing does.
    #[cfg(test)]
    pub(super) fn age(&mut self, by: std::time::Duration) {
        self.at -= by;
        self.of -= chrono::Duration::from_std(by).unwrap_or_default();
    }
}

/// How long an ask under way holds the reading built from its group
/// (`PrometheusSource::settling`): longer, and the other groups' fresh
/// answers are shown without it.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(5);

/// Answers of several queries by name, and the warnings they gave. Shared,
/// not copied, when a group's answers are reused between refreshes.
#[derive(Clone)]
pub(super) struct Answers {
    pub(super) by_name: BTreeMap<&'static str, Arc<Vec<Sample>>>,
    pub(super) warnings: Vec<String>,
}

impl Answers {
    /// The answers of `names`, shared, for `Built`.
    pub(super) fn inputs<'a>(&self, names: impl IntoIterator<Item = &'a &'static str>) -> Inputs {
        names
            .into_iter()
            .map(|q| self.by_name.get(q).cloned())
            .collect()
    }

    pub(super) fn get(&self, name: &str) -> &[Sample] {
        self.by_name.get(name).map_or(&[], |v| v.as_slice())
    }

    /// The values of query `name` by one label.
    pub(super) fn by(&self, name: &str, label: &str) -> BTreeMap<&str, f64> {
        let mut out = BTreeMap::new();
        for s in self.get(name) {
            if let Some(key) = s.label(label).filter(|k| !k.is_empty()) {
                out.insert(key, s.value);
            }
        }
        out
    }
}

impl PrometheusSource {
    /// The named queries with their PromQL in force.
    fn asked(&self, names: &[&'static str]) -> Vec<(&'static str, String)> {
        let plan = self.plan();
        names
            .iter()
            .map(|n| (*n, plan.queries.get(n).to_string()))
            .collect()
    }

    /// The named queries of this source, asked at once (`ask`).
    pub(super) async fn instant(
        &self,
        names: &[&'static str],
        now: DateTime<Utc>,
    ) -> Result<Answers, SourceError> {
        ask(&self.api, self.asked(names), now).await
    }

    /// The answers of `group` (kept under its first query): asked again
    /// once they are `group.every` old, else the last ones.
    pub(super) async fn reused(
        &self,
        group: &Reused,
        now: DateTime<Utc>,
    ) -> Result<Answers, SourceError> {
        let key = group.names[0];
        {
            let mut kept = self.reused.lock().unwrap_or_else(PoisonError::into_inner);
            match kept.get_mut(key) {
                Some(k) if !k.due(group.every, now) => return Ok(k.answers.clone()),
                // Stale, but not by much: shown while a fresh ask goes on
                // in the background, so a slow window query never holds up
                // the refresh it rides along with.
                Some(k) if k.at.elapsed() < group.every * 3 => {
                    if k.asking.is_none() {
                        k.asking = Some(Instant::now());
                        self.ask_in_background(group, now);
                    }
                    return Ok(k.answers.clone());
                }
                _ => {}
            }
        }
        let at = Instant::now();
        let answers = self.instant(group.names, now).await?;
        (self.reused.lock().unwrap_or_else(PoisonError::into_inner))
            .insert(key, Kept::new(answers.clone(), at, now));
        Ok(answers)
    }

    /// Whether any of `groups` is being asked again in the background, for
    /// less than `SETTLE`: a reading built from them waits for all their
    /// fresh answers, so it is built once a round, not once an answer.
    pub(super) fn settling(&self, groups: &[&Reused]) -> bool {
        let kept = self.reused.lock().unwrap_or_else(PoisonError::into_inner);
        groups.iter().any(|g| {
            kept.get(g.names[0])
                .and_then(|k| k.asking)
                .is_some_and(|since| since.elapsed() < SETTLE)
        })
    }

    /// Asks `group` again on a task of its own; its answers replace the
    /// kept ones when they come, and a failure leaves them to age.
    fn ask_in_background(&self, group: &Reused, now: DateTime<Utc>) {
        let key = group.names[0];
        let asked = self.asked(group.names);
        let (api, kept) = (self.api.clone(), self.reused.clone());
        let at = Instant::now();
        tokio::spawn(async move {
            let answer = ask(&api, asked, now).await;
            let mut held = kept.lock().unwrap_or_else(PoisonError::into_inner);
            match answer {
                // Kept only if this ask is still the one awaited: a plan
                // put in force meanwhile (`detect`) dropped the group, and
                // its answers to the old queries must not come back.
                Ok(answers) => {
                    if held.get(key).is_some_and(|k| k.asking.is_some()) {
                        held.insert(key, Kept::new(answers, at, now));
                    }
                }
                Err(_) => {
                    if let Some(k) = held.get_mut(key) {
                        k.asking = None;
                    }
                }
            }
        });
    }

    /// The answers of `names` and the kept answers of `groups`, asked at
    /// once; a group that cannot be read is a warning, unless nothing at
    /// all could be, which is the error.
    pub(super) async fn with_reused(
        &self,
        names: &[&'static str],
        groups: &[&Reused],
        now: DateTime<Utc>,
    ) -> Result<Answers, SourceError> {
        let reused = join_all(groups.iter().map(|g| self.reused(g, now)));
        let (a, reused) = futures::join!(self.instant(names, now), reused);
        let mut a = a?;
        let mut first_error = None;
        for (group, answers) in groups.iter().zip(reused) {
            match answers {
                Ok(s) => {
                    a.warnings.extend(s.warnings);
                    a.by_name.extend(s.by_name);
                }
                Err(e) => {
                    a.warnings.push(format!(
                        "{} ({}) failed",
                        group.what,
                        group.names.join(", ")
                    ));
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if a.by_name.is_empty() => Err(e),
            _ => Ok(a),
        }
    }
}

/// Runs the named queries at once; each failure is a warning naming the
/// query, unless all fail, which is the error.
pub(super) async fn ask(
    api: &PrometheusApi,
    asked: Vec<(&'static str, String)>,
    now: DateTime<Utc>,
) -> Result<Answers, SourceError> {
    let answers = join_all(asked.iter().map(|(_, expr)| {
        let expr = crate::sli::derive::at_time(expr, now.timestamp()).into_owned();
        async move { api.query(&expr, now).await }
    }))
    .await;
    let mut out = Answers {
        by_name: BTreeMap::new(),
        warnings: Vec::new(),
    };
    let mut first_error = None;
    for ((name, _), answer) in asked.iter().zip(answers) {
        match answer {
            Ok(a) => {
                out.warnings
                    .extend(a.warnings.into_iter().map(|w| format!("{name}: {w}")));
                out.by_name.insert(name, Arc::new(a.result));
            }
            Err(e) => {
                out.warnings.push(format!("{name}: {e}"));
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if out.by_name.is_empty() => Err(e),
        _ => Ok(out),
    }
}
