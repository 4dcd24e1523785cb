//! The configuration file: sources, services, objectives, thresholds and
//! query overrides. A mistake is a `Problem` with the file, line and field.
//! A bad value (a URL, a duration, a ratio, a query name) leaves out only
//! the part it spoils; a file that is not valid TOML, or has a field of the
//! wrong type or an unknown field, cannot be read at all, and opsdeck runs
//! on the built-in defaults, saying so.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::Problem;
use super::limits::Limits;
use crate::domain::{Objectives, Thresholds, Tier};

pub const DEFAULT_PROMETHEUS: &str = "http://localhost:9090";
pub const DEFAULT_ALERTMANAGER: &str = "http://localhost:9093";
/// Shortest timeout and refresh accepted: below it, opsdeck would hammer
/// the server or give up before any answer could come.
const MIN_TIMEOUT: Duration = Duration::from_millis(100);

/// Largest response read from a server before giving up on it.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// A duration written as `5s`, `500ms`, `2m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map(Dur)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "bad duration '{text}': {e} (write e.g. 5s, 500ms, 2m)"
                ))
            })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthSpec {
    pub username: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
}

/// One server as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub name: Option<String>,
    pub url: Spanned<String>,
    pub cluster: Option<String>,
    pub timeout: Option<Dur>,
    pub connect_timeout: Option<Dur>,
    pub bearer_token_env: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    pub basic_auth: Option<BasicAuthSpec>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub ca_file: Option<PathBuf>,
    pub max_response_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub tier: Option<Tier>,
    pub team: Option<String>,
    pub runbook: Option<String>,
    sli: Option<Spanned<super::sli::SliEntry>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectivesSpec {
    availability: Option<f64>,
    error_ratio: Option<f64>,
    latency_p95_ms: Option<f64>,
    mttr: Option<Dur>,
    slo_window: Option<Dur>,
    change_failure_rate: Option<f64>,
    backup_success: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsSpec {
    cpu: Option<f64>,
    memory: Option<f64>,
    disk: Option<f64>,
    disk_full_warn: Option<Dur>,
    disk_full_crit: Option<Dur>,
    latency_ms: Option<f64>,
    error_ratio: Option<f64>,
    progress_deadline: Option<Dur>,
    anomaly_deviations: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    prometheus: Vec<EndpointSpec>,
    #[serde(default)]
    alertmanager: Vec<EndpointSpec>,
    #[serde(default)]
    scrape: Vec<EndpointSpec>,
    service_label: Option<String>,
    service_labels: Option<Vec<String>>,
    sli: Option<Spanned<super::sli::SliEntry>>,
    refresh: Option<Dur>,
    #[serde(default)]
    services: BTreeMap<String, ServiceSpec>,
    #[serde(default)]
    objectives: ObjectivesSpec,
    #[serde(default)]
    thresholds: ThresholdsSpec,
    #[serde(default)]
    canary: canary::CanarySpec,
    #[serde(default)]
    incidents: incidents::IncidentsSpec,
    #[serde(default)]
    queries: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    actions: Vec<Spanned<super::actions::ActionEntry>>,
    #[serde(default)]
    secrets: BTreeMap<String, Spanned<super::actions::SecretEntry>>,
    #[serde(default)]
    limits: super::limits::LimitsSpec,
    environment: Option<EnvironmentSpec>,
    #[serde(default)]
    alerts: super::alerts::AlertsSpec,
    #[serde(default)]
    backups: Vec<Spanned<super::backups::BackupEntry>>,
    #[serde(default)]
    oncall: Vec<Spanned<super::oncall::OnCallEntry>>,
}

/// `[environment]`: which estate this is, for the header.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentSpec {
    name: String,
    colour: Option<super::theme::Colour>,
}

/// A secret read from the environment or a file: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    Bearer(Secret),
    Basic { username: String, password: Secret },
}

