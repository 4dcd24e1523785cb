//! The rows each table shows: sorted worst first (or newest first), filtered
//! by the table's text filter, with a selection that follows the selected
//! item when the order changes.

use super::App;
use super::tab::TableId;
use crate::domain::Status;
use crate::domain::kpi::{budget_left, service_slo_status};
use crate::domain::slo::{backup_status, host_status, service_status};

/// A row: the index of its item in the feed's data, and the item's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub index: usize,
    pub key: String,
}

#[derive(Debug, Clone, Default)]
pub struct TableView {
    pub filter: String,
    /// The column the user sorted by (one of `sort_columns`), if any, and
    /// whether reversed; `None` is the table's own order (worst first).
    pub sort: Option<&'static str>,
    pub reverse: bool,
    pub rows: Vec<Row>,
    /// Rows before filtering, for "12 of 13".
    pub total: usize,
    pub selected: usize,
    /// The storms opened to their incidents (the Incidents table), by key.
    pub expanded: std::collections::BTreeSet<String>,
}

impl TableView {
    pub fn set_rows(&mut self, rows: Vec<Row>, total: usize) {
        let previous = self.rows.get(self.selected).map(|r| r.key.clone());
        self.rows = rows;
        self.total = total;
        self.selected = previous
            .and_then(|key| self.rows.iter().position(|r| r.key == key))
            .unwrap_or(self.selected)
            .min(self.rows.len().saturating_sub(1));
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize)
            .saturating_add(delta)
            .clamp(0, last) as usize;
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }
}

/// A service's row key: its name, within its cluster when it has one.
fn service_key(s: &crate::domain::ServiceHealth) -> String {
    match &s.cluster {
        Some(cluster) => format!("{cluster}/{}", s.name),
        None => s.name.clone(),
    }
}

/// An item before sorting and filtering.
struct Candidate<'a> {
    row: Row,
    /// Sorted ascending: state (worst first), then a number, then a name.
    order: (i64, i64, &'a str),
}

/// The first sort key of items of tables that are not sorted by state.
const NO_STATE: i64 = 0;

fn worst_first(status: Status) -> i64 {
    -(status as i64)
}

fn candidate(index: usize, key: String, order: (i64, i64, &str)) -> Candidate<'_> {
    Candidate {
        row: Row { index, key },
        order,
    }
}

fn candidates(app: &App, id: TableId) -> Vec<Candidate<'_>> {
    match id {
        TableId::Slo => slo_candidates(app),
        TableId::Kpis => kpi_candidates(app),
        TableId::Services => service_candidates(app),
        TableId::Hosts => host_candidates(app),
        TableId::Deployments => deployment_candidates(app),
        TableId::Backups => backup_candidates(app),
        TableId::Incidents => incident_candidates(app),
        TableId::Silences => silence_candidates(app),
    }
}

/// A candidate per item, each knowing its item's index in the feed's data.
fn candidates_of<'a, T>(
    items: &'a [T],
    to_candidate: impl Fn(usize, &'a T) -> Candidate<'a>,
) -> Vec<Candidate<'a>> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| to_candidate(i, item))
        .collect()
}

/// The tiles in their fixed order: a grid whose tiles moved would have to
/// be read again.
fn kpi_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(&app.estate.kpis, |i, k| {
        candidate(i, k.id.to_string(), (NO_STATE, i as i64, ""))
    })
}

/// Worst SLO state first, then the least error budget left.
fn slo_candidates(app: &App) -> Vec<Candidate<'_>> {
    let objective = app.settings.objectives.availability;
    candidates_of(app.estate.services(), |i, s| {
        let left = budget_left(s, objective);
        let budget = left.map_or(i64::MAX, |l| (l.clamp(-1e6, 1e6) * 1e6) as i64);
        let state = service_slo_status(s, objective);
        candidate(i, service_key(s), (worst_first(state), budget, &s.name))
    })
}

fn service_candidates(app: &App) -> Vec<Candidate<'_>> {
    let (thresholds, objectives) = (&app.settings.thresholds, &app.settings.objectives);
    candidates_of(app.estate.services(), |i, s| {
        let state = service_status(s, thresholds, objectives);
        candidate(i, service_key(s), (worst_first(state), 0, &s.name))
    })
}

fn hosts(app: &App) -> &[crate::domain::Host] {
    app.estate.health.data.as_ref().map_or(&[], |h| &h.hosts)
}

fn host_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(hosts(app), |i, h| {
        let state = host_status(h, &app.settings.thresholds);
        candidate(i, h.name.clone(), (worst_first(state), 0, &h.name))
    })
}

