//! Actions on screen: the confirmation dialog (what will run, on what, in
//! which environment; Cancel first), the output pane of a run, and the
//! history of runs, this session's and the audit log's.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::format;
use super::widgets::{fit_text, panel};
use crate::actions::ActionOutcome;
use crate::app::App;
use crate::app::actions::{Focus, Run, is_production, normalise_environment};
use crate::app::history::HistoryEntry;
use crate::text::clean;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(h);
    v
}

const DIALOG_WIDTH: u16 = 84;

pub fn confirm(frame: &mut Frame, area: Rect, app: &App) {
    let Some(d) = app.actions.confirm.as_ref() else {
        return;
    };
    let th = &app.theme;
    let inner = DIALOG_WIDTH.min(area.width).saturating_sub(2) as usize;
    let label = |text: &str| Span::styled(format!(" {text:<12}"), th.muted);
    // Shown escaped; an oddly written one says how it is read.
    let environment = if d.request.environment.is_empty() {
        "—".to_string()
    } else {
        let shown = clean(&d.request.environment).into_owned();
        let read = normalise_environment(&d.request.environment);
        if read != shown {
            format!("\"{shown}\"  (read as {read})")
        } else {
            shown
        }
    };
    let env_style = if is_production(&d.request.environment) {
        th.crit
    } else {
        th.text
    };
    let mut lines = vec![
        Line::from(vec![
            label("target"),
            Span::styled(d.request.target.clone(), th.accent),
        ]),
        Line::from(vec![
            label("environment"),
            Span::styled(environment, env_style),
        ]),
        Line::from(vec![
            label("timeout"),
            Span::styled(format::duration(d.request.timeout), th.text),
        ]),
        Line::from(""),
    ];
    if !d.details.is_empty() {
        lines.extend(d.details.iter().map(|(name, value)| {
            let value = if value.is_empty() { "—" } else { value };
            Line::from(vec![
                label(name),
                // A warning reads as one (a rollback rolled back lately).
                Span::styled(
                    clean(value).into_owned(),
                    if *name == "warning" || name.is_empty() {
                        th.warn
                    } else {
                        th.text
                    },
                ),
            ])
        }));
        lines.push(Line::from(""));
    }
    // What will run, wrapped here (a long path breaks where it must) so
    // that the dialog's height is known and its buttons always show.
    let mut will_run: Vec<String> = Vec::new();
    match &d.description {
        Ok(parts) => {
            lines.push(Line::from(Span::styled(" will run:", th.muted)));
            will_run = parts
                .iter()
                .flat_map(|p| wrapped(p, inner, "   ", "     "))
                .collect();
        }
        Err(why) => lines.push(Line::from(Span::styled(
            format!(" cannot run: {why}"),
            th.crit,
        ))),
    }
    let focused = |f: Focus| if d.focus == f { th.selection } else { th.text };
    let mut after: Vec<Line> = Vec::new();
    if !d.fields.is_empty() {
        after.push(Line::from(""));
    }
    for (i, field) in d.fields.iter().enumerate() {
        let cursor = if d.focus == Focus::Field(i) {
            "▏"
        } else {
            ""
        };
        after.push(Line::from(vec![
            label(field.label),
            Span::styled(format!("{}{cursor}", field.value), focused(Focus::Field(i))),
        ]));
    }
    if d.needs_name {
        let cursor = if d.focus == Focus::Name { "▏" } else { "" };
        after.push(Line::from(""));
        let case = if d.fold_case { " (any case)" } else { "" };
        after.push(Line::from(vec![
            Span::styled(
                format!(" type {}{case} to confirm: ", clean(&d.expected)),
                th.warn,
            ),
            Span::styled(format!("{}{cursor}", clean(&d.typed)), focused(Focus::Name)),
        ]));
    }
    if let Some(problem) = &d.problem {
        after.push(Line::from(Span::styled(format!(" {problem}"), th.crit)));
    }
    after.push(Line::from(""));
    let run_style = if d.ready() {
        focused(Focus::Run)
    } else {
        th.muted
    };
    after.push(Line::from(vec![
        Span::raw(" "),
        Span::styled("[ Cancel ]", focused(Focus::Cancel)),
        Span::raw("   "),
        Span::styled("[ Run ]", run_style),
        Span::styled(hint(d.focus), th.muted),
    ]));
    let count = |ls: &[Line]| -> usize {
        ls.iter()
            .map(|l| l.width().div_ceil(inner.max(1)).max(1))
            .sum()
    };
    // What does not fit is cut from what will run, said so; the audit log
    // has it whole.
    let room = (area.height as usize)
        .saturating_sub(2 + count(&lines) + count(&after))
        .max(1);
    if will_run.len() > room {
        let cut = will_run.len() - room + 1;
        will_run.truncate(room - 1);
        will_run.push(format!("   … {cut} more lines (all in the audit log)"));
    }
    lines.extend(
        will_run
            .into_iter()
            .map(|l| Line::from(Span::styled(l, th.text))),
    );
    lines.extend(after);
    let rows: usize = count(&lines);
    let rect = centered(area, DIALOG_WIDTH, rows as u16 + 2);
    frame.render_widget(Clear, rect);
    let title = format!("Confirm: {}", d.request.action);
    let block = panel(app, title, true, Span::raw(""), rect.width).border_style(th.warn);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// `text` in lines of at most `width` cells, broken at spaces where it can
/// and anywhere where it must: the first line after `first`, the others
/// after `rest`.
fn wrapped(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let cells = |t: &str| Span::raw(t).width();
    let mut out: Vec<String> = Vec::new();
    let mut line = first.to_string();
    let fresh = |out: &Vec<String>| if out.is_empty() { first } else { rest };
    for word in text.split(' ') {
        let sep = usize::from(cells(&line) > cells(fresh(&out)));
        if cells(&line) + sep + cells(word) <= width {
            if sep == 1 {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if cells(&line) > cells(fresh(&out)) {
            out.push(std::mem::replace(&mut line, rest.to_string()));
        }
        let mut buf = [0u8; 4];
        for c in word.chars() {
            let c = &*c.encode_utf8(&mut buf);
            if cells(&line) + cells(c) > width && cells(&line) > cells(fresh(&out)) {
                out.push(std::mem::replace(&mut line, rest.to_string()));
            }
            line.push_str(c);
        }
    }
    out.push(line);
    out
}

/// The keys that work where the focus is.
fn hint(focus: Focus) -> &'static str {
    match focus {
        Focus::Name => "    Enter confirms · Tab moves · Esc cancels",
        Focus::Field(_) => "    Tab moves · Ctrl-U clears · Esc cancels",
        _ => "    Tab moves · Enter chooses · Esc cancels",
    }
}

/// A run's state in a few words: "running 12s", "succeeded in 3s (exit 0)".
fn state(app: &App, run: &Run) -> String {
    match &run.finished {
        None => format!(
            "running {}",
            format::duration(app.now.max(run.started) - run.started)
        ),
        Some((at, outcome)) => {
            let took = format::duration(*at - run.started);
            match outcome {
                ActionOutcome::Succeeded { detail }
                | ActionOutcome::Verified { detail, .. }
                | ActionOutcome::Failed { detail } => {
                    format!("{} in {took} ({detail})", outcome.word())
                }
                _ => format!("{} after {took}", outcome.word()),
            }
        }
    }
}

fn outcome_style(app: &App, run: &Run) -> ratatui::style::Style {
    match &run.finished {
        None => app.theme.accent,
        Some((_, o)) if o.succeeded() => app.theme.ok,
        Some(_) => app.theme.crit,
    }
}

/// The output of the run in the pane, below the tab (`layout::split_pane`).
pub fn pane(frame: &mut Frame, rect: Rect, app: &App) {
    let Some(run) = app.actions.pane.and_then(|id| app.actions.run(id)) else {
        return;
    };
    let hint = if run.running() {
        " x cancel · Esc hide "
    } else {
        " A history · Esc hide "
    };
    let title = format!("{} {}", run.request.action, run.request.target);
    let block = panel(
        app,
        title,
        true,
        Span::styled(hint, app.theme.muted),
        rect.width,
    );
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let width = inner.width as usize;
    let mut lines = vec![Line::from(Span::styled(
        fit_text(&state(app, run), width),
        outcome_style(app, run),
    ))];
    let mut room = (inner.height as usize).saturating_sub(1);
    if run.dropped > 0 && room > 0 {
        lines.push(Line::from(Span::styled(
            fit_text(&not_kept(run.dropped), width),
            app.theme.muted,
        )));
        room -= 1;
    }
    let skip = run.output.len().saturating_sub(room);
    lines.extend(
        run.output
            .iter()
            .skip(skip)
            .map(|l| Line::from(Span::styled(fit_text(l, width), app.theme.text))),
    );
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Above the output when its start was dropped to keep it bounded.
fn not_kept(dropped: usize) -> String {
    let lines = if dropped == 1 { "line" } else { "lines" };
    format!(
        "… {} earlier {lines} not kept (limits.action_output_lines)",
        crate::config::limits::thousands(dropped as u64)
    )
}

/// The history: this session's runs and those the audit log recorded
/// before, newest first, filtered with `/`; scrolled to the selection.
pub fn history(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.theme;
    let entries = app.history();
    let filter = &app.actions.history_filter;
    let mut head = Vec::new();
    if app.actions.history_filtering || !filter.is_empty() {
        let cursor = if app.actions.history_filtering {
            "▏"
        } else {
            ""
        };
        head.push(Line::from(vec![
            Span::styled(" /", th.accent),
            Span::styled(format!("{}{cursor}", clean(filter)), th.text),
        ]));
    }
    let hint = if app.actions.history_filtering {
        " type to filter · Enter keeps it · Esc clears it"
    } else {
        " ↑↓ select · / filter · Enter shows its output · Esc closes"
    };
    let foot = [Line::from(""), Line::from(Span::styled(hint, th.muted))];
    // Borders, the filter line and the foot.
    let room = (area.height as usize)
        .saturating_sub(2 + head.len() + foot.len())
        .max(1);
    let first = app.history_selected.saturating_sub(room - 1);
    let width = HISTORY_WIDTH.min(area.width).saturating_sub(2) as usize;
    let mut lines = head;
    if entries.is_empty() {
        let none = if filter.is_empty() {
            " no action has run yet"
        } else {
            " no run matches the filter"
        };
        lines.push(Line::from(Span::styled(none, th.muted)));
    }
    lines.extend(
        entries
            .iter()
            .enumerate()
            .skip(first)
            .take(room)
            .map(|(i, e)| {
                let style = if i == app.history_selected {
                    th.selection
                } else {
                    th.text
                };
                let when = if e.started.date_naive() == app.now.date_naive() {
                    e.started.format("%H:%M:%S").to_string()
                } else {
                    e.started.format("%m-%d %H:%M").to_string()
                };
                let who = e.who.as_deref().unwrap_or("this session");
                let left = format!(
                    " {when:<11}  {:<14} {:<22} {:<18} ",
                    fit_text(&clean(&e.action), 14),
                    fit_text(&clean(&e.target), 22),
                    fit_text(&clean(who), 18)
                );
                let (text, state_style) = entry_state(app, e);
                let rest = width.saturating_sub(left.chars().count());
                Line::from(vec![
                    Span::styled(left, style),
                    Span::styled(fit_text(&clean(&text), rest), state_style),
                ])
            }),
    );
    lines.extend(foot);
    let rect = centered(area, HISTORY_WIDTH, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let count = format!(" {} ", entries.len());
    let title = "Actions: this session and the audit log".to_string();
    let block = panel(app, title, true, Span::styled(count, th.muted), rect.width);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

const HISTORY_WIDTH: u16 = 120;

/// An entry's state in a few words, and its style: a run of this session
/// as its pane says it; one from the log by its recorded end.
fn entry_state(app: &App, e: &HistoryEntry) -> (String, ratatui::style::Style) {
    if let Some(run) = e.run.and_then(|id| app.actions.run(id)) {
        return (state(app, run), outcome_style(app, run));
    }
    match &e.finished {
        None => ("no end recorded".into(), app.theme.muted),
        Some((at, outcome, detail)) => {
            let took = format::duration(*at - e.started);
            let text = if detail.is_empty() {
                format!("{outcome} in {took}")
            } else {
                format!("{outcome} in {took} ({detail})")
            };
            let style = if outcome == "succeeded" {
                app.theme.ok
            } else {
                app.theme.crit
            };
            (text, style)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, VecDeque};

    use chrono::{TimeZone, Utc};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::actions::{ActionRequest, Backend};
    use crate::app::actions::Run;
    use crate::app::{App, Settings};
    use crate::config::keymap::Keymap;
    use crate::config::theme::Theme;

    #[test]
    fn what_will_run_wraps_at_spaces_and_breaks_long_words() {
        use ratatui::text::Span;
        let lines = super::wrapped(
            "restic restore /a/very/long/path/indeed --verify",
            16,
            "   ",
            "     ",
        );
        assert_eq!(
            lines,
            [
                "   restic",
                "     restore",
                "     /a/very/lon",
                "     g/path/inde",
                "     ed --verify"
            ]
        );
        assert!(lines.iter().all(|l| Span::raw(l.as_str()).width() <= 16));
        assert_eq!(super::wrapped("short", 16, "   ", "     "), ["   short"]);
    }

    fn screen(app: &App) -> String {
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        terminal.draw(|f| crate::ui::draw(f, app)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..30)
            .map(|y| {
                (0..100)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_pane_says_how_many_earlier_lines_were_not_kept() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
        let mut app = App::new(
            Settings::default(),
            Theme::builtin(),
            Keymap::builtin(),
            now,
        );
        app.actions.output_lines_kept = 20;
        app.actions.runs.push_back(Run {
            id: 7,
            request: ActionRequest {
                action: "rollback".into(),
                target: "checkout".into(),
                environment: "staging".into(),
                parameters: BTreeMap::new(),
                backend: Backend::Demo,
                timeout: chrono::Duration::minutes(10),
            },
            description: Vec::new(),
            started: now,
            output: VecDeque::new(),
            dropped: 0,
            finished: None,
        });
        app.actions.pane = Some(7);
        app.actions.output(7, "only line".into());
        assert!(!screen(&app).contains("not kept"), "nothing dropped yet");
        for i in 0..1_253 {
            app.actions.output(7, format!("step {i}"));
        }
        let s = screen(&app);
        assert!(
            s.contains("… 1,234 earlier lines not kept (limits.action_output_lines)"),
            "{s}"
        );
        assert!(s.contains("step 1252"), "the latest line is shown:\n{s}");
    }
}
