//! Names as they are shown: an environment's and its colour, a URL with
//! its user information masked.

use std::borrow::Cow;

/// An environment named `name`, in `colour`, or else a colour that goes
/// with its name: red for production, yellow for staging, green for
/// development, blue for anything else.
pub fn environment(name: &str, colour: Option<ratatui::style::Color>) -> crate::app::Environment {
    use ratatui::style::Color;
    let name = crate::text::clean(name.trim()).into_owned();
    let lower = name.to_lowercase();
    let guessed = if lower.starts_with("prod") || lower == "live" {
        Color::Red
    } else if lower.starts_with("stag") || lower.starts_with("pre") {
        Color::Yellow
    } else if lower.starts_with("dev") || lower.starts_with("test") || lower == "local" {
        Color::Green
    } else {
        Color::Blue
    };
    crate::app::Environment {
        name,
        colour: colour.unwrap_or(guessed),
    }
}

/// `url` as written, with the user information masked (`user:••••@`), for
/// a message that quotes a URL that could not be used. A user name with no
/// password is masked whole: a token can stand there. The user information
/// is taken to end at the last `@` before any `?` or `#`, which masks more
/// than a URL parser would when a password holds a `/`.
pub fn mask_userinfo(url: &str) -> Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..end].rfind('@') else {
        return Cow::Borrowed(url);
    };
    let masked = match rest[..at].split_once(':') {
        Some((user, _)) if !user.contains('/') => format!("{user}:••••"),
        _ => "••••".to_string(),
    };
    Cow::Owned(format!("{}{masked}{}", &url[..start], &rest[at..]))
}
