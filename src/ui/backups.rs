//! Tab 4: could we recover? Age of the last good backup against the tier's
//! RPO, verification, and the last DR drill's RTO against its objective.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Cell;

use super::format;
use super::widgets::{
    Column, Reason, TablePanel, col, freshness, panel as bordered, reasons, status_cell, table,
    widen,
};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::slo::{backup_rpo, backup_status, rto_status, verified_status};
use crate::domain::{Backup, Status};

const COLUMNS: [Column; 11] = [
    col("State", 9, 0),
    col("Target", 16, 0),
    col("Tier", 12, 4),
    col("Last good", 10, 1),
    col("RPO", 5, 1),
    col("Size", 9, 5),
    col("Took", 8, 6),
    col("Kept", 11, 7),
    col("Verified", 9, 3),
    col("DR drill", 9, 2),
    col("RTO / objective", 16, 2),
];

/// Lines under the table for the selected target, when the tab is tall
/// enough: where it is read from, what its repository keeps, its last
/// check and anything its tool said, in full.
const DETAIL_LINES: u16 = 2;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let list = app.estate.backups.data.as_deref().unwrap_or(&[]);
    let selected = app
        .table(TableId::Backups)
        .selected_row()
        .and_then(|r| list.get(r.index));
    let (area, below) = match selected {
        Some(b) if area.height >= 14 && area.width >= 60 => {
            let [table, detail] = ratatui::layout::Layout::vertical([
                ratatui::layout::Constraint::Min(0),
                ratatui::layout::Constraint::Length(DETAIL_LINES + 2),
            ])
            .areas(area);
            (table, Some((detail, b)))
        }
        _ => (area, None),
    };
    draw_table(frame, area, app);
    if let Some((at, b)) = below {
        let title = crate::text::clean(&b.target).into_owned();
        let block = bordered(app, title, false, Default::default(), at.width);
        let text = ratatui::widgets::Paragraph::new(detail(b, app.now))
            .wrap(ratatui::widgets::Wrap { trim: true })
            .block(block);
        frame.render_widget(text, at);
    }
}

/// The selected target in words (cleaned: a tool's words are a remote
/// string).
fn detail(b: &Backup, now: DateTime<Utc>) -> Vec<ratatui::text::Line<'static>> {
    let clean = |t: &str| crate::text::clean(t).into_owned();
    let mut first = vec![match b.tool {
        Some(tool) => format!("read from {tool}"),
        None => "from metrics".into(),
    }];
    if let Some(k) = b.kept {
        first.push(match k.oldest {
            Some(oldest) => format!("{} kept, oldest {}", k.count, format::ago(now - oldest)),
            None => format!("{} kept", k.count),
        });
    }
    if let Some(service) = &b.service {
        first.push(format!("service {}", clean(service)));
    }
    first.push(match b.last_drill {
        Some(d) => format!(
            "drilled {}: RTO {} of {}",
            format::ago(now - d.at),
            d.measured_rto.map_or("unknown".into(), format::duration),
            format::short_duration(b.tier.objectives().rto)
        ),
        None => "never drilled".into(),
    });
    let second = match (&b.problem, &b.check) {
        (Some(problem), _) => format!("cannot read it: {}", clean(problem)),
        (None, Some(c)) if c.passed => format!("checked {}: passed", format::ago(now - c.at)),
        (None, Some(c)) => format!(
            "check {} failed: {}",
            format::ago(now - c.at),
            clean(&c.words)
        ),
        (None, None) if b.tool.is_some() => "not checked yet".into(),
        (None, None) => match b.last_verified {
            Some(v) => format!(
                "last verified {} (as its metrics say)",
                format::ago(now - v)
            ),
            None => "never verified (as its metrics say)".into(),
        },
    };
    vec![
        ratatui::text::Line::from(first.join(" · ")),
        ratatui::text::Line::from(second),
    ]
}

fn draw_table(frame: &mut Frame, area: Rect, app: &App) {
    let panel = &app.estate.backups;
    let right = freshness(app, panel);
    let list = panel.data.as_deref().unwrap_or(&[]);
    let th = &app.theme;
    let columns = widen(&COLUMNS, 1, list.iter().map(|b| b.target.as_str()));
    let explain = |i: usize| backup_reasons(&list[i], app.now);
    let spec = TablePanel::new(app, TableId::Backups, &columns, right).explained_by(&explain);
    table(frame, area, app, spec, |i, fit| {
        let b = &list[i];
        let obj = b.tier.objectives();
        let (age, rpo) = backup_rpo(b, app.now);
        let rto = rto_status(b, obj, app.now);
        let drill = b
            .last_drill
            .map_or("never".into(), |d| format::ago(app.now - d.at));
        let measured = b.last_drill.map_or("untested".into(), |d| {
            format!(
                "{} / {}",
                d.measured_rto
                    .map_or("RTO unknown".into(), format::duration),
                format::short_duration(obj.rto)
            )
        });
        vec![
            status_cell(app, backup_status(b, app.now)),
            fit.text("Target", &b.target),
            Cell::from(b.tier.label()),
            Cell::from(match (age, rpo) {
                (Some(age), _) => format::ago(age),
                (None, Status::Unknown) => "unknown".into(),
                (None, _) => "never".into(),
            })
            .style(th.value(rpo)),
            Cell::from(format::short_duration(obj.rpo)),
            Cell::from(format::bytes(b.size_bytes)),
            Cell::from(b.duration.map_or("—".into(), format::short_duration)),
            Cell::from(kept(b, app.now)),
            Cell::from(verified(b, app.now)).style(th.value(verified_status(b, app.now))),
            Cell::from(drill),
            Cell::from(measured).style(th.value(rto)),
        ]
    });
}

/// "42 · 30d": the snapshots a repository keeps and the age of the oldest,
/// where its tool says.
fn kept(b: &Backup, now: DateTime<Utc>) -> String {
    match b.kept {
        Some(k) => match k.oldest {
            Some(oldest) if k.count > 0 => {
                format!("{} · {}", k.count, format::short_duration(now - oldest))
            }
            _ => k.count.to_string(),
        },
        None => "—".into(),
    }
}

/// When the backup was last verified, or that its tool's last check failed.
fn verified(b: &Backup, now: DateTime<Utc>) -> String {
    match &b.check {
        Some(c) if verified_status(b, now) == Status::Crit => {
            format!("✖ {}", format::ago(now - c.at))
        }
        _ => b
            .last_verified
            .map_or("never".into(), |v| format::ago(now - v)),
    }
}

/// The columns that give a backup its state, by the rules of `backup_status`:
/// the age of the last good one and its RPO for the RPO; the drill's age for
/// a drill too old or never held, its measured RTO otherwise; when it was
/// last verified.
fn backup_reasons(b: &Backup, now: DateTime<Utc>) -> Vec<Reason> {
    let obj = b.tier.objectives();
    let rpo = backup_rpo(b, now).1;
    let rto = rto_status(b, obj, now);
    let rto_column = if rto == Status::Warn || b.last_drill.is_none() {
        "DR drill"
    } else {
        "RTO / objective"
    };
    reasons(
        backup_status(b, now),
        [
            ("Last good", rpo),
            ("RPO", rpo),
            (rto_column, rto),
            ("Verified", verified_status(b, now)),
        ],
    )
}
