//! Pop-ups over the current tab: the help generated from the keymap in force,
//! and the details of the selected row: first why it has its state, rule by
//! rule (`domain::explain`), then its figures. Details taller than the
//! screen scroll.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::format;
use super::widgets::{fit_text, panel};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::explain::{self, BurnPair};
use crate::domain::forecast;
use crate::domain::kpi::{Kpi, burn_1h};
use crate::domain::reliability::BurnAlert;
use crate::domain::slo::{availability, backup_rpo, rto_status};
use crate::domain::{ServiceHealth, Status};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(h);
    v
}

/// Rows `line` takes once wrapped as a pop-up wraps it, `width` wide: it is
/// drawn alone into a scratch buffer, as no stable ratatui API counts them.
fn wrapped_rows(line: &Line<'static>, width: u16) -> usize {
    let width = width.max(1);
    let bound = line.width().div_ceil(usize::from(width)) * 2 + 2;
    let area = Rect::new(0, 0, width, bound.min(usize::from(u16::MAX)) as u16);
    let mut buf = Buffer::empty(area);
    Paragraph::new(line.clone())
        .wrap(Wrap { trim: false })
        .render(area, &mut buf);
    (0..area.height)
        .rev()
        .find(|&y| (0..width).any(|x| buf[(x, y)].symbol() != " "))
        .map_or(1, |y| usize::from(y) + 1)
}

/// A pop-up as tall as its lines once wrapped, or the screen. With
/// `scroll`, one taller than the screen shows the rows from that offset,
/// clamped here to what the lines allow, and says where it is.
fn popup(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    title: String,
    lines: Vec<Line<'static>>,
    width: u16,
    scroll: Option<&Cell<u16>>,
) {
    let inner = width.min(area.width).saturating_sub(2).max(1);
    let rows: usize = lines.iter().map(|l| wrapped_rows(l, inner)).sum();
    let rect = centered(area, width, (rows + 2).min(usize::from(u16::MAX)) as u16);
    frame.render_widget(Clear, rect);
    let shown = usize::from(rect.height.saturating_sub(2));
    let last = rows.saturating_sub(shown);
    let offset = scroll.map_or(0, |at| {
        let offset = usize::from(at.get()).min(last);
        at.set(offset as u16);
        offset
    });
    let hint = if last > 0 && scroll.is_some() {
        format!(
            " {}–{} of {} · ↑↓ PgUp PgDn · Esc closes ",
            offset + 1,
            offset + shown,
            rows
        )
    } else {
        " Esc closes ".into()
    };
    let block = panel(
        app,
        title,
        true,
        Span::styled(hint, app.theme.muted),
        rect.width,
    );
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((offset as u16, 0)),
        rect,
    );
}

mod help;
pub use help::help;

fn field(app: &App, name: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!(" {name:<17}"), app.theme.muted),
        Span::styled(value, app.theme.text),
    ])
}

pub fn detail(frame: &mut Frame, area: Rect, app: &App) {
    let id = app.focused_table();
    let Some(row) = app.table(id).selected_row() else {
        return;
    };
    let Some((title, lines)) = detail_lines(app, id, row.index) else {
        return;
    };
    popup(frame, area, app, title, lines, 84, Some(&app.detail_scroll));
}

/// Why a row has its state, a line a rule, worst first, and a blank line.
fn why(app: &App, lines: Vec<explain::Line>) -> Vec<Line<'static>> {
    let th = &app.theme;
    lines
        .into_iter()
        .map(|(status, text)| {
            Line::from(vec![
                Span::styled(
                    format!(" {} {}: ", status.symbol(), status.label()),
                    th.status(status),
                ),
                Span::styled(text, th.text),
            ])
        })
        .chain([Line::from("")])
        .collect()
}

