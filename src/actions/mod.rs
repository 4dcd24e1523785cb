//! Actions change the world: rollbacks, DR drills, maintenance windows.
//! An `ActionRunner` carries out one confirmed action and streams its
//! output; the app decides whether it may run (confirmation, read-only,
//! one action per target), and nothing here touches the app's state.
//!
//! This version defines the contract only: the exec, HTTP, silence and demo
//! runners, confirmation and the audit log arrive with the actions work.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Duration;
use tokio::sync::mpsc;
use tokio::sync::oneshot;

/// What to run, with its parameters resolved from the selected row and the
/// configuration. Secrets are referenced, never held here in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRequest {
    pub action: String,
    pub target: String,
    pub environment: String,
    pub parameters: BTreeMap<String, String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    Succeeded { detail: String },
    Failed { detail: String },
    TimedOut,
    Cancelled,
}

#[async_trait]
pub trait ActionRunner: Send + Sync {
    /// A one-line description of exactly what `run` would do, for the
    /// confirmation dialog (argv, or method and URL), secrets masked.
    fn describe(&self, request: &ActionRequest) -> String;

    /// Runs the action, sending each line of output as it comes, until it
    /// finishes, `timeout` passes, or `cancel` fires (or its sender is dropped).
    async fn run(
        &self,
        request: ActionRequest,
        timeout: Duration,
        output: mpsc::UnboundedSender<String>,
        cancel: oneshot::Receiver<()>,
    ) -> ActionOutcome;
}
