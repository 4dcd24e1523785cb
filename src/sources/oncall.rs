//! On-call schedules read from their files or URLs, rarely (every 15
//! minutes by default), each in a task of its own that sends what it read
//! as a message. A schedule that cannot be read keeps the shifts it had and
//! says why.

use chrono::{DateTime, Duration, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::ical::{self, Parsed};
use crate::config::oncall::{Location, OnCallSchedule};
use crate::domain::oncall::Schedule;

/// The most of a schedule file read; past it, it is refused.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Repeating shifts are expanded this far ahead.
const HORIZON_DAYS: i64 = 60;

/// What one reading of a schedule gave.
#[derive(Debug, Clone, PartialEq)]
pub struct OnCallUpdate {
    pub schedule: String,
    pub at: DateTime<Utc>,
    pub result: Result<Parsed, String>,
}

/// The schedules as nothing has been read yet, in the order declared.
pub fn empty(specs: &[OnCallSchedule]) -> Vec<Schedule> {
    specs
        .iter()
        .map(|s| Schedule {
            name: s.name.clone(),
            team: s.team.clone(),
            ..Schedule::default()
        })
        .collect()
}

/// Reads one schedule once.
pub async fn read(spec: &OnCallSchedule, now: DateTime<Utc>) -> Result<Parsed, String> {
    let bytes = match &spec.location {
        Location::File(path) => read_file(path).await?,
        Location::Url(endpoint) => {
            let client = super::http::HttpClient::new((**endpoint).clone())?;
            let answer = client.get("", &[]).await.map_err(|e| e.to_string())?;
            if answer.status != 200 {
                return Err(format!(
                    "HTTP {}: {}",
                    answer.status,
                    super::http::snippet(&answer.body)
                ));
            }
            answer.body
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    ical::parse(&text, now + Duration::days(HORIZON_DAYS)).map_err(crate::text::clean_owned)
}

async fn read_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let shown = crate::text::clean_owned(path.display().to_string());
    let path = path.to_path_buf();
    // Off the runtime's threads: a file on a slow disk or a hung mount
    // holds up nothing else.
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    let bytes = read
        .await
        .map_err(|e| format!("{shown}: {e}"))?
        .map_err(|e| format!("{shown}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{shown}: larger than {}, not read",
            super::http::size(MAX_FILE_BYTES)
        ));
    }
    Ok(bytes)
}

/// Reads every schedule once, all at once (`status`).
pub async fn read_all(specs: &[OnCallSchedule], now: DateTime<Utc>) -> Vec<Schedule> {
    let readings = futures::future::join_all(specs.iter().map(|s| read(s, now))).await;
    let mut schedules = empty(specs);
    for (schedule, result) in schedules.iter_mut().zip(readings) {
        store_one(schedule, now, result);
    }
    schedules
}

/// Reads each schedule now and then every `every`, until the receiving side
/// of `tx` is gone.
pub fn spawn<M>(specs: &[OnCallSchedule], tx: mpsc::UnboundedSender<M>) -> Vec<JoinHandle<()>>
where
    M: From<OnCallUpdate> + Send + 'static,
{
    specs
        .iter()
        .cloned()
        .map(|spec| {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(spec.every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let at = Utc::now();
                    let result = read(&spec, at).await;
                    let update = OnCallUpdate {
                        schedule: spec.name.clone(),
                        at,
                        result,
                    };
                    if tx.send(M::from(update)).is_err() {
                        return;
                    }
                }
            })
        })
        .collect()
}

/// Stores a reading in its schedule; true when what is shown changed.
pub fn store(schedules: &mut [Schedule], update: OnCallUpdate) -> bool {
    let Some(schedule) = schedules.iter_mut().find(|s| s.name == update.schedule) else {
        return false;
    };
    let before = schedule.clone();
    store_one(schedule, update.at, update.result);
    *schedule != before
}

fn store_one(schedule: &mut Schedule, at: DateTime<Utc>, result: Result<Parsed, String>) {
    match result {
        Ok(parsed) => {
            schedule.shifts = parsed.shifts;
            schedule.warnings = parsed.warnings;
            schedule.read_at = Some(at);
            schedule.error = None;
        }
        Err(e) => schedule.error = Some(crate::text::clean_owned(e)),
    }
}
