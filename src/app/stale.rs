//! What a batch of messages leaves to recompute.

use super::tab::TableId;
use crate::domain::kpi;
use crate::sources::Feed;

/// What changed data leaves to recompute: the KPI groups, the estate's
/// summary and table rows that depend on it. Marked as messages are
/// applied, cleared by `App::settle`, so a batch of messages costs one
/// recomputation of what it touched and nothing else.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Stale {
    /// By `kpi::Group`, in `Group::ALL` order.
    pub(super) kpis: [bool; 3],
    pub(super) summary: bool,
    /// By `TableId::index`.
    pub(super) tables: [bool; 8],
}

impl Stale {
    pub(super) fn everything() -> Stale {
        Stale {
            kpis: [true; 3],
            summary: true,
            tables: [true; 8],
        }
    }

    pub(super) fn with(
        mut self,
        groups: &[kpi::Group],
        summary: bool,
        tables: &[TableId],
    ) -> Stale {
        for g in groups {
            self.kpis[g.index()] = true;
        }
        self.summary |= summary;
        for t in tables {
            self.tables[t.index()] = true;
        }
        self
    }

    /// What new data on `feed` changes.
    pub(super) fn feed(self, feed: Feed) -> Stale {
        use TableId as T;
        use kpi::Group as G;
        match feed {
            Feed::Health => self.with(&[G::Services], true, &[T::Slo, T::Services, T::Hosts]),
            Feed::Deployments => self.with(&[G::Deployments], false, &[T::Deployments]),
            Feed::Backups => self.with(&[G::Clock], true, &[T::Backups]),
            Feed::History => self.with(&[G::Clock], false, &[]),
            Feed::Alerts => self.with(&[], true, &[T::Incidents, T::Silences]),
        }
    }

    /// What new health data with the very same services changes: the hosts
    /// and the verdict. The services' KPIs and rows stay as they are; at
    /// 10,000 services, recomputing them at every refresh for a change of
    /// host gauges was a quarter of the drawing thread.
    pub(super) fn hosts(self) -> Stale {
        self.with(&[], true, &[TableId::Hosts])
    }

    /// What the clock moving on changes: only what is judged by age (backups,
    /// incidents in the window, silences pending or active). The services'
    /// and deployments' figures and orders do not depend on the clock.
    pub(super) fn tick(self) -> Stale {
        use TableId as T;
        self.with(&[kpi::Group::Clock], true, &[T::Backups, T::Silences])
    }

    pub(super) fn any(&self) -> bool {
        self.summary || self.kpis.contains(&true) || self.tables.contains(&true)
    }
}