/// A pop-up's title and its lines.
type Detail = (String, Vec<Line<'static>>);

/// The details of row `i` of table `id`; `None` when the row's item is gone
/// from the feed's data.
fn detail_lines(app: &App, id: TableId, i: usize) -> Option<Detail> {
    match id {
        TableId::Slo | TableId::Services => service_detail(app, id, i),
        TableId::Kpis => kpi_detail(app, i),
        TableId::Hosts => host_detail(app, i),
        TableId::Deployments => deployment_detail(app, i),
        TableId::Backups => backup_detail(app, i),
        TableId::Incidents => incident_detail(app, i),
        TableId::Silences => silence_detail(app, i),
    }
}

/// A service's details; on the KPI tab's table its state is its SLO's
/// standing, on the Health tab every signal's.
fn service_detail(app: &App, id: TableId, i: usize) -> Option<Detail> {
    let s = &app.estate.health.data.as_ref()?.services.get(i)?;
    // Its traffic line is drawn here too, on whichever tab: asked for.
    *app.detail_drawn.borrow_mut() = Some(s.name.clone());
    let f = |name: &str, value: String| field(app, name, value);
    let objective = app.settings.objectives.availability;
    let rules = if id == TableId::Slo {
        explain::slo(s, objective)
    } else {
        explain::service(s, &app.settings.thresholds, &app.settings.objectives)
    };
    let latency = format!(
        "{} / {}",
        format::millis(s.latency_p95_ms),
        format::millis(s.latency_p99_ms)
    );
    let availability =
        availability(s.sli).map_or("unknown (no traffic)".into(), |a| format::percent(a, 4));
    let burn = burn_1h(s, objective).map_or("—".into(), |b| format::factor(b, 2));
    let mut lines = why(app, rules);
    lines.extend([
        f("tier", s.tier.label().into()),
        f("team", s.team.clone()),
        f("cluster", s.cluster.clone().unwrap_or_else(|| "—".into())),
        f("requests/s", format::rate(s.requests_per_second)),
        f("error ratio", format::percent(s.error_ratio, 3)),
        f("latency p95/p99", latency),
        f("saturation", format::percent(s.saturation, 0)),
        f(
            "targets up",
            format!("{} of {}", s.targets_up, s.targets_total),
        ),
        f("availability 30d", availability),
        f("burn rate 1h", burn),
        f(
            "budget forecast",
            forecast::service_budget(s, objective, app.settings.objectives.slo_window)
                .map_or("—".into(), |b| b.text()),
        ),
        f("p95 5m", format::sparkline(&s.latency_history, 60)),
    ]);
    lines.insert(lines.len() - 1, super::markers::traffic_line(app, s));
    lines.extend(super::markers::change_lines(app, s, &f));
    lines.extend(via_lines(app, s));
    Some((s.name.clone(), lines))
}

/// Where a service's figures come from: the convention and the label that
/// named it, and what other conventions also name it; or, for a service
/// known only from another feed, what is missing.
fn via_lines(app: &App, s: &crate::domain::ServiceHealth) -> Vec<Line<'static>> {
    use crate::domain::Via;
    let f = |name: &str, value: String| field(app, name, value);
    match &s.via {
        Via::Simulated => vec![f("from", "the demo's simulated estate".into())],
        Via::Sli(v) => {
            let c = &v.convention;
            let mut lines = vec![
                f(
                    "convention",
                    format!("{} ({}, {})", c.name, c.title, c.kind.label()),
                ),
                f(
                    "named by",
                    if v.label.is_empty() {
                        "the configuration".into()
                    } else {
                        format!("label {}", v.label)
                    },
                ),
                f("counts", c.describe().0),
                f("latency from", c.describe().1),
            ];
            if !v.also.is_empty() {
                lines.push(f(
                    "also named by",
                    format!(
                        "{} (read from {}, the {})",
                        v.also.join(", "),
                        c.name,
                        c.kind.label()
                    ),
                ));
            }
            if !c.note.is_empty() {
                lines.push(f("note", c.note.clone()));
            }
            lines
        }
        Via::Only(feed) => {
            let looked = app
                .estate
                .health
                .data
                .as_ref()
                .map_or("", |h| h.looked_for.as_str());
            vec![
                f("known from", (*feed).into()),
                f("missing", format!("no request metrics name it ({looked})")),
            ]
        }
    }
}