fn deployments(app: &App) -> &[crate::domain::Deployment] {
    app.estate.deployments.data.as_deref().unwrap_or(&[])
}

/// Newest deployment first.
fn deployment_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(deployments(app), |i, d| {
        let order = (
            NO_STATE,
            d.deployed_at.map_or(i64::MAX, |at| -at.timestamp()),
            d.service.as_str(),
        );
        candidate(i, format!("{}/{}", d.environment, d.service), order)
    })
}

fn backups(app: &App) -> &[crate::domain::Backup] {
    app.estate.backups.data.as_deref().unwrap_or(&[])
}

fn backup_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(backups(app), |i, b| {
        let state = backup_status(b, app.now);
        candidate(i, b.target.clone(), (worst_first(state), 0, &b.target))
    })
}

fn incident_candidates(app: &App) -> Vec<Candidate<'_>> {
    // Already in order: most severe, then longest running.
    candidates_of(&app.estate.incidents, |i, inc| {
        let key = format!("{}/{}", inc.name, inc.service);
        candidate(i, key, (NO_STATE, i as i64, ""))
    })
}

fn silences(app: &App) -> &[crate::domain::Silence] {
    app.estate.alerts.data.as_ref().map_or(&[], |a| &a.silences)
}

/// Active silences first, then by when they start.
fn silence_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(silences(app), |i, s| {
        let pending = i64::from(!s.is_active(app.now));
        let order = (pending, s.starts_at.timestamp_millis(), "");
        candidate(i, s.id.clone(), order)
    })
}

/// What the filter searches in item `index` of table `id`: the words shown
/// in its row. Built only while a filter is set, and for `y` (copy).
pub fn row_text(app: &App, id: TableId, index: usize) -> String {
    let key_words = |s: &crate::domain::ServiceHealth, state: Status| {
        format!(
            "{} {} {} {}",
            service_key(s),
            s.tier.label(),
            s.team,
            state.label()
        )
    };
    let objective = app.settings.objectives.availability;
    let (thresholds, objectives) = (&app.settings.thresholds, &app.settings.objectives);
    match id {
        TableId::Kpis => app
            .estate
            .kpis
            .get(index)
            .map(|k| format!("{} {} {}", k.title, k.status.label(), k.note)),
        TableId::Slo => app
            .estate
            .services()
            .get(index)
            .map(|s| key_words(s, service_slo_status(s, objective))),
        TableId::Services => app
            .estate
            .services()
            .get(index)
            .map(|s| key_words(s, service_status(s, thresholds, objectives))),
        TableId::Hosts => hosts(app)
            .get(index)
            .map(|h| format!("{} {}", h.name, host_status(h, thresholds).label())),
        TableId::Deployments => deployments(app).get(index).map(|d| {
            format!(
                "{} {} {} {} {}",
                d.service,
                d.environment,
                d.version,
                d.strategy.label(),
                d.phase.label()
            )
        }),
        TableId::Backups => backups(app).get(index).map(|b| {
            let state = backup_status(b, app.now);
            let tool = b.tool.unwrap_or("");
            format!("{} {} {} {tool}", b.target, b.tier.label(), state.label())
        }),
        TableId::Incidents => (app.estate.incidents.get(index))
            .map(|inc| {
                format!(
                    "{} {} {} {}",
                    inc.name,
                    inc.service,
                    inc.severity.label(),
                    inc.summary
                )
            })
            .or_else(|| {
                let storm = app.storm_at(index)?;
                let n = storm.members.len();
                Some(format!(
                    "storm {}={} {n} incidents",
                    storm.label, storm.value
                ))
            }),
        TableId::Silences => silences(app)
            .get(index)
            .map(|s| format!("{} {} {}", s.matchers, s.created_by, s.comment)),
    }
    .unwrap_or_default()
}

/// The rows of table `id` in display order, and how many there are unfiltered.
pub fn rows(app: &App, id: TableId) -> (Vec<Row>, usize) {
    let mut items = candidates(app, id);
    let total = items.len();
    let view = app.table(id);
    let filter = Filter::parse(&view.filter);
    if !filter.is_empty() {
        items.retain(|c| {
            filter.matches(&row_text(app, id, c.row.index), state(app, id, c.row.index))
        });
    }
    // Stable: items that compare equal keep the order of the data.
    items.sort_by(|a, b| a.order.cmp(&b.order));
    if let Some(column) = view.sort {
        let mut keyed: Vec<(SortValue, Candidate)> = items
            .into_iter()
            .map(|c| (sort_value(app, id, c.row.index, column), c))
            .collect();
        keyed.sort_by(|(a, _), (b, _)| a.cmp_for_sort(b));
        if view.reverse {
            keyed.reverse();
        }
        let rows = keyed.into_iter().map(|(_, c)| c.row).collect();
        return folded(app, id, rows, total);
    }
    if view.reverse {
        items.reverse();
    }
    let rows = items.into_iter().map(|c| c.row).collect();
    folded(app, id, rows, total)
}

