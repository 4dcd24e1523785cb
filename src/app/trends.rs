//! The KPIs' recent values, as opsdeck saw them, for the tiles' trends.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::domain::kpi::Kpi;

/// How many points a KPI's trend keeps, and how far apart they are: the
/// last hour, a point a minute.
pub const TREND_POINTS: usize = 60;
pub const TREND_STEP: chrono::Duration = chrono::Duration::minutes(1);

/// Bounded histories of the KPIs as opsdeck saw them.
#[derive(Debug, Clone, Default)]
pub struct Trends {
    by_id: BTreeMap<&'static str, Trend>,
}

/// One KPI's points, a step apart; the last one is its latest value, so
/// the line ends where the tile's value is.
#[derive(Debug, Clone, Default)]
struct Trend {
    points: VecDeque<f64>,
    /// When the last point's step began.
    opened: Option<DateTime<Utc>>,
}

impl Trends {
    /// Records each known value: a new point when a step has passed since
    /// the last one began, else the last point becomes the value. A tile
    /// and its trend never disagree about now.
    pub(super) fn sample(&mut self, kpis: &[Kpi], now: DateTime<Utc>) {
        for k in kpis {
            let Some(v) = k.value.filter(|v| v.is_finite()) else {
                continue;
            };
            let trend = self.by_id.entry(k.id).or_default();
            match (trend.opened, trend.points.back_mut()) {
                (Some(at), Some(last)) if now - at < TREND_STEP => *last = v,
                _ => {
                    if trend.points.len() == TREND_POINTS {
                        trend.points.pop_front();
                    }
                    trend.points.push_back(v);
                    trend.opened = Some(now);
                }
            }
        }
    }

    pub fn of(&self, id: &str) -> impl Iterator<Item = f64> + '_ {
        self.by_id
            .get(id)
            .into_iter()
            .flat_map(|t| t.points.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kpi::{Goal, Unit};
    use crate::domain::{Status, kpi::Parts};
    use chrono::{Duration, TimeZone};

    fn kpi(value: Option<f64>) -> Kpi {
        Kpi {
            id: "mttr",
            title: "MTTR 30d".into(),
            value,
            objective: None,
            unit: Unit::Seconds,
            goal: Goal::Below,
            status: Status::Ok,
            note: String::new(),
            trend: Vec::new(),
            parts: Parts::default(),
            queries: &[],
            window: None,
            covered: None,
        }
    }

    #[test]
    fn the_last_point_is_the_latest_value_and_points_are_a_step_apart() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
        let mut trends = Trends::default();
        let at = |secs| t0 + Duration::seconds(secs);
        trends.sample(&[kpi(Some(2183.0))], at(0));
        trends.sample(&[kpi(Some(2142.0))], at(20));
        assert_eq!(trends.of("mttr").collect::<Vec<_>>(), [2142.0]);
        trends.sample(&[kpi(None)], at(50));
        trends.sample(&[kpi(Some(2100.0))], at(60));
        assert_eq!(trends.of("mttr").collect::<Vec<_>>(), [2142.0, 2100.0]);
        for minute in 2..100 {
            trends.sample(&[kpi(Some(minute as f64))], at(minute * 60));
        }
        let points: Vec<f64> = trends.of("mttr").collect();
        assert_eq!(points.len(), TREND_POINTS);
        assert_eq!(points.last(), Some(&99.0));
    }
}