/// The convention and label a service's figures are read by, for a KPI's
/// parts: `flask by job`; empty for anything that is not such a service.
fn read_by(app: &App, name: &str) -> String {
    match app
        .estate
        .services()
        .iter()
        .find(|s| s.name == name)
        .map(|s| &s.via)
    {
        Some(crate::domain::Via::Sli(v)) if v.label.is_empty() => v.convention.name.clone(),
        Some(crate::domain::Via::Sli(v)) => format!("{} by {}", v.convention.name, v.label),
        _ => String::new(),
    }
}

/// What makes up a KPI: its value and state, its trend, every part it
/// keeps, worst first (the burn rate's with each window's burn and the pair
/// that pages or tickets), and the queries it comes from with the PromQL in
/// force.
fn kpi_detail(app: &App, i: usize) -> Option<Detail> {
    let k = app.estate.kpis.get(i)?;
    let th = &app.theme;
    let f = |name: &str, value: String| field(app, name, value);
    let value = k
        .value
        .map_or("unknown".into(), |v| format::value(k.unit, v));
    let (objective, _) = format::objective(k);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!(" {} {}  ", k.status.symbol(), k.status.label()),
                th.status(k.status),
            ),
            Span::styled(value, th.status(k.status)),
            Span::styled(format!("  {objective}"), th.muted),
        ]),
        f("why", k.note.clone()),
    ];
    if let (Some(first), Some(last)) = (k.trend.first(), k.trend.last()) {
        lines.push(f(
            "last hour",
            format!(
                "{}  {} → {}",
                format::sparkline(&k.trend, 40),
                format::value(k.unit, *first),
                format::value(k.unit, *last)
            ),
        ));
    }
    if !k.parts.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!(" made of {}, worst first", k.parts.total),
            th.accent,
        )));
        if k.id == "burn_rate" {
            lines.extend(burn_parts(app, k));
        } else {
            lines.extend(k.parts.iter().map(|p| part_line(app, p)));
        }
        if k.parts.total > k.parts.len() {
            lines.push(Line::from(Span::styled(
                format!(" … and {} more, not kept", k.parts.total - k.parts.len()),
                th.muted,
            )));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(" from the queries", th.accent)));
    for name in k.queries {
        let derived = app
            .estate
            .health
            .data
            .as_ref()
            .map(|h| h.looked_for.as_str());
        let text = match app.settings.queries.get(name) {
            Some(text) => text.as_str(),
            None if app.settings.demo => "simulated by the demo estate",
            None => match derived {
                Some(found) if !found.is_empty() => found,
                _ => "derived from the SLI in force; no answer yet",
            },
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {name}  "), th.text),
            Span::styled(text.to_string(), th.muted),
        ]));
    }
    Some((k.title.clone(), lines))
}

/// A part of a KPI: its state, name, value and what its figures are read by.
fn part_line(app: &App, p: &crate::domain::kpi::Part) -> Line<'static> {
    let th = &app.theme;
    let value = p
        .value
        .map_or("unknown".into(), |v| format::value(p.unit, v));
    Line::from(vec![
        Span::styled(
            format!(" {} {:<8}", p.status.symbol(), p.status.label()),
            th.status(p.status),
        ),
        Span::styled(format!("{:<30}", fit_text(&p.name, 29)), th.text),
        Span::styled(format!("{:<12}", fit_text(&value, 11)), th.text),
        Span::styled(fit_text(&read_by(app, &p.name), 28), th.muted),
    ])
}

/// Width of a burn window's column in the burn rate's drill-down.
const WINDOW: usize = 6;

/// The burn rate's parts: each service's burn over every window the SRE
/// workbook's alert reads, and which pair of windows pages or tickets.
fn burn_parts(app: &App, k: &Kpi) -> Vec<Line<'static>> {
    let th = &app.theme;
    let objective = app.settings.objectives.availability;
    let rule = |text: &str| Line::from(Span::styled(text.to_string(), th.muted));
    let mut header = format!("   {:<17}", "service");
    for (name, _) in explain::burn_windows(&Default::default()) {
        header.push_str(&format!("{name:>WINDOW$}"));
    }
    header.push_str("  alert");
    let mut lines = vec![
        rule(" a page when 1h and 5m both burn over 14.4, or 6h and 30m over 6;"),
        rule(" a ticket when 1d and 2h both burn over 3, or 3d and 6h over 1"),
        Line::from(Span::styled(header, th.accent)),
    ];
    let services = app.estate.services();
    for p in k.parts.iter() {
        let service = services.iter().find(|s| s.name == p.name);
        lines.push(burn_row(app, p.status, &p.name, service, objective));
    }
    lines
}

