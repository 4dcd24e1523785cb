//! The one owner of state. Input, poller results and clock ticks arrive as
//! messages; `App::update` applies them and says whether the screen changed.

pub mod actions;
pub mod command;
mod dispatch;
mod environment;
pub mod feeds;
mod hint;
pub mod history;
pub mod joins;
mod keys;
pub mod prompt;
pub mod rollbacks;
pub mod rows;
mod settings;
mod stale;
use stale::Stale;
pub mod tab;
mod trends;
pub use settings::{Cycle, DEFAULT_CYCLE, Environment, KIOSK_PAUSE, Settings};
pub use trends::{TREND_POINTS, TREND_STEP, Trends};

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::config::Problem;
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::domain::incidents::{self, Incident};
use crate::domain::kpi::{self, Kpi};
use crate::domain::summary::{self, Summary};
use crate::domain::{
    AlertsReading, Backup, Deployment, HealthReading, ResolvedIncident, ServiceHealth,
};
use crate::sources::{Feed, FeedSet, FeedUpdate, Reading};
use command::Command;
pub use feeds::Panel;
use feeds::Received;
use rows::TableView;
use tab::{Tab, TableId};

/// Everything that can change the state.
#[derive(Debug, Clone)]
pub enum Msg {
    Input(Event),
    Command(Command),
    /// The clock moved on; the header shows it.
    Tick(DateTime<Utc>),
    Feed(FeedUpdate),
    /// An on-call schedule read.
    OnCall(crate::sources::oncall::OnCallUpdate),
    /// A line of a running action's output.
    ActionOutput {
        id: u64,
        line: String,
    },
    /// A run ended.
    ActionDone {
        id: u64,
        outcome: crate::actions::ActionOutcome,
        at: DateTime<Utc>,
    },
}

impl From<crate::sources::oncall::OnCallUpdate> for Msg {
    fn from(update: crate::sources::oncall::OnCallUpdate) -> Msg {
        Msg::OnCall(update)
    }
}

impl From<FeedUpdate> for Msg {
    fn from(update: FeedUpdate) -> Msg {
        Msg::Feed(update)
    }
}

