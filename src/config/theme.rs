//! Themes: colours by role (ok, warn, crit, muted, accent, selection…), read
//! from `themes/*.toml` and resolved once into ratatui styles.

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::{Deserialize, Deserializer};

use super::{Problem, load_named, toml_error};
use crate::domain::{Severity, Status};

pub const EMBEDDED: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// A colour as written in a theme: a name (`red`, `lightblue`), `#rrggbb`,
/// an index 0–255, or `reset` for the terminal's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Colour(pub Color);

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Color::from_str(text.trim()).map(Colour).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown colour '{text}' (use a name such as red or lightblue, #rrggbb, or 0-255)"
            ))
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RoleSpec {
    fg: Option<Colour>,
    bg: Option<Colour>,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
    reversed: bool,
}

impl RoleSpec {
    fn style(&self) -> Style {
        let mut style = Style::default();
        if let Some(Colour(c)) = self.fg {
            style = style.fg(c);
        }
        if let Some(Colour(c)) = self.bg {
            style = style.bg(c);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            if on {
                style = style.add_modifier(m);
            }
        }
        style
    }
}

macro_rules! roles {
    ($($role:ident: $doc:literal),* $(,)?) => {
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        struct Roles { $($role: RoleSpec,)* }

        /// A theme resolved into styles, one per role.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub name: String,
            $(#[doc = $doc] pub $role: Style,)*
        }

        impl Theme {
            fn from_roles(name: String, r: &Roles) -> Theme {
                Theme { name, $($role: r.$role.style(),)* }
            }
        }
    };
}

roles! {
    text: "ordinary text",
    muted: "secondary text: units, ages, hints",
    accent: "titles and highlights",
    ok: "healthy",
    warn: "warning",
    crit: "critical or breached",
    unknown: "no data to judge",
    selection: "the selected row",
    border: "panel borders",
    border_focused: "the border of the focused panel",
    header: "the header bar",
    tab_active: "the current tab",
    tab_inactive: "other tabs",
    badge: "the DEMO and READ-ONLY badges",
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    roles: Roles,
}

impl Theme {
    pub fn parse(name: &str, text: &str) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        Ok(Theme::from_roles(name.to_string(), &file.roles))
    }

    /// The built-in default theme.
    pub fn builtin() -> Theme {
        Theme::parse("default", EMBEDDED[0].1).expect("the built-in default theme parses")
    }

    /// Loads `name` from the user's directory or the embedded themes; on a
    /// problem, the default theme and the problem.
    pub fn load(name: &str, user_dir: Option<&Path>) -> (Theme, Vec<Problem>) {
        load_named(
            "themes",
            name,
            user_dir,
            EMBEDDED,
            |t| Theme::parse(name, t),
            Theme::builtin,
        )
    }

    pub fn status(&self, status: Status) -> Style {
        match status {
            Status::Ok => self.ok,
            Status::Warn => self.warn,
            Status::Crit => self.crit,
            Status::Unknown => self.unknown,
        }
    }

    /// A state as a solid badge, readable on any bar colour: the state's
    /// colour as background, or reversed video where the theme has none.
    pub fn status_badge(&self, status: Status) -> Style {
        let style = self.status(status);
        match (style.fg, style.bg) {
            (_, Some(_)) => style,
            (Some(fg), None) => Style::default()
                .fg(Color::Black)
                .bg(fg)
                .add_modifier(Modifier::BOLD),
            (None, None) => style.add_modifier(Modifier::REVERSED | Modifier::BOLD),
        }
    }

    /// A border in the state's colour: the colour of the state's badge
    /// (its background where it has one), never a filled or reversed frame.
    pub fn status_border(&self, status: Status) -> Style {
        let style = self.status(status);
        let colour = style.bg.or(style.fg);
        let plain = Style::default().add_modifier(style.add_modifier - Modifier::REVERSED);
        colour.map_or(plain, |c| plain.fg(c))
    }

    /// A value in a table: plain when healthy, in the state's style otherwise,
    /// so the eye goes to what is wrong.
    pub fn value(&self, status: Status) -> Style {
        if status == Status::Ok {
            self.text
        } else {
            self.status(status)
        }
    }

    pub fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::Info => self.accent,
            Severity::Warning => self.warn,
            Severity::Critical => self.crit,
        }
    }
}
