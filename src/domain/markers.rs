//! Where changes fall on a sparkline: the points a deploy, rollback,
//! maintenance window or action lines up with, and the columns those points
//! are drawn in once a long series is averaged down to a narrow width.

use chrono::{DateTime, Duration, Utc};

/// The times a sparkline's points stand for: the first at `start`, each
/// next one `step` later, `points` in all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeline {
    pub start: DateTime<Utc>,
    pub step: Duration,
    pub points: usize,
}

impl Timeline {
    /// The timeline whose last point is at `last`.
    pub fn ending(last: DateTime<Utc>, step: Duration, points: usize) -> Timeline {
        let back = i32::try_from(points.saturating_sub(1)).unwrap_or(i32::MAX);
        Timeline {
            start: last - step * back,
            step,
            points,
        }
    }

    /// The point a change at `at` marks: the first point at or after it (a
    /// change between points i-1 and i marks i; one exactly on a point,
    /// that point); none before the first point or after the last.
    pub fn index(&self, at: DateTime<Utc>) -> Option<usize> {
        let step = self.step.num_milliseconds();
        let after = (at - self.start).num_milliseconds();
        if self.points == 0 || step <= 0 || after < 0 {
            return None;
        }
        let i = usize::try_from(after.div_euclid(step) + i64::from(after % step != 0)).ok()?;
        (i < self.points).then_some(i)
    }

    /// The points `times` mark, in order, each once.
    pub fn indices(&self, times: impl IntoIterator<Item = DateTime<Utc>>) -> Vec<usize> {
        let mut found: Vec<usize> = times.into_iter().filter_map(|t| self.index(t)).collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// The column point `index` of `points` is drawn in when the series is
/// drawn `width` wide: itself when the series fits, else the slice of
/// near-equal ones it is averaged into (as `ui::format::sparkline` does).
pub fn column(index: usize, points: usize, width: usize) -> Option<usize> {
    if index >= points {
        return None;
    }
    if points <= width || width == 0 {
        return Some(index);
    }
    (0..width).find(|b| b * points / width <= index && index < (b + 1) * points / width)
}

/// The columns `indices` of `points` are drawn in, `width` wide, each once.
pub fn columns(indices: &[usize], points: usize, width: usize) -> Vec<usize> {
    let mut found: Vec<usize> = (indices.iter())
        .filter_map(|&i| column(i, points, width))
        .collect();
    found.dedup();
    found
}

/// The glyph a change is drawn with: a line across the sparkline's height,
/// legible without colour.
pub const MARK: char = '│';

/// A drawn sparkline cut into runs, with [`MARK`] put in before each of
/// `columns` (the change came between the column before and that one); a
/// column past the line marks nothing. Runs of the line are `false`, the
/// marks `true`.
pub fn marked(line: &str, columns: &[usize]) -> Vec<(String, bool)> {
    let mut runs: Vec<(String, bool)> = Vec::new();
    let mut push = |ch: char, mark: bool| match runs.last_mut() {
        Some((run, m)) if *m == mark => run.push(ch),
        _ => runs.push((ch.to_string(), mark)),
    };
    for (c, ch) in line.chars().enumerate() {
        if columns.contains(&c) {
            push(MARK, true);
        }
        push(ch, false);
    }
    runs
}

/// How long ago, in a word: `40s`, `12m`, `2h05m`.
pub fn ago(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        _ => format!("{}h{:02}m", s / 3_600, s / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap() + Duration::seconds(secs)
    }

    fn five_minutes() -> Timeline {
        // 60 points 5 s apart, the last at 300 s: the first at 5 s.
        Timeline::ending(at(300), Duration::seconds(5), 60)
    }

    #[test]
    fn a_change_marks_the_first_point_at_or_after_it() {
        let t = five_minutes();
        assert_eq!(t.start, at(5));
        assert_eq!(t.index(at(5)), Some(0), "exactly on the first point");
        assert_eq!(t.index(at(300)), Some(59), "exactly on the last");
        assert_eq!(t.index(at(150)), Some(29), "exactly on a point");
        assert_eq!(t.index(at(151)), Some(30), "just after a point: the next");
        assert_eq!(t.index(at(154)), Some(30), "just before a point: that one");
        assert_eq!(t.index(at(4)), None, "before the first point");
        assert_eq!(t.index(at(301)), None, "after the last");
        assert_eq!(t.index(at(5) - Duration::milliseconds(1)), None);
    }

    #[test]
    fn no_points_or_no_step_mark_nothing() {
        let empty = Timeline::ending(at(300), Duration::seconds(5), 0);
        assert_eq!(empty.index(at(300)), None);
        let flat = Timeline::ending(at(300), Duration::zero(), 60);
        assert_eq!(flat.index(at(300)), None);
        assert!(five_minutes().indices([]).is_empty());
        let one = Timeline::ending(at(300), Duration::seconds(5), 1);
        assert_eq!(one.indices([at(300), at(299), at(301)]), [0]);
    }

    #[test]
    fn indices_are_in_order_each_once() {
        let t = five_minutes();
        assert_eq!(t.indices([at(300), at(151), at(154), at(0)]), [30, 59]);
    }

    #[test]
    fn a_long_series_marks_the_column_it_is_averaged_into() {
        // 60 points in 20 columns: three a column.
        assert_eq!(column(0, 60, 20), Some(0));
        assert_eq!(column(2, 60, 20), Some(0));
        assert_eq!(column(3, 60, 20), Some(1));
        assert_eq!(column(59, 60, 20), Some(19));
        assert_eq!(column(60, 60, 20), None);
        // A short one is drawn a point a column.
        assert_eq!(column(4, 5, 20), Some(4));
        // Uneven slices: 7 points in 3 columns are 0..2, 2..4, 4..7.
        let cols: Vec<_> = (0..7).map(|i| column(i, 7, 3).unwrap()).collect();
        assert_eq!(cols, [0, 0, 1, 1, 2, 2, 2]);
        assert_eq!(columns(&[0, 1, 2, 30, 59], 60, 20), [0, 10, 19]);
    }

    #[test]
    fn a_mark_goes_in_before_its_column_and_the_line_is_kept() {
        assert_eq!(
            marked("▁▂▃▄", &[1]),
            [
                ("▁".to_string(), false),
                ("│".to_string(), true),
                ("▂▃▄".to_string(), false)
            ]
        );
        assert_eq!(marked("▁▂", &[0])[0], ("│".to_string(), true));
        assert_eq!(marked("▁▂", &[5]), [("▁▂".to_string(), false)]);
        assert!(marked("", &[0]).is_empty());
    }

    #[test]
    fn ages_read_in_a_word() {
        assert_eq!(ago(Duration::seconds(40)), "40s");
        assert_eq!(ago(Duration::minutes(12)), "12m");
        assert_eq!(ago(Duration::minutes(125)), "2h05m");
        assert_eq!(ago(Duration::seconds(-3)), "0s");
    }
}
