//! Tab 5: what is on fire, since when, who is on it? Incidents by severity,
//! then the silences (maintenance windows and acknowledgements).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use super::widgets::{Column, Fit, TablePanel, col, fit_text, flex, freshness, table, widen};
use super::{format, layout};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::changes::Preceding;
use crate::domain::incidents::Incident;
use crate::domain::storms::Storm;
use crate::domain::{Silence, Status};
use crate::text::clean;

const INCIDENTS: [Column; 8] = [
    col("Severity", 10, 0),
    col("Incident", 22, 0),
    col("Service", 15, 1),
    col("Started", 7, 3),
    col("For", 5, 1),
    col("Alerts", 6, 5),
    flex("Summary", 20, 2),
    col("Runbook", 40, 4),
];

const SILENCES: [Column; 6] = [
    col("State", 9, 0),
    col("Matchers", 22, 0),
    col("By", 10, 1),
    col("Starts", 12, 3),
    col("Until", 12, 1),
    flex("Comment", 20, 2),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let panel = &app.estate.alerts;
    let right = || freshness(app, panel);
    let top = layout::table_area(app, area, TableId::Incidents);
    let bottom = layout::table_area(app, area, TableId::Silences);
    super::oncall::draw(frame, area, app);
    draw_incidents(frame, top, app, pipeline(app, right()));
    draw_runbook(frame, top, app);
    draw_silences(frame, bottom, app, right());
}

