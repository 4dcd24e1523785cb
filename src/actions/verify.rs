//! `verify_backup` (`V`): a `[[backups]]` target's repository checked by its
//! tool now (`restic check`, `borg check`, `pgbackrest verify`) rather than
//! on its schedule, with an action's confirmation, output pane, cancel
//! (which stops the tool's process group), timeout and audit.

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::{ActionOutcome, ActionRequest, ActionRunner};
use crate::actions::exec::shell_quote;
use crate::config::backups::{Tool, ToolTarget};

pub struct CheckRunner {
    pub targets: Vec<ToolTarget>,
}

impl CheckRunner {
    fn target(&self, request: &ActionRequest) -> Result<&ToolTarget, String> {
        crate::sources::tools::named(&self.targets, request)
    }
}

/// The check's command line as shown (the password goes in the
/// environment, never here).
pub fn command(t: &ToolTarget) -> String {
    let program = shell_quote(&t.program.display().to_string());
    let repository = shell_quote(t.repository.as_deref().unwrap_or(""));
    match t.tool {
        Tool::Restic => format!("{program} -r {repository} check"),
        Tool::Borg => format!("{program} check {repository}"),
        Tool::PgBackRest => {
            let stanza = shell_quote(&format!("--stanza={}", t.stanza.as_deref().unwrap_or("")));
            match &t.config {
                Some(c) => format!(
                    "{program} {stanza} {} verify",
                    shell_quote(&format!("--config={}", c.display()))
                ),
                None => format!("{program} {stanza} verify"),
            }
        }
    }
}

#[async_trait]
impl ActionRunner for CheckRunner {
    fn describe(&self, request: &ActionRequest) -> Result<Vec<String>, String> {
        let t = self.target(request)?;
        let mut lines = vec![command(t)];
        if t.password.is_some() {
            lines.push("the password in the tool's environment, never on its command line".into());
        }
        if let Some(user) = &t.user {
            lines.push(format!("as the system user {user}"));
        }
        lines.push("reads the repository; changes nothing".into());
        Ok(lines)
    }

    async fn run(
        &self,
        request: ActionRequest,
        output: mpsc::UnboundedSender<String>,
        cancel: oneshot::Receiver<()>,
    ) -> ActionOutcome {
        let t = match self.target(&request) {
            Ok(t) => t.clone(),
            Err(detail) => return ActionOutcome::Failed { detail },
        };
        let t = ToolTarget {
            check_timeout: request.timeout.to_std().unwrap_or(t.check_timeout),
            ..t
        };
        let _ = output.send(format!("{} …", command(&t)));
        let cancelled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = cancelled.clone();
        let cancel = async move {
            // A dropped sender is a cancel too.
            let _ = cancel.await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        let result = crate::sources::tools::check(&t, cancel).await;
        if cancelled.load(std::sync::atomic::Ordering::SeqCst) {
            return ActionOutcome::Cancelled;
        }
        match result {
            Ok(()) => {
                let _ = output.send("no errors were found".into());
                ActionOutcome::Succeeded {
                    detail: "check passed: no errors were found".into(),
                }
            }
            Err(words) => {
                let _ = output.send(words.clone());
                ActionOutcome::Failed { detail: words }
            }
        }
    }
}
