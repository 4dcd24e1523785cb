//! Sparkline histories kept between refreshes, so that a refresh asks the
//! server only for the steps since the last point it holds, not for the
//! whole span again: at a 5 s step and a 1 s refresh, one point a series
//! every fifth refresh instead of 61 points a series every refresh.

use std::collections::{BTreeMap, VecDeque};

/// The points of one range query by series key, at timestamps aligned to
/// the step, at most a span's worth (`span / step + 1`) each.
#[derive(Debug)]
pub(super) struct History {
    span: i64,
    step: i64,
    /// The end of the last range answered in full: `None` before the first
    /// answer, after a failure, and after a partial answer, so that the next
    /// ask is the whole span.
    until: Option<i64>,
    points: BTreeMap<String, VecDeque<(i64, f64)>>,
    /// The series asked for, by key, when not all of them are: the
    /// services whose rows are on screen.
    only: Option<Vec<String>>,
}

/// A range to ask, both ends included, aligned to the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Due {
    pub start: i64,
    pub end: i64,
}

impl History {
    /// A history of `span` seconds at a point every `step` seconds.
    pub fn new(span: i64, step: i64) -> History {
        History {
            span,
            step: step.max(1),
            until: None,
            points: BTreeMap::new(),
            only: None,
        }
    }

    /// Asks for the series of keys `only` from now on (every series with
    /// `None`). A change lets go of the others' points and makes the next
    /// ask the whole span, so the series newly asked for are drawn whole;
    /// the points of those still asked for stay shown until it comes.
    pub fn watch(&mut self, only: Option<&[String]>) {
        if self.only.as_deref() == only {
            return;
        }
        self.only = only.map(<[String]>::to_vec);
        if let Some(keys) = only {
            self.points.retain(|k, _| keys.contains(k));
        }
        self.until = None;
    }

    /// The keys asked for, when not every series is.
    pub fn watched(&self) -> Option<&[String]> {
        self.only.as_deref()
    }

    /// What to ask at `now` (seconds): from the step after the last one
    /// answered to the last step at or before `now`. The whole span when
    /// nothing is held to build on, when what is held is older than the
    /// span, or when the clock went back; nothing when no new step is due.
    pub fn due(&self, now: i64) -> Option<Due> {
        let end = now.div_euclid(self.step) * self.step;
        let whole = end - self.span;
        match self.until {
            Some(until) if until == end => None,
            Some(until) if until < end => Some(Due {
                start: (until + self.step).max(whole),
                end,
            }),
            _ => Some(Due { start: whole, end }),
        }
    }

    /// Whether what is due at `now` is the whole span: nothing held to
    /// build on (the first ask, other series asked for, a failure).
    pub fn whole_due(&self, now: i64) -> bool {
        self.due(now).is_some_and(|d| d.start <= d.end - self.span)
    }

    /// Keeps the answer to `due`, points `(timestamp, value)` by series key,
    /// and drops what is now older than the span: a series no longer
    /// answered goes when its last point does. An answer to the whole span
    /// replaces what was held; a partial one (the server warned) is shown
    /// but not built on.
    pub fn record<'a>(
        &mut self,
        due: Due,
        answer: impl IntoIterator<Item = (&'a str, &'a [(f64, f64)])>,
        complete: bool,
    ) {
        if due.start <= due.end - self.span {
            self.points.clear();
        }
        let most = (self.span / self.step + 1) as usize;
        for (key, points) in answer {
            match self.points.get_mut(key) {
                Some(held) => append(held, due, points, most),
                None => {
                    let mut held = VecDeque::new();
                    append(&mut held, due, points, most);
                    self.points.insert(key.to_string(), held);
                }
            }
        }
        let oldest = due.end - self.span;
        self.points.retain(|_, held| {
            while held.front().is_some_and(|(t, _)| *t < oldest) {
                held.pop_front();
            }
            !held.is_empty()
        });
        self.until = complete.then_some(due.end);
    }

    /// The query failed: nothing is shown, and the next ask is the whole
    /// span, as if this were the first.
    pub fn forget(&mut self) {
        self.until = None;
        self.points.clear();
    }

    /// The values held by series key, oldest first: what the whole range
    /// query at the last step answered would give.
    pub fn values(&self) -> BTreeMap<String, Vec<f64>> {
        self.points
            .iter()
            .map(|(key, held)| (key.clone(), held.iter().map(|(_, v)| *v).collect()))
            .collect()
    }
}

