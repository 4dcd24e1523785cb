//! Alertmanager (Debian's `prometheus-alertmanager` 0.25), alone or as an
//! HA cluster.
//!
//! In a cluster, peers gossip silences and notification logs, NOT alerts:
//! an alert posted to one peer never shows up in another's /api/v2/alerts
//! (the self-test checks this). HA works because every Prometheus sends
//! every alert to every Alertmanager; tests do the same with
//! [`post_alerts_to_all`].

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::http::{REQUEST_TIMEOUT, http_get, http_post_json, http_request, shorten};
use super::process::{Server, TempDir, wait_until, wait_until_or};

/// One route to a receiver that sends nothing.
pub const NULL_RECEIVER_CONFIG: &str = "\
route:
  receiver: 'null'
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: 'null'
";

/// A running Alertmanager; killed on drop.
#[derive(Debug)]
pub struct Alertmanager {
    server: Server,
}

impl Alertmanager {
    /// A single Alertmanager with [`NULL_RECEIVER_CONFIG`].
    pub fn start() -> Alertmanager {
        Alertmanager::start_with_config(NULL_RECEIVER_CONFIG)
    }

    /// A single Alertmanager with the given alertmanager.yml (for inhibit
    /// rules, say). Clustering is off (`--cluster.listen-address=`): by
    /// default Alertmanager listens for gossip on 0.0.0.0:9094.
    pub fn start_with_config(yaml: &str) -> Alertmanager {
        let dir = TempDir::new("alertmanager");
        let config = dir.write("alertmanager.yml", yaml);
        let storage = dir.join("data");
        let server = Server::launch("alertmanager", dir, 1, "/-/ready", move |ports| {
            let mut command = Command::new("prometheus-alertmanager");
            command
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.path={}", storage.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{}", ports[0]))
                .arg("--cluster.listen-address=");
            command
        });
        Alertmanager { server }
    }

    /// `n` peers of one HA cluster, each with its own directory, web port
    /// and cluster port (TCP and UDP) on 127.0.0.1. Peer i is given the
    /// cluster addresses of peers 0..i as `--cluster.peer` (membership is
    /// symmetric once joined) and `--cluster.advertise-address` explicitly.
    /// Returns once every peer's /api/v2/status lists `n` peers.
    pub fn start_cluster(n: usize) -> Vec<Alertmanager> {
        assert!(n >= 1, "a cluster needs at least one peer");
        let started = std::time::Instant::now();
        let mut peers: Vec<Alertmanager> = Vec::with_capacity(n);
        for _ in 0..n {
            let dir = TempDir::new("alertmanager");
            let config = dir.write("alertmanager.yml", NULL_RECEIVER_CONFIG);
            let storage = dir.join("data");
            let others: Vec<String> = peers
                .iter()
                .map(|p| p.cluster_addr().expect("cluster peers have a cluster port"))
                .collect();
            let server = Server::launch("alertmanager", dir, 2, "/-/ready", move |ports| {
                let mut command = Command::new("prometheus-alertmanager");
                command
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!("--storage.path={}", storage.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{}", ports[0]))
                    .arg(format!("--cluster.listen-address=127.0.0.1:{}", ports[1]))
                    .arg(format!(
                        "--cluster.advertise-address=127.0.0.1:{}",
                        ports[1]
                    ))
                    .args(others.iter().map(|o| format!("--cluster.peer={o}")));
                command
            });
            peers.push(Alertmanager { server });
        }
        for peer in &peers {
            wait_until_or(
                &format!("Alertmanager {} to see {n} cluster peers", peer.addr()),
                Duration::from_secs(15),
                Duration::from_millis(50),
                || {
                    let status = peer.status();
                    if status["cluster"]["peers"].as_array().map(Vec::len) == Some(n) {
                        Ok(())
                    } else {
                        Err(format!(
                            "last cluster status: {}",
                            shorten(&status["cluster"].to_string(), 2000)
                        ))
                    }
                },
                || peer.server.log_context(),
            );
        }
        eprintln!(
            "[support] alertmanager cluster of {n} formed in {} ms",
            started.elapsed().as_millis()
        );
        peers
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `127.0.0.1:<port>`, for `PrometheusConfig::alertmanagers`.
    pub fn addr(&self) -> String {
        self.server.addr()
    }

    /// `127.0.0.1:<cluster port>` for a cluster peer, else `None`.
    pub fn cluster_addr(&self) -> Option<String> {
        self.server
            .ports()
            .get(1)
            .map(|port| format!("127.0.0.1:{port}"))
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    /// POST /api/v2/alerts with an array of
    /// `{labels, annotations, startsAt?, endsAt?, generatorURL?}`. Without
    /// `endsAt` an alert resolves after `resolve_timeout` (5 m). Panics with
    /// the response body on a non-2xx answer.
    pub fn post_alerts(&self, alerts: Value) {
        assert!(alerts.is_array(), "post_alerts takes a JSON array");
        let url = format!("{}/api/v2/alerts", self.url());
        let response = http_post_json(&url, &alerts);
        assert!(
            response.is_success(),
            "Alertmanager refused the alerts: HTTP {}: {}",
            response.status,
            response.body
        );
    }

    /// GET /api/v2/alerts: every alert, each with `status.state`
    /// ("active", "suppressed", "unprocessed"), `silencedBy`, `inhibitedBy`,
    /// `fingerprint` and `receivers`.
    pub fn alerts(&self) -> Value {
        self.get_ok("/api/v2/alerts")
    }

    /// Polls /api/v2/alerts every 200 ms, up to 30 s, until `pred(alerts)`;
    /// returns that array. Panics with the last answer and the log tail.
    pub fn wait_for_alerts(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        wait_until_or(
            &format!("{what} (in {}/api/v2/alerts)", self.url()),
            Duration::from_secs(30),
            Duration::from_millis(200),
            || {
                let alerts = self.alerts();
                if pred(&alerts) {
                    Ok(alerts)
                } else {
                    Err(format!(
                        "last answer: {}",
                        shorten(&alerts.to_string(), 3000)
                    ))
                }
            },
            || self.server.log_context(),
        )
    }

    /// POST /api/v2/silences; returns the new silence's id.
    pub fn create_silence(&self, silence: Value) -> String {
        let url = format!("{}/api/v2/silences", self.url());
        let response = http_post_json(&url, &silence);
        assert!(
            response.is_success(),
            "Alertmanager refused the silence: HTTP {}: {}",
            response.status,
            response.body
        );
        response.json()["silenceID"]
            .as_str()
            .unwrap_or_else(|| panic!("no silenceID in {}", response.body))
            .to_owned()
    }

    /// GET /api/v2/silences (expired ones included, with `status.state`).
    pub fn silences(&self) -> Value {
        self.get_ok("/api/v2/silences")
    }

    /// DELETE /api/v2/silence/<id> (expires it).
    pub fn expire_silence(&self, id: &str) {
        let url = format!("{}/api/v2/silence/{id}", self.url());
        let response = http_request("DELETE", &url, None, None, REQUEST_TIMEOUT)
            .unwrap_or_else(|e| panic!("expiring silence {id} failed: {e}"));
        assert!(
            response.is_success(),
            "Alertmanager refused to expire {id}: HTTP {}: {}",
            response.status,
            response.body
        );
    }

    /// GET /api/v2/status (`cluster.status`, `cluster.peers`, `config`...).
    pub fn status(&self) -> Value {
        self.get_ok("/api/v2/status")
    }

    fn get_ok(&self, path: &str) -> Value {
        let response = http_get(&format!("{}{path}", self.url()));
        assert!(
            response.is_success(),
            "GET {path} on Alertmanager: HTTP {}: {}",
            response.status,
            response.body
        );
        response.json()
    }
}

/// Posts the same alerts to every Alertmanager, as Prometheus does with an
/// HA pair (alerts are not gossiped between peers).
pub fn post_alerts_to_all(alertmanagers: &[Alertmanager], alerts: Value) {
    for am in alertmanagers {
        am.post_alerts(alerts.clone());
    }
}

/// A silence document for [`Alertmanager::create_silence`]: equality
/// matchers, starting now and lasting `duration`.
pub fn silence_json(
    matchers: &[(&str, &str)],
    created_by: &str,
    comment: &str,
    duration: chrono::Duration,
) -> Value {
    let now = chrono::Utc::now();
    json!({
        "matchers": matchers
            .iter()
            .map(|(name, value)| json!({
                "name": name, "value": value, "isRegex": false, "isEqual": true,
            }))
            .collect::<Vec<_>>(),
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + duration).to_rfc3339(),
        "createdBy": created_by,
        "comment": comment,
    })
}

/// Waits until `alertmanager` lists a silence with `id` (in a cluster,
/// silences reach the other peers by gossip within about a second).
pub fn wait_for_silence(alertmanager: &Alertmanager, id: &str) -> Value {
    wait_until(
        &format!("silence {id} on {}", alertmanager.addr()),
        Duration::from_secs(15),
        || {
            alertmanager
                .silences()
                .as_array()?
                .iter()
                .find(|s| s["id"] == id)
                .cloned()
        },
    )
}