/// One service's row in the burn rate's drill-down: its state, each
/// window's burn (in the state's colour where a firing pair reads it) and
/// the pair that fires.
fn burn_row(
    app: &App,
    status: Status,
    name: &str,
    service: Option<&ServiceHealth>,
    objective: f64,
) -> Line<'static> {
    let th = &app.theme;
    let mut spans = vec![
        Span::styled(format!(" {} ", status.symbol()), th.status(status)),
        Span::styled(format!("{:<17}", fit_text(name, 16)), th.text),
    ];
    let Some(s) = service else {
        spans.push(Span::styled("its windows are not known", th.muted));
        return Line::from(spans);
    };
    let rates = s.error_ratios.burn_rates(s.objective_or(objective));
    let pairs = explain::burn_pairs(&rates);
    let firing: Vec<&BurnPair> = pairs.iter().filter(|p| p.fires() == Some(true)).collect();
    for (window, rate) in explain::burn_windows(&rates) {
        let hot = firing
            .iter()
            .filter(|p| p.long.0 == window || p.short.0 == window)
            .map(|p| match p.alert {
                BurnAlert::Page => Status::Crit,
                _ => Status::Warn,
            })
            .max();
        // Whole multiples from 100x, so a column of six holds them.
        let text = rate.map_or("—".into(), |r| format::factor(r, usize::from(r < 100.0)));
        let style = hot.map_or(th.text, |h| th.status(h));
        spans.push(Span::styled(
            format!("{:>WINDOW$}", fit_text(&text, WINDOW - 1)),
            style,
        ));
    }
    let verdict = match firing.first() {
        Some(p) => {
            let kind = if p.alert == BurnAlert::Page {
                "page"
            } else {
                "ticket"
            };
            format!("  {kind} {}&{}", p.long.0, p.short.0)
        }
        None if pairs.iter().all(|p| p.fires().is_none()) => "  1h alone".into(),
        None => "  none".into(),
    };
    spans.push(Span::styled(verdict, th.status(status)));
    Line::from(spans)
}

fn host_detail(app: &App, i: usize) -> Option<Detail> {
    let h = &app.estate.health.data.as_ref()?.hosts.get(i)?;
    let f = |name: &str, value: String| field(app, name, value);
    let mut lines = why(app, explain::host(h, &app.settings.thresholds));
    lines.extend([
        f("up", if h.up { "yes".into() } else { "NO".into() }),
        f("cpu", format::share(h.cpu, 1)),
        f("memory", format::share(h.memory, 1)),
        f("disk", format::share(h.disk, 1)),
        f("disk forecast", forecast::full_in_text(h.full_in)),
        f("cpu 5m", format::sparkline(&h.cpu_history, 60)),
    ]);
    Some((h.name.clone(), lines))
}

fn deployment_detail(app: &App, i: usize) -> Option<Detail> {
    let d = &app.estate.deployments.data.as_ref()?.get(i)?;
    let f = |name: &str, value: String| field(app, name, value);
    let deployed = d.deployed_at.map_or("unknown".into(), |at| {
        format!(
            "{} ({})",
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            format::ago(app.now - at)
        )
    });
    let deadline = app.settings.thresholds.progress_deadline;
    let mut lines = why(app, explain::deployment(d, app.now, deadline));
    lines.extend([
        f("environment", d.environment.clone()),
        f("version", d.version.clone()),
        f(
            "previous",
            d.previous_version.clone().unwrap_or_else(|| "—".into()),
        ),
        f(
            "strategy",
            format!("{} · {}", d.strategy.label(), d.strategy.progress()),
        ),
        f(
            "phase",
            if d.stalled(app.now, app.settings.thresholds.progress_deadline) {
                format!(
                    "{}, stalled: past the {} deadline (thresholds.progress_deadline)",
                    d.phase.label(),
                    format::duration(app.settings.thresholds.progress_deadline)
                )
            } else {
                d.phase.label().into()
            },
        ),
        f("deployed", deployed),
        f("rollbacks", d.rollbacks.to_string()),
        Line::from(""),
        Line::from(Span::styled(" history", app.theme.accent)),
    ]);
    lines.extend(d.history.iter().map(|h| {
        f(
            &h.version,
            format!("{}  {}", h.at.format("%Y-%m-%d %H:%M"), h.outcome.label()),
        )
    }));
    Some((d.service.clone(), lines))
}

