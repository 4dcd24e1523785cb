//! Drawing: a pure function of the app's state. No I/O, no locks, no
//! network; only the rows that fit on screen are built.

mod actions;
mod backups;
mod deploys;
mod empty;
pub mod export;
pub mod format;
mod health;
mod incidents;
mod kpis;
pub mod layout;
mod markers;
mod oncall;
mod overlay;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;

use crate::domain::Status;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};

use crate::app::command::Command;
use crate::app::tab::Tab;
use crate::app::{App, Mode};

use layout::{MIN_HEIGHT, MIN_WIDTH};

pub fn draw(frame: &mut Frame, app: &App) {
    // Set again by the details, if this frame draws a service's.
    app.detail_drawn.borrow_mut().take();
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small: {}x{}, opsdeck needs {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let banner = kiosk_banner(app);
    let layout::Screen {
        banner: banner_area,
        header,
        tabs,
        body,
        footer,
    } = layout::screen(area, banner.is_some());
    if let (Some(text), Some(at)) = (banner, banner_area) {
        frame.render_widget(
            Paragraph::new(Line::from(text).centered()).style(app.theme.crit),
            at,
        );
    }
    draw_header(frame, header, app);
    draw_tabs(frame, tabs, app);
    let (body, pane) = layout::split_pane(app, body);
    match app.tab {
        Tab::Kpis => kpis::draw(frame, body, app),
        Tab::Health => health::draw(frame, body, app),
        Tab::Deploys => deploys::draw(frame, body, app),
        Tab::Backups => backups::draw(frame, body, app),
        Tab::Incidents => incidents::draw(frame, body, app),
    }
    if let Some(pane) = pane {
        actions::pane(frame, pane, app);
    }
    draw_footer(frame, footer, app);
    match app.mode {
        Mode::Help => overlay::help(frame, area, app),
        Mode::Detail => overlay::detail(frame, body, app),
        Mode::Confirm => actions::confirm(frame, area, app),
        Mode::History => actions::history(frame, body, app),
        Mode::Normal | Mode::Filter | Mode::Prompt => {}
    }
}

/// In kiosk mode, the banner across the top while the estate is critical:
/// the first open critical incident (its name, service, how long it has
/// been open, how many more), else the verdict's reasons, as the header
/// gives them.
fn kiosk_banner(app: &App) -> Option<String> {
    let summary = &app.estate.summary;
    if !app.settings.kiosk || summary.status != Status::Crit {
        return None;
    }
    let mut critical = app
        .estate
        .incidents
        .iter()
        .filter(|i| i.severity == crate::domain::Severity::Critical && !i.silenced);
    let Some(first) = critical.next() else {
        let reasons: Vec<&str> = summary
            .reasons
            .iter()
            .filter(|r| r.status == Status::Crit)
            .map(|r| r.text.as_str())
            .collect();
        return Some(format!("● CRITICAL: {}", reasons.join(" · ")));
    };
    let more = critical.count();
    let more = if more > 0 {
        format!("  (+{more} more critical)")
    } else {
        String::new()
    };
    Some(format!(
        "● CRITICAL INCIDENT: {} on {} · open {}{more}",
        first.name,
        first.service,
        format::short_duration(first.duration(app.now))
    ))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The bar across the top: name, badges, the estate's state and as many of
/// its reasons as fit, then feed errors, the data's age and the clock. On a
/// narrow screen the clock gives way before the state does.
fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.theme;
    let summary = &app.estate.summary;
    let mut left = vec![Span::styled(" opsdeck ", th.header.patch(th.accent))];
    if let Some(env) = &app.settings.environment {
        let style = Style::default()
            .fg(ratatui::style::Color::Black)
            .bg(env.colour)
            .add_modifier(ratatui::style::Modifier::BOLD);
        left.push(Span::styled(
            format!(" {} ", env.name.to_uppercase()),
            style,
        ));
        left.push(Span::styled(" ", th.header));
    }
    let kiosk = app.settings.kiosk.then(|| kiosk_badge(app));
    for (on, badge) in [
        (app.settings.demo, " DEMO ".to_string()),
        (
            app.settings.read_only && !app.settings.kiosk,
            " READ-ONLY ".to_string(),
        ),
        (kiosk.is_some(), kiosk.unwrap_or_default()),
    ] {
        if on {
            left.push(Span::styled(badge, th.badge));
            left.push(Span::styled(" ", th.header));
        }
    }
    let status = summary.status;
    left.push(Span::styled(
        format!(" {} {} ", status.symbol(), status.label()),
        th.status_badge(status),
    ));
    let clock = format!(" {} UTC ", app.now.format("%H:%M:%S"));
    let failing = app.feed_errors();
    // A source that is down is not one that has yet to answer.
    let age = match app.data_age() {
        Some(age) => format!(" data {} old ·", format::short_duration(age)),
        None if !failing.is_empty() => " no data ·".into(),
        None => " no data yet ·".into(),
    };
    // The first failure in the sources' own words, cut to fit a header,
    // and how many feeds fail.
    let errors = failing.first().map(|(feed, first)| {
        let first = first.split("; ").next().unwrap_or(first);
        let first = format!("{} down: {first}", feed.label());
        let first: String = if first.chars().count() > 48 {
            first.chars().take(47).collect::<String>() + "…"
        } else {
            first.to_string()
        };
        let more = match failing.len() {
            1 => String::new(),
            n => format!(" ({n} feeds)"),
        };
        Span::styled(format!(" ⚠ {first}{more} "), th.warn)
    });
    let (age, clock) = (Span::styled(age, th.header), Span::styled(clock, th.header));
    let width = |spans: &[Span]| spans.iter().map(Span::width).sum::<usize>();
    // The data's age gives way first, then the clock, then the error count;
    // in kiosk mode the clock and the age stay whatever else goes.
    // In kiosk mode, who is on call, when it fits with the first reason.
    let oncall = app.settings.kiosk.then(|| oncall::header(app)).flatten();
    let fallbacks = if app.settings.kiosk {
        vec![vec![age, clock]]
    } else {
        vec![vec![age, clock.clone()], vec![clock], vec![]]
    };
    let candidates: Vec<Vec<Span>> = fallbacks
        .into_iter()
        .map(|rest| errors.iter().cloned().chain(rest).collect::<Vec<_>>())
        .chain([vec![]])
        .collect();
    // The first reason is worth more than the age and the clock: they give
    // way for it, then for the state itself.
    let first = summary
        .reasons
        .first()
        .map_or(0, |r| r.text.chars().count() + 3);
    let used = width(&left);
    let fits = |extra: usize| {
        move |r: &&Vec<Span>| app.settings.kiosk || used + extra + width(r) <= area.width as usize
    };
    let right: Vec<Span> = candidates
        .iter()
        .find(fits(first))
        .or_else(|| candidates.iter().find(fits(0)))
        .cloned()
        .unwrap_or_default();
    let mut right = right;
    if let Some(on) =
        oncall.filter(|on| used + first + width(&right) + on.width() <= area.width as usize)
    {
        right.insert(0, on);
    }
    // Whole reasons only, as many as fit between the state and the clock.
    let mut room = (area.width as usize).saturating_sub(width(&right) + width(&left) + 1);
    let mut shown = Vec::new();
    for reason in &summary.reasons {
        let need = reason.text.chars().count() + 3;
        if need > room {
            break;
        }
        room -= need;
        shown.push(reason.text.as_str());
    }
    if !shown.is_empty() {
        left.push(Span::styled(format!(" {}", shown.join(" · ")), th.header));
    }
    let right_width = width(&right) as u16;
    frame.render_widget(Paragraph::new("").style(th.header), area);
    let [l, r] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(left)).style(th.header), l);
    frame.render_widget(Paragraph::new(Line::from(right)).style(th.header), r);
}

