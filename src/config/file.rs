//! The configuration file: sources, services, objectives, thresholds and
//! query overrides. A mistake is a `Problem` with the file, line and field.
//! A bad value (a URL, a duration, a ratio, a query name) leaves out only
//! the part it spoils; a file that is not valid TOML, or has a field of the
//! wrong type or an unknown field, cannot be read at all, and opsdeck runs
//! on the built-in defaults, saying so.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::limits::Limits;
use super::{Problem, toml_error};
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
    latency_ms: Option<f64>,
    error_ratio: Option<f64>,
    progress_deadline: Option<Dur>,
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
    queries: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    actions: Vec<Spanned<super::actions::ActionEntry>>,
    #[serde(default)]
    secrets: BTreeMap<String, Spanned<super::actions::SecretEntry>>,
    #[serde(default)]
    limits: super::limits::LimitsSpec,
    environment: Option<EnvironmentSpec>,
}

/// `[environment]`: which estate this is, for the header.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentSpec {
    name: String,
    colour: Option<super::theme::Colour>,
}

/// An environment named `name`, in `colour`, or else a colour that goes
/// with its name: red for production, yellow for staging, green for
/// development, blue for anything else.
pub fn environment(name: &str, colour: Option<ratatui::style::Color>) -> crate::app::Environment {
    use ratatui::style::Color;
    let name = crate::text::clean(name.trim()).into_owned();
    let lower = name.to_lowercase();
    let guessed = if lower.starts_with("prod") || lower == "live" {
        Color::Red
    } else if lower.starts_with("stag") || lower.starts_with("pre") {
        Color::Yellow
    } else if lower.starts_with("dev") || lower.starts_with("test") || lower == "local" {
        Color::Green
    } else {
        Color::Blue
    };
    crate::app::Environment {
        name,
        colour: colour.unwrap_or(guessed),
    }
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
    /// Query overrides by name, with the line they were written on.
    pub queries: BTreeMap<String, (String, usize)>,
    /// Declared actions, then the built-in ones not replaced.
    pub actions: Vec<super::actions::ActionSpec>,
    pub secrets: super::actions::SecretStore,
    pub limits: Limits,
    /// The estate's name and colour in the header.
    pub environment: Option<crate::app::Environment>,
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
            queries: BTreeMap::new(),
            actions: super::actions::builtin(),
            secrets: Default::default(),
            limits: Limits::default(),
            environment: None,
        }
    }
}

/// `url` as written, with the user information masked (`user:••••@`), for
/// a message that quotes a URL that could not be used. A user name with no
/// password is masked whole: a token can stand there. The user information
/// is taken to end at the last `@` before any `?` or `#`, which masks more
/// than a URL parser would when a password holds a `/`.
pub fn mask_userinfo(url: &str) -> Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..end].rfind('@') else {
        return Cow::Borrowed(url);
    };
    let masked = match rest[..at].split_once(':') {
        Some((user, _)) if !user.contains('/') => format!("{user}:••••"),
        _ => "••••".to_string(),
    };
    Cow::Owned(format!("{}{masked}{}", &url[..start], &rest[at..]))
}

/// Line of byte offset `at` in `text`, from 1.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