/// The Incidents table's storms folded over their incidents, and its
/// total in rows as folded (a closed storm is one), so the title says
/// "3 of 7" only while a filter leaves rows out.
fn folded(app: &App, id: TableId, rows: Vec<Row>, total: usize) -> (Vec<Row>, usize) {
    match id {
        TableId::Incidents => (
            super::joins::fold_storms(app, rows),
            super::joins::folded_total(app, total),
        ),
        _ => (rows, total),
    }
}

/// A filter as typed: words that must all appear in a row's text, and
/// `is:` words on its state: `is:crit`, `is:warn`, `is:unknown`, `is:ok`,
/// or `is:breaching` (anything but OK).
#[derive(Debug, Default, PartialEq)]
pub struct Filter {
    words: Vec<String>,
    states: Vec<StateWord>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum StateWord {
    Is(Status),
    Breaching,
}

/// The words `is:` takes, for completion and the help.
pub const STATE_WORDS: [&str; 5] = ["breaching", "crit", "warn", "unknown", "ok"];

impl Filter {
    pub fn parse(text: &str) -> Filter {
        let mut filter = Filter::default();
        for word in text.split_whitespace() {
            let lower = word.to_lowercase();
            let state = lower.strip_prefix("is:").and_then(|w| match w {
                "breaching" | "bad" => Some(StateWord::Breaching),
                "crit" | "critical" => Some(StateWord::Is(Status::Crit)),
                "warn" | "warning" => Some(StateWord::Is(Status::Warn)),
                "unknown" => Some(StateWord::Is(Status::Unknown)),
                "ok" => Some(StateWord::Is(Status::Ok)),
                _ => None,
            });
            match state {
                Some(s) => filter.states.push(s),
                None => filter.words.push(lower),
            }
        }
        filter
    }

    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.states.is_empty()
    }

    /// Every word in `text`, and the state any of the `is:` words names (a
    /// row without a state matches no `is:` word).
    pub fn matches(&self, text: &str, state: Option<Status>) -> bool {
        let text = text.to_lowercase();
        let words = self.words.iter().all(|w| text.contains(w.as_str()));
        let states = self.states.is_empty()
            || state.is_some_and(|st| {
                self.states.iter().any(|w| match w {
                    StateWord::Breaching => st != Status::Ok,
                    StateWord::Is(s) => *s == st,
                })
            });
        words && states
    }
}

/// The state shown in item `index`'s row, for `is:` filters.
pub(super) fn state(app: &App, id: TableId, index: usize) -> Option<Status> {
    let objective = app.settings.objectives.availability;
    let (thresholds, objectives) = (&app.settings.thresholds, &app.settings.objectives);
    match id {
        TableId::Kpis => app.estate.kpis.get(index).map(|k| k.status),
        TableId::Slo => app
            .estate
            .services()
            .get(index)
            .map(|s| service_slo_status(s, objective)),
        TableId::Services => app
            .estate
            .services()
            .get(index)
            .map(|s| service_status(s, thresholds, objectives)),
        TableId::Hosts => hosts(app).get(index).map(|h| host_status(h, thresholds)),
        TableId::Backups => backups(app).get(index).map(|b| backup_status(b, app.now)),
        TableId::Deployments => deployments(app)
            .get(index)
            .map(|d| d.status(app.now, thresholds.progress_deadline)),
        TableId::Incidents => match app.estate.incidents.get(index) {
            Some(i) => Some(incident_state(i)),
            // A storm: the worst of its incidents not held by a silence.
            None => app.storm_at(index).and_then(|storm| {
                let members = storm.members.iter();
                (members.filter_map(|&m| app.estate.incidents.get(m)))
                    .filter(|i| !i.silenced)
                    .map(incident_state)
                    .max()
            }),
        },
        TableId::Silences => None,
    }
}

fn incident_state(i: &crate::domain::incidents::Incident) -> Status {
    match i.severity {
        crate::domain::Severity::Critical => Status::Crit,
        crate::domain::Severity::Warning => Status::Warn,
        crate::domain::Severity::Info => Status::Ok,
    }
}

/// What a column sorts by: a number (largest first, unknown last) or a
/// word (A to Z).
#[derive(Debug, Clone, PartialEq)]
enum SortValue {
    Number(f64),
    Word(String),
}

