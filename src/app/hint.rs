//! What an action key says on a row it does not apply to: where it does
//! apply, in the footer. No request was made, so nothing is audited; a
//! refusal of a real request (read-only, kiosk, a run in flight) is.

use super::App;
use super::command::Command;
use super::tab::{Tab, TableId};
use crate::actions::Scope;

/// What an action does to the rows it applies to, in the operator's words.
fn verb(action: &str, scope: Scope) -> String {
    let standard = match action {
        "rollback" => Some((Scope::Deployment, "rolls back")),
        "dr_drill" => Some((Scope::Backup, "runs a DR drill of")),
        "verify_backup" => Some((Scope::Backup, "verifies")),
        "acknowledge" => Some((Scope::Incident, "acknowledges")),
        "silence" => Some((Scope::Incident, "silences")),
        "expire_silence" => Some((Scope::Silence, "expires")),
        _ => None,
    };
    match standard {
        Some((s, verb)) if s == scope => format!("{verb} {}", noun(scope)),
        _ => format!("({action}) applies to {}", noun(scope)),
    }
}

fn noun(scope: Scope) -> &'static str {
    match scope {
        Scope::Deployment => "a deployment",
        Scope::Backup => "a backup target",
        Scope::Incident => "an incident",
        Scope::Silence => "a silence",
        Scope::Service => "a service",
    }
}

/// The tab whose rows are of `scope`, the command that shows it, and the
/// tables whose rows they are.
fn home(scope: Scope) -> (Tab, Command, &'static [TableId]) {
    match scope {
        Scope::Deployment => (Tab::Deploys, Command::ShowDeploys, &[TableId::Deployments]),
        Scope::Backup => (Tab::Backups, Command::ShowBackups, &[TableId::Backups]),
        Scope::Incident => (
            Tab::Incidents,
            Command::ShowIncidents,
            &[TableId::Incidents],
        ),
        Scope::Silence => (Tab::Incidents, Command::ShowIncidents, &[TableId::Silences]),
        Scope::Service => (
            Tab::Health,
            Command::ShowHealth,
            &[TableId::Services, TableId::Slo],
        ),
    }
}

impl App {
    /// The first key bound to `command`, as shown (`R`), else its name at
    /// the `:` prompt.
    fn key_of(&self, command: Command) -> String {
        self.keymap
            .keys_for(command)
            .into_iter()
            .next()
            .unwrap_or_else(|| format!(":{}", command.name()))
    }

    /// `R rolls back a deployment: go to 3 Deploys` — for action `name`,
    /// declared for `scopes`, pressed where none of them is selected.
    pub(super) fn wrong_row_hint(&self, name: &str, scopes: &[Scope]) -> String {
        let command = Command::ALL.into_iter().find(|c| c.action() == Some(name));
        let key = command.map_or_else(|| format!(":{name}"), |c| self.key_of(c));
        if name == "maintenance" {
            return format!(
                "{key} opens a maintenance window for the selected row's service, host or backup target; this row has none"
            );
        }
        let Some(&scope) = scopes.first() else {
            return format!("{key}: no {name} action is configured (docs/actions.md)");
        };
        let (tab, show, tables) = home(scope);
        let focused = self.focused_table();
        let whither = if tables.contains(&focused) {
            "none is selected here".to_string()
        } else if self.tab.tables().iter().any(|t| tables.contains(t)) {
            format!("{} moves to its panel", self.key_of(Command::NextPanel))
        } else {
            format!("go to {} {}", self.key_of(show), tab.title())
        };
        format!("{key} {}: {whither}", verb(name, scope))
    }
}