/// The alerting pipeline's heartbeat before the panel's age: alive (quiet),
/// or gone (a warning: "no incidents" cannot be trusted).
fn pipeline(app: &App, right: Span<'static>) -> Span<'static> {
    use crate::domain::incidents::Pipeline;
    let pipeline = &app.estate.pipeline;
    let Some(text) = pipeline.describe() else {
        return right;
    };
    let style = match pipeline {
        Pipeline::Gone(_) => app.theme.warn,
        _ => right.style,
    };
    let mark = if matches!(pipeline, Pipeline::Gone(_)) {
        "▲"
    } else {
        "♥"
    };
    Span::styled(format!(" {mark} {text} ·{}", right.content), style)
}

fn draw_incidents(frame: &mut Frame, area: Rect, app: &App, right: Span<'static>) {
    let incidents = &app.estate.incidents;
    // Storms' names, and their incidents' names as indented under them.
    let storms: Vec<String> = (app.estate.storms.iter())
        .flat_map(|s| {
            let members = s.members.iter().filter_map(|&m| incidents.get(m));
            std::iter::once(storm_name(s, true)).chain(members.map(|i| format!("  {}", i.name)))
        })
        .collect();
    let names = incidents.iter().map(|i| i.name.as_str());
    let columns = widen(
        &INCIDENTS,
        1,
        names.chain(storms.iter().map(String::as_str)),
    );
    let columns = widen(&columns, 2, incidents.iter().map(|i| i.service.as_str()));
    let spec = TablePanel::new(app, TableId::Incidents, &columns, right);
    table(frame, area, app, spec, |i, fit| match incidents.get(i) {
        Some(inc) => {
            let mut cells = incident_cells(app, inc, app.estate.changes.get(i), fit);
            // Under its open storm's row: indented, so the storm reads as one.
            if app.estate.storms.iter().any(|s| s.members.contains(&i)) {
                cells[1] = fit.text("Incident", &format!("  {}", inc.name));
            }
            cells
        }
        None => app
            .storm_at(i)
            .map_or_else(Vec::new, |storm| storm_cells(app, storm, fit)),
    });
}

/// `▸ storm · instance=db-3` (`▾` when open); the Service column says
/// how many incidents, so a long value still leaves the count in view.
fn storm_name(storm: &Storm, open: bool) -> String {
    format!(
        "{} storm · {}={}",
        if open { "▾" } else { "▸" },
        clean(&storm.label),
        clean(&storm.value),
    )
}

/// A storm's row: the label its incidents share and how many they are,
/// the worst severity, the earliest start and every alert.
fn storm_cells(app: &App, storm: &Storm, fit: &Fit) -> Vec<Cell<'static>> {
    let th = &app.theme;
    let members: Vec<&Incident> = (storm.members.iter())
        .filter_map(|&m| app.estate.incidents.get(m))
        .collect();
    let worst = members.iter().map(|i| i.severity).max();
    let started = members.iter().map(|i| i.started).min();
    let mut services: Vec<&str> = members.iter().map(|i| i.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let open = (app.table(TableId::Incidents).expanded).contains(&storm.key());
    let name = storm_name(storm, open);
    let sev = match worst {
        Some(s) => Cell::from(format!("{} {}", s.symbol(), s.label())).style(th.severity(s)),
        None => Cell::from("—"),
    };
    let at =
        |f: &dyn Fn(chrono::DateTime<chrono::Utc>) -> String| started.map_or("—".to_string(), f);
    vec![
        sev,
        fit.text("Incident", &name).style(th.accent),
        fit.text("Service", &format!("{} incidents", members.len())),
        Cell::from(at(&|t| t.format("%H:%M").to_string())),
        Cell::from(at(&|t| format::short_duration(app.now - t))),
        Cell::from(
            members
                .iter()
                .map(|i| i.alert_count)
                .sum::<usize>()
                .to_string(),
        ),
        fit.text(
            "Summary",
            &format!("on {} services: {}", services.len(), services.join(", ")),
        ),
        Cell::from(String::new()),
    ]
}

fn incident_cells(
    app: &App,
    inc: &Incident,
    changes: Option<&Vec<Preceding>>,
    fit: &Fit,
) -> Vec<Cell<'static>> {
    let th = &app.theme;
    // Silenced or inhibited: still listed, but quiet, and saying why.
    let held = match (inc.silenced, inc.inhibited, inc.counted) {
        (true, _, _) => Some("silenced"),
        (false, true, _) => Some("inhibited"),
        // `[alerts] not_counted`: shown, no part of the verdict.
        (false, false, false) => Some("not counted"),
        (false, false, true) => None,
    };
    let sev = match held {
        Some(_) => Cell::from(format!("◌ {}", inc.severity.label())).style(th.muted),
        None => Cell::from(format!(
            "{} {}",
            inc.severity.symbol(),
            inc.severity.label()
        ))
        .style(th.severity(inc.severity)),
    };
    let summary = match held {
        Some(why) => format!("[{why}] {}", inc.summary),
        None => inc.summary.clone(),
    };
    // It follows a change: the newest, before what the alert says.
    let summary = match changes.and_then(|c| c.first()) {
        Some(newest) => {
            let after = newest.describe();
            let after = after.strip_prefix("started ").unwrap_or(&after);
            format!("Δ {after} · {summary}")
        }
        None => summary,
    };
    vec![
        sev,
        fit.text("Incident", &inc.name),
        fit.text("Service", &inc.service),
        Cell::from(inc.started.format("%H:%M").to_string()),
        Cell::from(format::short_duration(inc.duration(app.now))),
        Cell::from(inc.alert_count.to_string()),
        fit.text("Summary", &summary),
        fit.text("Runbook", inc.runbook.as_deref().unwrap_or("—"))
            .style(th.muted),
    ]
}

/// The selected incident's runbook on the incidents table's bottom border,
/// whole, where it can be read and copied even when the Runbook column does
/// not fit.
fn draw_runbook(frame: &mut Frame, table_area: Rect, app: &App) {
    let selected = app
        .table(TableId::Incidents)
        .selected_row()
        .and_then(|r| app.estate.incidents.get(r.index));
    let Some(url) = selected.and_then(|inc| inc.runbook.as_deref()) else {
        return;
    };
    let width = table_area.width.saturating_sub(4);
    let text = fit_text(&format!(" runbook: {url} "), width as usize);
    let line = Line::from(Span::styled(text, app.theme.accent));
    let border = Rect {
        x: table_area.x + 2,
        y: table_area.bottom().saturating_sub(1),
        width,
        height: 1,
    };
    frame.render_widget(line, border);
}