fn backup_detail(app: &App, i: usize) -> Option<Detail> {
    let b = &app.estate.backups.data.as_ref()?.get(i)?;
    let f = |name: &str, value: String| field(app, name, value);
    let obj = b.tier.objectives();
    let (age, rpo) = backup_rpo(b, app.now);
    let tier = format!(
        "{} (RPO {}, RTO {})",
        b.tier.label(),
        format::short_duration(obj.rpo),
        format::short_duration(obj.rto)
    );
    let last_success = age.map_or("never".into(), |a| {
        format!("{} — {}", format::ago(a), rpo.label())
    });
    let verified = b
        .last_verified
        .map_or("never".into(), |v| format::ago(app.now - v));
    let drill = b.last_drill.map_or("never".into(), |d| {
        format!(
            "{} — measured RTO {}",
            format::ago(app.now - d.at),
            d.measured_rto.map_or("unknown".into(), format::duration)
        )
    });
    let mut lines = why(app, explain::backup(b, app.now));
    lines.extend([
        f("tier", tier),
        f("last success", last_success),
        f("size", format::bytes(b.size_bytes)),
        f(
            "duration",
            b.duration.map_or("unknown".into(), format::duration),
        ),
        f("last verified", verified),
        f("last DR drill", drill),
        f("RTO state", rto_status(b, obj, app.now).label().into()),
    ]);
    Some((b.target.clone(), lines))
}

fn incident_detail(app: &App, i: usize) -> Option<Detail> {
    let inc = app.estate.incidents.get(i)?;
    let f = |name: &str, value: String| field(app, name, value);
    let started = format!(
        "{} ({} ago)",
        inc.started.format("%Y-%m-%d %H:%M:%S UTC"),
        format::duration(inc.duration(app.now))
    );
    let silenced = if inc.silenced { "yes" } else { "no" };
    let mut lines = why(app, explain::incident(inc));
    lines.extend([
        f("severity", inc.severity.label().into()),
        f("started", started),
        f("alerts", inc.alert_count.to_string()),
        f("summary", inc.summary.clone()),
        f("runbook", inc.runbook.clone().unwrap_or_else(|| "—".into())),
    ]);
    lines.extend(super::oncall::for_service(app, &inc.service).map(|who| f("on call", who)));
    lines.extend([
        f("silenced", silenced.into()),
        f("inhibited", if inc.inhibited { "yes" } else { "no" }.into()),
        f("reported by", inc.sources.join(", ")),
    ]);
    // What changed on its service in the lead time before it, newest first.
    let changes = app.estate.changes.get(i).map_or(&[][..], |c| &c[..]);
    let lead = format::short_duration(app.settings.change_lead);
    match changes {
        [] => lines.push(f("changed before", format!("nothing in the {lead} before"))),
        _ => lines.extend(changes.iter().map(|c| f("changed before", c.describe()))),
    }
    Some((format!("{} · {}", inc.name, inc.service), lines))
}

fn silence_detail(app: &App, i: usize) -> Option<Detail> {
    let s = &app.estate.alerts.data.as_ref()?.silences.get(i)?;
    let f = |name: &str, value: String| field(app, name, value);
    let lines = vec![
        f("matchers", s.matchers.clone()),
        f("created by", s.created_by.clone()),
        f("comment", s.comment.clone()),
        f(
            "starts",
            s.starts_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        f("ends", s.ends_at.format("%Y-%m-%d %H:%M UTC").to_string()),
    ];
    Some((format!("silence {}", s.id), lines))
}
