//! Service level indicators: the catalogue of request-metric conventions
//! (`catalogue`), how a service is named (`identity`), and every query
//! about a service's traffic derived from one SLI definition (`derive`).
//! Pure code and data: no I/O but reading the catalogue's files.

use std::sync::Arc;

pub mod canary;
pub mod catalogue;
pub mod derive;
pub mod identity;
pub mod queries;

/// How a convention ranks when two name one service: an app's own
/// library knows its requests best, a proxy in front of it next, a probe
/// from outside least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    App,
    Proxy,
    Probe,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Proxy => "proxy",
            Kind::Probe => "probe",
        }
    }
}

/// One way of emitting request metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Convention {
    /// The catalogue file's stem (`flask`), or `own` for the user's `[sli]`.
    pub name: String,
    /// What emits it (`prometheus-flask-exporter`).
    pub title: String,
    pub kind: Kind,
    /// A selector with series wherever the convention is in use.
    pub detect: String,
    pub counting: Counting,
    pub latency: Latency,
    /// Labels that name a service, tried before the configured ones.
    pub service_labels: Vec<String>,
    /// The service's name is on `target_info` (OpenTelemetry's
    /// `service_name`), joined in by job and instance.
    pub join_target_info: bool,
    /// What the convention cannot give, shown with its services.
    pub note: String,
    /// The label of its request metrics that names the version serving
    /// them (`version`, Istio's `destination_version`), where it has one:
    /// a canary's figures are compared by it.
    pub version_label: Option<String>,
}

/// How requests and failed requests are counted.
#[derive(Debug, Clone, PartialEq)]
pub enum Counting {
    /// Counters: a selector of every request, and of the failed (or the
    /// good) ones; `status` says how an error is told, for people.
    Requests {
        total: String,
        bad: Bad,
        status: String,
    },
    /// A 0/1 gauge per probe: each probe a request, each 0 a failure.
    Probes { success: String },
    /// Not counted by a query of opsdeck's: SLOs recorded by Sloth or
    /// Pyrra, or the configuration's own `[queries]`; what does count.
    Elsewhere(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Bad {
    Errors(String),
    Good(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Latency {
    /// A histogram's `_bucket` selector, and the factor to seconds.
    Histogram { buckets: String, scale: f64 },
    /// A gauge in seconds (a probe's duration), its quantile over time.
    Gauge { selector: String },
    /// None, and why.
    None(String),
}

impl Convention {
    /// The metric a reader would look for, for messages: the request
    /// counter's selector.
    pub fn looks_for(&self) -> &str {
        match &self.counting {
            Counting::Requests { total, .. } => total,
            Counting::Probes { success } => success,
            Counting::Elsewhere(what) => what,
        }
    }

    /// Where the figures come from, for the details pane: how requests
    /// and errors are counted, and where latency comes from.
    pub fn describe(&self) -> (String, String) {
        let counting = match &self.counting {
            Counting::Requests { total, bad, status } => match bad {
                Bad::Errors(_) if !status.is_empty() => format!("{total}, errors {status}"),
                Bad::Errors(e) => format!("{total}, errors {e}"),
                Bad::Good(g) => format!("{total}, good {g}"),
            },
            Counting::Probes { success } => format!("{success} (each probe a request)"),
            Counting::Elsewhere(what) => what.clone(),
        };
        let latency = match &self.latency {
            Latency::Histogram { buckets, .. } => buckets.clone(),
            Latency::Gauge { selector } => format!("{selector}, quantiles over 5m"),
            Latency::None(why) if why.is_empty() => "none".to_string(),
            Latency::None(why) => why.clone(),
        };
        (counting, latency)
    }
}

/// What the configuration says a service's SLI is (`[sli]`, or
/// `[services.NAME.sli]`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SliSpec {
    /// Detected: every catalogued convention the server has, the app's
    /// preferred where two name one service.
    #[default]
    Detect,
    /// One convention of the catalogue, by name.
    Convention(String),
    /// The user's own selectors.
    Own(OwnSli),
}

/// An SLI from selectors: every request, the failed or the good ones, and
/// a latency histogram (its name without `_bucket`, with matchers).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnSli {
    pub total: String,
    pub bad: Bad,
    pub latency: Option<String>,
    pub latency_scale: f64,
}

impl OwnSli {
    /// As a convention named `name`.
    pub fn convention(&self, name: &str) -> Convention {
        let latency = match &self.latency {
            Some(h) => {
                let (metric, matchers) = match h.find('{') {
                    Some(i) => (&h[..i], h[i + 1..].trim_end_matches('}')),
                    None => (h.as_str(), ""),
                };
                Latency::Histogram {
                    buckets: catalogue::selector(&format!("{}_bucket", metric.trim()), &[matchers]),
                    scale: self.latency_scale,
                }
            }
            None => Latency::None("no latency histogram in [sli]".into()),
        };
        Convention {
            name: name.to_string(),
            title: "your own SLI ([sli] in the configuration)".into(),
            kind: Kind::App,
            detect: self.total.clone(),
            counting: Counting::Requests {
                total: self.total.clone(),
                bad: self.bad.clone(),
                status: String::new(),
            },
            latency,
            service_labels: Vec::new(),
            join_target_info: false,
            note: String::new(),
            version_label: None,
        }
    }
}

/// One part of the SLI in force: a convention, for every service it names
/// or for one service only.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// Marks its series in every answer (`opsdeck_sli`).
    pub id: String,
    pub convention: Arc<Convention>,
    pub only: Option<String>,
}

/// The SLI in force: its branches in preference order, and the labels
/// that name a service.
#[derive(Debug, Clone, PartialEq)]
pub struct SliSet {
    pub branches: Vec<Branch>,
    pub labels: Vec<String>,
}

impl SliSet {
    /// The rank of the branch a series came from, by its mark (the rank
    /// itself): an unmarked series is the only branch's when there is one
    /// (its parts are not marked), else the configuration's own query's
    /// (`usize::MAX`); a mark of no branch is `None`.
    pub fn rank(&self, mark: Option<&str>) -> Option<usize> {
        match mark {
            None if self.branches.len() == 1 => Some(0),
            None => Some(usize::MAX),
            Some(m) => m.parse().ok().filter(|r| *r < self.branches.len()),
        }
    }

