//! Who is on call: shifts read from a schedule (an iCalendar file or feed),
//! and the pure rule that says who holds the pager at an instant and who
//! takes it next. No clock is read here: `now` is always passed in.

use chrono::{DateTime, Utc};

/// One person's turn on call, from `start` (included) to `end` (excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub person: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Who is on call at an instant and who comes next.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OnCall {
    /// The person on call now; `end` is when they hand over (their shifts
    /// that follow one another without a gap count as one).
    pub now: Option<Shift>,
    /// The next person to take over; `start` is when.
    pub next: Option<Shift>,
}

/// One schedule as last read: its shifts, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schedule {
    pub name: String,
    /// The team whose services it covers (`[services.X] team = …`).
    pub team: String,
    pub shifts: Vec<Shift>,
    /// When it was last read well.
    pub read_at: Option<DateTime<Utc>>,
    /// Why the last reading failed (cleaned text); the shifts read before
    /// are kept and still used.
    pub error: Option<String>,
    /// Events skipped, with why (unreadable dates, an unknown zone…).
    pub warnings: Vec<String>,
}

impl Schedule {
    pub fn on_call(&self, now: DateTime<Utc>) -> OnCall {
        on_call(&self.shifts, now)
    }
}

/// Who is on call at `now` and who is next.
///
/// Shifts may overlap: the one that started last wins (an override laid on
/// a rotation). A person's turn lasts until someone else, or nobody, is on
/// call: shifts of theirs that follow one another count as one. The next
/// person is whoever is on call when the turn ends; with nobody on call
/// then, whoever comes on first after it.
pub fn on_call(shifts: &[Shift], now: DateTime<Utc>) -> OnCall {
    let current = covering(shifts, now).map(|s| Shift {
        // The turn on now started when its shift did.
        start: s.start,
        ..turn(shifts, s, now)
    });
    let from = current.as_ref().map_or(Some(now), |c| Some(c.end));
    let next = from.and_then(|from| match covering(shifts, from) {
        Some(s) if current.is_some() => Some(turn(shifts, s, from)),
        _ => {
            let start = change(shifts, from, None)?;
            covering(shifts, start).map(|s| turn(shifts, s, start))
        }
    });
    OnCall { now: current, next }
}

/// The turn of `shift`'s person from `at` (or the shift's own start, if
/// later) until the pager changes hands.
fn turn(shifts: &[Shift], shift: &Shift, at: DateTime<Utc>) -> Shift {
    let end = change(shifts, at, Some(&shift.person)).unwrap_or(shift.end);
    Shift {
        person: shift.person.clone(),
        start: shift.start.max(at),
        end,
    }
}

/// The first instant after `from` when the person on call is no longer
/// `person` (`None`: nobody).
fn change(shifts: &[Shift], from: DateTime<Utc>, person: Option<&str>) -> Option<DateTime<Utc>> {
    let mut cursor = from;
    // Each step moves to the next boundary of some shift: at most two per
    // shift.
    for _ in 0..=2 * shifts.len() {
        let boundary = shifts
            .iter()
            .filter(|s| s.end > s.start)
            .flat_map(|s| [s.start, s.end])
            .filter(|b| *b > cursor)
            .min()?;
        if covering(shifts, boundary).map(|s| s.person.as_str()) != person {
            return Some(boundary);
        }
        cursor = boundary;
    }
    None
}