pub(super) struct Reader<'a> {
    file: String,
    pub(super) text: &'a str,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    pub(super) fn line(&self, at: usize) -> usize {
        line_of(self.text, at)
    }

    pub(super) fn problem(&mut self, line: Option<usize>, field: &str, message: impl fmt::Display) {
        let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
        self.problems.push(Problem {
            file: self.file.clone(),
            message: format!("{at}{field}: {message}"),
        });
    }

    pub(super) fn secret(
        &mut self,
        line: usize,
        field: &str,
        env: &Option<String>,
        file: &Option<PathBuf>,
    ) -> Option<Secret> {
        match (env, file) {
            (Some(var), _) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Some(Secret(value)),
                _ => {
                    self.problem(
                        Some(line),
                        field,
                        format!("environment variable {var} is not set"),
                    );
                    None
                }
            },
            (None, Some(path)) => match std::fs::read_to_string(path) {
                Ok(value) => Some(Secret(value.trim_end_matches(['\n', '\r']).to_string())),
                Err(e) => {
                    self.problem(
                        Some(line),
                        field,
                        format!("cannot read {}: {e}", path.display()),
                    );
                    None
                }
            },
            (None, None) => None,
        }
    }

    fn endpoint(&mut self, kind: &str, index: usize, spec: &EndpointSpec) -> Option<Endpoint> {
        let line = line_of(self.text, spec.url.span().start);
        let field = format!("{kind}[{index}].url");
        let url = match reqwest::Url::parse(spec.url.get_ref()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            Ok(url) => {
                self.problem(
                    Some(line),
                    &field,
                    format!("unsupported scheme '{}' (use http or https)", url.scheme()),
                );
                return None;
            }
            Err(e) => {
                self.problem(
                    Some(line),
                    &field,
                    format!(
                        "'{}' is not a URL: {e}",
                        crate::text::clean(&mask_userinfo(spec.url.get_ref()))
                    ),
                );
                return None;
            }
        };
        let mut endpoint = Endpoint::from_url(spec.name.as_deref(), url);
        endpoint.cluster = spec.cluster.clone();
        let prefix = format!("{kind}[{index}]");
        if let Some(Dur(t)) = spec.timeout {
            if t < MIN_TIMEOUT {
                self.problem(
                    Some(line),
                    &format!("{prefix}.timeout"),
                    "under 100ms; using 5s",
                );
            } else {
                endpoint.timeout = t;
            }
        }
        if let Some(Dur(t)) = spec.connect_timeout {
            endpoint.connect_timeout = t;
        }
        endpoint.headers = spec.headers.clone();
        endpoint.ca_file = spec.ca_file.clone();
        if let Some(max) = spec.max_response_bytes {
            if max < 1024 {
                self.problem(
                    Some(line),
                    &format!("{prefix}.max_response_bytes"),
                    "under 1024; using 32 MiB",
                );
            } else {
                endpoint.max_response_bytes = max;
            }
        }
        if let Some(token) = self.secret(
            line,
            &format!("{prefix}.bearer_token"),
            &spec.bearer_token_env,
            &spec.bearer_token_file,
        ) {
            endpoint.auth = Auth::Bearer(token);
        } else if let Some(basic) = &spec.basic_auth {
            let field = format!("{prefix}.basic_auth");
            let Some(password) =
                self.secret(line, &field, &basic.password_env, &basic.password_file)
            else {
                if basic.password_env.is_none() && basic.password_file.is_none() {
                    self.problem(Some(line), &field, "needs password_env or password_file");
                }
                return None;
            };
            endpoint.auth = Auth::Basic {
                username: basic.username.clone(),
                password,
            };
        }
        if let Some(ca) = &spec.ca_file
            && !ca.is_file()
        {
            self.problem(
                Some(line),
                &format!("{prefix}.ca_file"),
                format!("{} does not exist", ca.display()),
            );
            return None;
        }
        Some(endpoint)
    }

    fn endpoints(&mut self, kind: &str, specs: &[EndpointSpec]) -> Vec<Endpoint> {
        specs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.endpoint(kind, i, s))
            .collect()
    }

    fn ratio(&mut self, field: &str, value: Option<f64>, default: f64) -> f64 {
        match value {
            None => default,
            Some(v) if v > 0.0 && v < 1.0 => v,
            Some(v) => {
                self.problem(
                    None,
                    field,
                    format!("{v} is not a ratio between 0 and 1 (99.9% is 0.999); using {default}"),
                );
                default
            }
        }
    }
}

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
        let spec: FileSpec = match toml::from_str(text) {
            Ok(spec) => spec,
            Err(e) => {
                reader.problems.push(Problem {
                    file: reader.file.clone(),
                    message: format!("{}; using the built-in defaults", toml_error(text, &e)),
                });
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
            queries,
            actions: Vec::new(),
            secrets: Default::default(),
            limits: reader.limits(&spec.limits),
            environment: spec
                .environment
                .as_ref()
                .map(|e| environment(&e.name, e.colour.map(|c| c.0))),
        };
        let mut config = config;
        config.apply_limits();
        config.secrets = super::actions::read_secrets(&mut reader, &spec.secrets);
        config.actions = super::actions::read_actions(&mut reader, &spec.actions, &config.secrets);
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

    /// The file to read: `--config`, else `$OPSDECK_CONFIG`, else the user's
    /// config directory; `explicit` is true when the user named it (so a
    /// missing file is an error rather than "use the defaults").
    pub fn locate(flag: Option<&Path>) -> Option<(PathBuf, bool)> {
        if let Some(path) = flag {
            return Some((path.to_path_buf(), true));
        }
        if let Some(path) = std::env::var_os("OPSDECK_CONFIG").filter(|v| !v.is_empty()) {
            return Some((PathBuf::from(path), true));
        }
        super::user_config_dir().map(|dir| (dir.join("config.toml"), false))
    }

    /// Loads the configuration from where `locate` says, or the defaults,
    /// with the user's conventions from `conventions/` beside the file (or
    /// in the user's configuration directory), which its `[sli]` may name.
    pub fn load(flag: Option<&Path>) -> (Config, Vec<Problem>) {
        let located = Config::locate(flag);
        let dir = match &located {
            Some((path, _)) => path.parent().map(Path::to_path_buf),
            None => super::user_config_dir(),
        };
        let (catalogue, own) = crate::sli::catalogue::load(dir.as_deref());
        let (mut config, mut problems) = Config::load_file(located, catalogue.clone());
        config.conventions = catalogue;
        problems.extend(
            own.into_iter()
                .map(|(file, message)| Problem { file, message }),
        );
        (config, problems)
    }

    fn load_file(
        located: Option<(PathBuf, bool)>,
        catalogue: std::sync::Arc<Vec<crate::sli::Convention>>,
    ) -> (Config, Vec<Problem>) {
        match located {
            None => (Config::default(), Vec::new()),
            Some((path, explicit)) => match std::fs::read_to_string(&path) {
                Ok(text) => Config::parse_with(&path, &text, catalogue),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                    (Config::default(), Vec::new())
                }
                Err(e) => (
                    Config::default(),
                    vec![Problem {
                        file: path.display().to_string(),
                        message: format!("cannot read: {e}; using the built-in defaults"),
                    }],
                ),
            },
        }
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
mod tests {
    use super::*;

    fn parse(text: &str) -> (Config, Vec<String>) {
        let (config, problems) = Config::parse(Path::new("opsdeck.toml"), text);
        (config, problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn the_starting_file_parses_without_a_problem() {
        let (config, problems) = parse(STARTING);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.prometheus[0].url.as_str(), "http://localhost:9090/");
        assert_eq!(config.objectives.availability, 0.999);
        assert_eq!(config.limits, super::super::limits::Limits::default());
    }

    #[test]
    fn no_file_means_localhost_defaults() {
        let config = Config::default();
        assert_eq!(config.prometheus[0].url.as_str(), "http://localhost:9090/");
        assert_eq!(
            config.alertmanager[0].url.as_str(),
            "http://localhost:9093/"
        );
        assert_eq!(config.service_labels[0], "service");
    }

    #[test]
    fn a_bad_source_is_left_out_with_its_line_and_the_rest_loads() {
        let text = "[[prometheus]]\nurl = \"http://127.0.0.1:9090\"\ncluster = \"eu\"\n\n[[prometheus]]\nurl = \"ftp://x\"\n\n[[alertmanager]]\nurl = \"not a url\"\n";
        let (config, problems) = parse(text);
        assert_eq!(config.prometheus.len(), 1);
        assert_eq!(config.prometheus[0].cluster.as_deref(), Some("eu"));
        assert!(config.alertmanager.is_empty());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0]
                .contains("opsdeck.toml: line 6: prometheus[1].url: unsupported scheme 'ftp'"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("line 9: alertmanager[0].url: 'not a url' is not a URL"),
            "{problems:?}"
        );
    }

    #[test]
    fn secrets_come_from_the_environment_or_a_file_and_never_print() {
        let dir = std::env::temp_dir().join(format!("opsdeck-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "s3cr3t\n").unwrap();
        let text = format!(
            "[[prometheus]]\nurl = \"http://127.0.0.1:9090\"\nbearer_token_file = \"{}\"\n",
            file.display()
        );
        let (config, problems) = parse(&text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            config.prometheus[0].auth,
            Auth::Bearer(Secret("s3cr3t".into()))
        );
        assert!(!format!("{:?}", config.prometheus[0]).contains("s3cr3t"));
        let missing = "[[prometheus]]\nurl = \"http://127.0.0.1:9090\"\nbearer_token_env = \"OPSDECK_TEST_NO_SUCH_VAR\"\n";
        let (_, problems) = parse(missing);
        assert!(problems[0].contains("line 2: prometheus[0].bearer_token: environment variable OPSDECK_TEST_NO_SUCH_VAR is not set"), "{problems:?}");
    }

    #[test]
    fn mistakes_name_line_and_field() {
        let cases = [
            (
                "refresh = \"soon\"\n",
                "line 1, column 11: bad duration 'soon'",
            ),
            ("refresh = \"soon\"\n", "2m), in refresh;"),
            (
                "[[prometheus]]\nurl = \"http://a\"\ntimeout = 5\n",
                "line 3, column 11: invalid type: integer `5`, expected a string, in prometheus[0].timeout",
            ),
            (
                "[[prometheus]]\nurl = \"http://a\"\n[[prometheus]]\nurl = \"http://b\"\n[prometheus.basic_auth]\nusername = 5\n",
                "line 6, column 12: invalid type: integer `5`, expected a string, in prometheus[1].basic_auth.username",
            ),
            (
                "refresh = \"1s\n",
                "line 1, column 14: invalid basic string, expected `\"`, in refresh;",
            ),
            (
                "[limits]\nmax_series = \"lots\"\n",
                "expected i64, in limits.max_series",
            ),
            (
                "[objectives]\navailability = 99.9\n",
                "objectives.availability: 99.9 is not a ratio",
            ),
            (
                "[queries]\nlatency_p50 = \"x\"\n",
                "line 2: queries.latency_p50: no query of that name",
            ),
            ("colour = \"red\"\n", "unknown field `colour`"),
            (
                "[[prometheus]]\nurl = \"http://a\"\ncolour = \"red\"\n",
                "line 3, column 1: unknown field `colour`",
            ),
            (
                "[services.checkout]\ntier = \"gold\"\n",
                ", in services.checkout.tier;",
            ),
            (
                "[services.checkout]\ntier = \"gold\"\n",
                "unknown variant `gold`",
            ),
        ];
        for (text, expected) in cases {
            let (_, problems) = parse(text);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{text:?}: {problems:?}"
            );
        }
    }

    #[test]
    fn credentials_in_a_url_move_into_basic_auth_and_out_of_every_name() {
        let (config, problems) =
            parse("[[prometheus]]\nurl = \"http://ops:s3cr3t@127.0.0.1:9090/\"\n");
        assert!(problems.is_empty(), "{problems:?}");
        let e = &config.prometheus[0];
        assert_eq!(
            (e.name.as_str(), e.url.as_str()),
            ("127.0.0.1:9090", "http://127.0.0.1:9090/")
        );
        assert_eq!(
            e.auth,
            Auth::Basic {
                username: "ops".into(),
                password: Secret("s3cr3t".into())
            }
        );
        let mut config = Config::default();
        config.override_urls(&["http://u:pw@127.0.0.1:1".into()], &[]);
        assert!(
            !format!(
                "{:?} {}",
                config.prometheus[0].name, config.prometheus[0].url
            )
            .contains("pw")
        );
    }

    #[test]
    fn a_url_that_cannot_be_used_is_quoted_without_its_password() {
        let text = "[[prometheus]]\nurl = \"http://ops:s3cr3t@prom host:9090\"\n[[alertmanager]]\nurl = \"http://ops:s3cr3t@am:port\"\n";
        let (_, problems) = parse(text);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains(
                "line 2: prometheus[0].url: 'http://ops:••••@prom host:9090' is not a URL"
            ),
            "{problems:?}"
        );
        assert!(
            problems[1]
                .contains("line 4: alertmanager[0].url: 'http://ops:••••@am:port' is not a URL"),
            "{problems:?}"
        );
        let mut config = Config::default();
        let problems = config.override_urls(
            &["http://ops:s3cr3t@prom host:9090".into()],
            &["ftp://token123@am:9093/".into()],
        );
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "command line: --prometheus 'http://ops:••••@prom host:9090' is not an http(s) URL",
                "command line: --alertmanager 'ftp://••••@am:9093/' is not an http(s) URL",
            ]
        );
    }

    #[test]
    fn user_information_is_masked_however_the_url_is_broken() {
        let cases = [
            ("http://u:p@h/", "http://u:••••@h/"),
            ("https://u:pa/ss@h:1/x", "https://u:••••@h:1/x"),
            ("http://u:p@ss@h", "http://u:••••@h"),
            ("http://tok@h", "http://••••@h"),
            ("u:p@h", "u:••••@h"),
            ("http://h/path?next=a@b", "http://h/path?next=a@b"),
            ("http://h:99999/x", "http://h:99999/x"),
            ("not a url", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(mask_userinfo(url), shown, "{url}");
        }
    }

    #[test]
    fn sources_get_names_of_their_own() {
        let text = "[[prometheus]]\nname = \"a\"\nurl = \"http://127.0.0.1:1\"\n[[prometheus]]\nname = \"a\"\nurl = \"http://127.0.0.1:2\"\n";
        let (config, problems) = parse(text);
        assert_eq!(config.prometheus[1].name, "a#2");
        assert!(
            problems[0].contains("two sources are named 'a'"),
            "{problems:?}"
        );
    }

    #[test]
    fn values_that_would_hammer_a_server_or_drop_a_source_silently_are_reported() {
        let cases = [
            ("refresh = \"0s\"\n", "refresh: under 100ms"),
            (
                "[[prometheus]]\nurl = \"http://a\"\ntimeout = \"1ms\"\n",
                "line 2: prometheus[0].timeout: under 100ms",
            ),
            (
                "[[prometheus]]\nurl = \"http://a\"\nmax_response_bytes = 0\n",
                "prometheus[0].max_response_bytes: under 1024",
            ),
            (
                "[[prometheus]]\nurl = \"http://a\"\nbasic_auth = { username = \"u\" }\n",
                "prometheus[0].basic_auth: needs password_env or password_file",
            ),
        ];
        for (text, expected) in cases {
            let (_, problems) = parse(text);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{text:?}: {problems:?}"
            );
        }
    }
}
