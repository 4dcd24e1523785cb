//! `[[actions]]` and `[secrets]` in the configuration file: what each
//! action does and where it applies (`ActionSpec`), and the secrets its
//! templates name (`SecretStore`). These are declarations only; `actions`
//! runs them. The built-in Alertmanager actions (acknowledge, silence,
//! maintenance, expire a silence) are there unless the file declares its own.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Duration;
use serde::Deserialize;
use toml::Spanned;

use super::file::{Dur, Reader, Secret};

/// One declared action.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSpec {
    /// Also the command that runs it: the built-in keys ask for `rollback`,
    /// `dr_drill`, `acknowledge`, `silence`, `maintenance`, `expire_silence`.
    pub name: String,
    pub scope: Scope,
    /// Row fields that must match for the action to apply (for example
    /// `environment = "production"`); empty applies to every row in scope.
    pub when: BTreeMap<String, String>,
    pub backend: Backend,
    pub timeout: Duration,
    pub confirm: Confirm,
}

/// The rows an action applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A deployment on the Deploys tab.
    Deployment,
    /// A backup target on the Backups tab.
    Backup,
    /// An incident on the Incidents tab.
    Incident,
    /// A silence on the Incidents tab.
    Silence,
    /// The selected row's service, on any tab.
    Service,
}

/// How a run is confirmed. Production targets always need the name typed,
/// whatever is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// A dialog whose default is Cancel: Run must be chosen, then Enter.
    Dialog,
    /// The target's name must be typed.
    TypeName,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// A program and its arguments, run without a shell; each element is a
    /// template, filled in as one argument whatever it contains.
    Exec {
        argv: Vec<String>,
        /// Extra environment variables (templates; `{secret.NAME}` is how a
        /// secret reaches a program without appearing in its argv).
        env: BTreeMap<String, String>,
        dir: Option<PathBuf>,
    },
    /// An HTTP request; the URL, header values and every string in the JSON
    /// body are templates.
    Http {
        method: String,
        url: String,
        headers: BTreeMap<String, String>,
        body: Option<serde_json::Value>,
    },
    /// An Alertmanager silence, through API v2 on the first configured
    /// Alertmanager.
    Silence(SilenceOp),
    /// The built-in DR drill of a `[[backups]]` target: restore its latest
    /// backup into scratch space, verify it, clean up, time it.
    Drill,
    /// The check of a `[[backups]]` target's repository by its tool
    /// (`restic check`…), now rather than on its schedule.
    Check,
    /// Simulated against the demo estate.
    Demo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceOp {
    /// A short silence on an incident's `alertname` and service labels.
    Acknowledge { duration: Duration },
    /// A silence on a service's label from `starts_at` to `ends_at`
    /// (parameters, RFC 3339); a start in the future makes it pending.
    Maintenance,
    /// Expires the silence `silence_id`.
    Expire,
}

/// The secrets templates may name as `{secret.NAME}`, read once from the
/// environment or files; shown and logged only as `••••`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretStore {
    secrets: BTreeMap<String, Secret>,
}

/// What a secret looks like wherever it would be shown.
pub const MASK: &str = "••••";