/// Each tab's title as the tab bar shows it: the number, the name, the
/// open incidents' count, and the tab's worst state when it is not OK (a
/// symbol and the word, so a breach on another tab is seen from this one,
/// without colour too).
fn tab_titles(app: &App, width: u16) -> Vec<Line<'static>> {
    // Each title has a blank either side and a divider after. The marks'
    // words go first, then the other tabs' names: their numbers are their
    // keys, and the marks stay whatever the width.
    let fits = |t: &[Line]| t.iter().map(|t| t.width() + 3).sum::<usize>() <= width as usize;
    [Titles::Words, Titles::Symbols, Titles::Numbers]
        .into_iter()
        .map(|how| titles_with(app, how))
        .find(|t| fits(t))
        .unwrap_or_else(|| titles_with(app, Titles::Marks))
}

#[derive(Clone, Copy, PartialEq)]
enum Titles {
    /// `2 Health ✖ CRIT`
    Words,
    /// `2 Health ✖`
    Symbols,
    /// `2 ✖`, but the tab shown, which keeps its name.
    Numbers,
    /// As `Numbers`, without the open incidents' count: with every tab
    /// marked at 40 columns, a mark matters more than a count.
    Marks,
}

fn titles_with(app: &App, how: Titles) -> Vec<Line<'static>> {
    let open = app.estate.incidents.iter().filter(|i| !i.silenced).count();
    let marks = &app.estate.summary.marks;
    Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, tab)| {
            let short = matches!(how, Titles::Numbers | Titles::Marks);
            let mut title = if short && *tab != app.tab {
                format!("{}", i + 1)
            } else {
                format!("{} {}", i + 1, tab.title())
            };
            if *tab == Tab::Incidents && open > 0 && how != Titles::Marks {
                title.push_str(&format!(" ({open})"));
            }
            let mark = match tab {
                Tab::Kpis => marks.kpis,
                Tab::Health => marks.health,
                Tab::Deploys => marks.deploys,
                Tab::Backups => marks.backups,
                Tab::Incidents => marks.incidents,
            };
            let mut spans = vec![Span::raw(title)];
            if mark != Status::Ok {
                let text = if how == Titles::Words {
                    format!(" {} {}", mark.symbol(), mark.label())
                } else {
                    format!(" {}", mark.symbol())
                };
                spans.push(Span::styled(text, app.theme.status(mark)));
            }
            Line::from(spans)
        })
        .collect()
}

