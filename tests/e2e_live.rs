//! End-to-end tests against real servers: the real `opsdeck` binary, driven
//! through tmux, reading a real Prometheus (scraping a Pushgateway and a
//! node_exporter, evaluating an always-firing rule) and a real Alertmanager.
//!
//! The estate is pushed to the Pushgateway as `docs/metrics.md` describes:
//! two deployments (a canary and a blue-green), a backup that breaches its
//! RPO, request counters, and one deployment whose `service` label carries
//! a terminal escape sequence, which must reach the terminal only escaped.
//!
//! Every test starts its own servers (`tests/support`) and its own tmux
//! server (`tmux -L <unique socket> -f /dev/null`, killed on drop, with a
//! private `HOME`, `XDG_CONFIG_HOME` and `XDG_STATE_HOME`, so no user
//! configuration is read). Nothing asserts on speed: every wait polls the
//! screen up to a generous deadline (Prometheus 2.42 scrapes for the first
//! time ~6 s after it starts), and a timeout panics with the last screen.
//!
//! They need tmux and the Debian packages `.ci/run` installs.

mod support;

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::{
    Alertmanager, NodeExporter, Prometheus, PrometheusConfig, Pushgateway, scrape, unix_now,
};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
/// How long a screen may take to show live data: Prometheus's first scrape
/// and rule evaluation, the alert's way to Alertmanager, opsdeck's refresh.
const WAIT: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(100);
/// How long opsdeck may take to exit after `q`.
const EXIT_WAIT: Duration = Duration::from_secs(10);

/// The service label value with an escape sequence in it (ESC [31m: red).
const EVIL_SERVICE: &str = "evil\u{1b}[31mred";
/// How opsdeck must show it: the ESC byte as the four characters `\x1b`.
const EVIL_ESCAPED: &str = r"evil\x1b[31mred";
/// What must never reach the terminal: the raw sequence after `evil`.
const EVIL_RAW: &str = "evil\u{1b}[31m";

const RUNBOOK: &str = "https://runbooks.example.com/checkout";

const RULES: &str = r#"groups:
  - name: e2e-live
    rules:
      - alert: CheckoutErrors
        expr: vector(1)
        labels:
          severity: critical
          service: checkout
        annotations:
          summary: "5xx above 5%"
          runbook_url: https://runbooks.example.com/checkout
"#;

// ---------------------------------------------------------------------------
// The estate
// ---------------------------------------------------------------------------

/// The servers of one test, killed on drop.
struct Estate {
    prometheus: Prometheus,
    alertmanager: Alertmanager,
    pushgateway: Pushgateway,
    node: NodeExporter,
}

impl Estate {
    /// Starts the Pushgateway, node_exporter and Alertmanager (~0.2 s all
    /// told; Prometheus's configuration needs their ports), then Prometheus
    /// scraping the first two and sending to the third, then pushes the
    /// estate while Prometheus waits for its first scrape.
    fn start() -> Estate {
        let pushgateway = Pushgateway::start();
        let node = NodeExporter::start();
        let alertmanager = Alertmanager::start();
        let prometheus = Prometheus::start(PrometheusConfig {
            scrape: vec![
                scrape("pushgateway", &pushgateway.addr(), true),
                scrape("node", &node.addr(), false),
            ],
            rule_files_text: Some(RULES.to_owned()),
            alertmanagers: vec![alertmanager.addr()],
            ..PrometheusConfig::default()
        });
        let estate = Estate {
            prometheus,
            alertmanager,
            pushgateway,
            node,
        };
        estate.push();
        estate
    }