/// The shift on call at `at`: among those covering it, the one that started
/// last (then the longer).
fn covering(shifts: &[Shift], at: DateTime<Utc>) -> Option<&Shift> {
    shifts
        .iter()
        .filter(|s| s.start <= at && at < s.end)
        .max_by_key(|s| (s.start, s.end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap()
    }

    fn shift(person: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Shift {
        Shift {
            person: person.into(),
            start,
            end,
        }
    }

    fn names(o: &OnCall) -> (Option<&str>, Option<&str>) {
        (
            o.now.as_ref().map(|s| s.person.as_str()),
            o.next.as_ref().map(|s| s.person.as_str()),
        )
    }

    fn rota() -> Vec<Shift> {
        vec![
            shift("Ana", at(28, 9, 0), at(28, 21, 0)),
            // Across midnight.
            shift("Bo", at(28, 21, 0), at(29, 9, 0)),
            shift("Cy", at(29, 9, 0), at(29, 21, 0)),
        ]
    }

    #[test]
    fn now_and_next_at_and_around_each_handover() {
        let r = rota();
        assert_eq!(
            names(&on_call(&r, at(28, 12, 0))),
            (Some("Ana"), Some("Bo"))
        );
        // The start is included, the end excluded.
        assert_eq!(names(&on_call(&r, at(28, 21, 0))), (Some("Bo"), Some("Cy")));
        assert_eq!(
            names(&on_call(&r, at(28, 20, 59))),
            (Some("Ana"), Some("Bo"))
        );
        // After midnight, the shift that began the day before.
        let o = on_call(&r, at(29, 0, 30));
        assert_eq!(names(&o), (Some("Bo"), Some("Cy")));
        assert_eq!(o.now.unwrap().end, at(29, 9, 0));
        assert_eq!(o.next.unwrap().start, at(29, 9, 0));
        // The last shift: nobody next.
        assert_eq!(names(&on_call(&r, at(29, 12, 0))), (Some("Cy"), None));
    }

    #[test]
    fn before_the_first_and_after_the_last_shift() {
        let r = rota();
        let o = on_call(&r, at(27, 12, 0));
        assert_eq!(names(&o), (None, Some("Ana")));
        assert_eq!(o.next.unwrap().start, at(28, 9, 0));
        assert_eq!(on_call(&r, at(30, 0, 0)), OnCall::default());
        assert_eq!(on_call(&[], at(30, 0, 0)), OnCall::default());
    }

    #[test]
    fn a_gap_leaves_nobody_on_call_and_names_who_comes_after_it() {
        let r = vec![
            shift("Ana", at(28, 9, 0), at(28, 17, 0)),
            shift("Bo", at(28, 18, 0), at(28, 22, 0)),
        ];
        let o = on_call(&r, at(28, 10, 0));
        assert_eq!(names(&o), (Some("Ana"), Some("Bo")));
        assert_eq!(o.next.unwrap().start, at(28, 18, 0));
        assert_eq!(names(&on_call(&r, at(28, 17, 30))), (None, Some("Bo")));
    }

    #[test]
    fn consecutive_shifts_of_one_person_are_one_turn() {
        let r = vec![
            shift("Ana", at(28, 0, 0), at(29, 0, 0)),
            shift("Ana", at(29, 0, 0), at(30, 0, 0)),
            shift("Bo", at(30, 0, 0), at(31, 0, 0)),
            shift("Bo", at(31, 0, 0), at(31, 12, 0)),
        ];
        let o = on_call(&r, at(28, 12, 0));
        assert_eq!(names(&o), (Some("Ana"), Some("Bo")));
        assert_eq!(o.now.unwrap().end, at(30, 0, 0));
        assert_eq!(o.next.unwrap().end, at(31, 12, 0));
    }

    #[test]
    fn an_override_wins_while_it_lasts_and_the_rotation_resumes() {
        let r = vec![
            shift("Ana", at(28, 0, 0), at(29, 0, 0)),
            shift("Zed", at(28, 12, 0), at(28, 14, 0)),
        ];
        let o = on_call(&r, at(28, 13, 0));
        assert_eq!(names(&o), (Some("Zed"), Some("Ana")));
        assert_eq!(o.now.unwrap().end, at(28, 14, 0));
        let back = o.next.unwrap();
        assert_eq!((back.start, back.end), (at(28, 14, 0), at(29, 0, 0)));
        // After it, Ana again until midnight.
        let o = on_call(&r, at(28, 15, 0));
        assert_eq!(names(&o), (Some("Ana"), None));
        assert_eq!(o.now.unwrap().end, at(29, 0, 0));
        // Before the override: Ana, and Zed next at noon.
        let o = on_call(&r, at(28, 10, 0));
        assert_eq!(names(&o), (Some("Ana"), Some("Zed")));
        assert_eq!(o.now.unwrap().end, at(28, 12, 0));
    }

    #[test]
    fn empty_and_backwards_shifts_are_never_on_call() {
        let r = vec![
            shift("Empty", at(28, 9, 0), at(28, 9, 0)),
            shift("Back", at(28, 12, 0), at(28, 10, 0)),
        ];
        assert_eq!(on_call(&r, at(28, 9, 0)), OnCall::default());
        assert_eq!(on_call(&r, at(28, 8, 0)), OnCall::default());
    }
}
