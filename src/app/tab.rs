//! The five tabs and the tables on them.

use crate::sources::{Feed, FeedSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tab {
    #[default]
    Kpis,
    Health,
    Deploys,
    Backups,
    Incidents,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Kpis,
        Tab::Health,
        Tab::Deploys,
        Tab::Backups,
        Tab::Incidents,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Kpis => "KPIs",
            Tab::Health => "Health",
            Tab::Deploys => "Deploys",
            Tab::Backups => "Backups",
            Tab::Incidents => "Incidents",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }

    /// The tables on this tab, in focus order.
    pub fn tables(self) -> &'static [TableId] {
        match self {
            Tab::Kpis => &[TableId::Slo, TableId::Kpis],
            Tab::Health => &[TableId::Services, TableId::Hosts],
            Tab::Deploys => &[TableId::Deployments],
            Tab::Backups => &[TableId::Backups],
            Tab::Incidents => &[TableId::Incidents, TableId::Silences],
        }
    }

    /// Feeds polled at the full rate while this tab is shown. Health, backups
    /// and alerts feed the header, so they are always on screen.
    pub fn feeds(self) -> FeedSet {
        let mut feeds = vec![Feed::Health, Feed::Backups, Feed::Alerts];
        match self {
            Tab::Kpis => feeds.push(Feed::History),
            Tab::Deploys => feeds.push(Feed::Deployments),
            Tab::Health | Tab::Backups | Tab::Incidents => {}
        }
        FeedSet::of(&feeds)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableId {
    Slo,
    /// The KPI tiles, a table drawn as a grid.
    Kpis,
    Services,
    Hosts,
    Deployments,
    Backups,
    Incidents,
    Silences,
}

impl TableId {
    pub const ALL: [TableId; 8] = [
        TableId::Slo,
        TableId::Kpis,
        TableId::Services,
        TableId::Hosts,
        TableId::Deployments,
        TableId::Backups,
        TableId::Incidents,
        TableId::Silences,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn title(self) -> &'static str {
        match self {
            TableId::Slo => "Services by error budget",
            TableId::Kpis => "KPIs",
            TableId::Services => "Services",
            TableId::Hosts => "Hosts",
            TableId::Deployments => "Deployments",
            TableId::Backups => "Backups",
            TableId::Incidents => "Incidents",
            TableId::Silences => "Silences",
        }
    }
}
