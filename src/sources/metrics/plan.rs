//! Which conventions the server has (detection: one request, kept for five
//! minutes), the SLI and queries that follow from them, and, per service,
//! the branch of the SLI its figures are read from.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::SliVia;
use crate::sli::identity::{self, BRANCH};
use crate::sli::queries::Queries;
use crate::sli::{Convention, SliSet, SliSpec, derive};
use crate::sources::prometheus::Sample;

/// How long a detection holds; a failed one is tried again sooner.
pub const DETECT_EVERY: Duration = Duration::from_secs(300);
pub const DETECT_RETRY: Duration = Duration::from_secs(60);

/// What the configuration says, from which every plan is made.
#[derive(Debug, Clone)]
pub struct Spec {
    pub catalogue: Arc<Vec<Convention>>,
    pub global: SliSpec,
    pub per_service: Vec<(String, SliSpec)>,
    pub labels: Vec<String>,
    pub window: (String, u64),
    pub overrides: BTreeMap<String, (String, usize)>,
}

/// The SLI in force and its queries.
#[derive(Debug)]
pub struct Plan {
    pub set: SliSet,
    pub queries: Queries,
    /// The conventions the last detection found, with their services
    /// counted; `None` before the first answer.
    pub found: Option<Vec<(String, u64)>>,
    /// When detection was last asked, and whether it answered.
    pub checked: Option<(Instant, bool)>,
}

impl Plan {
    pub fn new(spec: &Spec, found: Option<Vec<(String, u64)>>) -> Plan {
        let detected: Vec<String> = found
            .iter()
            .flatten()
            .map(|(name, _)| name.clone())
            .collect();
        let set = SliSet::build(
            &spec.catalogue,
            &spec.global,
            &spec.per_service,
            &detected,
            &spec.labels,
        );
        Plan {
            queries: Queries::new(&set, &spec.window, &spec.overrides),
            set,
            found,
            checked: None,
        }
    }

    /// Whether detection should be asked now.
    pub fn due(&self) -> bool {
        match self.checked {
            None => true,
            Some((at, true)) => at.elapsed() >= DETECT_EVERY,
            Some((at, false)) => at.elapsed() >= DETECT_RETRY,
        }
    }

    /// What the request-metric queries looked for and what the server has,
    /// for a panel with no request metrics and for `config check`.
    pub fn looked_for(&self, catalogue: &[Convention]) -> String {
        report(&self.set, catalogue, self.found.as_deref())
    }
}

/// The conventions a detection answer names, in catalogue order, with
/// their services counted.
pub fn found(answer: &[Sample], catalogue: &[Convention]) -> Vec<(String, u64)> {
    let by_name: HashMap<&str, f64> = answer
        .iter()
        .filter_map(|s| Some((s.label(BRANCH)?, s.value)))
        .collect();
    let recorded = super::recorded::DETECT.iter().map(|(name, _)| *name);
    catalogue
        .iter()
        .map(|c| c.name.as_str())
        .chain(recorded)
        .filter_map(|name| {
            let n = *by_name.get(name)?;
            (n.is_finite() && n > 0.0).then(|| (name.to_string(), n as u64))
        })
        .collect()
}

/// `looked_for`, from its parts.
pub fn report(set: &SliSet, catalogue: &[Convention], found: Option<&[(String, u64)]>) -> String {
    let plural = |n: u64| if n == 1 { "service" } else { "services" };
    let in_force: Vec<String> = set
        .branches
        .iter()
        .map(|b| b.convention.looks_for().to_string())
        .collect();
    let Some(found) = found else {
        return format!(
            "looked for {}; the server has not said which conventions it has yet",
            in_force.join(", ")
        );
    };
    let found_text: Vec<String> = found
        .iter()
        .map(|(name, n)| {
            let c = catalogue.iter().find(|c| &c.name == name);
            let metric = c.map_or(name.as_str(), |c| c.looks_for());
            format!("{metric} ({name}) for {n} {}", plural(*n))
        })
        .collect();
    if found_text.is_empty() {
        let all: Vec<&str> = catalogue.iter().map(|c| c.looks_for()).collect();
        format!(
            "no request metrics: none of the {} catalogued conventions has series ({})",
            all.len(),
            all.join(", ")
        )
    } else {
        format!(
            "looked for {}; found {}",
            in_force.join(", "),
            found_text.join(", ")
        )
    }
}

/// The branch each service's figures come from: the first in the SLI's
/// order that names it in any of the main answers. Borrowed from the
/// answers: nothing is copied per service until a reading is built.
pub struct Choice<'a> {
    pub by_service: foldhash::HashMap<&'a str, Chosen<'a>>,
}