impl SortValue {
    fn cmp_for_sort(&self, other: &SortValue) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let rank = |v: &SortValue| match v {
            SortValue::Number(n) if n.is_finite() => 0,
            SortValue::Word(_) => 0,
            SortValue::Number(_) => 1,
        };
        match (self, other) {
            (SortValue::Number(a), SortValue::Number(b)) if a.is_finite() && b.is_finite() => {
                b.partial_cmp(a).unwrap_or(Ordering::Equal)
            }
            (SortValue::Word(a), SortValue::Word(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

/// The columns table `id` can be sorted by, as their headings read, in
/// the order `o` steps through them.
pub fn sort_columns(id: TableId) -> &'static [&'static str] {
    match id {
        TableId::Kpis => &[],
        TableId::Slo => &["service", "tier", "avail", "budget", "burn", "team"],
        TableId::Services => &[
            "service", "tier", "req/s", "errors", "p95", "p99", "sat", "targets", "budget", "team",
        ],
        TableId::Hosts => &["host", "cpu", "memory", "disk"],
        TableId::Deployments => &[
            "service",
            "env",
            "version",
            "strategy",
            "phase",
            "deployed",
            "rollbacks",
        ],
        TableId::Backups => &["target", "tier", "last good", "size", "took", "verified"],
        TableId::Incidents => &["incident", "service", "started", "alerts"],
        TableId::Silences => &["matchers", "by", "starts", "until"],
    }
}

fn sort_value(app: &App, id: TableId, index: usize, column: &str) -> SortValue {
    use SortValue::{Number as N, Word as W};
    let age = |at: Option<chrono::DateTime<chrono::Utc>>| {
        N(at.map_or(f64::NAN, |t| -(app.now - t).num_seconds() as f64))
    };
    let objective = app.settings.objectives.availability;
    let service = |s: &crate::domain::ServiceHealth| match column {
        "service" => W(service_key(s)),
        "tier" => W(s.tier.label().into()),
        "team" => W(s.team.clone()),
        "req/s" => N(s.requests_per_second),
        "errors" => N(s.error_ratio),
        "p95" => N(s.latency_p95_ms),
        "p99" => N(s.latency_p99_ms),
        "sat" => N(s.saturation),
        "targets" => N(f64::from(s.targets_up) / f64::from(s.targets_total.max(1))),
        // The least budget left first, as the worst.
        "budget" => N(budget_left(s, objective).map_or(f64::NAN, |l| -l)),
        // The least available first.
        "avail" => N(-crate::domain::slo::availability(s.sli).unwrap_or(f64::NAN)),
        "burn" => N(s.error_ratio_1h),
        _ => W(String::new()),
    };
    let value = match id {
        TableId::Slo | TableId::Services => app.estate.services().get(index).map(service),
        TableId::Hosts => hosts(app).get(index).map(|h| match column {
            "host" => W(h.name.clone()),
            "cpu" => N(h.cpu),
            "memory" => N(h.memory),
            _ => N(h.disk),
        }),
        TableId::Deployments => deployments(app).get(index).map(|d| match column {
            "service" => W(d.service.clone()),
            "env" => W(d.environment.clone()),
            "version" => W(d.version.clone()),
            "strategy" => W(d.strategy.label().into()),
            "phase" => W(d.phase.label().into()),
            "deployed" => age(d.deployed_at),
            _ => N(f64::from(d.rollbacks)),
        }),
        TableId::Backups => backups(app).get(index).map(|b| match column {
            "target" => W(b.target.clone()),
            "tier" => W(b.tier.label().into()),
            // The oldest first: the one most at risk.
            "last good" => N(b
                .last_success
                .map_or(f64::INFINITY, |t| (app.now - t).num_seconds() as f64)),
            "size" => N(b.size_bytes),
            "took" => N(b.duration.map_or(f64::NAN, |d| d.as_seconds_f64())),
            _ => N(b
                .last_verified
                .map_or(f64::INFINITY, |t| (app.now - t).num_seconds() as f64)),
        }),
        TableId::Incidents => app.estate.incidents.get(index).map(|i| match column {
            "incident" => W(i.name.clone()),
            "service" => W(i.service.clone()),
            "started" => age(Some(i.started)),
            _ => N(i.alert_count as f64),
        }),
        TableId::Silences => silences(app).get(index).map(|s| match column {
            "matchers" => W(s.matchers.clone()),
            "by" => W(s.created_by.clone()),
            "starts" => age(Some(s.starts_at)),
            _ => age(Some(s.ends_at)),
        }),
        TableId::Kpis => None,
    };
    value.unwrap_or(W(String::new()))
}