    /// The estate of `docs/metrics.md`, pushed group by group (the grouping
    /// key repeats the series' own labels, as the Pushgateway requires).
    fn push(&self) {
        let now = unix_now().floor();
        let deployment = |service: &str,
                          version: &str,
                          previous: &str,
                          strategy: &str,
                          color: &str,
                          phase: &str,
                          extra: &str| {
            let labels = format!(r#"service="{service}",environment="production""#);
            format!(
                "# TYPE deployment_info gauge\n\
                 deployment_info{{{labels},version=\"{version}\",previous_version=\"{previous}\",strategy=\"{strategy}\",color=\"{color}\",phase=\"{phase}\"}} 1\n\
                 # TYPE deployment_timestamp_seconds gauge\n\
                 deployment_timestamp_seconds{{{labels}}} {}\n\
                 # TYPE deployment_rollbacks_total counter\n\
                 deployment_rollbacks_total{{{labels}}} 0\n\
                 {extra}",
                now - 600.0
            )
        };
        let canary = "# TYPE deployment_canary_weight gauge\n\
                      deployment_canary_weight{service=\"checkout\",environment=\"production\"} 25\n";
        for (service, text) in [
            (
                "checkout",
                deployment(
                    "checkout",
                    "v3.4.1",
                    "v3.4.0",
                    "canary",
                    "",
                    "progressing",
                    canary,
                ),
            ),
            (
                "payments",
                deployment(
                    "payments",
                    "v2.0.0",
                    "v1.9.3",
                    "blue-green",
                    "green",
                    "complete",
                    "",
                ),
            ),
            (
                EVIL_SERVICE,
                deployment(
                    EVIL_SERVICE,
                    "v0.0.1",
                    "v0.0.0",
                    "rolling",
                    "",
                    "complete",
                    "",
                ),
            ),
        ] {
            self.pushgateway.push(
                "deploy",
                &[("service", service), ("environment", "production")],
                &text,
            );
        }

        // Backups: orders-db (critical, RPO 15 min) last succeeded 47 min ago.
        let backup = format!(
            "# TYPE backup_last_success_timestamp_seconds gauge\n\
             backup_last_success_timestamp_seconds{{target=\"orders-db\",tier=\"critical\"}} {}\n\
             # TYPE backup_last_size_bytes gauge\n\
             backup_last_size_bytes{{target=\"orders-db\"}} 128849018880\n\
             # TYPE backup_last_duration_seconds gauge\n\
             backup_last_duration_seconds{{target=\"orders-db\"}} 420\n",
            now - 47.0 * 60.0
        );
        self.pushgateway
            .push("backup", &[("target", "orders-db")], &backup);

        // Request counters, so the two services have golden signals too.
        let requests = "# TYPE http_requests_total counter\n\
                        http_requests_total{service=\"checkout\",code=\"200\"} 1000\n\
                        http_requests_total{service=\"checkout\",code=\"500\"} 80\n\
                        http_requests_total{service=\"payments\",code=\"200\"} 500\n";
        self.pushgateway.push("traffic", &[], requests);
    }

    /// Waits (through Prometheus and Alertmanager themselves, not opsdeck)
    /// until the estate is scraped and the alert has reached Alertmanager,
    /// so a later timeout on the screen is opsdeck's and not the servers'.
    fn wait_until_live(&self, need_scrapes: bool) {
        if need_scrapes {
            self.prometheus.wait_for(
                "deployment_info",
                "the pushed deployments, one with a raw ESC in its service",
                |r| {
                    r.as_array().is_some_and(|a| {
                        a.len() == 3 && a.iter().any(|s| s["metric"]["service"] == EVIL_SERVICE)
                    })
                },
            );
            self.prometheus
                .wait_for(r#"up{job="node"}"#, "node_exporter scraped and up", |r| {
                    support::sample_values(r) == [1.0]
                });
        }
        self.alertmanager
            .wait_for_alerts("CheckoutErrors in Alertmanager", |alerts| {
                alerts.as_array().is_some_and(|a| {
                    a.iter()
                        .any(|alert| alert["labels"]["alertname"] == "CheckoutErrors")
                })
            });
    }
}

/// A loopback port on which nothing listens: bound, then dropped.
fn dead_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0 for a dead port");
    let port = listener.local_addr().expect("a bound address").port();
    drop(listener);
    port
}

