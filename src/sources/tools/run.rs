//! Running a backup tool: no shell, its own process group, a timeout, a cap
//! on what it may write, passwords passed in its environment and masked in
//! anything shown. A tool that hangs, writes without end or is not
//! installed is a specific error, never a wait or a buffer without end.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::actions::exec::{GroupGuard, stop_group};
use crate::config::actions::MASK;

/// The most of a tool's standard error kept (its last lines are its words).
const MAX_STDERR: usize = 64 * 1024;

/// One run of a tool, ready to spawn.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Set in its environment; a value in `secrets` too is masked wherever
    /// the run is described or its words shown.
    pub env: Vec<(String, String)>,
    pub dir: Option<PathBuf>,
    pub timeout: Duration,
    /// The most of its standard output read; past it the run is stopped.
    pub max_output: u64,
    pub secrets: Vec<String>,
    /// The system user it runs as (`ToolTarget::user`): switched to when
    /// opsdeck is root, required to be opsdeck's own user otherwise.
    pub user: Option<String>,
}

/// A system user, from `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

impl User {
    /// The user called `name`, if `/etc/passwd` has one.
    pub fn named(name: &str) -> Option<User> {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0] != name {
                return None;
            }
            Some(User {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].into(),
            })
        })
    }
}

/// How to run as `user`: `Ok(None)` to run as opsdeck's own user, the
/// user to switch to when opsdeck is root, an error when it is neither.
pub fn switch_to(user: Option<&str>) -> Result<Option<User>, RunError> {
    let Some(name) = user else {
        return Ok(None);
    };
    let user =
        User::named(name).ok_or_else(|| RunError::Failed(format!("no system user '{name}'")))?;
    let me = rustix::process::geteuid().as_raw();
    if me == user.uid {
        Ok(None)
    } else if me == 0 {
        Ok(Some(user))
    } else {
        Err(RunError::Failed(format!(
            "runs as '{name}': start opsdeck as {name} (or as root)"
        )))
    }
}

/// What a finished run left.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    /// Its standard error, secrets masked and control characters escaped,
    /// the last `MAX_STDERR` bytes at most.
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The tool's last words on standard error, one line (the lines that
    /// say what went wrong are last), or the exit code.
    pub fn words(&self) -> String {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let tail = &lines[lines.len().saturating_sub(3)..];
        if tail.is_empty() {
            match self.code {
                Some(code) => format!("exit {code}"),
                None => "killed by a signal".into(),
            }
        } else {
            let words = tail.join(" · ");
            match words.char_indices().nth(300) {
                Some((i, _)) => format!("{}…", &words[..i]),
                None => words,
            }
        }
    }
}

/// Why a run gave no output to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The program is not there (or not executable).
    NotInstalled(String),
    TimedOut(Duration),
    /// It wrote more than `max_output` bytes.
    TooLarge(u64),
    Cancelled,
    /// Anything else the system said.
    Failed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NotInstalled(program) => write!(f, "{program} is not installed (not found)"),
            RunError::TimedOut(t) => write!(
                f,
                "no answer within {} (stopped)",
                humantime::format_duration(*t)
            ),
            RunError::TooLarge(max) => write!(f, "answer larger than {max} bytes, not read"),
            RunError::Cancelled => f.write_str("cancelled"),
            RunError::Failed(e) => f.write_str(e),
        }
    }
}

