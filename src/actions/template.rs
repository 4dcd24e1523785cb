//! Templates in action specs: `{field}` is filled from the request's
//! parameters and `{secret.NAME}` from the secret store, always as data that
//! nothing interprets. One argv element stays one argument, a value in a URL
//! stays inside its path segment or query value, a value in a JSON body
//! stays one string. Every rendering comes twice: in clear for the run, and
//! masked for what is shown and logged.
//!
//! Values come from remote servers (label values, versions), so a value
//! with a control character is refused rather than cleaned: a changed value
//! would act on something else than what the operator saw.

use std::borrow::Cow;
use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::{MASK, SecretStore};

/// A template filled in: `clear` to run, `masked` to show and log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub clear: String,
    pub masked: String,
}

/// A JSON body with every string (keys too) filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedJson {
    pub clear: Value,
    pub masked: Value,
}

/// Why a template cannot be filled in. Converts into the `String` errors of
/// `ActionRunner::describe`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown field {{{name}}} in '{template}'")]
    UnknownField { template: String, name: String },
    #[error("unknown secret {{secret.{name}}} in '{template}'")]
    UnknownSecret { template: String, name: String },
    #[error("a '{{' is not closed in '{template}' (write '{{{{' for a brace)")]
    Unclosed { template: String },
    #[error("a '}}' has no '{{' in '{template}' (write '}}}}' for a brace)")]
    Unopened { template: String },
    #[error("'{{{name}}}' in '{template}' is not a field name")]
    BadName { template: String, name: String },
    #[error("the value of {name} contains a control character")]
    ControlCharacter { name: String },
    #[error("{name} makes the argument '{argument}', which would be read as an option")]
    ReadAsOption { name: String, argument: String },
    #[error("URL '{template}': {reason}")]
    Url { template: String, reason: String },
}

impl From<TemplateError> for String {
    fn from(e: TemplateError) -> String {
        e.to_string()
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded, so a
/// value can neither end a path segment (`/`), start a query (`?`), add a
/// query parameter (`&`, `=`) nor a fragment (`#`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn as_is(value: &str) -> Cow<'_, str> {
    Cow::Borrowed(value)
}

fn component(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, COMPONENT).into()
}

#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(String),
    Field(&'a str),
    Secret(&'a str),
}

impl Piece<'_> {
    fn name(&self) -> Option<String> {
        match self {
            Piece::Text(_) => None,
            Piece::Field(name) => Some((*name).to_string()),
            Piece::Secret(name) => Some(format!("secret.{name}")),
        }
    }
}

fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        text.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            text.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(TemplateError::Unopened {
                template: template.into(),
            });
        }
        let inner = &tail[1..];
        let close = inner
            .find(['{', '}'])
            .filter(|&c| inner.as_bytes()[c] == b'}')
            .ok_or_else(|| TemplateError::Unclosed {
                template: template.into(),
            })?;
        let name = &inner[..close];
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if name.is_empty() || !name.chars().all(ok) {
            return Err(TemplateError::BadName {
                template: template.into(),
                name: name.into(),
            });
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(match name.strip_prefix("secret.") {
            Some(secret) => Piece::Secret(secret),
            None => Piece::Field(name),
        });
        rest = &inner[close + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The placeholders a template names (`service`, `secret.argocd_token`), in
/// order, for checking a configuration before anything runs.
pub fn placeholders(template: &str) -> Result<Vec<String>, TemplateError> {
    Ok(parse(template)?.iter().filter_map(Piece::name).collect())
}

/// Refuses a value that holds a control character (NUL, ESC, CR, LF, C1…).
pub fn check_value(name: &str, value: &str) -> Result<(), TemplateError> {
    if value.chars().any(char::is_control) {
        return Err(TemplateError::ControlCharacter { name: name.into() });
    }
    Ok(())
}

fn render_with(
    template: &str,
    params: &BTreeMap<String, String>,
    secrets: &SecretStore,
    encode: fn(&str) -> Cow<'_, str>,
) -> Result<Rendered, TemplateError> {
    let mut clear = String::with_capacity(template.len());
    let mut masked = String::with_capacity(template.len());
    for piece in parse(template)? {
        match piece {
            Piece::Text(text) => {
                clear.push_str(&text);
                masked.push_str(&text);
            }
            Piece::Field(name) => {
                let value = params
                    .get(name)
                    .ok_or_else(|| TemplateError::UnknownField {
                        template: template.into(),
                        name: name.into(),
                    })?;
                check_value(name, value)?;
                clear.push_str(&encode(value));
                masked.push_str(&encode(value));
            }
            Piece::Secret(name) => {
                let secret = secrets
                    .get(name)
                    .ok_or_else(|| TemplateError::UnknownSecret {
                        template: template.into(),
                        name: name.into(),
                    })?;
                check_value(&format!("secret.{name}"), secret.expose())?;
                clear.push_str(&encode(secret.expose()));
                masked.push_str(MASK);
            }
        }
    }
    // A parameter may carry a secret's value too (an echoed token).
    let masked = secrets.mask(&masked);
    Ok(Rendered { clear, masked })
}

/// `template` filled in with values as they are.
pub fn render(
    template: &str,
    params: &BTreeMap<String, String>,
    secrets: &SecretStore,
) -> Result<Rendered, TemplateError> {
    render_with(template, params, secrets, as_is)
}

/// Each element of an argv filled in as exactly one argument. An element
/// that does not start with `-` as written but does once filled in (`{x}`
/// with `x = "--force"`) is refused: the program would read it as an option.
pub fn render_argv(
    argv: &[String],
    params: &BTreeMap<String, String>,
    secrets: &SecretStore,
) -> Result<Vec<Rendered>, TemplateError> {
    argv.iter()
        .map(|element| {
            let rendered = render(element, params, secrets)?;
            let pieces = parse(element)?;
            let written_as_option =
                matches!(pieces.first(), Some(Piece::Text(t)) if t.starts_with('-'));
            if !written_as_option && rendered.clear.starts_with('-') {
                let name = pieces.iter().find_map(Piece::name).unwrap_or_default();
                return Err(TemplateError::ReadAsOption {
                    name,
                    argument: rendered.masked,
                });
            }
            Ok(rendered)
        })
        .collect()
}

/// Where the scheme and host part of a URL template ends (the byte index of
/// the first `/`, `?` or `#` after `://`), or `None` without a `://`.
fn origin_end(template: &str) -> Option<usize> {
    let start = template.find("://")? + 3;
    Some(
        template[start..]
            .find(['/', '?', '#'])
            .map_or(template.len(), |end| start + end),
    )
}

fn is_dot_segment(segment: &str) -> bool {
    matches!(
        segment.to_ascii_lowercase().as_str(),
        "." | ".." | "%2e" | ".%2e" | "%2e." | "%2e%2e"
    )
}

/// A URL template filled in with each value percent-encoded as a path
/// segment or query value. The scheme and host must be written out in the
/// template; a filled-in path may not contain `.` or `..` segments (a URL
/// parser would resolve them and walk up the path).
pub fn render_url(
    template: &str,
    params: &BTreeMap<String, String>,
    secrets: &SecretStore,
) -> Result<Rendered, TemplateError> {
    let refuse = |reason: &str| TemplateError::Url {
        template: template.into(),
        reason: reason.into(),
    };
    let end = origin_end(template).ok_or_else(|| refuse("not scheme://host/…"))?;
    if template[..end].contains(['{', '}']) {
        return Err(refuse(
            "the scheme and host must be written out, not filled in",
        ));
    }
    let rendered = render_with(template, params, secrets, component)?;
    let path_end = rendered.clear[end..]
        .find(['?', '#'])
        .map_or(rendered.clear.len(), |e| end + e);
    if rendered.clear[end..path_end].split('/').any(is_dot_segment) {
        return Err(refuse("the path would contain a '.' or '..' segment"));
    }
    let url = reqwest::Url::parse(&rendered.clear).map_err(|e| refuse(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("only http and https"));
    }
    Ok(Rendered {
        clear: url.to_string(),
        masked: rendered.masked,
    })
}

/// A JSON body with every string, keys included, filled in as string data:
/// a value is never parsed as JSON, whatever quotes or braces it holds.
pub fn render_json(
    body: &Value,
    params: &BTreeMap<String, String>,
    secrets: &SecretStore,
) -> Result<RenderedJson, TemplateError> {
    Ok(match body {
        Value::String(s) => {
            let r = render(s, params, secrets)?;
            RenderedJson {
                clear: Value::String(r.clear),
                masked: Value::String(r.masked),
            }
        }
        Value::Array(items) => {
            let mut clear = Vec::with_capacity(items.len());
            let mut masked = Vec::with_capacity(items.len());
            for item in items {
                let r = render_json(item, params, secrets)?;
                clear.push(r.clear);
                masked.push(r.masked);
            }
            RenderedJson {
                clear: Value::Array(clear),
                masked: Value::Array(masked),
            }
        }
        Value::Object(fields) => {
            let mut clear = serde_json::Map::new();
            let mut masked = serde_json::Map::new();
            // Keys are the configuration's own: a value from a row could
            // otherwise name a key and replace a fixed field.
            for (key, value) in fields {
                let v = render_json(value, params, secrets)?;
                clear.insert(key.clone(), v.clear);
                masked.insert(key.clone(), v.masked);
            }
            RenderedJson {
                clear: Value::Object(clear),
                masked: Value::Object(masked),
            }
        }
        other => RenderedJson {
            clear: other.clone(),
            masked: other.clone(),
        },
    })
}

/// The fields a template can name in an action that applies to
/// `applies_to` (deployment, backup, incident, silence, service): the
/// selected row's, then those every action has (docs/actions.md). `None`
/// for a scope there is no such action for. `config check` reports a
/// placeholder outside this list, which would be refused when run.
pub fn known_placeholders(applies_to: &str) -> Option<Vec<&'static str>> {
    let row: &[&str] = match applies_to {
        "deployment" => &["service", "version", "previous_version", "target_version"],
        "backup" => &["target", "tier"],
        "incident" => &["alertname", "service"],
        "silence" => &["silence_id", "matchers"],
        "service" => &["service"],
        _ => return None,
    };
    let every = [
        "environment",
        "user",
        "service_label",
        "starts_at",
        "ends_at",
    ];
    Some(row.iter().copied().chain(every).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::Secret;
    use serde_json::json;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn secrets() -> SecretStore {
        SecretStore::new(BTreeMap::from([(
            "token".to_string(),
            Secret::new("t0k3n"),
        )]))
    }

    #[test]
    fn fields_and_secrets_are_filled_in_and_secrets_masked() {
        let p = params(&[("service", "checkout"), ("environment", "production")]);
        let r = render(
            "app={service} env={environment} auth={secret.token}",
            &p,
            &secrets(),
        )
        .unwrap();
        assert_eq!(r.clear, "app=checkout env=production auth=t0k3n");
        assert_eq!(r.masked, format!("app=checkout env=production auth={MASK}"));
    }

    #[test]
    fn a_parameter_holding_a_secret_is_masked_too() {
        let p = params(&[("echo", "got t0k3n back")]);
        let r = render("{echo}", &p, &secrets()).unwrap();
        assert_eq!(r.clear, "got t0k3n back");
        assert_eq!(r.masked, format!("got {MASK} back"));
    }

    #[test]
    fn doubled_braces_are_literal_braces() {
        let p = params(&[("x", "{y}")]);
        let r = render("{{literal}} {x} }}{{", &p, &secrets()).unwrap();
        assert_eq!(r.clear, "{literal} {y} }{");
    }

    #[test]
    fn mistakes_in_templates_name_what_is_wrong() {
        let p = params(&[("service", "checkout")]);
        let s = secrets();
        let cases = [
            ("{servce}", "unknown field {servce} in '{servce}'"),
            (
                "{secret.nope}",
                "unknown secret {secret.nope} in '{secret.nope}'",
            ),
            (
                "a {service",
                "a '{' is not closed in 'a {service' (write '{{' for a brace)",
            ),
            (
                "a {ser{vice}",
                "a '{' is not closed in 'a {ser{vice}' (write '{{' for a brace)",
            ),
            (
                "a } b",
                "a '}' has no '{' in 'a } b' (write '}}' for a brace)",
            ),
            ("{}", "'{}' in '{}' is not a field name"),
            (
                "{ service }",
                "'{ service }' in '{ service }' is not a field name",
            ),
        ];
        for (template, message) in cases {
            let e = render(template, &p, &s).unwrap_err();
            assert_eq!(e.to_string(), message, "{template}");
        }
    }

    #[test]
    fn a_value_with_any_control_character_is_refused() {
        for bad in [
            "a\0b",
            "a\u{1b}[31mb",
            "a\rb",
            "a\nb",
            "a\u{7f}",
            "a\u{9b}b",
        ] {
            let p = params(&[("version", bad)]);
            let e = render("v={version}", &p, &secrets()).unwrap_err();
            assert_eq!(
                e,
                TemplateError::ControlCharacter {
                    name: "version".into()
                }
            );
        }
        // A tab, like any control character, is refused too; unused fields are not checked.
        let p = params(&[("version", "1.2"), ("other", "x\ty")]);
        assert!(render("{version}", &p, &secrets()).is_ok());
    }

    #[test]
    fn a_value_that_would_be_read_as_an_option_is_refused() {
        let p = params(&[("service", "--delete-all"), ("ok", "checkout")]);
        let s = secrets();
        let argv = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let e = render_argv(&argv(&["kubectl", "{service}"]), &p, &s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "service makes the argument '--delete-all', which would be read as an option"
        );
        let e = render_argv(&argv(&["kubectl", "{service}{ok}"]), &p, &s).unwrap_err();
        assert!(matches!(e, TemplateError::ReadAsOption { name, .. } if name == "service"));
        // Written as an option, or the value not leading: one argument as it is.
        let r = render_argv(
            &argv(&["prog", "--name={service}", "-e", "x={service}"]),
            &p,
            &s,
        )
        .unwrap();
        let clear: Vec<_> = r.iter().map(|r| r.clear.as_str()).collect();
        assert_eq!(
            clear,
            ["prog", "--name=--delete-all", "-e", "x=--delete-all"]
        );
    }

    #[test]
    fn url_values_stay_inside_their_segment_or_query_value() {
        let p = params(&[
            ("service", "a/b?x=1#f"),
            ("env", "prod&admin=1"),
            ("u", "é ü"),
        ]);
        let r = render_url(
            "https://argocd.example.com/api/v1/applications/{service}/rollback?env={env}&who={u}",
            &p,
            &secrets(),
        )
        .unwrap();
        assert_eq!(
            r.clear,
            "https://argocd.example.com/api/v1/applications/a%2Fb%3Fx%3D1%23f/rollback?env=prod%26admin%3D1&who=%C3%A9%20%C3%BC"
        );
        let url = reqwest::Url::parse(&r.clear).unwrap();
        assert_eq!(url.path_segments().unwrap().count(), 5);
        assert_eq!(url.query_pairs().count(), 2);
    }

    #[test]
    fn url_secrets_are_masked_and_encoded() {
        let s = SecretStore::new(BTreeMap::from([("key".to_string(), Secret::new("a/b c"))]));
        let r = render_url(
            "http://127.0.0.1:8080/hook?key={secret.key}",
            &params(&[]),
            &s,
        )
        .unwrap();
        assert_eq!(r.clear, "http://127.0.0.1:8080/hook?key=a%2Fb%20c");
        assert_eq!(r.masked, format!("http://127.0.0.1:8080/hook?key={MASK}"));
    }

    #[test]
    fn the_scheme_and_host_cannot_come_from_a_value() {
        let p = params(&[("host", "evil.example.com"), ("service", "..")]);
        let s = secrets();
        for template in [
            "http://{host}/api",
            "http://x.example.com{host}/api",
            "{host}://x/api",
            "http://user:{secret.token}@x/api",
            "x.example.com/{host}",
        ] {
            let e = render_url(template, &p, &s).unwrap_err();
            assert!(matches!(e, TemplateError::Url { .. }), "{template}: {e}");
        }
        let e = render_url("http://x/api/{service}/rollback", &p, &s).unwrap_err();
        assert!(e.to_string().contains("'..' segment"), "{e}");
        let e = render_url("file:///etc/{host}", &p, &s).unwrap_err();
        assert!(e.to_string().contains("only http and https"), "{e}");
    }

    #[test]
    fn json_values_are_string_data_and_keys_are_never_templated() {
        let p = params(&[("service", "x\"}, \"admin\": true, \"y\": {\""), ("k", "n")]);
        // A key naming a field cannot be filled: "{k}" stays as written, so
        // a row's value can never replace the fixed "n".
        let body = json!({"{k}": "{service}", "n": 3, "list": ["{secret.token}", null, true]});
        let r = render_json(&body, &p, &secrets()).unwrap();
        assert_eq!(
            r.clear,
            json!({"{k}": "x\"}, \"admin\": true, \"y\": {\"", "n": 3, "list": ["t0k3n", null, true]})
        );
        assert_eq!(r.masked["list"][0], json!(MASK));
        assert_eq!(r.clear.as_object().unwrap().len(), 3);
    }

    #[test]
    fn placeholders_are_listed_in_order() {
        assert_eq!(
            placeholders("{{x}} {service}/{secret.t}").unwrap(),
            ["service", "secret.t"]
        );
    }
}