    /// The branch a series came from, by its mark.
    pub fn branch(&self, mark: Option<&str>) -> Option<&Branch> {
        self.branches.get(self.rank(mark)?)
    }

    /// The set for `global` and the per-service specs, given the
    /// catalogue and the conventions detected (by name, in catalogue
    /// order); unknown convention names are skipped (`config check` names
    /// them).
    pub fn build(
        catalogue: &[Convention],
        global: &SliSpec,
        per_service: &[(String, SliSpec)],
        detected: &[String],
        labels: &[String],
    ) -> SliSet {
        let find = |name: &str| catalogue.iter().find(|c| c.name == name);
        let mut branches = Vec::new();
        for (service, spec) in per_service {
            let convention = match spec {
                SliSpec::Own(own) => Some(own.convention(&format!("own:{service}"))),
                SliSpec::Convention(name) => find(name).cloned(),
                SliSpec::Detect => None,
            };
            if let Some(c) = convention {
                branches.push(Branch {
                    id: match spec {
                        SliSpec::Own(_) => c.name.clone(),
                        _ => format!("{}:{service}", c.name),
                    },
                    convention: Arc::new(c),
                    only: Some(service.clone()),
                });
            }
        }
        let global: Vec<Convention> = match global {
            SliSpec::Own(own) => vec![own.convention("own")],
            SliSpec::Convention(name) => find(name).cloned().into_iter().collect(),
            SliSpec::Detect => {
                let found: Vec<Convention> = catalogue
                    .iter()
                    .filter(|c| detected.contains(&c.name))
                    .cloned()
                    .collect();
                if found.is_empty() {
                    // Nothing detected yet: the first of the catalogue, so
                    // every panel can say what it looked for.
                    find("prometheus-client")
                        .or(catalogue.first())
                        .cloned()
                        .into_iter()
                        .collect()
                } else {
                    found
                }
            }
        };
        branches.extend(global.into_iter().map(|c| Branch {
            id: c.name.clone(),
            convention: Arc::new(c),
            only: None,
        }));
        SliSet {
            branches,
            labels: labels.to_vec(),
        }
    }

    /// The conventions in force, each named once, for messages.
    pub fn names(&self) -> String {
        let mut names: Vec<&str> = self
            .branches
            .iter()
            .map(|b| b.convention.name.as_str())
            .collect();
        names.dedup();
        names.join(", ")
    }
}

/// The labels that name a service by default, most specific first.
pub const DEFAULT_SERVICE_LABELS: [&str; 5] = [
    "service",
    "service_name",
    "app_kubernetes_io_name",
    "app",
    "job",
];
