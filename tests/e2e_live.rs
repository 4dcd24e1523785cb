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

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use support::{
    Alertmanager, Expect, Harness, NodeExporter, Prometheus, PrometheusConfig, Pushgateway, Tmux,
    exit_code, require_tmux, scrape, sh_quote, unix_now,
};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
/// How long a screen may take to show live data: Prometheus's first scrape
/// and rule evaluation, the alert's way to Alertmanager, opsdeck's refresh.
const WAIT: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(100);
/// How long opsdeck may take to exit after `q`.
const EXIT_WAIT: Duration = Duration::from_secs(10);
/// The tmux driver's names and waits for these tests.
const HARNESS: Harness = Harness {
    prefix: "opsdeck-e2e-live",
    wait: WAIT,
    poll: POLL,
};

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
// Launching and quitting (the tmux driver itself is tests/support/tmux.rs)
// ---------------------------------------------------------------------------

/// What these tests do with a [`Tmux`] on top of driving it.
trait LiveSteps {
    /// Starts `opsdeck --prometheus <prometheus> --alertmanager
    /// <alertmanager>` in a `width`x`height` session; when it exits, the
    /// pane prints `EXIT=<status>` and stays open.
    fn launch(&mut self, width: u16, height: u16, prometheus: &str, alertmanager: &str) -> u32;

    /// `q` quits; returns the exit status the pane's shell printed.
    fn quit(&self, pid: u32) -> i32;
}

impl LiveSteps for Tmux {
    fn launch(&mut self, width: u16, height: u16, prometheus: &str, alertmanager: &str) -> u32 {
        let script = format!(
            "{bin} --prometheus {prom} --alertmanager {am}; echo \"EXIT=$?\"; exec sleep 600",
            bin = sh_quote(BIN),
            prom = sh_quote(prometheus),
            am = sh_quote(alertmanager),
        );
        self.start_unsetting(width, height, &["OPSDECK_CONFIG"], &script);
        self.opsdeck_pid()
    }

    fn quit(&self, pid: u32) -> i32 {
        self.send("q");
        assert!(
            self.wait_exited(pid, EXIT_WAIT),
            "opsdeck {pid} still running {EXIT_WAIT:?} after q; screen:\n{}",
            self.capture().unwrap_or_default()
        );
        let screen = self.wait_check("EXIT= after q", |s| {
            exit_code(s).map(|_| ()).ok_or_else(|| "EXIT=".to_owned())
        });
        exit_code(&screen).expect("checked by the wait")
    }
}

// ---------------------------------------------------------------------------
// 1. Every tab on the live estate, and the escape sequence kept escaped
// ---------------------------------------------------------------------------

#[test]
fn live_estate_on_every_tab_with_escape_sequences_kept_escaped() {
    require_tmux();
    let started = Instant::now();
    let estate = Estate::start();
    let mut t = Tmux::new(HARNESS, "live");
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
    require_tmux();
    let started = Instant::now();
    let estate = Estate::start();
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let mut t = Tmux::new(HARNESS, "dead-prom");
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

// ---------------------------------------------------------------------------
// 3. An acknowledgement from the keyboard reaches a real Alertmanager
// ---------------------------------------------------------------------------

#[test]
fn acknowledging_an_incident_silences_it_in_alertmanager_and_is_audited() {
    require_tmux();
    let alertmanager = Alertmanager::start();
    alertmanager.post_alerts(serde_json::json!([{
        "labels": {"alertname": "DiskFull", "service": "db", "severity": "critical"},
        "annotations": {"summary": "disk above 95%"}
    }]));
    let mut t = Tmux::new(HARNESS, "acknowledge");
    // Prometheus is not needed here: a dead port, whose errors stay on
    // their panels while the incidents come from Alertmanager.
    let prometheus = format!("http://127.0.0.1:{}", dead_port());
    let pid = t.launch(120, 40, &prometheus, &alertmanager.url());
    // Keys only once opsdeck owns the terminal, or the shell echoes them.
    t.expect(
        "the first screen",
        Expect::default().lines(&[&[" opsdeck ", "UTC"]]),
    );
    t.go_to_tab(5);
    t.expect(
        "the incident",
        Expect::on(5).lines(&[&["DiskFull", "db", "disk above 95%"]]),
    );
    t.send("a");
    t.expect(
        "the acknowledge dialog",
        Expect::on(5).has(&[
            "Confirm: acknowledge",
            &format!("POST {}/api/v2/silences", alertmanager.url()),
            "alertname=\"DiskFull\", service=\"db\"",
        ]),
    );
    // The dialog ignores keys for its first 300 ms (typed ahead or pasted).
    std::thread::sleep(Duration::from_millis(400));
    t.send("Tab");
    t.send("Enter");
    // The output pane covers the silences panel: no tab check from here.
    t.expect(
        "the silence created",
        Expect::default().has(&["acknowledge DiskFull/db: succeeded", "created"]),
    );
    let silences = alertmanager.silences();
    let silence = silences
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"]["state"] == "active")
        .unwrap_or_else(|| panic!("no active silence: {silences:#}"));
    let matchers: Vec<(String, String)> = silence["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["isRegex"], false, "{m}");
            (
                m["name"].as_str().unwrap().to_string(),
                m["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        matchers.contains(&("alertname".into(), "DiskFull".into())),
        "{silence:#}"
    );
    assert!(
        matchers.contains(&("service".into(), "db".into())),
        "{silence:#}"
    );
    assert_eq!(silence["comment"], "acknowledged in opsdeck");
    // The incident says so once Alertmanager applies the silence.
    t.expect(
        "the incident silenced",
        Expect::default().lines(&[&["DiskFull", "[silenced]"]]),
    );
    let audit = std::fs::read_to_string(t.path(".local/share/opsdeck/audit.log"))
        .expect("the audit log in the private home");
    let events: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stages: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["asked", "confirmed", "started", "finished"],
        "{audit}"
    );
    assert_eq!(events[3]["outcome"], "succeeded");
    assert_eq!(events[3]["target"], "DiskFull/db");
    assert_eq!(t.quit(pid), 0);
}