/// A server ready to be talked to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub url: reqwest::Url,
    pub cluster: Option<String>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub auth: Auth,
    pub headers: BTreeMap<String, String>,
    pub ca_file: Option<PathBuf>,
    pub max_response_bytes: u64,
    /// Series kept from one query's answer (`limits.max_series`).
    pub max_series: usize,
    /// Alerts kept from one answer (`limits.max_alerts`).
    pub max_alerts: usize,
}

impl Endpoint {
    /// An endpoint with default settings, for `--prometheus URL` and the
    /// built-in localhost defaults.
    pub fn plain(name: &str, url: reqwest::Url) -> Endpoint {
        Endpoint {
            name: name.to_string(),
            url,
            cluster: None,
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            auth: Auth::None,
            headers: BTreeMap::new(),
            ca_file: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_series: super::limits::DEFAULT_MAX_SERIES,
            max_alerts: super::limits::DEFAULT_MAX_ALERTS,
        }
    }

    /// An endpoint for a URL as given: credentials written into it
    /// (`http://user:pass@host`) move into basic auth, so the URL that is
    /// shown and logged never carries them; named by host and port unless
    /// `name` says otherwise.
    pub fn from_url(name: Option<&str>, mut url: reqwest::Url) -> Endpoint {
        let credentials = (!url.username().is_empty()).then(|| {
            let user = url.username().to_string();
            let password = url.password().unwrap_or("").to_string();
            (user, password)
        });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => "server".to_string(),
        };
        let mut endpoint = Endpoint::plain(name.unwrap_or(&host), url);
        if let Some((username, password)) = credentials {
            endpoint.auth = Auth::Basic {
                username,
                password: Secret(password),
            };
        }
        endpoint
    }
}

#[derive(Debug, Clone)]
pub struct ServiceMeta {
    pub tier: Tier,
    pub team: String,
    pub runbook: Option<String>,
}

/// The configuration in force.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it came from, for messages; `None` for the built-in defaults.
    pub path: Option<PathBuf>,
    pub prometheus: Vec<Endpoint>,
    pub alertmanager: Vec<Endpoint>,
    pub scrape: Vec<Endpoint>,
    /// The labels that name a service, most specific first.
    pub service_labels: Vec<String>,
    /// The SLI of every service (`[sli]`)…
    pub sli: crate::sli::SliSpec,
    /// …and of the services that declare their own.
    pub service_slis: Vec<(String, crate::sli::SliSpec)>,
    /// The catalogue of conventions: shipped, and the user's own.
    pub conventions: std::sync::Arc<Vec<crate::sli::Convention>>,
    pub refresh: Duration,
    pub services: BTreeMap<String, ServiceMeta>,
    pub objectives: Objectives,
    pub thresholds: Thresholds,
    /// `[canary]`: when a canary's new version is judged worse.
    pub canary: crate::domain::canary::CanaryThresholds,
    /// `[incidents] change_lead`: how long before an incident a change on
    /// its service is listed.
    pub change_lead: chrono::Duration,
    /// Query overrides by name, with the line they were written on.
    pub queries: BTreeMap<String, (String, usize)>,
    /// Declared actions, then the built-in ones not replaced.
    pub actions: Vec<super::actions::ActionSpec>,
    pub secrets: super::actions::SecretStore,
    pub limits: Limits,
    /// The estate's name and colour in the header.
    pub environment: Option<crate::app::Environment>,
    /// `[alerts]`: heartbeats and alerts not counted.
    pub alert_rules: std::sync::Arc<crate::domain::matchers::AlertRules>,
    /// Every template of the file's actions, where it was written, for
    /// `config check` to check its placeholders.
    pub action_templates: Vec<TemplateSite>,
    /// `[[backups]]`: targets read from the backup tools themselves.
    pub backup_tools: Vec<super::backups::ToolTarget>,
    /// `[[oncall]]`: who is on call, from iCalendar schedules.
    pub oncall: Vec<super::oncall::OnCallSchedule>,
}

