//! The last verification of each tool target, kept in the state directory
//! (`checks.json`) so that a daily check is daily across restarts, and
//! `status` shows it without running one.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::CheckResult;

/// What is kept of one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub last: Option<CheckResult>,
    /// When a check last passed.
    pub passed: Option<DateTime<Utc>>,
}

/// The file's contents; nothing when it is missing or unreadable (a check
/// is then due at once).
pub fn load(path: &Path) -> BTreeMap<String, Kept> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Writes the file whole (a temporary file renamed over it), readable by
/// its owner only; a failure is logged, never fatal.
pub fn save(path: &Path, all: &BTreeMap<String, Kept>) {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(all).map_err(std::io::Error::other)?;
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&bytes)?;
        }
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        tracing::warn!("cannot keep backup checks in {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_kept_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/checks.json");
        assert!(load(&path).is_empty());
        let at = Utc::now();
        let all = BTreeMap::from([(
            "files".to_string(),
            Kept {
                last: Some(CheckResult {
                    at,
                    passed: false,
                    words: "pack 1a2b: not referenced".into(),
                }),
                passed: Some(at - chrono::Duration::days(1)),
            },
        )]);
        save(&path, &all);
        assert_eq!(load(&path), all);
        std::fs::write(&path, b"not json").unwrap();
        assert!(load(&path).is_empty());
    }
}
