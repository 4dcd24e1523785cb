//! Finding and reading the configuration file: `--config`, else
//! `$OPSDECK_CONFIG`, else the user's configuration directory, with the
//! user's conventions beside it.

use std::path::{Path, PathBuf};

use super::{Config, Problem};

impl Config {
    /// The file to read: `--config`, else `$OPSDECK_CONFIG`, else the user's
    /// config directory; `explicit` is true when the user named it (so a
    /// missing file is an error rather than "use the defaults").
    pub fn locate(flag: Option<&Path>) -> Option<(PathBuf, bool)> {
        if let Some(path) = flag {
            return Some((path.to_path_buf(), true));
        }
        if let Some(path) = std::env::var_os("OPSDECK_CONFIG").filter(|v| !v.is_empty()) {
            return Some((PathBuf::from(path), true));
        }
        crate::config::user_config_dir().map(|dir| (dir.join("config.toml"), false))
    }

    /// Loads the configuration from where `locate` says, or the defaults,
    /// with the user's conventions from `conventions/` beside the file (or
    /// in the user's configuration directory), which its `[sli]` may name.
    /// A named file that cannot be read is a problem, and the defaults.
    pub fn load(flag: Option<&Path>) -> (Config, Vec<Problem>) {
        Config::try_load(flag).unwrap_or_else(|mut problem| {
            problem.message.push_str("; using the built-in defaults");
            (Config::default(), vec![problem])
        })
    }

    /// `load`, where a file the user named (`--config PATH` or
    /// `$OPSDECK_CONFIG`) that cannot be read is an error naming it and
    /// how it was named: opsdeck must not go on to ask localhost instead.
    pub fn try_load(flag: Option<&Path>) -> Result<(Config, Vec<Problem>), Problem> {
        let located = Config::locate(flag);
        let dir = match &located {
            Some((path, _)) => path.parent().map(Path::to_path_buf),
            None => crate::config::user_config_dir(),
        };
        let named_by = if flag.is_some() {
            "--config"
        } else {
            "$OPSDECK_CONFIG"
        };
        let text = match located {
            None => None,
            Some((path, explicit)) => match std::fs::read_to_string(&path) {
                Ok(text) => Some((path, text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => None,
                Err(e) => {
                    let why = if e.kind() == std::io::ErrorKind::NotFound {
                        "no such file".to_string()
                    } else {
                        e.to_string()
                    };
                    return Err(Problem {
                        file: path.display().to_string(),
                        message: format!("cannot read the configuration ({named_by}): {why}"),
                    });
                }
            },
        };
        let (catalogue, own) = crate::sli::catalogue::load(dir.as_deref());
        let (mut config, mut problems) = match text {
            Some((path, text)) => Config::parse_with(&path, &text, catalogue.clone()),
            None => (Config::default(), Vec::new()),
        };
        config.conventions = catalogue;
        problems.extend(
            own.into_iter()
                .map(|(file, message)| Problem { file, message }),
        );
        Ok((config, problems))
    }
}
