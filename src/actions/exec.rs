//! The `exec` backend: a program and its arguments run without a shell, in
//! a process group of its own, its stdout and stderr streamed line by line
//! with secrets masked. On timeout or cancel the whole group is stopped
//! (SIGTERM, then SIGKILL); when the program exits, whatever it left running
//! in its group is stopped too (a daemon meant to outlive it uses `setsid`).

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use async_trait::async_trait;
use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::SecretStore;
use super::template::{Rendered, render, render_argv};
use super::{ActionOutcome, ActionRequest, ActionRunner, Backend};
use crate::text::clean;

/// How long a stopped group has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How long output may still arrive after the program has ended.
const DRAIN: Duration = Duration::from_secs(1);
/// The most of one output line kept; the rest of the line is dropped.
const MAX_LINE_BYTES: usize = 16 * 1024;
/// The most of one output line shown.
const MAX_LINE_CHARS: usize = 1000;

pub struct ExecRunner {
    pub secrets: SecretStore,
}

/// An exec request filled in, ready to spawn.
struct Prepared {
    argv: Vec<Rendered>,
    env: Vec<(String, Rendered)>,
    dir: Option<PathBuf>,
}

impl ExecRunner {
    pub fn new(secrets: SecretStore) -> ExecRunner {
        ExecRunner { secrets }
    }

    fn prepare(&self, request: &ActionRequest) -> Result<Prepared, String> {
        let Backend::Exec { argv, env, dir } = &request.backend else {
            return Err(format!("{} is not an exec action", request.action));
        };
        let argv = render_argv(argv, &request.parameters, &self.secrets)?;
        if argv.first().is_none_or(|program| program.clear.is_empty()) {
            return Err(format!("{} has no program to run", request.action));
        }
        let env = env
            .iter()
            .map(|(name, template)| {
                if name.is_empty() || name.contains(['=', '\0']) {
                    return Err(format!("'{name}' is not an environment variable name"));
                }
                Ok((
                    name.clone(),
                    render(template, &request.parameters, &self.secrets)?,
                ))
            })
            .collect::<Result<_, String>>()?;
        Ok(Prepared {
            argv,
            env,
            dir: dir.clone(),
        })
    }
}

impl Prepared {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.argv[0].clear);
        command
            .args(self.argv[1..].iter().map(|a| &a.clear))
            .envs(self.env.iter().map(|(name, value)| (name, &value.clear)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            // Only if `run` is dropped mid-way; `GroupGuard` stops the rest.
            .kill_on_drop(true);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
    }
}

/// `arg` as a POSIX shell would need it to read it back as one word.
pub fn shell_quote(arg: &str) -> String {
    let plain = |c: char| {
        c.is_ascii_alphanumeric()
            || "_@%+=:,./-".contains(c)
            || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
    };
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[async_trait]
impl ActionRunner for ExecRunner {
    fn describe(&self, request: &ActionRequest) -> Result<Vec<String>, String> {
        let prepared = self.prepare(request)?;
        let argv: Vec<String> = prepared
            .argv
            .iter()
            .map(|a| shell_quote(&a.masked))
            .collect();
        let mut lines = vec![argv.join(" ")];
        lines.extend(
            prepared
                .env
                .iter()
                .map(|(name, value)| format!("{name}={}", shell_quote(&value.masked))),
        );
        if let Some(dir) = &prepared.dir {
            lines.push(format!("in {}", shell_quote(&dir.display().to_string())));
        }
        Ok(lines)
    }

    async fn run(
        &self,
        request: ActionRequest,
        output: mpsc::UnboundedSender<String>,
        mut cancel: oneshot::Receiver<()>,
    ) -> ActionOutcome {
        let prepared = match self.prepare(&request) {
            Ok(prepared) => prepared,
            Err(detail) => return ActionOutcome::Failed { detail },
        };
        let mut child = match spawn(&prepared) {
            Ok(child) => child,
            Err(detail) => {
                return ActionOutcome::Failed {
                    detail: self.secrets.mask(&detail),
                };
            }
        };
        let readers = [
            child.stdout.take().map(|out| self.forward(out, &output)),
            child.stderr.take().map(|err| self.forward(err, &output)),
        ];
        // A child that has been spawned has an id until it is reaped.
        let pgid = child.id().and_then(|id| Pid::from_raw(id as i32));
        let mut guard = GroupGuard(pgid);
        enum End {
            Exited(io::Result<ExitStatus>),
            TimedOut,
            Cancelled,
        }
        let timeout = request.timeout.to_std().unwrap_or_default();
        let end = tokio::select! {
            biased;
            status = child.wait() => End::Exited(status),
            _ = &mut cancel => End::Cancelled,
            () = tokio::time::sleep(timeout) => End::TimedOut,
        };
        let outcome = match end {
            End::Exited(status) => exited(status),
            End::TimedOut => ActionOutcome::TimedOut,
            End::Cancelled => ActionOutcome::Cancelled,
        };
        if let Some(pgid) = pgid {
            stop_group(&mut child, pgid).await;
        }
        guard.0 = None;
        drain(readers.into_iter().flatten()).await;
        outcome
    }
}

fn spawn(prepared: &Prepared) -> Result<Child, String> {
    let program = &prepared.argv[0].masked;
    if let Some(dir) = &prepared.dir
        && !dir.is_dir()
    {
        return Err(format!(
            "cannot start {program}: no directory {}",
            dir.display()
        ));
    }
    prepared
        .command()
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))
}

fn exited(status: io::Result<ExitStatus>) -> ActionOutcome {
    match status {
        Ok(status) if status.success() => ActionOutcome::Succeeded {
            detail: "exit 0".into(),
        },
        Ok(status) => ActionOutcome::Failed {
            detail: match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => status.to_string(),
            },
        },
        Err(e) => ActionOutcome::Failed {
            detail: format!("lost track of the process: {e}"),
        },
    }
}

