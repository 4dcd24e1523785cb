//! node_exporter (Debian's `prometheus-node-exporter` 1.5).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use super::process::{Server, TempDir};

/// The collectors the harness enables. Debian's defaults include `systemd`
/// (an error on every scrape without a system bus, as in containers and CI),
/// `diskstats` (an error at start without /run/udev/data) and a textfile
/// directory shared with the host's exporter; `--collector.disable-defaults`
/// plus this list keeps a scrape small (about 550 lines) and the log quiet.
pub const NODE_COLLECTORS: &[&str] = &[
    "cpu",
    "meminfo",
    "loadavg",
    "filesystem",
    "netdev",
    "uname",
    "os",
    "time",
    "stat",
    "textfile",
];

/// A running node_exporter; killed on drop.
#[derive(Debug)]
pub struct NodeExporter {
    server: Server,
    textfile_dir: PathBuf,
}

impl NodeExporter {
    /// Starts with the collectors of [`NODE_COLLECTORS`] and a textfile
    /// directory of its own; ready when `/` answers 200 (node_exporter 1.5
    /// has no `/-/ready`).
    pub fn start() -> NodeExporter {
        let dir = TempDir::new("node-exporter");
        let textfile_dir = dir.join("textfile");
        fs::create_dir(&textfile_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", textfile_dir.display()));
        let textfiles = textfile_dir.clone();
        let server = Server::launch("node_exporter", dir, 1, "/", move |ports| {
            let mut command = Command::new("prometheus-node-exporter");
            command
                .arg(format!("--web.listen-address=127.0.0.1:{}", ports[0]))
                .arg("--collector.disable-defaults")
                .args(NODE_COLLECTORS.iter().map(|c| format!("--collector.{c}")))
                .arg(format!(
                    "--collector.textfile.directory={}",
                    textfiles.display()
                ));
            command
        });
        NodeExporter {
            server,
            textfile_dir,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `<url>/metrics`.
    pub fn metrics_url(&self) -> String {
        format!("{}/metrics", self.url())
    }

    /// `127.0.0.1:<port>`, the scrape target.
    pub fn addr(&self) -> String {
        self.server.addr()
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    /// The textfile collector's directory.
    pub fn textfile_dir(&self) -> &PathBuf {
        &self.textfile_dir
    }

    /// Writes `<name>.prom` into the textfile directory atomically (write,
    /// then rename), so a scrape never sees half a file; its metrics appear
    /// on the next scrape.
    pub fn write_textfile(&self, name: &str, text: &str) {
        let tmp = self.textfile_dir.join(format!(".{name}.tmp"));
        let path = self.textfile_dir.join(format!("{name}.prom"));
        let mut text = text.to_owned();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        fs::write(&tmp, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", tmp.display()));
        fs::rename(&tmp, &path)
            .unwrap_or_else(|e| panic!("cannot rename to {}: {e}", path.display()));
    }
}
