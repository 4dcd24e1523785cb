//! The KPIs' recent values, as opsdeck saw them, for the tiles' trends.

use chrono::{DateTime, Utc};

use crate::domain::kpi::Kpi;

/// How many points a KPI's trend keeps, and how far apart they are: the
/// last hour, a point a minute.
pub const TREND_POINTS: usize = 60;
pub const TREND_STEP: chrono::Duration = chrono::Duration::minutes(1);

/// Bounded histories of the KPIs as opsdeck saw them.
#[derive(Debug, Clone, Default)]
pub struct Trends {
    by_id: std::collections::BTreeMap<&'static str, std::collections::VecDeque<f64>>,
    sampled: Option<DateTime<Utc>>,
}

impl Trends {
    /// Adds each known value, when a step has passed since the last sample.
    pub(super) fn sample(&mut self, kpis: &[Kpi], now: DateTime<Utc>) {
        if self.sampled.is_some_and(|at| now - at < TREND_STEP) {
            return;
        }
        let mut any = false;
        for k in kpis {
            let Some(v) = k.value.filter(|v| v.is_finite()) else {
                continue;
            };
            let ring = self.by_id.entry(k.id).or_default();
            if ring.len() == TREND_POINTS {
                ring.pop_front();
            }
            ring.push_back(v);
            any = true;
        }
        if any {
            self.sampled = Some(now);
        }
    }

    pub fn of(&self, id: &str) -> impl Iterator<Item = f64> + '_ {
        self.by_id.get(id).into_iter().flatten().copied()
    }
}