impl Default for Config {
    fn default() -> Config {
        let url = |u: &str| reqwest::Url::parse(u).expect("built-in URL parses");
        Config {
            path: None,
            prometheus: vec![Endpoint::plain("prometheus", url(DEFAULT_PROMETHEUS))],
            alertmanager: vec![Endpoint::plain("alertmanager", url(DEFAULT_ALERTMANAGER))],
            scrape: Vec::new(),
            service_labels: crate::sli::DEFAULT_SERVICE_LABELS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            sli: crate::sli::SliSpec::Detect,
            service_slis: Vec::new(),
            conventions: crate::sli::catalogue::shipped(),
            refresh: Duration::from_secs(1),
            services: BTreeMap::new(),
            objectives: Objectives::default(),
            thresholds: Thresholds::default(),
            canary: Default::default(),
            change_lead: crate::domain::changes::DEFAULT_LEAD,
            queries: BTreeMap::new(),
            actions: super::actions::builtin(),
            secrets: Default::default(),
            limits: Limits::default(),
            environment: None,
            alert_rules: Default::default(),
            action_templates: Vec::new(),
            backup_tools: Vec::new(),
            oncall: Vec::new(),
        }
    }
}

/// Line of byte offset `at` in `text`, from 1.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

mod canary;
mod declared;
mod incidents;
mod labels;
mod lenient;
mod load;
pub use labels::{environment, mask_userinfo};
mod reader;
pub use declared::{TemplateSite, action_names, nearest};
pub(super) use reader::Reader;

/// The commented starting file `opsdeck config init` writes.
pub const STARTING: &str = concat!(
    include_str!("starting_head.toml"),
    include_str!("starting_labels.toml"),
    include_str!("starting.toml")
);

/// The part of `STARTING` that `config init` replaces with what a server
/// that answers has: the service labels and the `[sli]` example.
pub const STARTING_LABELS: &str = include_str!("starting_labels.toml");

impl Config {
    /// Parses `text` (from `file`); problems are returned beside whatever
    /// could still be used.
    pub fn parse(file: &Path, text: &str) -> (Config, Vec<Problem>) {
        Config::parse_with(file, text, crate::sli::catalogue::shipped())
    }