/// The tab under a click at (`x`, `y`), as the tab bar lays them out: a
/// blank, the title and a blank, then a one-cell divider.
pub fn tab_at(app: &App, x: u16, y: u16) -> Option<Tab> {
    let (w, h) = app.viewport;
    let screen = layout::screen(Rect::new(0, 0, w, h), kiosk_banner(app).is_some());
    if y != screen.tabs.y {
        return None;
    }
    let mut start = 0u16;
    for (tab, title) in Tab::ALL.iter().zip(tab_titles(app, w)) {
        let end = start + title.width() as u16 + 2;
        if (start..end).contains(&x) {
            return Some(*tab);
        }
        start = end + 1;
    }
    None
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.theme;
    let tabs = Tabs::new(tab_titles(app, area.width))
        .select(app.tab.index())
        .style(th.tab_inactive)
        .highlight_style(th.tab_active)
        .divider(Span::styled("│", th.muted));
    frame.render_widget(tabs, area);
}

/// " KIOSK ▶ 12s " while cycling (the seconds to the next tab), with
/// "⏸ held" or "⏸ 45s" while held or paused by a key.
fn kiosk_badge(app: &App) -> String {
    let c = &app.cycle;
    if c.held {
        return " KIOSK ⏸ held ".into();
    }
    if let Some(until) = c.paused_until().filter(|u| *u > app.now) {
        return format!(" KIOSK ⏸ {}s ", (until - app.now).num_seconds().max(1));
    }
    match c.next_at(app.settings.cycle) {
        Some(at) => format!(" KIOSK ▶ {}s ", (at - app.now).num_seconds().max(0)),
        None => " KIOSK ".into(),
    }
}

/// The first key bound to `command`, for hints.
fn key(app: &App, command: Command) -> String {
    app.keymap
        .keys_for(command)
        .into_iter()
        .next()
        .unwrap_or_else(|| "?".into())
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.theme;
    let line = if app.mode == Mode::Prompt {
        let offered = app.prompt.offered.join("  ");
        Line::from(vec![
            Span::styled(" :", th.accent),
            Span::styled(format!("{}▏", app.prompt.text), th.text),
            Span::styled(
                if offered.is_empty() {
                    "  Tab complete · Enter run · Esc leave".to_string()
                } else {
                    format!("  {offered}")
                },
                th.muted,
            ),
        ])
    } else if app.mode == Mode::Filter {
        let filter = &app.table(app.focused_table()).filter;
        Line::from(vec![
            Span::styled(" filter /", th.accent),
            Span::styled(format!("{filter}▏"), th.text),
            Span::styled("  Enter keep · Esc clear", th.muted),
        ])
    } else {
        let tab_hints: &[(Command, &str)] = match app.tab {
            Tab::Deploys => &[(Command::Rollback, "rollback")],
            Tab::Backups => &[
                (Command::DrDrill, "DR drill"),
                (Command::VerifyBackup, "verify"),
            ],
            Tab::Incidents if app.focused_table() == crate::app::tab::TableId::Silences => {
                &[(Command::ExpireSilence, "expire")]
            }
            Tab::Incidents => &[
                (Command::Acknowledge, "ack"),
                (Command::Silence, "silence"),
                (Command::Runbook, "runbook"),
            ],
            Tab::Kpis | Tab::Health => &[(Command::Maintenance, "maintenance")],
        };
        let hints = [
            (Command::Help, "help"),
            (Command::Filter, "filter"),
            (Command::Open, "details"),
            (Command::NextPanel, "panel"),
            (Command::NextTab, "tab"),
            (Command::Quit, "quit"),
        ];
        let mut spans = Vec::new();
        // A problem in a file comes first, where a narrow screen cannot push
        // it off; the whole text is in the help.
        let problems = app.problems.len();
        if problems > 0 {
            let text = format!(
                " ⚠ {problems} problem{} in config files: {} for details ",
                plural(problems),
                key(app, Command::Help)
            );
            spans.push(Span::styled(text, th.warn));
        }
        if let Some(notice) = &app.actions.notice {
            let style = if notice.contains("refused") || notice.contains("failed") {
                th.crit
            } else {
                th.accent
            };
            spans.push(Span::styled(format!(" {notice} "), style));
        }
        // Read-only (and kiosk) screens do not offer what they would refuse.
        let tab_hints = if app.settings.read_only {
            &[][..]
        } else {
            tab_hints
        };
        for (command, what) in tab_hints.iter().copied().chain(hints) {
            spans.push(Span::styled(format!(" {}", key(app, command)), th.accent));
            spans.push(Span::styled(format!(" {what} "), th.muted));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line).style(Style::default()), area);
}
