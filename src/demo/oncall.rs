//! The demo's on-call rota: one schedule per team, 12-hour shifts handed
//! over at 08:00 and 20:00 UTC among three people per team, a pure function
//! of the seed and the start (from a day before it to two weeks after).

use chrono::{DateTime, Duration, Timelike, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::oncall::{Schedule, Shift};

const PEOPLE: [&str; 24] = [
    "Ana Silva",
    "Bo Chen",
    "Carla Ruiz",
    "Dev Patel",
    "Emeka Obi",
    "Freya Lund",
    "Goran Petrov",
    "Hana Sato",
    "Ivan Novak",
    "Jade Moreau",
    "Kofi Mensah",
    "Lena Fischer",
    "Mateo Rossi",
    "Nadia Haddad",
    "Omar Farouk",
    "Priya Nair",
    "Quinn Walsh",
    "Rosa Lindqvist",
    "Sami Kallio",
    "Tara Byrne",
    "Umar Khan",
    "Vera Costa",
    "Wei Zhang",
    "Yara Nunes",
];

/// The rota of every team of the demo's services.
pub fn schedules(seed: u64, started: DateTime<Utc>) -> Vec<Schedule> {
    let mut teams: Vec<&str> = super::SERVICES.iter().map(|s| s.team).collect();
    teams.dedup();
    teams.sort_unstable();
    teams.dedup();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0c_a11);
    let first = handover_before(started - Duration::days(1));
    teams
        .iter()
        .enumerate()
        .map(|(i, team)| {
            // Three people of the team, taken from the pool in turn and
            // rotated by the seed.
            let offset = rng.random_range(0..3);
            let people: Vec<&str> = (0..3).map(|k| PEOPLE[(i * 3 + k) % PEOPLE.len()]).collect();
            let shifts = (0..31)
                .map(|n| Shift {
                    person: people[(n + offset) % 3].to_string(),
                    start: first + Duration::hours(12 * n as i64),
                    end: first + Duration::hours(12 * (n as i64 + 1)),
                })
                .collect();
            Schedule {
                name: format!("{team} primary"),
                team: team.to_string(),
                shifts,
                read_at: Some(started),
                error: None,
                warnings: Vec::new(),
            }
        })
        .collect()
}

/// The last 08:00 or 20:00 UTC at or before `t`.
fn handover_before(t: DateTime<Utc>) -> DateTime<Utc> {
    let hour = t.hour();
    let base = t
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t);
    match hour {
        0..8 => base - Duration::hours(i64::from(hour) + 4),
        8..20 => base - Duration::hours(i64::from(hour) - 8),
        _ => base - Duration::hours(i64::from(hour) - 20),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::oncall::on_call;
    use chrono::TimeZone;

    #[test]
    fn every_team_has_someone_on_call_and_next_with_handovers_at_8_and_20() {
        let start = Utc.with_ymd_and_hms(2026, 3, 28, 23, 30, 0).unwrap();
        let rota = schedules(7, start);
        assert_eq!(rota.len(), 8, "one per team");
        assert_eq!(rota, schedules(7, start), "a function of seed and start");
        for s in &rota {
            let o = on_call(&s.shifts, start + Duration::days(3));
            let now = o.now.expect("someone on call");
            let next = o.next.expect("someone next");
            assert_ne!(now.person, next.person);
            assert!([8, 20].contains(&now.end.hour()), "{now:?}");
        }
        // 23:30 is in the night shift that began at 20:00.
        let o = on_call(&rota[0].shifts, start);
        assert_eq!(
            o.now.unwrap().end,
            Utc.with_ymd_and_hms(2026, 3, 29, 8, 0, 0).unwrap()
        );
    }
}
