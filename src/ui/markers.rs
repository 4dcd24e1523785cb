//! Change markers on sparklines: a deploy, rollback, maintenance window or
//! action drawn as `│` just before the column of the point it falls on, so
//! a step in the line sits next to the change that caused it.

use chrono::{DateTime, Duration};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::format;
use crate::app::{App, TREND_STEP};
use crate::domain::ServiceHealth;
use crate::domain::changes::Change;
use crate::domain::markers::{self, Timeline};

/// How far apart a service's history points are: the metrics source asks
/// for them 5 s apart and the demo simulates them so.
const HISTORY_STEP: Duration = Duration::seconds(5);

/// The times of a service's traffic points: the last at the start of the
/// step the health reading came in, one a step before each.
pub(super) fn service_timeline(app: &App, s: &ServiceHealth) -> Option<Timeline> {
    timeline(app, s.traffic_history.len())
}

/// `points` steps ending at the step the health reading came in.
fn timeline(app: &App, points: usize) -> Option<Timeline> {
    let updated = app.estate.health.updated?;
    let step = HISTORY_STEP.num_seconds();
    let last = DateTime::from_timestamp(updated.timestamp().div_euclid(step) * step, 0)?;
    Some(Timeline::ending(last, HISTORY_STEP, points))
}

/// The points of five minutes at the history's step, both ends included.
const SPAN_POINTS: usize = 61;

/// The changes known on a service, oldest first: a slice of the change
/// log, which is kept by service.
pub(super) fn of_service<'a>(app: &'a App, service: &str) -> &'a [Change] {
    let log = &app.estate.change_log;
    let from = log.partition_point(|c| c.service.as_str() < service);
    let to = from + log[from..].partition_point(|c| c.service == service);
    &log[from..to]
}

/// The points of a service's traffic line its changes mark.
pub(super) fn service_marks(app: &App, s: &ServiceHealth) -> Vec<usize> {
    service_timeline(app, s).map_or_else(Vec::new, |t| {
        t.indices(of_service(app, &s.name).iter().map(|c| c.at))
    })
}

/// The points of a KPI's trend (a point a minute, the last now) any
/// service's changes mark.
pub(super) fn trend_marks(app: &App, points: usize) -> Vec<usize> {
    let t = Timeline::ending(app.now, TREND_STEP, points);
    t.indices(app.estate.change_log.iter().map(|c| c.at))
}

/// `values` drawn `width` wide, a `│` in the warn style put in before the
/// column of each point `marks` names (the glyph alone says it in `mono`);
/// the line drawn a column narrower for each, so nothing of it is lost and
/// the width is kept. Too narrow for its marks, the line alone.
pub(super) fn sparkline(
    app: &App,
    values: &[f64],
    width: usize,
    marks: &[usize],
    style: Style,
) -> Vec<Span<'static>> {
    let wanted = markers::columns(marks, values.len(), width).len();
    let inner = width.saturating_sub(wanted);
    if wanted == 0 || inner == 0 {
        return vec![Span::styled(format::sparkline(values, width), style)];
    }
    let line = format::sparkline(values, inner);
    let columns = markers::columns(marks, values.len(), inner);
    markers::marked(&line, &columns)
        .into_iter()
        .map(|(run, mark)| Span::styled(run, if mark { app.theme.warn } else { style }))
        .collect()
}

/// The changes of a service within the last five minutes (its traffic
/// line's span, whether or not the line has come yet), newest first:
/// `checkout v3.2.40 canary 25% 2m ago`.
pub(super) fn service_changes(app: &App, s: &ServiceHealth) -> Vec<String> {
    let Some(t) = timeline(app, SPAN_POINTS.max(s.traffic_history.len())) else {
        return Vec::new();
    };
    let mut found: Vec<String> = of_service(app, &s.name)
        .iter()
        .filter(|c| t.index(c.at).is_some())
        .map(|c| {
            let what = crate::text::clean(&c.what);
            format!("{what} {} ago", markers::ago(app.now - c.at))
        })
        .collect();
    found.reverse();
    found
}

/// The details' `traffic 5m` line, marked.
pub(super) fn traffic_line(app: &App, s: &ServiceHealth) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!(" {:<17}", "traffic 5m"),
        app.theme.muted,
    )];
    let marks = service_marks(app, s);
    spans.extend(sparkline(
        app,
        &s.traffic_history,
        60,
        &marks,
        app.theme.text,
    ));
    Line::from(spans)
}

/// The details' lines naming the changes on the traffic line, or saying
/// there were none; `field` lays out a name and a value.
pub(super) fn change_lines(
    app: &App,
    s: &ServiceHealth,
    field: &dyn Fn(&str, String) -> Line<'static>,
) -> Vec<Line<'static>> {
    let changes = service_changes(app, s);
    let said = if changes.is_empty() {
        vec!["none in the last 5m".to_string()]
    } else {
        changes
    };
    (said.into_iter().enumerate())
        .map(|(n, c)| field(if n == 0 { "changes (│)" } else { "" }, c))
        .collect()
}