/// `points` in the range `due` and newer than the last held, kept in a ring
/// of `most`.
fn append(held: &mut VecDeque<(i64, f64)>, due: Due, points: &[(f64, f64)], most: usize) {
    for &(t, v) in points {
        let t = t.round() as i64;
        let newer = held.back().is_none_or(|(last, _)| *last < t);
        if newer && (due.start..=due.end).contains(&t) {
            held.push_back((t, v));
        }
    }
    while held.len() > most {
        held.pop_front();
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    /// Points every 5 s from `from` to `to` (both included), valued by time.
    fn points(from: i64, to: i64) -> Vec<(f64, f64)> {
        (from..=to)
            .step_by(5)
            .map(|t| (t as f64, t as f64 / 10.0))
            .collect()
    }

    fn record(h: &mut History, due: Due, answer: &[(&str, Vec<(f64, f64)>)]) {
        h.record(due, answer.iter().map(|(k, p)| (*k, p.as_slice())), true);
    }

    /// The whole-span answer at `end`, as the values the full query gives.
    fn whole(end: i64) -> Vec<f64> {
        points(end - 300, end).iter().map(|(_, v)| *v).collect()
    }

    #[test]
    fn the_first_ask_is_the_whole_span_aligned_to_the_step() {
        let h = History::new(300, 5);
        assert_eq!(
            h.due(1_003),
            Some(Due {
                start: 700,
                end: 1_000
            })
        );
        assert_eq!(
            h.due(-3),
            Some(Due {
                start: -305,
                end: -5
            }),
            "aligned down, not towards zero"
        );
    }

    #[test]
    fn later_asks_are_only_the_new_steps_and_the_result_is_the_whole_span() {
        let mut h = History::new(300, 5);
        let first = h.due(1_000).unwrap();
        record(&mut h, first, &[("checkout", points(700, 1_000))]);
        assert_eq!(h.values()["checkout"], whole(1_000));
        assert_eq!(h.due(1_004), None, "no new step is due");
        let next = h.due(1_007).unwrap();
        assert_eq!(
            next,
            Due {
                start: 1_005,
                end: 1_005
            }
        );
        record(&mut h, next, &[("checkout", points(1_005, 1_005))]);
        assert_eq!(h.values()["checkout"], whole(1_005));
        assert_eq!(h.values()["checkout"].len(), 61);
        let later = h.due(1_023).unwrap();
        assert_eq!(
            later,
            Due {
                start: 1_010,
                end: 1_020
            },
            "refreshes that were skipped are caught up"
        );
        record(&mut h, later, &[("checkout", points(1_010, 1_020))]);
        assert_eq!(h.values()["checkout"], whole(1_020));
    }

    #[test]
    fn gaps_stay_gaps_and_new_series_join() {
        let mut h = History::new(300, 5);
        let first = h.due(1_000).unwrap();
        let mut gappy = points(700, 1_000);
        gappy.retain(|(t, _)| !(800.0..=900.0).contains(t));
        record(&mut h, first, &[("search", gappy.clone())]);
        let next = h.due(1_007).unwrap();
        record(
            &mut h,
            next,
            &[
                ("search", points(1_005, 1_005)),
                ("cart", points(1_005, 1_005)),
            ],
        );
        let expected: Vec<f64> = gappy[1..].iter().map(|(_, v)| *v).chain([100.5]).collect();
        assert_eq!(h.values()["search"], expected, "700 aged out, 1005 came");
        assert_eq!(h.values()["cart"], [100.5]);
    }

    #[test]
    fn series_no_longer_answered_age_out_with_their_last_point() {
        let mut h = History::new(300, 5);
        let first = h.due(1_000).unwrap();
        record(&mut h, first, &[("gone", points(700, 900))]);
        let next = h.due(1_200).unwrap();
        record(&mut h, next, &[]);
        assert_eq!(
            h.values()["gone"],
            [90.0],
            "its last point is still in the span"
        );
        let after = h.due(1_205).unwrap();
        record(&mut h, after, &[]);
        assert!(h.values().is_empty());
    }

    #[test]
    fn a_history_older_than_the_span_is_asked_again_whole() {
        let mut h = History::new(300, 5);
        let first = h.due(1_000).unwrap();
        record(&mut h, first, &[("checkout", points(700, 1_000))]);
        let due = h.due(2_000).unwrap();
        assert_eq!(
            due,
            Due {
                start: 1_700,
                end: 2_000
            }
        );
        record(&mut h, due, &[("checkout", points(1_700, 2_000))]);
        assert_eq!(h.values()["checkout"], whole(2_000));
        assert_eq!(
            h.due(900),
            Some(Due {
                start: 600,
                end: 900
            }),
            "the clock went back"
        );
    }

    #[test]
    fn after_a_failure_or_a_partial_answer_the_whole_span_is_asked_again() {
        let mut h = History::new(300, 5);
        let first = h.due(1_000).unwrap();
        record(&mut h, first, &[("checkout", points(700, 1_000))]);
        h.forget();
        assert!(h.values().is_empty(), "a failed query shows nothing");
        let again = h.due(1_005).unwrap();
        assert_eq!(again.start, 705);
        let partial = points(705, 1_005);
        h.record(again, [("checkout", &partial[..10])], false);
        assert_eq!(
            h.values()["checkout"].len(),
            10,
            "a partial answer is shown"
        );
        assert_eq!(h.due(1_005).map(|d| d.start), Some(705), "and asked again");
    }

    #[test]
    fn points_outside_the_range_asked_or_out_of_order_are_not_kept() {
        let mut h = History::new(300, 5);
        let first = h.due(1_000).unwrap();
        let odd = vec![
            (650.0, 1.0),
            (705.0, 2.0),
            (705.0, 3.0),
            (700.0, 4.0),
            (1_005.0, 5.0),
        ];
        record(&mut h, first, &[("odd", odd)]);
        assert_eq!(h.values()["odd"], [2.0]);
    }

    #[test]
    fn watching_other_keys_asks_the_whole_span_and_lets_the_others_go() {
        let mut h = History::new(300, 5);
        let first = h.due(1_000).unwrap();
        let both = [("a", points(700, 1_000)), ("b", points(700, 1_000))];
        record(&mut h, first, &both);
        assert_eq!(h.due(1_004), None);
        let only = ["b".to_string(), "c".to_string()];
        h.watch(Some(&only));
        assert_eq!(h.watched(), Some(&only[..]));
        assert_eq!(
            h.due(1_004),
            Some(Due {
                start: 700,
                end: 1_000
            }),
            "the newly watched are asked whole"
        );
        assert_eq!(
            h.values().keys().collect::<Vec<_>>(),
            ["b"],
            "a let go, b shown until then"
        );
        h.record(
            h.due(1_004).unwrap(),
            [("b", &points(700, 1_000)[..])],
            true,
        );
        h.watch(Some(&only));
        assert_eq!(h.due(1_004), None, "the same keys again change nothing");
        h.watch(None);
        assert!(h.due(1_004).is_some(), "every series again: asked whole");
    }
}