impl Estate {
    /// The services of the last good health reading; none before the first.
    pub fn services(&self) -> &[ServiceHealth] {
        self.health.data.as_ref().map_or(&[], |h| &h.services)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Estate {
    /// What each source said last; the panels below are merged from it.
    pub received: Received,
    pub health: Panel<HealthReading>,
    pub deployments: Panel<Vec<Deployment>>,
    pub backups: Panel<Vec<Backup>>,
    pub alerts: Panel<AlertsReading>,
    pub history: Panel<Vec<ResolvedIncident>>,
    /// Derived from alerts on every update.
    pub incidents: Vec<Incident>,
    /// The changes before each incident, by its index (`App::join_incidents`).
    pub changes: Vec<Vec<crate::domain::changes::Preceding>>,
    /// Every change known (deploys, rollbacks, maintenance windows, actions),
    /// for the markers on the sparklines; by service, then oldest first.
    pub change_log: Vec<crate::domain::changes::Change>,
    /// The storms among the incidents.
    pub storms: Vec<crate::domain::storms::Storm>,
    /// The alerting pipeline's heartbeat, from each answer of Alertmanager.
    pub pipeline: incidents::Pipeline,
    /// Derived from everything on every update and tick.
    pub kpis: Vec<Kpi>,
    /// The worst state and its reasons, for the header.
    pub summary: Summary,
    /// Each KPI's recent values by id, for the tiles' trends.
    pub trends: Trends,
}

/// How long a footer message stays without a key pressed.
pub const NOTICE_FOR: chrono::Duration = chrono::Duration::seconds(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    Filter,
    Help,
    Detail,
    /// An action's confirmation dialog.
    Confirm,
    /// The runs of this session, newest first.
    History,
    /// The `:` prompt.
    Prompt,
}

pub struct App {
    pub tab: Tab,
    pub mode: Mode,
    pub now: DateTime<Utc>,
    pub estate: Estate,
    /// Selection, filter and visible rows of each table, by `TableId::index`.
    pub tables: [TableView; 8],
    /// Which table of the current tab has focus.
    pub focus: usize,
    pub theme: Theme,
    pub keymap: Keymap,
    pub settings: Settings,
    /// Problems found in files, shown in the footer and the help overlay.
    pub problems: Vec<Problem>,
    pub quit: bool,
    /// The terminal's size, for paging by what the focused table shows.
    pub viewport: (u16, u16),
    /// Declared actions, the dialog, the runs and what the loop must do.
    pub actions: actions::Actions,
    /// DR drills opsdeck ran and timed, by backup target.
    pub drills: std::collections::BTreeMap<String, crate::domain::DrillResult>,
    /// Versions seen and rollbacks under way, by deployment.
    pub rollbacks: rollbacks::Rollbacks,
    /// The selected run in the history view.
    pub history_selected: usize,
    /// The kiosk's tab cycle.
    pub cycle: Cycle,
    pub prompt: prompt::Prompt,
    /// The keys typed so far of an unfinished chord (`g` of `g g`).
    pub pending_keys: Vec<crate::config::keymap::Key>,
    /// How far the details pop-up is scrolled, in rows. Only the drawing
    /// knows how many rows its lines wrap to, so it clamps this when it
    /// draws (a `Cell`, as ratatui's scroll states are corrected in render):
    /// a key past the end then does nothing.
    pub detail_scroll: std::cell::Cell<u16>,
    /// The services whose rows the last frame of the Health tab drew (kept
    /// while another tab is shown, so their lines are there on the way
    /// back) and the service whose details the last frame drew: only their
    /// traffic lines are asked of the sources (`run::dashboard`).
    pub services_drawn: std::cell::RefCell<Vec<String>>,
    pub detail_drawn: std::cell::RefCell<Option<String>>,
    /// On-call schedules as last read, in the order declared…
    pub oncall: Vec<crate::domain::oncall::Schedule>,
    /// …and where to read them (none in the demo, whose rota is made).
    pub oncall_sources: Vec<crate::config::oncall::OnCallSchedule>,
    /// What must be recomputed before the state is next read.
    stale: Stale,
}

impl App {
    pub fn new(settings: Settings, theme: Theme, keymap: Keymap, now: DateTime<Utc>) -> App {
        App {
            tab: Tab::default(),
            mode: Mode::default(),
            now,
            estate: Estate::default(),
            tables: Default::default(),
            focus: 0,
            theme,
            keymap,
            settings,
            problems: Vec::new(),
            quit: false,
            viewport: (80, 24),
            actions: actions::Actions::default(),
            drills: Default::default(),
            rollbacks: Default::default(),
            history_selected: 0,
            cycle: Cycle {
                last_switch: now,
                last_key: None,
                held: false,
            },
            prompt: Default::default(),
            pending_keys: Vec::new(),
            detail_scroll: Default::default(),
            services_drawn: Default::default(),
            detail_drawn: Default::default(),
            oncall: Vec::new(),
            oncall_sources: Vec::new(),
            stale: Stale::everything(),
        }
    }

    /// Feeds on screen now, to be polled at the full rate.
    pub fn feeds_on_screen(&self) -> FeedSet {
        self.tab.feeds()
    }

    pub fn focused_table(&self) -> TableId {
        let tables = self.tab.tables();
        tables[self.focus.min(tables.len() - 1)]
    }

    pub fn table(&self, id: TableId) -> &TableView {
        &self.tables[id.index()]
    }

    /// The state shown on a row of table `id` (its `Row::index`).
    pub fn row_state(&self, id: TableId, index: usize) -> Option<crate::domain::Status> {
        rows::state(self, id, index)
    }

    fn focused_view(&mut self) -> &mut TableView {
        let id = self.focused_table();
        &mut self.tables[id.index()]
    }

    /// Applies one message and settles; true when the screen must be
    /// redrawn.
    pub fn update(&mut self, msg: Msg) -> bool {
        let changed = self.apply(msg);
        self.settle();
        changed
    }

    /// Applies one message, leaving what derives from data to `settle`: the
    /// event loop applies a whole batch, then settles once before drawing.
    /// A key or a command is always handled on settled state, so that it
    /// acts on the rows as shown.
    pub fn apply(&mut self, msg: Msg) -> bool {
        let before = self.actions.notice.clone();
        let key = matches!(msg, Msg::Input(Event::Key(_)));
        let changed = self.apply_one(msg);
        if self.actions.notice.is_none() {
            self.actions.notice_since = None;
        } else if key || self.actions.notice != before {
            self.actions.notice_since = Some(self.now);
        }
        changed
    }

    /// A footer message lasts until the next key or `NOTICE_FOR`, so a
    /// message about something done minutes ago, on another tab, is gone.
    fn expire_notice(&mut self) {
        // A notice put there from outside (the audit log's writer) starts
        // its time at the first tick that sees it.
        let since = *self.actions.notice_since.get_or_insert(self.now);
        let old = self.now - since >= NOTICE_FOR;
        if old || self.actions.notice.is_none() {
            self.actions.notice_since = None;
        }
        if old {
            self.actions.notice = None;
        }
    }

    fn apply_one(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Input(Event::Key(key)) if key.kind != KeyEventKind::Release => {
                self.settle();
                self.cycle.last_key = Some(self.now);
                // The next action's key ends the last one's message.
                let had = self.actions.notice.take().is_some();
                self.on_key(key) || had
            }
            Msg::Input(Event::Resize(width, height)) => {
                self.viewport = (width, height);
                true
            }
            Msg::Input(Event::Mouse(mouse)) => {
                self.settle();
                self.cycle.last_key = Some(self.now);
                self.on_mouse(mouse)
            }
            Msg::Input(_) => false,
            Msg::Command(command) => {
                self.settle();
                self.run(command)
            }
            Msg::Tick(now) => {
                self.now = now;
                self.expire_notice();
                self.stale = self.stale.tick();
                if self.settings.kiosk {
                    self.cycle_tabs();
                }
                true
            }
            // The same data again moves only its age, which the next tick
            // draws: no frame for it.
            Msg::Feed(update) => {
                let feed = update.feed;
                let services = |app: &App| {
                    let health = app.estate.health.data.as_ref();
                    health.map(|h| h.services.clone())
                };
                let before = (feed == Feed::Health).then(|| services(self)).flatten();
                let changed = self.store(update);
                if changed {
                    // The very same list of services (as merged and joined
                    // with the services other feeds name): only the hosts,
                    // a warning or an error moved.
                    self.stale = match (before, services(self)) {
                        (Some(b), Some(a)) if std::sync::Arc::ptr_eq(&b, &a) => self.stale.hosts(),
                        _ => self.stale.feed(feed),
                    };
                }
                changed
            }
            Msg::OnCall(update) => crate::sources::oncall::store(&mut self.oncall, update),
            Msg::ActionOutput { id, line } => {
                self.actions.output(id, line);
                self.actions.pane == Some(id)
            }
            Msg::ActionDone { id, outcome, at } => {
                self.action_done(id, outcome, at);
                self.stale = Stale::everything();
                true
            }
        }
    }

    /// Stores what a source said and rebuilds the merged panel of its feed;
    /// false when the source said the same again, which moves only the
    /// panel's age.
    fn store(&mut self, update: FeedUpdate) -> bool {
        let feed = update.feed;
        let answered = update.result.is_ok();
        let e = &mut self.estate;
        if !e.received.store(update) {
            let updated = e.received.updated(feed);
            match feed {
                Feed::Health => e.health.updated = updated,
                Feed::Deployments => e.deployments.updated = updated,
                Feed::Backups => e.backups.updated = updated,
                Feed::History => e.history.updated = updated,
                Feed::Alerts => e.alerts.updated = updated,
            }
            return false;
        }
        let r = &e.received;
        match feed {
            Feed::Health => e.health = r.merged(feed, Reading::as_health, feeds::health),
            Feed::Deployments => {
                e.deployments = r.merged(feed, Reading::as_deployments, feeds::concat);
                let list = e.deployments.data.as_deref().unwrap_or(&[]);
                self.rollbacks.observe(list, self.now);
            }
            Feed::Backups => {
                e.backups = r.merged(feed, Reading::as_backups, feeds::concat);
                self.apply_drills();
            }
            Feed::History => e.history = r.merged(feed, Reading::as_history, feeds::concat),
            Feed::Alerts => {
                e.alerts = r.merged(feed, Reading::as_alerts, feeds::alerts);
                let alerts = e.alerts.data.as_ref().map_or(&[][..], |a| &a.alerts[..]);
                e.incidents = incidents::group(alerts);
                if answered {
                    e.pipeline = e.pipeline.after(alerts, self.settings.expect_heartbeat);
                }
                for incident in e.incidents.iter_mut().filter(|i| i.runbook.is_none()) {
                    incident.runbook = self.settings.runbooks.get(&incident.service).cloned();
                }
            }
        }
        if matches!(feed, Feed::Deployments | Feed::Alerts) {
            self.join_incidents();
        }
        if matches!(
            feed,
            Feed::Health | Feed::Deployments | Feed::Alerts | Feed::Backups
        ) && feeds::name_services(&mut self.estate)
            && feed != Feed::Health
        {
            self.stale = self.stale.feed(Feed::Health);
        }
        true
    }

    /// Recomputes what the messages applied since the last call left stale:
    /// the KPI groups whose inputs changed, the summary, and the rows of the
    /// tables whose data or order changed.
    pub fn settle(&mut self) {
        let stale = std::mem::take(&mut self.stale);
        if !stale.any() {
            return;
        }
        let e = &self.estate;
        let open: Vec<chrono::DateTime<chrono::Utc>> = e
            .incidents
            .iter()
            .filter(|i| i.counted)
            .map(|i| i.started)
            .collect();
        let inputs = kpi::Inputs {
            services: e.services(),
            backups: e.backups.data.as_deref().unwrap_or(&[]),
            deployments: e.deployments.data.as_deref(),
            resolved: e.history.data.as_deref(),
            open: &open,
            objectives: &self.settings.objectives,
            thresholds: &self.settings.thresholds,
            now: self.now,
        };
        let whole = e.kpis.is_empty();
        let fresh: Vec<(kpi::Group, Vec<Kpi>)> = kpi::Group::ALL
            .iter()
            .zip(stale.kpis)
            .filter(|(_, stale)| whole || *stale)
            .map(|(g, _)| (*g, kpi::compute_group(*g, &inputs)))
            .collect();
        let mut tables = stale.tables;
        if !fresh.is_empty() {
            let kpis = &mut self.estate.kpis;
            for (group, computed) in fresh {
                if whole {
                    kpis.extend(computed);
                } else {
                    kpis.splice(group.range(), computed);
                }
            }
            self.estate.trends.sample(kpis, self.now);
            for k in kpis.iter_mut() {
                k.trend = self.estate.trends.of(k.id).collect();
            }
            tables[TableId::Kpis.index()] = true;
        }
        // The verdict judges the tiles too: recomputed when they change.
        if stale.summary || stale.kpis.contains(&true) {
            let e = &self.estate;
            self.estate.summary = summary::summarise(&summary::Parts {
                services: e.health.data.as_ref().map(|h| &h.services[..]),
                hosts: e.health.data.as_ref().map(|h| &h.hosts[..]),
                incidents: e.alerts.data.is_some().then_some(&e.incidents[..]),
                pipeline: &e.pipeline,
                backups: e.backups.data.as_deref(),
                deployments: e.deployments.data.as_deref(),
                kpis: &e.kpis,
                thresholds: &self.settings.thresholds,
                objectives: &self.settings.objectives,
                now: self.now,
            });
        }
        let focused = self.focused_table();
        let shown = self.table(focused).selected_row().map(|r| r.key.clone());
        for id in TableId::ALL.into_iter().filter(|id| tables[id.index()]) {
            let (rows, total) = rows::rows(self, id);
            self.tables[id.index()].set_rows(rows, total);
        }
        // Details never silently switch to another item: when the one being
        // read is gone (an incident resolved), the pane closes.
        let still = self.table(focused).selected_row().map(|r| &r.key);
        if self.mode == Mode::Detail && still != shown.as_ref() {
            self.mode = Mode::Normal;
        }
    }

    /// The focused table's filter changed: its rows are rebuilt now.
    fn refilter(&mut self) {
        let id = self.focused_table();
        self.stale.tables[id.index()] = true;
        self.settle();
    }

    /// Runs a command from the keymap (and, later, the `:` prompt).
    pub fn run(&mut self, command: Command) -> bool {
        let page = crate::ui::layout::page_rows(self, self.viewport.0, self.viewport.1);
        match command {
            Command::Quit => {
                if self.mode == Mode::Normal {
                    self.quit = true;
                } else {
                    self.mode = Mode::Normal;
                }
            }
            Command::NextTab => self.show(self.tab.next()),
            Command::PrevTab => self.show(self.tab.prev()),
            Command::ShowKpis => self.show(Tab::Kpis),
            Command::ShowHealth => self.show(Tab::Health),
            Command::ShowDeploys => self.show(Tab::Deploys),
            Command::ShowBackups => self.show(Tab::Backups),
            Command::ShowIncidents => self.show(Tab::Incidents),
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::Open
            | Command::Filter
                if self.mode == Mode::History =>
            {
                self.on_history_command(command);
            }
            Command::Up
            | Command::Down
            | Command::PageUp
            | Command::PageDown
            | Command::Top
            | Command::Bottom
                if self.mode == Mode::Detail =>
            {
                self.scroll_detail(command)
            }
            Command::Up => self.focused_view().move_by(-1),
            Command::Down => self.focused_view().move_by(1),
            Command::PageUp => self.focused_view().move_by(-(page as isize)),
            Command::PageDown => self.focused_view().move_by(page as isize),
            Command::Top => self.focused_view().move_by(isize::MIN / 2),
            Command::Bottom => self.focused_view().move_by(isize::MAX / 2),
            Command::NextPanel => self.focus = (self.focus + 1) % self.tab.tables().len(),
            Command::Open => {
                if self.mode == Mode::Detail {
                    self.mode = Mode::Normal;
                } else if self.toggle_storm() {
                    // A storm's row opens to its incidents, not a pop-up.
                } else if self.table(self.focused_table()).selected_row().is_some() {
                    self.detail_scroll.set(0);
                    self.mode = Mode::Detail;
                }
            }
            Command::Back => {
                if self.mode == Mode::Normal && self.actions.pane.is_some() {
                    self.actions.pane = None;
                } else if self.mode == Mode::Normal {
                    self.focused_view().filter.clear();
                    self.refilter();
                }
                self.mode = Mode::Normal;
            }
            Command::Filter => self.mode = Mode::Filter,
            Command::Prompt => {
                self.prompt = Default::default();
                self.mode = Mode::Prompt;
            }
            Command::SortNext => {
                let columns = rows::sort_columns(self.focused_table());
                let view = self.focused_view();
                let next = match view.sort {
                    None => columns.first(),
                    Some(c) => columns
                        .iter()
                        .position(|x| *x == c)
                        .and_then(|i| columns.get(i + 1)),
                };
                view.sort = next.copied();
                view.reverse = false;
                self.refilter();
            }
            Command::SortReverse => {
                let view = self.focused_view();
                view.reverse = !view.reverse;
                self.refilter();
            }
            Command::Copy => self.copy_row(),
            Command::Export => self.actions.outbox.push(actions::Effect::Export),
            Command::HoldCycle => {
                if self.settings.kiosk {
                    self.cycle.held = !self.cycle.held;
                    self.cycle.last_switch = self.now;
                } else {
                    self.actions.notice = Some("the tab cycle is for kiosk mode (--kiosk)".into());
                }
            }
            Command::Rollback
            | Command::DrDrill
            | Command::VerifyBackup
            | Command::Acknowledge
            | Command::Silence
            | Command::Maintenance
            | Command::ExpireSilence => {
                if let Some(name) = command.action() {
                    self.dispatch(name);
                }
            }
            Command::Runbook => self.runbook(),
            Command::CancelAction => {
                if !self.actions.cancel_shown() {
                    self.actions.notice = Some("no action is running in the pane".into());
                }
            }
            Command::ActionHistory => self.toggle_history(),
            Command::Help => {
                self.mode = if self.mode == Mode::Help {
                    Mode::Normal
                } else {
                    Mode::Help
                }
            }
        }
        true
    }

    /// Scrolls the details pop-up by a row, a screen, or to either end.
    fn scroll_detail(&mut self, command: Command) {
        // A screen less the header, the footer and the pop-up's borders.
        let page = self.viewport.1.saturating_sub(6).max(1);
        let at = self.detail_scroll.get();
        self.detail_scroll.set(match command {
            Command::Up => at.saturating_sub(1),
            Command::Down => at.saturating_add(1),
            Command::PageUp => at.saturating_sub(page),
            Command::PageDown => at.saturating_add(page),
            Command::Top => 0,
            _ => u16::MAX,
        });
    }

    /// The kiosk's next tab, when its time has come.
    fn cycle_tabs(&mut self) {
        let due = self.cycle.next_at(self.settings.cycle);
        if due.is_some_and(|at| self.now >= at) && matches!(self.mode, Mode::Normal) {
            self.show(self.tab.next());
            self.cycle.last_switch = self.now;
        }
    }

    fn show(&mut self, tab: Tab) {
        if self.tab != tab {
            self.tab = tab;
            self.focus = 0;
            if self.mode != Mode::Help {
                self.mode = Mode::Normal;
            }
        }
    }

    /// Age of the oldest data behind the header, or `None` before any arrived.
    pub fn data_age(&self) -> Option<chrono::Duration> {
        let e = &self.estate;
        let times = [e.health.updated, e.backups.updated, e.alerts.updated];
        let oldest = times.iter().copied().min()??;
        Some((self.now - oldest).max(chrono::Duration::zero()))
    }

    /// The errors of the feeds whose latest fetch failed.
    pub fn feed_errors(&self) -> Vec<(Feed, &str)> {
        let e = &self.estate;
        [
            (Feed::Health, &e.health.error),
            (Feed::Deployments, &e.deployments.error),
            (Feed::Backups, &e.backups.error),
            (Feed::Alerts, &e.alerts.error),
            (Feed::History, &e.history.error),
        ]
        .into_iter()
        .filter_map(|(f, err)| err.as_deref().map(|m| (f, m)))
        .collect()
    }
}