pub struct Chosen<'a> {
    /// The branch's rank; `usize::MAX` for an answer of the
    /// configuration's own query, which has no branch.
    pub rank: usize,
    /// The label that named the service (only the requests answer says).
    label: &'a str,
    /// The ranks of the other branches that name it, as bits.
    also: u64,
}

/// The answers that make a service known to have request metrics.
pub const NAMING: [&str; 4] = ["requests", "requests_window", "latency_p95", "errors"];

impl<'a> Choice<'a> {
    pub fn new(set: &'a SliSet, answers: impl Iterator<Item = &'a Sample>) -> Choice<'a> {
        let mut by_service: foldhash::HashMap<&'a str, Chosen<'a>> = Default::default();
        for s in answers {
            let Some((service, label)) = identity::resolve(|l| s.label(l), &set.labels) else {
                continue;
            };
            let Some(rank) = set.rank(s.label(BRANCH)) else {
                continue;
            };
            let only = set.branches.get(rank).and_then(|b| b.only.as_deref());
            if only.is_some_and(|only| only != service) {
                continue;
            }
            let chosen = by_service.entry(service).or_insert(Chosen {
                rank,
                label: "",
                also: 0,
            });
            if rank < chosen.rank {
                chosen.also |= bit(chosen.rank);
                chosen.rank = rank;
                chosen.label = "";
            } else if rank > chosen.rank {
                chosen.also |= bit(rank);
            }
            if rank == chosen.rank && chosen.label.is_empty() {
                chosen.label = label;
            }
        }
        Choice { by_service }
    }

    /// Where the figures of `service` come from, if any answer named it.
    pub fn via(&self, set: &SliSet, chosen: &Chosen) -> SliVia {
        let also = (0..set.branches.len().min(64))
            .filter(|r| chosen.also & bit(*r) != 0)
            .map(|r| set.branches[r].convention.name.clone())
            .fold(Vec::new(), |mut names: Vec<String>, n| {
                if !names.contains(&n) {
                    names.push(n);
                }
                names
            });
        SliVia {
            convention: match set.branches.get(chosen.rank) {
                Some(b) => b.convention.clone(),
                None => Arc::new(own_query()),
            },
            label: chosen.label.to_string(),
            also,
        }
    }

    /// The service a series (its labels, by `get`) tells about, if it
    /// comes from that service's chosen branch (or from the
    /// configuration's own query).
    pub fn owner<'s>(
        &self,
        set: &SliSet,
        get: impl Fn(&str) -> Option<&'s str>,
    ) -> Option<&'s str> {
        let rank = set.rank(get(BRANCH))?;
        let service = identity::name_of(get, &set.labels)?;
        let chosen = self.by_service.get(service)?;
        (rank == chosen.rank || rank == usize::MAX).then_some(service)
    }
}

impl<'a> Chosen<'a> {
    /// What makes two services read the same way.
    pub fn key(&self) -> (usize, &'a str, u64) {
        (self.rank, self.label, self.also)
    }
}

/// `rank` as a bit of `Chosen::also` (ranks past 63 are not listed).
fn bit(rank: usize) -> u64 {
    if rank < 64 { 1 << rank } else { 0 }
}

/// What stands for the convention of a service read by the
/// configuration's own `[queries]` only.
fn own_query() -> Convention {
    Convention {
        name: "queries".into(),
        title: "the configuration's own [queries]".into(),
        kind: crate::sli::Kind::App,
        detect: String::new(),
        counting: crate::sli::Counting::Elsewhere("the configuration's own [queries]".into()),
        latency: crate::sli::Latency::None(String::new()),
        service_labels: Vec::new(),
        join_target_info: false,
        note: String::new(),
        version_label: None,
    }
}

/// The detection query for `spec`: the conventions, and SLOs recorded
/// by Sloth or Pyrra.
pub fn detection(spec: &Spec) -> String {
    let mut query = derive::detection(&spec.catalogue, &spec.labels);
    for (name, selector) in super::recorded::DETECT {
        query.push_str(&format!(
            r#" or label_replace(count({selector}), "{BRANCH}", "{name}", "", "")"#
        ));
    }
    query
}

impl Plan {
    /// Whether the server records SLOs with Sloth or Pyrra.
    pub fn has_recorded_slos(&self) -> bool {
        self.found.iter().flatten().any(|(name, _)| {
            super::recorded::DETECT
                .iter()
                .any(|(recorded, _)| recorded == name)
        })
    }
}