// ---------------------------------------------------------------------------
// The tmux harness (a trimmed copy of tests/e2e_tmux.rs's)
// ---------------------------------------------------------------------------

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One private tmux server with one session, `main`, and a private home.
/// Dropping it kills the server, then the opsdeck it ran if still alive,
/// then removes the home.
struct Tmux {
    socket: String,
    dir: PathBuf,
    pids: Vec<u32>,
    socket_path: Option<PathBuf>,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        let pid = std::process::id();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("opsdeck-e2e-live-{pid}-{name}-{nanos}"));
        fs::create_dir_all(dir.join("config")).expect("creating the test home");
        fs::create_dir_all(dir.join("state")).expect("creating the test home");
        Tmux {
            socket: format!("opsdeck-e2e-live-{pid}-{name}-{nanos}"),
            dir,
            pids: Vec::new(),
            socket_path: None,
        }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// Starts `opsdeck --prometheus <prometheus> --alertmanager
    /// <alertmanager>` in a `width`x`height` session; when it exits, the
    /// pane prints `EXIT=<status>` and stays open.
    fn launch(&mut self, width: u16, height: u16, prometheus: &str, alertmanager: &str) -> u32 {
        let script = format!(
            "{bin} --prometheus {prom} --alertmanager {am}; echo \"EXIT=$?\"; exec sleep 600",
            bin = sh_quote(BIN),
            prom = sh_quote(prometheus),
            am = sh_quote(alertmanager),
        );
        let (w, h) = (width.to_string(), height.to_string());
        let home_var = format!("HOME={}", self.dir.display());
        let config = format!("XDG_CONFIG_HOME={}", self.path("config"));
        let state = format!("XDG_STATE_HOME={}", self.path("state"));
        #[rustfmt::skip]
        let args = [
            "new-session", "-d", "-x", &w, "-y", &h, "-s", "main",
            "env", "-u", "NO_COLOR", "-u", "TMUX", "-u", "TMUX_PANE",
            "-u", "OPSDECK_CONFIG",
            &home_var, &config, &state,
            "sh", "-c", &script,
        ];
        self.tmux_ok(&args);
        self.socket_path = Some(PathBuf::from(
            self.tmux_ok(&["display-message", "-p", "#{socket_path}"])
                .trim(),
        ));
        self.opsdeck_pid()
    }

    fn tmux(&self, args: &[&str]) -> std::io::Result<Output> {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .env_remove("NO_COLOR")
            .env("HOME", &self.dir)
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("XDG_STATE_HOME", self.dir.join("state"))
            .stdin(Stdio::null())
            .output()
    }

    fn tmux_ok(&self, args: &[&str]) -> String {
        let out = self
            .tmux(args)
            .unwrap_or_else(|e| panic!("cannot run tmux {args:?}: {e}"));
        assert!(
            out.status.success(),
            "tmux {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible pane as text (`escapes`: with tmux's own SGR sequences
    /// for the cells' attributes, `capture-pane -e`).
    fn capture_with(&self, escapes: bool) -> Result<String, String> {
        let args: &[&str] = if escapes {
            &["capture-pane", "-e", "-p", "-t", "main"]
        } else {
            &["capture-pane", "-p", "-t", "main"]
        };
        match self.tmux(args) {
            Ok(out) if out.status.success() => {
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Ok(out) => Err(format!(
                "capture-pane failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => Err(format!("cannot run tmux: {e}")),
        }
    }

    fn capture(&self) -> Result<String, String> {
        self.capture_with(false)
    }

    /// Polls the screen until `check` passes and returns that screen; after
    /// `WAIT`, panics with what was still missing and the last screen.
    fn wait_check(&self, what: &str, check: impl Fn(&str) -> Result<(), String>) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let last = self.capture().and_then(|screen| match check(&screen) {
                Ok(()) => Ok(screen),
                Err(unmet) => Err(format!("still missing: {unmet}; last screen:\n{screen}")),
            });
            match last {
                Ok(screen) => return screen,
                Err(why) if Instant::now() >= deadline => {
                    panic!("timed out after {WAIT:?} waiting for {what}; {why}\n(end of screen)")
                }
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    /// Waits until one screen meets the whole expectation.
    fn expect(&self, what: &str, expect: Expect) -> String {
        self.wait_check(what, |screen| {
            let unmet = expect.unmet(screen);
            if unmet.is_empty() {
                Ok(())
            } else {
                Err(unmet.join(", "))
            }
        })
    }

    fn send(&self, key: &str) {
        self.tmux_ok(&["send-keys", "-t", "main", key]);
    }

    /// Sends `key`, then waits until the screen meets `expect`.
    fn press(&self, key: &str, what: &str, expect: Expect) -> String {
        self.send(key);
        self.expect(what, expect)
    }

    /// Presses the digit of tab `n`, then waits until tab `n` meets `expect`.
    fn tab(&self, n: usize, what: &str, expect: Expect) -> String {
        self.send(&n.to_string());
        self.expect(
            what,
            Expect {
                tab: Some(n),
                ..expect
            },
        )
    }

    fn display(&self, format: &str) -> String {
        self.tmux_ok(&["display-message", "-p", "-t", "main", format])
            .trim()
            .to_owned()
    }

    /// The opsdeck process in the pane, remembered for the guard.
    fn opsdeck_pid(&mut self) -> u32 {
        let pane: u32 = self
            .display("#{pane_pid}")
            .parse()
            .expect("tmux printed a pane pid");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found: Vec<u32> = descendants(pane)
                .into_iter()
                .filter(|(_, comm)| comm == "opsdeck")
                .map(|(pid, _)| pid)
                .collect();
            if let [pid] = found[..] {
                self.pids.push(pid);
                return pid;
            }
            if Instant::now() >= deadline {
                let screen = self.capture().unwrap_or_default();
                panic!(
                    "no single opsdeck process under pane process {pane} (found {found:?}); screen:\n{screen}"
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// `q` quits; returns the exit status the pane's shell printed.
    fn quit(&self, pid: u32) -> i32 {
        self.send("q");
        assert!(
            wait_exited(pid, EXIT_WAIT),
            "opsdeck {pid} still running {EXIT_WAIT:?} after q; screen:\n{}",
            self.capture().unwrap_or_default()
        );
        let screen = self.wait_check("EXIT= after q", |s| {
            exit_code(s).map(|_| ()).ok_or_else(|| "EXIT=".to_owned())
        });
        exit_code(&screen).expect("checked by the wait")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        for &pid in &self.pids {
            if !wait_exited(pid, Duration::from_secs(2)) && comm(pid).as_deref() == Some("opsdeck")
            {
                eprintln!("opsdeck {pid} outlived its tmux server; sending SIGKILL");
                let _ = Command::new("kill")
                    .args(["-s", "KILL", &pid.to_string()])
                    .status();
            }
        }
        if let Some(socket) = &self.socket_path {
            let _ = fs::remove_file(socket);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Screens and processes
// ---------------------------------------------------------------------------

/// A panel title only tab n has.
const TAB_MARKERS: [&str; 5] = [
    "╭ Availability 30d",
    "╭ Hosts",
    "╭ Deployments",
    "╭ Backups",
    "╭ Silences",
];

fn on_tab(screen: &str) -> Option<usize> {
    let shown: Vec<usize> = (1..=5)
        .filter(|&n| screen.contains(TAB_MARKERS[n - 1]))
        .collect();
    match shown[..] {
        [n] => Some(n),
        _ => None,
    }
}

/// True when one line of the screen holds all of `words`.
fn has_line(screen: &str, words: &[&str]) -> bool {
    screen
        .lines()
        .any(|line| words.iter().all(|w| line.contains(w)))
}

/// What one screen must show.
#[derive(Default, Clone, Copy)]
struct Expect<'a> {
    tab: Option<usize>,
    has: &'a [&'a str],
    lacks: &'a [&'a str],
    /// Groups of texts that share one line (one table row).
    lines: &'a [&'a [&'a str]],
    /// Groups of texts of which at least one is on screen.
    any: &'a [&'a [&'a str]],
}

impl<'a> Expect<'a> {
    fn has(self, has: &'a [&'a str]) -> Self {
        Expect { has, ..self }
    }

    fn lacks(self, lacks: &'a [&'a str]) -> Self {
        Expect { lacks, ..self }
    }

    fn lines(self, lines: &'a [&'a [&'a str]]) -> Self {
        Expect { lines, ..self }
    }

    fn any(self, any: &'a [&'a [&'a str]]) -> Self {
        Expect { any, ..self }
    }

    fn unmet(&self, screen: &str) -> Vec<String> {
        let mut unmet = Vec::new();
        if let Some(n) = self.tab
            && on_tab(screen) != Some(n)
        {
            unmet.push(format!("tab {n} (panel {:?} alone)", TAB_MARKERS[n - 1]));
        }
        unmet.extend(
            self.has
                .iter()
                .filter(|t| !screen.contains(*t))
                .map(|t| format!("{t:?}")),
        );
        unmet.extend(
            self.lacks
                .iter()
                .filter(|t| screen.contains(*t))
                .map(|t| format!("{t:?} gone")),
        );
        for words in self.lines {
            if !has_line(screen, words) {
                unmet.push(format!("one line with all of {words:?}"));
            }
        }
        for texts in self.any {
            if !texts.iter().any(|t| screen.contains(t)) {
                unmet.push(format!("one of {texts:?}"));
            }
        }
        unmet
    }
}

/// The status printed by `echo "EXIT=$?"`.
fn exit_code(screen: &str) -> Option<i32> {
    screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("EXIT="))
        .and_then(|c| c.trim().parse().ok())
}

/// `(command name, state, parent pid)` from `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<(String, char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_owned();
    let mut rest = stat[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, state, ppid))
}

fn comm(pid: u32) -> Option<String> {
    proc_stat(pid).map(|(comm, _, _)| comm)
}

fn alive(pid: u32) -> bool {
    matches!(proc_stat(pid), Some((_, state, _)) if state != 'Z' && state != 'X')
}

fn wait_exited(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Every process below `root`, with its command name.
fn descendants(root: u32) -> Vec<(u32, String)> {
    let mut all = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let pid = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok());
            if let Some((pid, (comm, _, ppid))) = pid.and_then(|pid| Some((pid, proc_stat(pid)?))) {
                all.push((pid, ppid, comm));
            }
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, ppid, comm) in &all {
            if *ppid == parent && *pid != root && !found.iter().any(|(p, _)| p == pid) {
                found.push((*pid, comm.clone()));
                frontier.push(*pid);
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------
// 1. Every tab on the live estate, and the escape sequence kept escaped
// ---------------------------------------------------------------------------

#[test]
fn live_estate_on_every_tab_with_escape_sequences_kept_escaped() {
    assert!(
        tmux_available(),
        "the end-to-end tests need tmux: apt-get install tmux (.ci/run does)"
    );
    let started = Instant::now();
    let estate = Estate::start();
    let mut t = Tmux::new("live");
    let pid = t.launch(
        120,
        40,
        &estate.prometheus.url(),
        &estate.alertmanager.url(),
    );
    estate.wait_until_live(true);
    eprintln!("[e2e_live] servers live after {:?}", started.elapsed());

    // The header of a live dashboard: no DEMO badge.
    t.expect(
        "the first live screen",
        Expect::default()
            .lacks(&[" DEMO "])
            .lines(&[&[" opsdeck ", "UTC"], &["1 KPIs", "5 Incidents ("]]),
    );

    // Deploys: the canary with its weight, the blue-green, and the service
    // with an escape sequence in its name, shown escaped.
    let deploys = t.tab(
        3,
        "the live deployments on the Deploys tab",
        Expect::default()
            .has(&[EVIL_ESCAPED])
            .lacks(&["evilred"])
            .lines(&[
                &["checkout", "canary", "25% new"],
                &["payments", "blue-green"],
                &[EVIL_ESCAPED, "rolling"],
            ]),
    );
    eprintln!("[e2e_live] Deploys tab:\n{deploys}");
    let header = deploys.lines().next().unwrap_or_default();
    assert!(
        !header.contains("DEMO"),
        "a live dashboard shows the DEMO badge:\n{deploys}"
    );
    // The same screen with the cells' attributes: the ESC byte never
    // reached the terminal (tmux would have turned it into red cells and
    // the text `evilred`), and no attribute changes inside the name.
    let raw = t.capture_with(true).expect("capture-pane -e");
    assert!(
        !raw.contains(EVIL_RAW),
        "the raw escape sequence reached the terminal:\n{raw:?}"
    );
    assert!(
        raw.contains(EVIL_ESCAPED),
        "the escaped service name is not one run of same-styled cells in `capture-pane -e`:\n{raw:?}"
    );
    assert!(
        !raw.contains("evilred"),
        "the escape sequence of {EVIL_ESCAPED} was interpreted:\n{raw:?}"
    );

    // Backups: orders-db, 47 minutes old against a 15-minute RPO.
    let backups = t.tab(
        4,
        "orders-db breaching its RPO on the Backups tab",
        Expect::default().lines(&[&["orders-db", "CRIT"]]),
    );
    eprintln!("[e2e_live] Backups tab:\n{backups}");

    // Incidents: the firing rule, from Alertmanager, with its runbook on
    // the panel's border.
    let incidents = t.tab(
        5,
        "the firing alert on the Incidents tab",
        Expect::default()
            .has(&[&format!(" runbook: {RUNBOOK} ")])
            .lines(&[&["CheckoutErrors", "checkout", "critical"]]),
    );
    eprintln!("[e2e_live] Incidents tab:\n{incidents}");

    // Health: the services with traffic, and a host row for the
    // node_exporter, named in full (the Host column widens to its names);
    // its details too (`w` focuses the Hosts panel, Enter opens the row).
    let host = estate.node.addr();
    let health = t.tab(
        2,
        "the node_exporter host and the services on the Health tab",
        Expect::default()
            .has(&["╭ Services", "checkout", "payments"])
            .lines(&[&[&host, "%"]]),
    );
    eprintln!("[e2e_live] Health tab:\n{health}");
    t.send("w");
    let title = format!("╭ {host}");
    let details = t.press(
        "Enter",
        "the node_exporter host's details",
        Expect::default().has(&[&title, "memory", "disk"]),
    );
    eprintln!("[e2e_live] host details:\n{details}");
    t.press(
        "Escape",
        "the host's details closed",
        Expect {
            tab: Some(2),
            ..Expect::default()
        }
        .lacks(&[&title]),
    );

    let code = t.quit(pid);
    assert_eq!(code, 0, "exit status after q");
    eprintln!("[e2e_live] live walk done in {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------
// 2. A dead Prometheus: a visible error, and the incidents keep coming
// ---------------------------------------------------------------------------

#[test]
fn dead_prometheus_shows_an_error_while_incidents_stay_live() {
    assert!(
        tmux_available(),
        "the end-to-end tests need tmux: apt-get install tmux (.ci/run does)"
    );
    let started = Instant::now();
    let estate = Estate::start();
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let mut t = Tmux::new("dead-prom");
    let pid = t.launch(120, 40, &dead, &estate.alertmanager.url());
    estate.wait_until_live(false);
    eprintln!(
        "[e2e_live] alert in Alertmanager after {:?}",
        started.elapsed()
    );

    let health = t.tab(
        2,
        "a connection error on the Health tab",
        Expect::default()
            .any(&[&["cannot connect", "Connection refused"]])
            .lines(&[&["╭ Services", "⚠"], &["╭ Hosts", "⚠"]]),
    );
    eprintln!("[e2e_live] Health tab, Prometheus dead:\n{health}");
    let incidents = t.tab(
        5,
        "the firing alert on the Incidents tab, Prometheus being down",
        Expect::default().lines(&[
            &["CheckoutErrors", "checkout", "critical"],
            &["╭ Incidents", "updated"],
        ]),
    );
    eprintln!("[e2e_live] Incidents tab, Prometheus dead:\n{incidents}");

    let code = t.quit(pid);
    assert_eq!(code, 0, "exit status after q");
    eprintln!(
        "[e2e_live] dead-Prometheus walk done in {:?}",
        started.elapsed()
    );
}
