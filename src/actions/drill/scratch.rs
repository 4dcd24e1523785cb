//! A drill's scratch directory, private to it and removed whatever ends the
//! drill. Before it is removed, everything still running in it or on it is
//! stopped: the restored PostgreSQL (its postmaster, and the backends and
//! `restore_command`s it started, which leave its process group), a tool's
//! worker. They are found by what they point at: a process whose working
//! directory is inside the scratch directory or whose command line names
//! it. The path is unique and new, so nothing else can.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process, kill_process_group};
use tokio::process::Child;

use crate::config::backups::ToolTarget;
use crate::sources::tools::run::{User, switch_to};

/// How long a PostgreSQL has to stop after SIGQUIT (immediate shutdown).
const QUIT_GRACE: Duration = Duration::from_secs(5);
/// How long what was killed has to be gone before the directory goes.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// `<scratch>/opsdeck-drill-<target>-XXXXXX`, as shown before a drill.
pub(super) fn pattern(target: &ToolTarget) -> PathBuf {
    target
        .drill
        .scratch
        .join(format!("{}XXXXXX", prefix(target)))
}

/// The target's name as a file name: letters, digits, `.`, `_` and `-`.
fn prefix(target: &ToolTarget) -> String {
    let name: String = target
        .target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    format!("opsdeck-drill-{name}-")
}

pub(super) struct Scratch {
    path: PathBuf,
    /// The user the drill's programs run as, when opsdeck switches to it.
    owner: Option<User>,
    /// The restored PostgreSQL's postmaster, once started.
    postgres: Option<Child>,
    removed: bool,
}

impl Scratch {
    /// A new directory, mode 0700, given to the target's user when opsdeck
    /// switches to it.
    pub(super) fn make(target: &ToolTarget) -> Result<Scratch, String> {
        let owner = switch_to(target.user.as_deref()).map_err(|e| e.to_string())?;
        let parent = &target.drill.scratch;
        let dir = tempfile::Builder::new()
            .prefix(&prefix(target))
            .rand_bytes(6)
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(parent)
            .map_err(|e| {
                format!(
                    "cannot make a scratch directory in {}: {e}",
                    parent.display()
                )
            })?;
        let dir = dir.keep();
        // The path as /proc shows it (a working directory), links resolved.
        let path = std::fs::canonicalize(&dir).unwrap_or(dir);
        let scratch = Scratch {
            path,
            owner,
            postgres: None,
            removed: false,
        };
        scratch.give(&scratch.path)?;
        Ok(scratch)
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn owner(&self) -> Option<&User> {
        self.owner.as_ref()
    }

    /// `path` given to the drill's user, if it runs as another.
    fn give(&self, path: &Path) -> Result<(), String> {
        match &self.owner {
            Some(user) => std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
                .map_err(|e| format!("cannot give {} to {}: {e}", path.display(), user.name)),
            None => Ok(()),
        }
    }

    /// Writes `name` in the scratch directory, mode 0600, the drill's
    /// user's.
    pub(super) fn write(&self, name: &str, contents: &str) -> Result<PathBuf, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(contents.as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        self.give(&path)?;
        Ok(path)
    }

    /// The restored PostgreSQL, stopped before the directory goes.
    pub(super) fn adopt(&mut self, postmaster: Child) {
        self.postgres = Some(postmaster);
    }

    pub(super) fn postgres(&mut self) -> Option<&mut Child> {
        self.postgres.as_mut()
    }

    /// Stops PostgreSQL (immediate shutdown), kills whatever else still
    /// runs in or on the directory, and removes it: what was done, or why
    /// the directory is still there.
    pub(super) async fn remove(&mut self) -> Result<Vec<String>, String> {
        let mut said = Vec::new();
        if let Some(mut postmaster) = self.postgres.take() {
            said.push(stop_postgres(&mut postmaster).await);
        }
        let path = self.path.clone();
        let cleared = tokio::task::spawn_blocking(move || clear(&path))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        self.removed = cleared.is_ok();
        let killed = cleared.map_err(|e| {
            format!(
                "the scratch directory {} is still there: {e}",
                self.path.display()
            )
        })?;
        if killed > 0 {
            said.push(format!("stopped {killed} process(es) left in the scratch"));
        }
        said.push("removed the scratch directory".into());
        Ok(said)
    }
}

impl Drop for Scratch {
    /// The drill dropped before it cleaned up (the app quitting mid-drill):
    /// everything killed and the directory removed here, blocking, as a
    /// copy of the backup must not outlive the drill.
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        if let Some(pid) = self.postgres.as_ref().and_then(child_pid) {
            let _ = kill_process_group(pid, Signal::KILL);
            let _ = kill_process(pid, Signal::KILL);
        }
        let _ = clear(&self.path);
    }
}

fn child_pid(child: &Child) -> Option<Pid> {
    child.id().and_then(|id| Pid::from_raw(id as i32))
}