    /// `parse`, with `catalogue` the conventions an `[sli]` may name (the
    /// shipped ones and the user's own).
    pub fn parse_with(
        file: &Path,
        text: &str,
        catalogue: std::sync::Arc<Vec<crate::sli::Convention>>,
    ) -> (Config, Vec<Problem>) {
        let mut reader = Reader {
            file: file.display().to_string(),
            text,
            problems: Vec::new(),
        };
        let spec: FileSpec = match lenient::read(text) {
            Ok((spec, left_out)) => {
                reader
                    .problems
                    .extend(left_out.into_iter().map(|message| Problem {
                        file: reader.file.clone(),
                        message,
                    }));
                spec
            }
            Err(messages) => {
                let last = messages.len().saturating_sub(1);
                reader
                    .problems
                    .extend(messages.into_iter().enumerate().map(|(i, m)| Problem {
                        file: reader.file.clone(),
                        message: if i == last {
                            format!("{m}; using the built-in defaults")
                        } else {
                            m
                        },
                    }));
                return (
                    Config {
                        path: Some(file.to_path_buf()),
                        ..Config::default()
                    },
                    reader.problems,
                );
            }
        };
        let defaults = Config::default();
        let o = Objectives::default();
        let t = Thresholds::default();
        let objectives = Objectives {
            availability: reader.ratio(
                "objectives.availability",
                spec.objectives.availability,
                o.availability,
            ),
            error_ratio: reader.ratio(
                "objectives.error_ratio",
                spec.objectives.error_ratio,
                o.error_ratio,
            ),
            latency_p95_ms: spec.objectives.latency_p95_ms.unwrap_or(o.latency_p95_ms),
            mttr: spec
                .objectives
                .mttr
                .and_then(|Dur(d)| chrono::Duration::from_std(d).ok())
                .unwrap_or(o.mttr),
            slo_window: spec
                .objectives
                .slo_window
                .and_then(|Dur(d)| chrono::Duration::from_std(d).ok())
                .unwrap_or(o.slo_window),
            change_failure_rate: reader.ratio(
                "objectives.change_failure_rate",
                spec.objectives.change_failure_rate,
                o.change_failure_rate,
            ),
            backup_success: reader.ratio(
                "objectives.backup_success",
                spec.objectives.backup_success,
                o.backup_success,
            ),
        };
        let thresholds = Thresholds {
            cpu: reader.ratio("thresholds.cpu", spec.thresholds.cpu, t.cpu),
            memory: reader.ratio("thresholds.memory", spec.thresholds.memory, t.memory),
            disk: reader.ratio("thresholds.disk", spec.thresholds.disk, t.disk),
            disk_full_warn: spec
                .thresholds
                .disk_full_warn
                .and_then(|Dur(d)| chrono::Duration::from_std(d).ok())
                .unwrap_or(t.disk_full_warn),
            disk_full_crit: spec
                .thresholds
                .disk_full_crit
                .and_then(|Dur(d)| chrono::Duration::from_std(d).ok())
                .unwrap_or(t.disk_full_crit),
            latency_ms: spec.thresholds.latency_ms.unwrap_or(t.latency_ms),
            error_ratio: reader.ratio(
                "thresholds.error_ratio",
                spec.thresholds.error_ratio,
                t.error_ratio,
            ),
            progress_deadline: spec
                .thresholds
                .progress_deadline
                .and_then(|Dur(d)| chrono::Duration::from_std(d).ok())
                .unwrap_or(t.progress_deadline),
            anomaly_deviations: reader.deviations(
                "thresholds.anomaly_deviations",
                spec.thresholds.anomaly_deviations,
                t.anomaly_deviations,
            ),
        };
        let mut queries = BTreeMap::new();
        for (name, query) in &spec.queries {
            let line = line_of(text, query.span().start);
            if crate::sli::queries::is_name(name) {
                queries.insert(name.clone(), (query.get_ref().clone(), line));
            } else {
                let known: Vec<&str> = crate::sli::queries::names().collect();
                let known = known.join(", ");
                reader.problem(
                    Some(line),
                    &format!("queries.{name}"),
                    format!("no query of that name (known: {known})"),
                );
            }
        }
        let config = Config {
            path: Some(file.to_path_buf()),
            prometheus: if spec.prometheus.is_empty() {
                defaults.prometheus
            } else {
                reader.endpoints("prometheus", &spec.prometheus)
            },
            alertmanager: if spec.alertmanager.is_empty() {
                defaults.alertmanager
            } else {
                reader.endpoints("alertmanager", &spec.alertmanager)
            },
            scrape: reader.endpoints("scrape", &spec.scrape),
            service_labels: super::sli::labels(
                &mut reader,
                spec.service_labels.as_ref(),
                spec.service_label.as_ref(),
            ),
            sli: match &spec.sli {
                Some(entry) => super::sli::read(&mut reader, "sli", entry, &catalogue),
                None => crate::sli::SliSpec::Detect,
            },
            service_slis: spec
                .services
                .iter()
                .filter_map(|(name, s)| {
                    let entry = s.sli.as_ref()?;
                    let field = format!("services.{name}.sli");
                    Some((
                        name.clone(),
                        super::sli::read(&mut reader, &field, entry, &catalogue),
                    ))
                })
                .collect(),
            conventions: catalogue.clone(),
            refresh: match spec.refresh {
                Some(Dur(d)) if d < MIN_TIMEOUT => {
                    reader.problem(None, "refresh", "under 100ms; using 1s");
                    defaults.refresh
                }
                Some(Dur(d)) => d,
                None => defaults.refresh,
            },
            services: spec
                .services
                .into_iter()
                .map(|(name, s)| {
                    let meta = ServiceMeta {
                        tier: s.tier.unwrap_or(Tier::Standard),
                        team: s.team.unwrap_or_default(),
                        runbook: s.runbook,
                    };
                    (name, meta)
                })
                .collect(),
            objectives,
            thresholds,
            canary: spec.canary.read(&mut reader),
            change_lead: spec.incidents.change_lead(&mut reader),
            queries,
            actions: Vec::new(),
            secrets: Default::default(),
            limits: reader.limits(&spec.limits),
            environment: spec
                .environment
                .as_ref()
                .map(|e| environment(&e.name, e.colour.map(|c| c.0))),
            alert_rules: std::sync::Arc::new(super::alerts::read(&mut reader, &spec.alerts)),
            action_templates: Vec::new(),
            backup_tools: Vec::new(),
            oncall: Vec::new(),
        };
        let mut config = config;
        config.apply_limits();
        config.secrets = super::actions::read_secrets(&mut reader, &spec.secrets);
        config.actions = super::actions::read_actions(&mut reader, &spec.actions, &config.secrets);
        config.action_templates = declared::read(&mut reader);
        config.backup_tools = super::backups::read(&mut reader, &spec.backups);
        config.oncall = super::oncall::read(&mut reader, &spec.oncall);
        config
            .actions
            .extend(super::backups::builtin_actions(&config.backup_tools));
        let mut problems = reader.problems;
        problems.extend(config.unique_names());
        (config, problems)
    }

