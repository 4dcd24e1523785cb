//! Pushgateway (Debian's `prometheus-pushgateway` 1.5).

use std::process::Command;

use super::http::{REQUEST_TIMEOUT, http_request};
use super::process::{Server, TempDir};

/// A running Pushgateway with no persistence file; killed on drop.
#[derive(Debug)]
pub struct Pushgateway {
    server: Server,
}

impl Pushgateway {
    /// Starts with `--persistence.file=` (empty: in memory only). Debian's
    /// default is a file shared by every instance, so tests would see each
    /// other's metrics. Ready when `/-/ready` answers 200.
    pub fn start() -> Pushgateway {
        let server = Server::launch(
            "pushgateway",
            TempDir::new("pushgateway"),
            1,
            "/-/ready",
            |ports| {
                let mut command = Command::new("prometheus-pushgateway");
                command
                    .arg(format!("--web.listen-address=127.0.0.1:{}", ports[0]))
                    .arg("--persistence.file=");
                command
            },
        );
        Pushgateway { server }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `127.0.0.1:<port>`, the scrape target (scrape it with
    /// `honor_labels: true`, or `job` becomes `exported_job`).
    pub fn addr(&self) -> String {
        self.server.addr()
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    /// `<url>/metrics/job/<job>/<label>/<value>...`. Values outside
    /// `[A-Za-z0-9_.~-]` (a `/`, a space, an empty value...) are sent in the
    /// Pushgateway's `<label>@base64/<url-safe base64>` form.
    pub fn group_url(&self, job: &str, grouping: &[(&str, &str)]) -> String {
        let mut url = format!("{}/metrics", self.url());
        for (name, value) in std::iter::once(&("job", job)).chain(grouping) {
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "bad label name {name:?} in a grouping key"
            );
            let plain = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.~-".contains(c));
            if plain {
                url.push_str(&format!("/{name}/{value}"));
            } else {
                url.push_str(&format!("/{name}@base64/{}", base64_url(value.as_bytes())));
            }
        }
        url
    }

    /// PUT: replaces the group `job` + `grouping` with `text_exposition`
    /// (text format 0.0.4). A missing final newline is added (without it
    /// the Pushgateway answers 400 "unexpected end of input stream").
    /// Panics with the response body on a non-2xx answer, e.g. when a metric
    /// has another type or help text than the same name in another group.
    /// The Pushgateway adds `instance=""` to every series and a
    /// `push_time_seconds` series per group.
    pub fn push(&self, job: &str, grouping: &[(&str, &str)], text_exposition: &str) {
        let mut body = text_exposition.to_owned();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        let url = self.group_url(job, grouping);
        let response = http_request(
            "PUT",
            &url,
            Some("text/plain; version=0.0.4; charset=utf-8"),
            Some(body),
            REQUEST_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("push to the Pushgateway failed: {e}"));
        assert!(
            response.is_success(),
            "the Pushgateway refused the push to {url}: HTTP {}: {}",
            response.status,
            response.body
        );
    }

    /// DELETE the group `job` + `grouping`; panics on a non-2xx answer.
    pub fn delete(&self, job: &str, grouping: &[(&str, &str)]) {
        let url = self.group_url(job, grouping);
        let response = http_request("DELETE", &url, None, None, REQUEST_TIMEOUT)
            .unwrap_or_else(|e| panic!("delete on the Pushgateway failed: {e}"));
        assert!(
            response.is_success(),
            "the Pushgateway refused to delete {url}: HTTP {}: {}",
            response.status,
            response.body
        );
    }
}

/// RFC 4648 base64 with the URL-safe alphabet and padding; "=" for empty
/// input (the Pushgateway's spelling of an empty label value).
pub fn base64_url(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if input.is_empty() {
        return "=".to_owned();
    }
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}
