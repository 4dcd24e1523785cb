//! The one command vocabulary: keymaps bind keys to it, the help overlay
//! lists it, and the `:` prompt accepts it by name.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Quit,
    NextTab,
    PrevTab,
    ShowKpis,
    ShowHealth,
    ShowDeploys,
    ShowBackups,
    ShowIncidents,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPanel,
    Open,
    Back,
    Filter,
    Help,
    Rollback,
    DrDrill,
    VerifyBackup,
    Acknowledge,
    Silence,
    Maintenance,
    ExpireSilence,
    Runbook,
    CancelAction,
    ActionHistory,
    Prompt,
    SortNext,
    SortReverse,
    Copy,
    Export,
    HoldCycle,
}

impl Command {
    /// The name keymaps and the `:` prompt use: `show_health`, `rollback`.
    pub fn name(self) -> String {
        toml::Value::try_from(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_else(|| format!("{self:?}"))
    }

    /// The configured action a command asks for, if it is one.
    pub fn action(self) -> Option<&'static str> {
        Some(match self {
            Command::Rollback => "rollback",
            Command::DrDrill => "dr_drill",
            Command::VerifyBackup => "verify_backup",
            Command::Acknowledge => "acknowledge",
            Command::Silence => "silence",
            Command::Maintenance => "maintenance",
            Command::ExpireSilence => "expire_silence",
            _ => return None,
        })
    }

    pub const ALL: [Command; 35] = [
        Command::ShowKpis,
        Command::ShowHealth,
        Command::ShowDeploys,
        Command::ShowBackups,
        Command::ShowIncidents,
        Command::NextTab,
        Command::PrevTab,
        Command::Up,
        Command::Down,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::NextPanel,
        Command::Open,
        Command::Back,
        Command::Filter,
        Command::SortNext,
        Command::SortReverse,
        Command::Prompt,
        Command::Copy,
        Command::Export,
        Command::HoldCycle,
        Command::Rollback,
        Command::DrDrill,
        Command::VerifyBackup,
        Command::Acknowledge,
        Command::Silence,
        Command::Maintenance,
        Command::ExpireSilence,
        Command::Runbook,
        Command::CancelAction,
        Command::ActionHistory,
        Command::Help,
        Command::Quit,
    ];

    pub fn description(self) -> &'static str {
        match self {
            Command::Quit => "quit",
            Command::NextTab => "next tab",
            Command::PrevTab => "previous tab",
            Command::ShowKpis => "KPIs tab",
            Command::ShowHealth => "Health tab",
            Command::ShowDeploys => "Deploys tab",
            Command::ShowBackups => "Backups tab",
            Command::ShowIncidents => "Incidents tab",
            Command::Up => "move up",
            Command::Down => "move down",
            Command::PageUp => "page up",
            Command::PageDown => "page down",
            Command::Top => "first row",
            Command::Bottom => "last row",
            Command::NextPanel => "switch panel (Health, Incidents)",
            Command::Open => "details of the selected row",
            Command::Back => "close / clear filter",
            Command::Filter => "filter the table as you type",
            Command::Help => "this help",
            Command::Rollback => "roll back the selected deployment",
            Command::DrDrill => "DR drill of the selected backup",
            Command::VerifyBackup => "check the backup now",
            Command::Acknowledge => "acknowledge the selected incident (1h silence)",
            Command::Silence => "silence the selected incident",
            Command::Maintenance => "maintenance window for the selected row",
            Command::ExpireSilence => "expire the selected silence",
            Command::Runbook => "show and copy the incident's runbook link",
            Command::CancelAction => "cancel the running action shown",
            Command::ActionHistory => "action history (this session and the audit log)",
            Command::Prompt => "command prompt (Tab completes)",
            Command::SortNext => "sort the table by the next column",
            Command::SortReverse => "reverse the sort",
            Command::Copy => "copy the selected row (OSC 52)",
            Command::Export => "export the screen to .txt and .svg",
            Command::HoldCycle => "kiosk: hold / resume the tab cycle",
        }
    }
}
