//! The one command vocabulary: keymaps bind keys to it, the help overlay
//! lists it, and (later) the `:` prompt accepts it.

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
}

impl Command {
    pub const ALL: [Command; 19] = [
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
        }
    }
}