/// Sends SIGTERM to the group if anything in it still runs, waits up to
/// `GRACE` for the program to exit and the group to empty, then SIGKILLs
/// what is left and reaps the program.
pub(crate) async fn stop_group(child: &mut Child, pgid: Pid) {
    let leader_done = matches!(child.try_wait(), Ok(Some(_)));
    if leader_done && !group_runs(pgid) {
        return;
    }
    let _ = kill_process_group(pgid, Signal::TERM);
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        let leader_done = matches!(child.try_wait(), Ok(Some(_)));
        if leader_done && !group_runs(pgid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = kill_process_group(pgid, Signal::KILL);
    let _ = child.wait().await;
}

/// Whether anything in the group still runs. Zombies do not count: they
/// are over, only waiting for init to reap them (which some containers'
/// init does only every few seconds), and a signal cannot touch them.
fn group_runs(pgid: Pid) -> bool {
    if test_kill_process_group(pgid).is_err() {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // "pid (comm) state ppid pgrp …"; comm may hold spaces and parens.
        let mut fields = stat[stat.rfind(')').map_or(0, |i| i + 1)..].split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
        pgrp == Some(pgid.as_raw_nonzero().get()) && !matches!(state, Some("Z" | "X"))
    })
}

/// SIGKILLs the group if `run` is dropped before it has stopped it (the app
/// shutting down mid-action).
pub(crate) struct GroupGuard(pub(crate) Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            let _ = kill_process_group(pgid, Signal::KILL);
        }
    }
}

impl ExecRunner {
    fn forward(
        &self,
        mut stream: impl AsyncRead + Unpin + Send + 'static,
        output: &mpsc::UnboundedSender<String>,
    ) -> JoinHandle<()> {
        let output = output.clone();
        let mut lines = OutputLines::new(self.secrets.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = stream.read(&mut buf).await {
                for line in lines.push(&buf[..n]) {
                    let _ = output.send(line);
                }
            }
            if let Some(line) = lines.finish() {
                let _ = output.send(line);
            }
        })
    }
}

/// Lets the readers pass on what is still in the pipes, for up to `DRAIN`
/// in all: a process outside the group may hold a pipe open for ever.
async fn drain(readers: impl Iterator<Item = JoinHandle<()>>) {
    let deadline = Instant::now() + DRAIN;
    for mut reader in readers {
        if tokio::time::timeout_at(deadline, &mut reader)
            .await
            .is_err()
        {
            reader.abort();
        }
    }
}

/// Output bytes cut into lines as they come, each shown safe: secrets
/// masked, control characters other than tab escaped, long lines cut.
pub(crate) struct OutputLines {
    secrets: SecretStore,
    pending: Vec<u8>,
    cut: bool,
}

impl OutputLines {
    pub(crate) fn new(secrets: SecretStore) -> OutputLines {
        OutputLines {
            secrets,
            pending: Vec::new(),
            cut: false,
        }
    }

    /// The lines `bytes` completes.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut parts = bytes.split(|&b| b == b'\n').peekable();
        while let Some(part) = parts.next() {
            let room = MAX_LINE_BYTES.saturating_sub(self.pending.len());
            self.cut |= part.len() > room;
            self.pending
                .extend_from_slice(&part[..part.len().min(room)]);
            if parts.peek().is_some() {
                lines.push(self.take());
            }
        }
        lines
    }

    /// The last line, if the output did not end with a newline.
    pub(crate) fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty() || self.cut).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let mut bytes = std::mem::take(&mut self.pending);
        let cut = std::mem::replace(&mut self.cut, false);
        // A secret straddling the cut would show its first part unmasked:
        // a cut line loses as many bytes as the longest secret has.
        if cut {
            bytes.truncate(bytes.len().saturating_sub(self.secrets.longest()));
        }
        let text = String::from_utf8_lossy(&bytes);
        let text = self.secrets.mask(text.strip_suffix('\r').unwrap_or(&text));
        let shown: Vec<String> = text
            .split('\t')
            .map(|field| clean(field).into_owned())
            .collect();
        let shown = shown.join("\t");
        let mut line: String = shown.chars().take(MAX_LINE_CHARS).collect();
        if cut || line.len() < shown.len() {
            line.push('…');
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::Secret;
    use std::collections::BTreeMap;

    #[test]
    fn words_are_quoted_only_when_a_shell_would_need_it() {
        assert_eq!(shell_quote("ansible-playbook"), "ansible-playbook");
        assert_eq!(shell_quote("inventory/production"), "inventory/production");
        assert_eq!(
            shell_quote("application_name=check out"),
            "'application_name=check out'"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(x)"), "'$(x)'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("••••"), "••••");
    }

    #[test]
    fn output_lines_are_masked_escaped_and_bounded() {
        let secrets = SecretStore::new(BTreeMap::from([("t".to_string(), Secret::new("hunter2"))]));
        let mut lines = OutputLines::new(secrets);
        assert_eq!(lines.push(b"pass=hun"), Vec::<String>::new());
        assert_eq!(
            lines.push(b"ter2\tok\x1b[31m\r\nsecond"),
            ["pass=••••\tok\\x1b[31m"]
        );
        assert_eq!(lines.finish().as_deref(), Some("second"));
        assert_eq!(lines.finish(), None);
        let long = vec![b'x'; MAX_LINE_BYTES * 3];
        assert!(lines.push(&long).is_empty());
        let line = lines.push(b"\n").remove(0);
        assert!(line.ends_with('…'));
        assert!(line.chars().count() <= MAX_LINE_CHARS + 1);
        assert_eq!(lines.push(b"\xff\n"), ["\u{fffd}"]);
    }
}
