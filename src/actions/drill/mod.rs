//! The built-in DR drill of a `[[backups]]` target (to be written).

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::{ActionOutcome, ActionRequest, ActionRunner};
use crate::config::backups::ToolTarget;

pub struct DrillRunner {
    pub targets: Vec<ToolTarget>,
}

#[async_trait]
impl ActionRunner for DrillRunner {
    fn describe(&self, request: &ActionRequest) -> Result<Vec<String>, String> {
        Err(format!("no built-in drill for {} yet", request.target))
    }

    async fn run(
        &self,
        request: ActionRequest,
        _output: mpsc::UnboundedSender<String>,
        _cancel: oneshot::Receiver<()>,
    ) -> ActionOutcome {
        ActionOutcome::Failed {
            detail: format!("no built-in drill for {} yet", request.target),
        }
    }
}
