//! What the configuration declares about actions: each `[[actions]]` entry
//! and the `[secrets]` their templates may name.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Duration;

use crate::config::file::Secret;

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