impl Invocation {
    /// The command line as shown: the program and its arguments, secrets
    /// masked (none should be there), shell-quoted.
    pub fn describe(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| crate::actions::exec::shell_quote(&self.mask(&a.to_string_lossy())))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.secrets.iter().filter(|s| !s.is_empty()) {
            out = out.replace(secret.as_str(), MASK);
        }
        out
    }

    /// Runs it to the end, its timeout, its output cap, or `cancel`; in
    /// every case but the end the whole process group is stopped.
    pub async fn run_until(
        &self,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Result<Output, RunError> {
        let program = self.program.display().to_string();
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env("LC_ALL", "C")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        if let Some(user) = switch_to(self.user.as_deref())? {
            command
                .uid(user.uid)
                .gid(user.gid)
                .env("HOME", &user.home)
                .env("USER", &user.name)
                .env("LOGNAME", &user.name);
        }
        // A program just written (an install, a test's script) is "text
        // file busy" while a process forked elsewhere meanwhile still holds
        // its writing descriptor, until that process execs: a moment.
        let busy = rustix::io::Errno::TXTBSY.raw_os_error();
        let mut spawned = command.spawn();
        for _ in 0..10 {
            match &spawned {
                Err(e) if e.raw_os_error() == Some(busy) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    spawned = command.spawn();
                }
                _ => break,
            }
        }
        let mut child = spawned.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                RunError::NotInstalled(program.clone())
            }
            _ => RunError::Failed(format!("cannot start {program}: {e}")),
        })?;
        let pgid = child.id().and_then(|id| Pid::from_raw(id as i32));
        let mut guard = GroupGuard(pgid);
        let stdout = child.stdout.take().map(|s| read_capped(s, self.max_output));
        let stderr = child.stderr.take().map(|s| read_tail(s, MAX_STDERR));
        let out_task = tokio::spawn(async move {
            match stdout {
                Some(f) => f.await,
                None => Ok(Vec::new()),
            }
        });
        let err_task = tokio::spawn(async move {
            match stderr {
                Some(f) => f.await,
                None => Vec::new(),
            }
        });
        enum End {
            Exited(Option<i32>),
            TooLarge,
            TimedOut,
            Cancelled,
        }
        tokio::pin!(cancel);
        let mut out_task = out_task;
        let mut stdout_bytes: Option<Vec<u8>> = None;
        let end = loop {
            tokio::select! {
                biased;
                status = child.wait() => break End::Exited(status.ok().and_then(|s| s.code())),
                read = &mut out_task, if stdout_bytes.is_none() => match read {
                    Ok(Ok(bytes)) => stdout_bytes = Some(bytes),
                    _ => break End::TooLarge,
                },
                _ = &mut cancel => break End::Cancelled,
                () = tokio::time::sleep(self.timeout) => break End::TimedOut,
            }
        };
        if let Some(pgid) = pgid {
            stop_group(&mut child, pgid).await;
        }
        guard.0 = None;
        let code = match end {
            End::Exited(code) => code,
            End::TooLarge => return Err(RunError::TooLarge(self.max_output)),
            End::TimedOut => return Err(RunError::TimedOut(self.timeout)),
            End::Cancelled => return Err(RunError::Cancelled),
        };
        let stdout = match stdout_bytes {
            Some(b) => b,
            None => match tokio::time::timeout(Duration::from_secs(2), out_task).await {
                Ok(Ok(Ok(b))) => b,
                Ok(Ok(Err(()))) => return Err(RunError::TooLarge(self.max_output)),
                _ => Vec::new(),
            },
        };
        let stderr = tokio::time::timeout(Duration::from_secs(2), err_task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let stderr = self.mask(&String::from_utf8_lossy(&stderr));
        let stderr: Vec<String> = stderr
            .lines()
            .map(|l| crate::text::clean(l).into_owned())
            .collect();
        Ok(Output {
            code,
            stdout,
            stderr: stderr.join("\n"),
        })
    }

    /// Runs it to the end, its timeout or its output cap.
    pub async fn run(&self) -> Result<Output, RunError> {
        self.run_until(std::future::pending()).await
    }
}

/// All of a stream up to `max` bytes; `Err` past it.
async fn read_capped(mut s: impl AsyncRead + Unpin, max: u64) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return Ok(out),
            Ok(n) => {
                if out.len() as u64 + n as u64 > max {
                    return Err(());
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
    }
}

/// The last `keep` bytes of a stream.
async fn read_tail(mut s: impl AsyncRead + Unpin, keep: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n @ 1..) = s.read(&mut buf).await {
        out.extend_from_slice(&buf[..n]);
        if out.len() > 2 * keep {
            out.drain(..out.len() - keep);
        }
    }
    if out.len() > keep {
        out.drain(..out.len() - keep);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration, max: u64) -> Invocation {
        Invocation {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![("PW".into(), "hunter2".into())],
            timeout,
            max_output: max,
            secrets: vec!["hunter2".into()],
            ..Invocation::default()
        }
    }

    #[tokio::test]
    async fn a_run_gives_its_output_and_masked_words() {
        let out = sh(
            "echo '{\"a\":1}'; echo \"bad password $PW\" >&2; exit 3",
            Duration::from_secs(10),
            1024,
        )
        .run()
        .await
        .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, b"{\"a\":1}\n");
        assert_eq!(out.words(), format!("bad password {MASK}"));
    }

    #[tokio::test]
    async fn a_hang_an_endless_answer_and_a_missing_tool_are_errors() {
        let hang = sh("sleep 30", Duration::from_millis(300), 1024).run().await;
        assert_eq!(hang, Err(RunError::TimedOut(Duration::from_millis(300))));
        let endless = sh("yes", Duration::from_secs(10), 64 * 1024).run().await;
        assert_eq!(endless, Err(RunError::TooLarge(64 * 1024)));
        let missing = Invocation {
            program: "/nonexistent/restic".into(),
            timeout: Duration::from_secs(1),
            ..Invocation::default()
        };
        let err = missing.run().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "/nonexistent/restic is not installed (not found)"
        );
    }
}
