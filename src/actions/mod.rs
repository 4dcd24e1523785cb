//! Actions change the world: rollbacks, DR drills, maintenance windows,
//! acknowledgements. An `ActionRunner` carries out one confirmed action and
//! streams its output; the app decides whether it may run (read-only, one
//! action per target, confirmation) at its one dispatch point, and nothing
//! here touches the app's state.
//!
//! - `ActionSpec`, `SecretStore` and the rest of what the configuration
//!   declares (`[[actions]]`, `[secrets]`) live in `config::actions` and are
//!   re-exported here.
//! - `template`: `{field}` and `{secret.NAME}` filled in as data, never
//!   interpreted; secrets masked in everything shown or logged.
//! - `exec`, `http`, `silence`: the runners; `audit`: the JSON-lines log.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Duration;
use tokio::sync::mpsc;
use tokio::sync::oneshot;

pub mod audit;
pub mod drill;
pub mod exec;
pub mod http;
pub mod silence;
pub mod template;
pub mod verify;

pub use crate::config::actions::{
    ActionSpec, Backend, Confirm, MASK, Scope, SecretStore, SilenceOp,
};

/// One action about to run: its spec and the values of the selected row
/// (and the configuration) its templates are filled from.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRequest {
    /// The action's name in the configuration (`rollback`, `dr_drill`…).
    pub action: String,
    /// What it acts on: a service, a backup target, an incident, a silence.
    pub target: String,
    pub environment: String,
    /// Template values: `service`, `environment`, `version`,
    /// `previous_version`, `target`, `alertname`, `silence_id`, `user`…
    pub parameters: BTreeMap<String, String>,
    pub backend: Backend,
    pub timeout: Duration,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// Exit code 0, an HTTP 2xx, a silence created or expired.
    Succeeded {
        detail: String,
    },
    /// A DR drill that restored and verified what came back: `rto` from
    /// its start to verified (its cleaning up after is not counted).
    Verified {
        detail: String,
        rto: std::time::Duration,
    },
    /// A non-zero exit, an HTTP error status, a refused silence, a spawn or
    /// connection failure: `detail` says which, secrets masked.
    Failed {
        detail: String,
    },
    TimedOut,
    Cancelled,
}

impl ActionOutcome {
    pub fn word(&self) -> &'static str {
        match self {
            ActionOutcome::Succeeded { .. } | ActionOutcome::Verified { .. } => "succeeded",
            ActionOutcome::Failed { .. } => "failed",
            ActionOutcome::TimedOut => "timed out",
            ActionOutcome::Cancelled => "cancelled",
        }
    }

    /// Whether it did what it was asked.
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            ActionOutcome::Succeeded { .. } | ActionOutcome::Verified { .. }
        )
    }

    pub fn detail(&self) -> &str {
        match self {
            ActionOutcome::Succeeded { detail }
            | ActionOutcome::Verified { detail, .. }
            | ActionOutcome::Failed { detail } => detail,
            ActionOutcome::TimedOut | ActionOutcome::Cancelled => "",
        }
    }
}

#[async_trait]
pub trait ActionRunner: Send + Sync {
    /// Exactly what `run` would do, secrets masked, one line per part (the
    /// argv; or the method and URL, then the headers and body), for the
    /// confirmation dialog and the audit log. An error when the request
    /// cannot be run as templated (a value that would be read as an
    /// option, a control character, an unknown field or secret).
    fn describe(&self, request: &ActionRequest) -> Result<Vec<String>, String>;

    /// Runs the action, sending each line of output as it comes (secrets
    /// masked), until it finishes, `request.timeout` passes, or `cancel`
    /// fires (or its sender is dropped): then the process is killed or the
    /// request aborted.
    async fn run(
        &self,
        request: ActionRequest,
        output: mpsc::UnboundedSender<String>,
        cancel: oneshot::Receiver<()>,
    ) -> ActionOutcome;
}
