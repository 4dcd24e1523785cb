//! Test support: real Prometheus, Alertmanager, Pushgateway, node_exporter
//! and VictoriaMetrics (Debian's packages, installed by `.ci/run`), started
//! by the tests themselves; and the tmux driver of the end-to-end tests
//! (`tmux.rs`: the real binary in a private tmux server); and a fake HTTP
//! server (`fake.rs`) for the faults a real server will not produce on
//! demand; `pane.rs` adds a gated pane script, a byte capture of the pty
//! and the restored-terminal check to the tmux driver.
//!
//! Use it from an integration test with `mod support;` and
//! `use support::*;`. Each test binary uses a different subset, hence the
//! `allow(dead_code)` below.
//!
//! # The rules it keeps
//! * Everything listens on 127.0.0.1 only, on free ports ([`free_port`]:
//!   bind 127.0.0.1:0, drop, start the server; on "address already in use"
//!   start again on fresh ports). Once a server is ready the harness reads
//!   `/proc/<pid>/fd` and `/proc/<pid>/net/{tcp,udp}{,6}` and panics if it
//!   listens anywhere else (and a 200 from a process that is not ours does
//!   not count as ready).
//! * Every server has its own temporary directory (config, data, and
//!   `<name>.log` with its stdout and stderr), and is killed (SIGKILL) and
//!   waited for on drop, also when the test panics; then the directory is
//!   removed (set `OPSDECK_TEST_KEEP_DIRS=1` to keep them). A server that
//!   exits or is not ready within 30 s panics with the last lines of its log.
//! * The HTTP helpers are blocking but work inside `#[tokio::test]` too (see
//!   `http.rs`); they block the calling thread while they run.
//!
//! # Startup, measured on the 2-core dev machine (debug build)
//! From spawn to the readiness probe answering: node_exporter and
//! Pushgateway 40-70 ms, VictoriaMetrics 70-130 ms, Alertmanager 70-140 ms,
//! Prometheus 70-140 ms (backfill: plus ~20 ms of promtool), a 2-peer
//! Alertmanager cluster ~200 ms until both list 2 peers. All of them
//! (Pushgateway, node_exporter, Alertmanager, VictoriaMetrics, a 2-peer
//! cluster, Prometheus), one after the other: ~0.6 s. But see the first
//! gotcha: Prometheus scrapes for the first time ~5.7 s after it is ready.
//!
//! # Gotchas
//! * Prometheus 2.42 passes discovered targets (static ones too) on to the
//!   scrape manager and the notifier only every 5 s, a throttle that no flag
//!   shortens (not even the hidden `--scrape.discovery-reload-interval`).
//!   So `/-/ready` comes at ~0.1 s, but the first scrape lands at ~5.7 s and
//!   the first alert reaches Alertmanager at ~6-7 s. `wait_for` allows 30 s;
//!   start Prometheus first and set everything else up meanwhile.
//! * Pushgateway: Debian's default `--persistence.file` is shared; the
//!   harness passes `--persistence.file=`. A push needs a final newline
//!   (`push` adds one), every series gets `instance=""`, each group gets
//!   `push_time_seconds`/`push_failure_time_seconds`, and a metric name with
//!   another type or help than in another group is refused (HTTP 400), after
//!   which the group still exists with `push_time_seconds 0`. Scrape it with
//!   `honor_labels: true`; then `instance=""` wins over the target's
//!   instance and the series carry no `instance` label at all.
//! * Alertmanager: `--cluster.listen-address` defaults to 0.0.0.0:9094,
//!   so a single instance gets `--cluster.listen-address=` (clustering off).
//!   Peers gossip silences, not alerts (see `alertmanager.rs`).
//! * Prometheus: with rules and Alertmanagers, `--rules.alert.resend-delay=1s`
//!   (default 1 m) makes an alert fired before the notifier knew its
//!   Alertmanagers arrive a second later instead of a minute later.
//! * Backfill (`Prometheus::start_with_backfill`): OpenMetrics, timestamps in
//!   seconds, `# EOF` at the end, blocks loaded before `/-/ready`; the default
//!   15 d retention (counted back from the newest block) deletes older
//!   backfilled blocks at startup, so the harness passes 10 y.
//! * node_exporter: Debian enables the systemd collector, which fails on
//!   every scrape without a system bus; the harness picks its collectors.
//! * VictoriaMetrics: see `victoria.rs` (latency offset, milliseconds,
//!   flush, integer timestamps, which base URL).
//! * reqwest: building any client in a test binary panics unless a rustls
//!   crypto provider is installed or preconfigured, because opsdeck enables
//!   `rustls-no-provider` (see `http.rs`); and `reqwest::blocking` panics
//!   inside `#[tokio::test]` unless moved to a thread of its own.

#![allow(dead_code)]

mod alertmanager;
pub mod emitters;
mod fake;
mod http;
mod node_exporter;
mod pane;
mod process;
mod prometheus;
mod pushgateway;
mod screen;
mod tmux;
mod victoria;

// Each test binary uses a different subset, and an unused re-export is
// `unused_imports` (not `dead_code`).
#[allow(unused_imports)]
pub use self::{
    alertmanager::{
        Alertmanager, NULL_RECEIVER_CONFIG, post_alerts_to_all, silence_json, wait_for_silence,
    },
    fake::{FakeReply, FakeRequest, FakeServer, STREAM_LIMIT},
    http::{HttpResponse, http_get, http_get_json, http_post_json, http_request, url_with_query},
    node_exporter::{NODE_COLLECTORS, NodeExporter},
    pane::{
        PaneCapture, assert_exited_and_restored, cpu_time, exit_status, gated_quiet_script,
        gated_report_script, start_gated,
    },
    process::{KEEP_DIRS_ENV, Server, TempDir, file_tail, free_port, wait_until, wait_until_or},
    prometheus::{
        Prometheus, PrometheusConfig, ScrapeTarget, promql_query, promql_wait_for, sample_values,
        scrape, unix_now,
    },
    pushgateway::{Pushgateway, base64_url},
    screen::{render, screen_lines},
    tmux::{
        Expect, Harness, TAB_MARKERS, Tmux, alive, comm, descendants, exit_code, has_line, on_tab,
        proc_stat, require_tmux, send_signal, sh_quote, tmux_available,
    },
    victoria::VictoriaMetrics,
};