/// SIGQUIT to the postmaster, which stops its backends and exits; SIGKILL
/// to its group and itself if it has not within `QUIT_GRACE`.
async fn stop_postgres(postmaster: &mut Child) -> String {
    if let Ok(Some(status)) = postmaster.try_wait() {
        return format!("PostgreSQL had already stopped ({status})");
    }
    let Some(pid) = child_pid(postmaster) else {
        return "PostgreSQL had already stopped".into();
    };
    let _ = kill_process(pid, Signal::QUIT);
    if tokio::time::timeout(QUIT_GRACE, postmaster.wait())
        .await
        .is_ok()
    {
        return "stopped PostgreSQL".into();
    }
    let _ = kill_process_group(pid, Signal::KILL);
    let _ = postmaster.kill().await;
    "killed PostgreSQL (it did not stop on SIGQUIT)".into()
}

/// Kills every process in or on `path`, waits for them to be gone, then
/// removes it: how many were killed.
fn clear(path: &Path) -> Result<usize, String> {
    let mut killed = std::collections::HashSet::new();
    let deadline = Instant::now() + KILL_WAIT;
    loop {
        let users = users_of(path);
        if users.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!("{} process(es) would not stop", users.len()));
        }
        for pid in users {
            let _ = kill_process(pid, Signal::KILL);
            killed.insert(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let removed = std::fs::remove_dir_all(path).or_else(|e| match e.kind() {
        // A restored directory without write permission (a backup's 0555),
        // for a drill that does not run as root.
        std::io::ErrorKind::PermissionDenied => {
            open_up(path);
            std::fs::remove_dir_all(path)
        }
        _ => Err(e),
    });
    match removed {
        Ok(()) => Ok(killed.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(killed.len()),
        Err(e) => Err(e.to_string()),
    }
}

/// Gives its owner full access to every directory under `path` (links not
/// followed), so that what is in them can be removed.
fn open_up(path: &Path) {
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(meta) = dir.symlink_metadata() else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let mode = meta.permissions().mode() | 0o700;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode));
        if let Ok(entries) = std::fs::read_dir(&dir) {
            dirs.extend(entries.flatten().map(|e| e.path()));
        }
    }
}

/// The live processes (not this one) whose working directory is `path` or
/// inside it, or whose command line names it. Zombies have neither.
fn users_of(path: &Path) -> Vec<Pid> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let root = path.as_os_str().as_encoded_bytes();
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            let proc = PathBuf::from(format!("/proc/{pid}"));
            let cwd = std::fs::read_link(proc.join("cwd")).is_ok_and(|cwd| cwd.starts_with(path));
            cwd || std::fs::read(proc.join("cmdline"))
                .is_ok_and(|cmdline| cmdline.split(|&b| b == 0).any(|arg| mentions(arg, root)))
        })
        .filter_map(|pid| Pid::from_raw(pid as i32))
        .collect()
}

/// Whether `arg` holds `path` as a whole path or the start of one
/// (`--pg1-path=/tmp/opsdeck-drill-x-abc123/data`), not the start of a
/// longer name.
fn mentions(arg: &[u8], path: &[u8]) -> bool {
    if path.is_empty() {
        return false;
    }
    arg.windows(path.len())
        .enumerate()
        .filter(|(_, w)| *w == path)
        .any(|(at, _)| {
            arg.get(at + path.len())
                .is_none_or(|&next| !(next.is_ascii_alphanumeric() || b"._-".contains(&next)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_mentioned_whole_or_as_a_parent() {
        let p = b"/tmp/opsdeck-drill-db-abc123";
        assert!(mentions(b"/tmp/opsdeck-drill-db-abc123", p));
        assert!(mentions(b"--pg1-path=/tmp/opsdeck-drill-db-abc123/data", p));
        assert!(mentions(b"'/tmp/opsdeck-drill-db-abc123'", p));
        assert!(!mentions(b"/tmp/opsdeck-drill-db-abc1234", p));
        assert!(!mentions(b"/tmp/opsdeck-drill-db-abc123.old", p));
        assert!(!mentions(b"/tmp/other", p));
    }

    #[test]
    fn a_target_name_becomes_a_file_name() {
        let mut target = crate::config::backups::ToolTarget {
            target: "db main/eu".into(),
            tool: crate::config::backups::Tool::Restic,
            program: "restic".into(),
            repository: Some("/r".into()),
            stanza: None,
            config: None,
            password: None,
            tier: Default::default(),
            service: None,
            user: None,
            every: Duration::from_secs(300),
            verify_every: Duration::from_secs(300),
            timeout: Duration::from_secs(60),
            check_timeout: Duration::from_secs(60),
            max_output: 4096,
            drill: Default::default(),
        };
        target.drill.scratch = "/scratch".into();
        assert_eq!(
            pattern(&target),
            Path::new("/scratch/opsdeck-drill-db-main-eu-XXXXXX")
        );
    }
}
