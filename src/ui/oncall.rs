//! Who is on call, as the Incidents tab's first line, the kiosk header and
//! an incident's details say it: `on call: Ana Silva (platform) until 18:00
//! · next Bo Chen`. Computed from the schedules in state and the app's
//! clock; no I/O.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::App;
use crate::domain::oncall::Schedule;

/// The Incidents tab's body split into the on-call line (when there are
/// schedules and room for it) and what is left for the tables.
pub fn split(app: &App, body: Rect) -> (Option<Rect>, Rect) {
    if app.oncall.is_empty() || body.height < 10 {
        return (None, body);
    }
    let line = Rect { height: 1, ..body };
    let rest = Rect {
        y: body.y + 1,
        height: body.height - 1,
        ..body
    };
    (Some(line), rest)
}

/// Draws the on-call line at the top of the Incidents tab's body.
pub fn draw(frame: &mut Frame, body: Rect, app: &App) {
    let (Some(area), _) = split(app, body) else {
        return;
    };
    let width = area.width as usize;
    let mut spans = vec![Span::styled(" on call: ", app.theme.muted)];
    let mut used = 10;
    let total = app.oncall.len();
    for (i, schedule) in by_incidents(app).into_iter().enumerate() {
        let (text, ok) = describe(schedule, app, true);
        let sep = if i == 0 { "" } else { "  │  " };
        let more = if i + 1 < total {
            format!("  +{} more", total - i - 1).len()
        } else {
            0
        };
        let need = sep.chars().count() + text.chars().count();
        if used + need + more > width && i > 0 {
            spans.push(Span::styled(
                format!("  +{} more", total - i),
                app.theme.muted,
            ));
            break;
        }
        spans.push(Span::styled(sep, app.theme.muted));
        let style = if ok { app.theme.text } else { app.theme.warn };
        spans.push(Span::styled(text, style));
        used += need;
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The schedules whose teams have open incidents first, the most severe
/// first; then the others as declared.
fn by_incidents(app: &App) -> Vec<&Schedule> {
    let worst = |s: &Schedule| {
        app.estate
            .incidents
            .iter()
            .filter(|i| {
                !i.silenced && schedule_of(app, &i.service).is_some_and(|o| o.name == s.name)
            })
            .map(|i| i.severity)
            .max()
    };
    let mut ordered: Vec<(usize, &Schedule)> = app.oncall.iter().enumerate().collect();
    ordered.sort_by_key(|(i, s)| (std::cmp::Reverse(worst(s)), *i));
    ordered.into_iter().map(|(_, s)| s).collect()
}

/// One schedule in words, and false when it could not be read or nobody is
/// on call: `Ana Silva (platform) until 18:00 · next Bo Chen`.
fn describe(s: &Schedule, app: &App, with_next: bool) -> (String, bool) {
    let o = s.on_call(app.now);
    let label = if s.team.is_empty() { &s.name } else { &s.team };
    let time = |t: chrono::DateTime<chrono::Utc>| {
        if t - app.now < chrono::Duration::hours(20) {
            t.format("%H:%M").to_string()
        } else {
            t.format("%a %H:%M").to_string()
        }
    };
    let mut text = match &o.now {
        Some(now) => format!("{} ({label}) until {}", now.person, time(now.end)),
        None => format!("nobody ({label})"),
    };
    if with_next && let Some(next) = &o.next {
        match o.now {
            Some(_) => text.push_str(&format!(" · next {}", next.person)),
            None => text.push_str(&format!(" · next {} at {}", next.person, time(next.start))),
        }
    }
    if let Some(e) = &s.error {
        let first: String = e.chars().take(60).collect();
        text.push_str(&format!(" ⚠ {first}"));
    }
    (text, o.now.is_some() && s.error.is_none())
}

/// The schedule of the team of `service` (by the services' `team`).
fn schedule_of<'a>(app: &'a App, service: &str) -> Option<&'a Schedule> {
    let team = app
        .estate
        .services()
        .iter()
        .find(|s| s.name == service)
        .map(|s| s.team.as_str())
        .filter(|t| !t.is_empty())?;
    app.oncall.iter().find(|s| s.team == team)
}

/// For an incident's details: who is on call for its service's team, or
/// why that is not known; `None` when there are no schedules at all.
pub fn for_service(app: &App, service: &str) -> Option<String> {
    if app.oncall.is_empty() {
        return None;
    }
    Some(match schedule_of(app, service) {
        Some(s) => {
            let (text, _) = describe(s, app, true);
            text
        }
        None => "— (no schedule for this service's team)".into(),
    })
}

/// For the kiosk header: who is on call for the most severe open
/// incident's team, else for the first schedule.
pub fn header(app: &App) -> Option<Span<'static>> {
    let by_incident = app
        .estate
        .incidents
        .iter()
        .filter(|i| !i.silenced)
        .max_by_key(|i| i.severity)
        .and_then(|i| schedule_of(app, &i.service));
    let schedule = by_incident.or(app.oncall.first())?;
    let (text, ok) = describe(schedule, app, false);
    let style = if ok { app.theme.header } else { app.theme.warn };
    Some(Span::styled(format!(" on call: {text} ·"), style))
}