fn draw_silences(frame: &mut Frame, area: Rect, app: &App, right: Span<'static>) {
    let alerts = app.estate.alerts.data.as_ref();
    let silences = alerts.map_or(&[][..], |a| &a.silences);
    let listed: Vec<&str> = app
        .table(TableId::Silences)
        .rows
        .iter()
        .filter_map(|r| silences.get(r.index))
        .map(|s| s.matchers.as_str())
        .collect();
    let spec = TablePanel::new(app, TableId::Silences, &SILENCES, right);
    table(frame, area, app, spec, |i, fit| {
        let matchers = distinguishing_first(&silences[i].matchers, &listed);
        silence_cells(app, &silences[i], &matchers, fit)
    });
}

/// A silence's matchers as Alertmanager lists them (`a="x", b=~"y|z"`),
/// one by one: a comma inside a quoted value does not split.
fn split_matchers(text: &str) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim());
    out.retain(|m| !m.is_empty());
    out
}

/// `matchers` reordered so a narrow column keeps what tells this silence
/// from the others `listed`: the rarer a matcher among them, the sooner
/// (one that every silence has tells none apart); at equal counts, other
/// labels before `alertname`, since a silence that names an alert mostly
/// narrows it to a service or an instance.
fn distinguishing_first(matchers: &str, listed: &[&str]) -> String {
    let others: Vec<Vec<&str>> = listed.iter().map(|l| split_matchers(l)).collect();
    let sharing = |m: &str| others.iter().filter(|o| o.contains(&m)).count();
    let alertname = |m: &str| {
        let name = m.split(['=', '!']).next().unwrap_or_default().trim();
        name == "alertname"
    };
    let mut mine = split_matchers(matchers);
    mine.sort_by_key(|m| (sharing(m), alertname(m)));
    mine.join(", ")
}

fn silence_cells(app: &App, s: &Silence, matchers: &str, fit: &Fit) -> Vec<Cell<'static>> {
    let (word, status) = if s.is_active(app.now) {
        ("active", Status::Ok)
    } else if s.starts_at > app.now {
        ("pending", Status::Unknown)
    } else {
        ("expired", Status::Unknown)
    };
    vec![
        Cell::from(word).style(app.theme.status(status)),
        fit.text("Matchers", matchers),
        fit.text("By", &s.created_by),
        Cell::from(s.starts_at.format("%d %b %H:%M").to_string()),
        Cell::from(s.ends_at.format("%d %b %H:%M").to_string()),
        fit.text("Comment", &s.comment),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_split_at_commas_outside_quotes() {
        assert_eq!(
            split_matchers(r#"alertname="A, B", service=~"x|y", team!="q\"," "#),
            [
                r#"alertname="A, B""#,
                r#"service=~"x|y""#,
                r#"team!="q\",""#
            ]
        );
        assert!(split_matchers("").is_empty());
    }

    #[test]
    fn the_matchers_that_tell_silences_apart_come_first() {
        let high = r#"alertname="HighErrorRate", service="orders""#;
        let crash = r#"alertname="PodCrashLooping", service="orders""#;
        let window = r#"alertname="Deploy", env="prod", service="search""#;
        // Both acknowledge alerts of orders: the alert tells them apart.
        assert_eq!(distinguishing_first(high, &[high, crash]), high);
        let listed = [high, window];
        assert_eq!(
            distinguishing_first(window, &listed),
            r#"env="prod", service="search", alertname="Deploy""#,
            "nothing shared: other labels before the alert's name"
        );
        // Alone, a silence shows its other labels first too.
        assert_eq!(
            distinguishing_first(high, &[high]),
            r#"service="orders", alertname="HighErrorRate""#
        );
        let all = [high, crash, window];
        assert_eq!(
            distinguishing_first(crash, &all),
            r#"alertname="PodCrashLooping", service="orders""#,
            "its alert is its alone; two of three silence orders"
        );
        assert_eq!(
            distinguishing_first(window, &all),
            r#"env="prod", service="search", alertname="Deploy""#
        );
    }
}