    /// The limits that apply to what a source answers travel with its
    /// endpoint, which is what each source is built from.
    fn apply_limits(&mut self) {
        let limits = self.limits;
        for endpoint in self
            .prometheus
            .iter_mut()
            .chain(&mut self.alertmanager)
            .chain(&mut self.scrape)
        {
            endpoint.max_series = limits.max_series;
            endpoint.max_alerts = limits.max_alerts;
        }
    }

    /// Every source needs a name of its own: what one says is kept apart
    /// from another's by it. A repeated name gets a suffix, and a problem.
    fn unique_names(&mut self) -> Vec<Problem> {
        let file = self
            .path
            .as_ref()
            .map_or("command line".to_string(), |p| p.display().to_string());
        let mut seen = std::collections::BTreeSet::new();
        let mut problems = Vec::new();
        for endpoint in self
            .prometheus
            .iter_mut()
            .chain(&mut self.alertmanager)
            .chain(&mut self.scrape)
        {
            let mut name = endpoint.name.clone();
            let mut n = 1;
            while !seen.insert(name.clone()) {
                n += 1;
                name = format!("{}#{n}", endpoint.name);
            }
            if name != endpoint.name {
                let message = format!(
                    "two sources are named '{}'; the second is shown as '{name}' (give each a name)",
                    endpoint.name
                );
                problems.push(Problem {
                    file: file.clone(),
                    message,
                });
                endpoint.name = name;
            }
        }
        problems
    }

    /// `--prometheus` and `--alertmanager` replace the file's lists.
    pub fn override_urls(
        &mut self,
        prometheus: &[String],
        alertmanager: &[String],
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut parse = |flag: &str, urls: &[String]| -> Vec<Endpoint> {
            urls.iter()
                .filter_map(|u| match reqwest::Url::parse(u) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") => {
                        Some(Endpoint::from_url(None, url))
                    }
                    _ => {
                        problems.push(Problem {
                            file: "command line".into(),
                            message: format!(
                                "{flag} '{}' is not an http(s) URL",
                                crate::text::clean(&mask_userinfo(u))
                            ),
                        });
                        None
                    }
                })
                .collect()
        };
        if !prometheus.is_empty() {
            self.prometheus = parse("--prometheus", prometheus);
        }
        if !alertmanager.is_empty() {
            self.alertmanager = parse("--alertmanager", alertmanager);
        }
        self.apply_limits();
        problems.extend(self.unique_names());
        problems
    }
}

#[cfg(test)]
pub(super) mod tests;
