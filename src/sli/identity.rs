//! How a series names its service: the first of an ordered list of labels
//! that it carries, series by series. On the server, a chain of
//! `label_replace` writes the name into `opsdeck_service` (and the label it
//! came from into `opsdeck_service_label`) before anything is summed; here,
//! the same rule for alerts and for answers that carry no such label.

/// The label every derived query names its service by.
pub const SERVICE: &str = "opsdeck_service";
/// Which label gave the name.
pub const SERVICE_LABEL: &str = "opsdeck_service_label";
/// Which branch of the SLI a series came from.
pub const BRANCH: &str = "opsdeck_sli";

/// OpenTelemetry SDKs call a service they were not told the name of
/// `unknown_service` (`unknown_service:python`): not a name, so the next
/// label names it.
const UNNAMED: &str = "unknown_service";

/// Whether `value` of label `label` names a service.
pub fn names(label: &str, value: &str) -> bool {
    let unnamed = label == "service_name" && value.starts_with(UNNAMED);
    !value.is_empty() && !unnamed
}

/// The service a label set names, and the label that named it: `SERVICE`
/// when present, else the first of `labels` that names one.
pub fn resolve<'v, 'l>(
    get: impl Fn(&str) -> Option<&'v str>,
    labels: &'l [String],
) -> Option<(&'v str, &'v str)>
where
    'l: 'v,
{
    if let Some(name) = get(SERVICE).filter(|v| !v.is_empty()) {
        return Some((name, get(SERVICE_LABEL).unwrap_or("")));
    }
    labels
        .iter()
        .find_map(|l| get(l).filter(|v| names(l, v)).map(|v| (v, l.as_str())))
}

/// The service a label set names (`resolve` without the label).
pub fn name_of<'v>(get: impl Fn(&str) -> Option<&'v str>, labels: &[String]) -> Option<&'v str> {
    if let Some(name) = get(SERVICE).filter(|v| !v.is_empty()) {
        return Some(name);
    }
    labels.iter().find_map(|l| get(l).filter(|v| names(l, v)))
}

/// An RE2 expression (Prometheus anchors it at both ends) that matches a
/// label value naming a service: any non-empty value, and for
/// `service_name` none that starts with `unknown_service`.
fn value_regex(label: &str) -> String {
    if label != "service_name" {
        return "(.+)".into();
    }
    let p: Vec<char> = UNNAMED.chars().collect();
    let mut parts = vec![format!("[^{}].*", p[0])];
    for i in 1..p.len() {
        let head: String = p[..i].iter().collect();
        parts.push(format!("{head}(?:[^{}].*)?", p[i]));
    }
    format!("({})", parts.join("|"))
}

/// `expr` with `SERVICE` written from the first of `labels` each series
/// carries: the least specific is written first, so the most specific
/// writes last. With `which`, `SERVICE_LABEL` says which label it was.
pub fn chain(expr: &str, labels: &[String], which: bool) -> String {
    let mut out = expr.to_string();
    for label in labels.iter().rev() {
        let re = value_regex(label);
        out = format!(r#"label_replace({out}, "{SERVICE}", "$1", "{label}", "{re}")"#);
        if which {
            out =
                format!(r#"label_replace({out}, "{SERVICE_LABEL}", "{label}", "{label}", "{re}")"#);
        }
    }
    out
}

/// `expr` with every series named `service`.
pub fn fixed(expr: &str, service: &str) -> String {
    // `$` in a replacement names a group: doubled, it is itself.
    let name = super::catalogue::escape(&service.replace('$', "$$"));
    format!(r#"label_replace({expr}, "{SERVICE}", "{name}", "", "")"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_label_carried_names_the_service() {
        let list = labels(&["service", "service_name", "app", "job"]);
        let set = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
        };
        assert_eq!(
            resolve(set(&[("job", "api"), ("app", "orders")]), &list),
            Some(("orders", "app"))
        );
        assert_eq!(
            resolve(set(&[("job", "api"), ("app", "")]), &list),
            Some(("api", "job"))
        );
        assert_eq!(
            resolve(
                set(&[("job", "api"), ("service_name", "unknown_service:python")]),
                &list
            ),
            Some(("api", "job"))
        );
        assert_eq!(
            resolve(set(&[(SERVICE, "x"), ("service", "y")]), &list),
            Some(("x", ""))
        );
        assert_eq!(resolve(set(&[("instance", "h:1")]), &list), None);
    }

    #[test]
    fn the_chain_writes_the_most_specific_label_last() {
        let q = chain("up", &labels(&["service", "job"]), true);
        let service = q.find(r#""service", "(.+)""#).unwrap();
        let job = q.find(r#""job", "(.+)""#).unwrap();
        // The outermost call (written last) has its arguments last.
        assert!(service > job, "{q}");
        assert!(q.starts_with("label_replace(label_replace(label_replace(label_replace(up, "));
        let short = chain("up", &labels(&["service", "job"]), false);
        assert!(!short.contains("opsdeck_service_label"), "{short}");
        assert!(q.contains(r#""opsdeck_service_label", "job", "job""#));
    }

    #[test]
    fn the_server_skips_unknown_service_as_a_name() {
        // A real Prometheus runs it in tests/conventions.rs.
        let re = value_regex("service_name");
        assert_eq!(value_regex("job"), "(.+)");
        assert!(re.starts_with("([^u].*|u(?:[^n].*)?|un(?:[^k].*)?"), "{re}");
        assert!(re.ends_with("unknown_servic(?:[^e].*)?)"), "{re}");
    }
}
