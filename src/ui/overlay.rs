//! Pop-ups over the current tab: the help generated from the keymap in force,
//! and the details of the selected row.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::format;
use super::widgets::{fit_text, panel};
use crate::app::App;
use crate::app::command::Command;
use crate::app::tab::TableId;
use crate::domain::kpi::burn_1h;
use crate::domain::slo::{availability, rpo_status, rto_status};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(h);
    v
}

fn popup(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    title: String,
    lines: Vec<Line<'static>>,
    width: u16,
) {
    // As tall as the lines once wrapped, so nothing is cut off below.
    let inner = width.min(area.width).saturating_sub(2).max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let rect = centered(area, width, rows as u16 + 2);
    frame.render_widget(Clear, rect);
    let hint = Span::styled(" Esc closes ", app.theme.muted);
    let block = panel(app, title, true, hint, rect.width);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

const HELP_WIDTH: u16 = 72;

/// Each command with the keys bound to it, in the help's order.
fn bindings(app: &App) -> Vec<(String, &'static str)> {
    Command::ALL
        .iter()
        .map(|&c| {
            let keys = app.keymap.keys_for(c);
            let keys = if keys.is_empty() {
                "(unbound)".to_string()
            } else {
                // A chord's keys are joined by a space; bindings by a comma.
                keys.join(", ")
            };
            (keys, c.description())
        })
        .collect()
}

fn one_column(app: &App, entries: &[(String, &'static str)]) -> Vec<Line<'static>> {
    let th = &app.theme;
    entries
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<18}"), th.accent),
                Span::styled(*what, th.text),
            ])
        })
        .collect()
}

/// Two commands a line, each cut to half the width, for short screens.
fn two_columns(app: &App, entries: &[(String, &'static str)], inner: usize) -> Vec<Line<'static>> {
    let th = &app.theme;
    let text_width = (inner / 2).saturating_sub(13);
    let cell = |(keys, what): &(String, &str)| {
        vec![
            Span::styled(format!(" {:<12}", fit_text(keys, 12)), th.accent),
            Span::styled(
                format!("{:<text_width$}", fit_text(what, text_width)),
                th.text,
            ),
        ]
    };
    let half = entries.len().div_ceil(2);
    (0..half)
        .map(|row| {
            let mut spans = cell(&entries[row]);
            if let Some(right) = entries.get(row + half) {
                spans.extend(cell(right));
            }
            Line::from(spans)
        })
        .collect()
}

/// The bindings in force, one command a line, or two a line when the screen
/// is too short for one; then the keymap and theme; every problem found in a
/// file, in full, first of all.
pub fn help(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.theme;
    let entries = bindings(app);
    let names = format!(" keymap: {} · theme: {}", app.keymap.name, app.theme.name);
    let mut after = vec![Line::from(""), Line::from(Span::styled(names, th.muted))];
    after.extend(
        app.problems
            .iter()
            .map(|p| Line::from(Span::styled(format!(" ⚠ {p}"), th.warn))),
    );
    let inner = HELP_WIDTH.min(area.width).saturating_sub(2) as usize;
    let after_rows: usize = after
        .iter()
        .map(|l| l.width().div_ceil(inner.max(1)).max(1))
        .sum();
    let bindings = if entries.len() + after_rows + 2 <= area.height as usize {
        one_column(app, &entries)
    } else {
        two_columns(app, &entries, inner)
    };
    // Problems in files come first, where a short screen cannot cut them
    // off; the bindings follow.
    let lines = if app.problems.is_empty() {
        bindings.into_iter().chain(after).collect()
    } else {
        after
            .into_iter()
            .skip(1)
            .chain([Line::from("")])
            .chain(bindings)
            .collect()
    };
    popup(frame, area, app, "Keys".into(), lines, HELP_WIDTH);
}

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
    popup(frame, area, app, title, lines, 84);
}

/// A pop-up's title and its lines.
type Detail = (String, Vec<Line<'static>>);

/// The details of row `i` of table `id`; `None` when the row's item is gone
/// from the feed's data.
fn detail_lines(app: &App, id: TableId, i: usize) -> Option<Detail> {
    match id {
        TableId::Slo | TableId::Services => service_detail(app, i),
        TableId::Kpis => kpi_detail(app, i),
        TableId::Hosts => host_detail(app, i),
        TableId::Deployments => deployment_detail(app, i),
        TableId::Backups => backup_detail(app, i),
        TableId::Incidents => incident_detail(app, i),
        TableId::Silences => silence_detail(app, i),
    }
}

fn service_detail(app: &App, i: usize) -> Option<Detail> {
    let s = &app.estate.health.data.as_ref()?.services.get(i)?;
    let f = |name: &str, value: String| field(app, name, value);
    let objective = app.settings.objectives.availability;
    let latency = format!(
        "{} / {}",
        format::millis(s.latency_p95_ms),
        format::millis(s.latency_p99_ms)
    );
    let availability =
        availability(s.sli).map_or("unknown (no traffic)".into(), |a| format::percent(a, 4));
    let burn = burn_1h(s, objective).map_or("—".into(), |b| format::factor(b, 2));
    let lines = vec![
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
        f("traffic 5m", format::sparkline(&s.traffic_history, 60)),
        f("p95 5m", format::sparkline(&s.latency_history, 60)),
    ];
    let mut lines = lines;
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

/// Parts listed in a KPI's drill-down; the rest are counted.
const PARTS_SHOWN: usize = 12;

/// What makes up a KPI: its value and state, its trend, its parts worst
/// first, and the queries it comes from with the PromQL in force.
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
        for p in k.parts.iter().take(PARTS_SHOWN) {
            let value = p
                .value
                .map_or("unknown".into(), |v| format::value(p.unit, v));
            lines.push(Line::from(vec![
                Span::styled(
                    format!(" {} {:<8}", p.status.symbol(), p.status.label()),
                    th.status(p.status),
                ),
                Span::styled(format!("{:<32}", fit_text(&p.name, 32)), th.text),
                Span::styled(format!("{value:<12}"), th.text),
                Span::styled(read_by(app, &p.name), th.muted),
            ]));
        }
        if k.parts.total > PARTS_SHOWN {
            lines.push(Line::from(Span::styled(
                format!(" … and {} more", k.parts.total - PARTS_SHOWN),
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

fn host_detail(app: &App, i: usize) -> Option<Detail> {
    let h = &app.estate.health.data.as_ref()?.hosts.get(i)?;
    let f = |name: &str, value: String| field(app, name, value);
    let lines = vec![
        f("up", if h.up { "yes".into() } else { "NO".into() }),
        f("cpu", format::share(h.cpu, 1)),
        f("memory", format::share(h.memory, 1)),
        f("disk", format::share(h.disk, 1)),
        f("cpu 5m", format::sparkline(&h.cpu_history, 60)),
    ];
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
    let mut lines = vec![
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
    ];
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
    let (age, rpo) = rpo_status(b.last_success, obj, app.now);
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
    let lines = vec![
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
    ];
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
    let lines = vec![
        f("severity", inc.severity.label().into()),
        f("started", started),
        f("alerts", inc.alert_count.to_string()),
        f("summary", inc.summary.clone()),
        f("runbook", inc.runbook.clone().unwrap_or_else(|| "—".into())),
        f("silenced", silenced.into()),
        f("inhibited", if inc.inhibited { "yes" } else { "no" }.into()),
        f("reported by", inc.sources.join(", ")),
    ];
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