impl SecretStore {
    pub fn new(secrets: BTreeMap<String, Secret>) -> SecretStore {
        SecretStore { secrets }
    }

    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.secrets.get(name)
    }

    /// The length in bytes of the longest secret.
    pub fn longest(&self) -> usize {
        self.secrets
            .values()
            .map(|s| s.expose().len())
            .max()
            .unwrap_or(0)
    }

    /// `text` with every secret's value replaced by the mask.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.secrets.values() {
            let value = secret.expose();
            if !value.is_empty() {
                out = out.replace(value, MASK);
            }
        }
        out
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionEntry {
    name: String,
    /// deployment, backup, incident, silence, service.
    applies_to: String,
    #[serde(default)]
    when: BTreeMap<String, String>,
    /// exec, http, silence.
    backend: String,
    argv: Option<Vec<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    dir: Option<PathBuf>,
    method: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<toml::Value>,
    /// For the silence backend: acknowledge, maintenance, expire.
    silence: Option<String>,
    /// An acknowledgement's length.
    duration: Option<Dur>,
    timeout: Option<Dur>,
    /// dialog (the default) or type_name.
    confirm: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretEntry {
    env: Option<String>,
    file: Option<PathBuf>,
}

/// The actions every estate has: Alertmanager silences.
pub fn builtin() -> Vec<ActionSpec> {
    let silence = |name: &str, scope: Scope, op: SilenceOp| ActionSpec {
        name: name.to_string(),
        scope,
        when: BTreeMap::new(),
        backend: Backend::Silence(op),
        timeout: chrono::Duration::seconds(30),
        confirm: Confirm::Dialog,
    };
    vec![
        silence(
            "acknowledge",
            Scope::Incident,
            SilenceOp::Acknowledge {
                duration: chrono::Duration::hours(1),
            },
        ),
        // The length comes from the dialog.
        silence(
            "silence",
            Scope::Incident,
            SilenceOp::Acknowledge {
                duration: chrono::Duration::hours(4),
            },
        ),
        silence("maintenance", Scope::Service, SilenceOp::Maintenance),
        silence("expire_silence", Scope::Silence, SilenceOp::Expire),
    ]
}

/// The built-in DR drill of the targets read from backup tool `tool` (a
/// row whose `tool` is that); a `dr_drill` the file declares is tried
/// first.
pub fn tool_drill(tool: &str, timeout: chrono::Duration) -> ActionSpec {
    ActionSpec {
        name: "dr_drill".into(),
        scope: Scope::Backup,
        when: BTreeMap::from([("tool".to_string(), tool.to_string())]),
        backend: Backend::Drill,
        timeout,
        confirm: Confirm::Dialog,
    }
}

/// The built-in check, now, of the targets read from backup tool `tool`.
pub fn tool_check(tool: &str, timeout: chrono::Duration) -> ActionSpec {
    ActionSpec {
        name: "verify_backup".into(),
        backend: Backend::Check,
        timeout,
        ..tool_drill(tool, timeout)
    }
}

/// The demo's check of a target its tool reads, simulated.
fn simulated_check(tool: &str) -> ActionSpec {
    ActionSpec {
        backend: Backend::Demo,
        ..tool_check(tool, chrono::Duration::minutes(2))
    }
}

/// The demo's actions: every built-in one, simulated.
pub fn demo() -> Vec<ActionSpec> {
    let simulated = |name: &str, scope: Scope| ActionSpec {
        name: name.to_string(),
        scope,
        when: BTreeMap::new(),
        backend: Backend::Demo,
        timeout: chrono::Duration::minutes(2),
        confirm: Confirm::Dialog,
    };
    vec![
        simulated("rollback", Scope::Deployment),
        simulated("dr_drill", Scope::Backup),
        simulated_check("restic"),
        simulated_check("borg"),
        simulated_check("pgbackrest"),
        simulated("acknowledge", Scope::Incident),
        simulated("silence", Scope::Incident),
        simulated("maintenance", Scope::Service),
        simulated("expire_silence", Scope::Silence),
    ]
}

fn line(reader: &Reader, span: std::ops::Range<usize>) -> usize {
    super::file::line_of(reader.text, span.start)
}

pub(super) fn read_secrets(
    reader: &mut Reader,
    entries: &BTreeMap<String, Spanned<SecretEntry>>,
) -> SecretStore {
    let mut out: BTreeMap<String, Secret> = BTreeMap::new();
    for (name, entry) in entries {
        let at = line(reader, entry.span());
        let field = format!("secrets.{name}");
        let e = entry.get_ref();
        if e.env.is_none() && e.file.is_none() {
            reader.problem(Some(at), &field, "give env = \"VAR\" or file = \"/path\"");
            continue;
        }
        if let Some(secret) = reader.secret(at, &field, &e.env, &e.file) {
            out.insert(name.clone(), secret);
        }
    }
    SecretStore::new(out)
}

/// The declared actions, then the built-in ones the file does not replace.
pub(super) fn read_actions(
    reader: &mut Reader,
    entries: &[Spanned<ActionEntry>],
    secrets: &SecretStore,
) -> Vec<ActionSpec> {
    let mut out: Vec<ActionSpec> = Vec::new();
    for entry in entries {
        let at = line(reader, entry.span());
        let e = entry.get_ref();
        let field = format!("actions.{}", e.name);
        if out.iter().any(|a| a.name == e.name && a.when == e.when) {
            reader.problem(Some(at), &field, "declared twice; the first is kept");
            continue;
        }
        match action(e, secrets) {
            Ok(spec) => out.push(spec),
            Err(why) => reader.problem(Some(at), &field, why),
        }
    }
    for spec in builtin() {
        if !out.iter().any(|a| a.name == spec.name) {
            out.push(spec);
        }
    }
    out
}

fn action(e: &ActionEntry, secrets: &SecretStore) -> Result<ActionSpec, String> {
    let scope = match e.applies_to.as_str() {
        "deployment" => Scope::Deployment,
        "backup" => Scope::Backup,
        "incident" => Scope::Incident,
        "silence" => Scope::Silence,
        "service" => Scope::Service,
        other => {
            return Err(format!(
                "applies_to {other:?}: write deployment, backup, incident, silence or service"
            ));
        }
    };
    let confirm = match e.confirm.as_deref() {
        None | Some("dialog") => Confirm::Dialog,
        Some("type_name") => Confirm::TypeName,
        Some(other) => return Err(format!("confirm {other:?}: write dialog or type_name")),
    };
    let backend = match e.backend.as_str() {
        "exec" => {
            let argv = e.argv.clone().unwrap_or_default();
            if argv.is_empty() || argv[0].contains('{') {
                return Err("an exec action needs argv, a program first (not a template)".into());
            }
            Backend::Exec {
                argv,
                env: e.env.clone(),
                dir: e.dir.clone(),
            }
        }
        "http" => {
            let url = e.url.clone().ok_or("an http action needs url")?;
            let fixed = url.split("{").next().unwrap_or("");
            let parsed = reqwest::Url::parse(fixed).map_err(|err| format!("url {url:?}: {err}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(format!("url {url:?}: http(s) with a fixed host"));
            }
            let body = e
                .body
                .clone()
                .map(serde_json::to_value)
                .transpose()
                .map_err(|err| format!("body: {err}"))?;
            Backend::Http {
                method: e
                    .method
                    .clone()
                    .unwrap_or_else(|| "POST".into())
                    .to_uppercase(),
                url,
                headers: e.headers.clone(),
                body,
            }
        }
        "silence" => Backend::Silence(match e.silence.as_deref() {
            Some("acknowledge") | None => SilenceOp::Acknowledge {
                duration: e
                    .duration
                    .as_ref()
                    .and_then(|Dur(d)| chrono::Duration::from_std(*d).ok())
                    .unwrap_or(chrono::Duration::hours(1)),
            },
            Some("maintenance") => SilenceOp::Maintenance,
            Some("expire") => SilenceOp::Expire,
            Some(other) => {
                return Err(format!(
                    "silence {other:?}: write acknowledge, maintenance or expire"
                ));
            }
        }),
        other => return Err(format!("backend {other:?}: write exec, http or silence")),
    };
    // A template may only name a secret that exists.
    let texts = match &backend {
        Backend::Exec { argv, env, .. } => argv.iter().chain(env.values()).cloned().collect(),
        Backend::Http {
            url, headers, body, ..
        } => {
            let mut t: Vec<String> = vec![url.clone()];
            t.extend(headers.values().cloned());
            t.extend(body.iter().map(|b| b.to_string()));
            t
        }
        _ => Vec::new(),
    };
    for text in texts {
        for part in text.split("{secret.").skip(1) {
            let name = part.split('}').next().unwrap_or("");
            if secrets.get(name).is_none() {
                return Err(format!(
                    "names secret {name:?}, which [secrets] does not give"
                ));
            }
        }
    }
    let timeout = e
        .timeout
        .as_ref()
        .and_then(|Dur(d)| chrono::Duration::from_std(*d).ok())
        .unwrap_or(chrono::Duration::minutes(10));
    Ok(ActionSpec {
        name: e.name.clone(),
        scope,
        when: e.when.clone(),
        backend,
        timeout,
        confirm,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::file::Config;

    #[test]
    fn a_rollback_playbook_and_an_argo_call_are_read_with_the_builtins() {
        let text = r#"
[secrets]
argocd = { env = "PATH" }

[[actions]]
name = "rollback"
applies_to = "deployment"
when = { environment = "production" }
backend = "exec"
argv = ["ansible-playbook", "-i", "inventory/production", "playbooks/production/deployment/rollback.yml", "-e", "application_name={service}", "-e", "target_version={previous_version}"]
timeout = "15m"
confirm = "type_name"

[[actions]]
name = "rollback"
applies_to = "deployment"
backend = "http"
url = "https://argocd.example.com/api/v1/applications/{service}/rollback"
headers = { Authorization = "Bearer {secret.argocd}" }
body = { id = "{previous_version}" }
"#;
        let (config, problems) = Config::parse(Path::new("opsdeck.toml"), text);
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<&str> = config.actions.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "rollback",
                "rollback",
                "acknowledge",
                "silence",
                "maintenance",
                "expire_silence"
            ]
        );
        let first = &config.actions[0];
        assert_eq!(first.confirm, Confirm::TypeName);
        assert_eq!(first.timeout, chrono::Duration::minutes(15));
        assert_eq!(first.when["environment"], "production");
        assert!(
            matches!(&config.actions[1].backend, Backend::Http { method, .. } if method == "POST")
        );
    }

    #[test]
    fn mistakes_in_actions_name_line_and_field_and_the_rest_loads() {
        let text = "[[actions]]\nname = \"rollback\"\napplies_to = \"host\"\nbackend = \"exec\"\nargv = [\"true\"]\n\n[[actions]]\nname = \"silence\"\napplies_to = \"deployment\"\nbackend = \"http\"\nurl = \"https://x.example/{secret.nope}\"\n\n[[actions]]\nname = \"maintenance\"\napplies_to = \"deployment\"\nbackend = \"exec\"\nargv = [\"{service}\"]\n\n[[actions]]\nname = \"dr_drill\"\napplies_to = \"backup\"\nbackend = \"exec\"\nargv = [\"/usr/bin/true\"]\n";
        let (config, problems) = Config::parse(Path::new("opsdeck.toml"), text);
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("line 1: actions.rollback: applies_to \"host\""),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("line 7: actions.silence: names secret \"nope\""),
            "{problems:?}"
        );
        assert!(
            problems[2].contains("line 13: actions.maintenance: an exec action needs argv"),
            "{problems:?}"
        );
        assert!(
            config.actions.iter().any(|a| a.name == "dr_drill"),
            "the good one loads"
        );
    }
}
