//! `[sli]`, `[services.NAME.sli]` and `service_labels` in the configuration:
//! what a service's SLI is (detected, one convention of the catalogue, or
//! the user's own selectors) and which labels name a service.

use serde::Deserialize;
use toml::Spanned;

use super::file::Reader;
use crate::sli::catalogue::{check_label, check_selector};
use crate::sli::{Bad, Convention, OwnSli, SliSpec};

/// An SLI as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliEntry {
    /// A convention of the catalogue, by name.
    convention: Option<String>,
    /// A selector of every request (a counter).
    total: Option<String>,
    /// A selector of the failed requests…
    errors: Option<String>,
    /// …or of the good ones.
    good: Option<String>,
    /// A latency histogram: its name without `_bucket`, with matchers.
    latency: Option<String>,
    /// `seconds` (the default) or `milliseconds`.
    latency_unit: Option<String>,
}

/// The SLI `entry` declares at `field` (`sli`, `services.orders.sli`); a
/// mistake is a problem and the SLI detected instead.
pub(super) fn read(
    reader: &mut Reader,
    field: &str,
    entry: &Spanned<SliEntry>,
    catalogue: &[Convention],
) -> SliSpec {
    let line = Some(reader.line(entry.span().start));
    match spec(field, entry.get_ref(), catalogue) {
        Ok(spec) => spec,
        Err(message) => {
            reader.problem(line, field, format!("{message}; detecting the SLI instead"));
            SliSpec::Detect
        }
    }
}

fn spec(field: &str, e: &SliEntry, catalogue: &[Convention]) -> Result<SliSpec, String> {
    let own = e.total.is_some() || e.errors.is_some() || e.good.is_some() || e.latency.is_some();
    match (&e.convention, own) {
        (Some(_), true) => Err("give a convention or your own selectors, not both".into()),
        (Some(name), false) => {
            if catalogue.iter().any(|c| &c.name == name) {
                Ok(SliSpec::Convention(name.clone()))
            } else {
                let known: Vec<&str> = catalogue.iter().map(|c| c.name.as_str()).collect();
                Err(format!(
                    "no convention named '{name}' (known: {})",
                    known.join(", ")
                ))
            }
        }
        (None, false) => Ok(SliSpec::Detect),
        (None, true) => {
            let total = e.total.clone().ok_or("own selectors need total")?;
            check_selector(&format!("{field}.total"), &total)?;
            let bad = match (&e.errors, &e.good) {
                (Some(errors), None) => {
                    check_selector(&format!("{field}.errors"), errors)?;
                    Bad::Errors(errors.clone())
                }
                (None, Some(good)) => {
                    check_selector(&format!("{field}.good"), good)?;
                    Bad::Good(good.clone())
                }
                _ => return Err("give errors or good (one of them) beside total".into()),
            };
            if let Some(l) = &e.latency {
                check_selector(&format!("{field}.latency"), l)?;
            }
            let latency_scale = match e.latency_unit.as_deref() {
                None | Some("seconds") => 1.0,
                Some("milliseconds") => 0.001,
                Some(other) => {
                    return Err(format!(
                        "latency_unit '{other}' is not seconds or milliseconds"
                    ));
                }
            };
            Ok(SliSpec::Own(OwnSli {
                total,
                bad,
                latency: e.latency.clone(),
                latency_scale,
            }))
        }
    }
}

/// `service_labels` (or the older single `service_label`), checked.
pub(super) fn labels(
    reader: &mut Reader,
    list: Option<&Vec<String>>,
    one: Option<&String>,
) -> Vec<String> {
    let default = || {
        crate::sli::DEFAULT_SERVICE_LABELS
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let given: Vec<String> = match (list, one) {
        (Some(list), _) => list.clone(),
        (None, Some(one)) => vec![one.clone()],
        (None, None) => return default(),
    };
    let mut out = Vec::new();
    for (i, l) in given.iter().enumerate() {
        match check_label(&format!("service_labels[{i}]"), l) {
            Ok(()) if !out.contains(l) => out.push(l.clone()),
            Ok(()) => {}
            Err(e) => reader.problem(None, "service_labels", e),
        }
    }
    if out.is_empty() {
        reader.problem(
            None,
            "service_labels",
            "no label left; using the default list",
        );
        return default();
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::file::Config;
    use crate::sli::{Bad, SliSpec};

    use crate::config::file::tests::parse;

    #[test]
    fn detected_by_default_with_the_default_labels() {
        let (config, problems) = parse("");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.sli, SliSpec::Detect);
        assert_eq!(
            config.service_labels,
            [
                "service",
                "service_name",
                "app_kubernetes_io_name",
                "app",
                "job"
            ]
        );
    }

    #[test]
    fn one_convention_or_own_selectors_globally_and_per_service() {
        let (config, problems) = parse(
            r#"
service_label = "app"
[sli]
convention = "flask"
[services.billing.sli]
total = 'bill_requests_total{env="prod"}'
good = 'bill_requests_total{env="prod",outcome="ok"}'
latency = "bill_seconds"
latency_unit = "milliseconds"
"#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.service_labels, ["app"]);
        assert_eq!(config.sli, SliSpec::Convention("flask".into()));
        let (name, SliSpec::Own(own)) = &config.service_slis[0] else {
            panic!("{:?}", config.service_slis);
        };
        assert_eq!(name, "billing");
        assert!(matches!(&own.bad, Bad::Good(g) if g.contains("outcome")));
        assert_eq!(own.latency_scale, 0.001);
    }

    #[test]
    fn an_sli_may_name_the_users_own_convention() {
        let dir = std::env::temp_dir().join(format!("opsdeck-sli-own-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("conventions")).unwrap();
        let own = "title = \"mine\"\nkind = \"app\"\ndetect = \"my_total\"\n[requests]\nmetric = \"my_total\"\nstatus_label = \"rc\"\nerror = \"5..\"\n[latency]\nnone = \"n\"\n";
        std::fs::write(dir.join("conventions/mine.toml"), own).unwrap();
        let file = dir.join("config.toml");
        std::fs::write(&file, "[sli]\nconvention = \"mine\"\n").unwrap();
        let (config, problems) = Config::load(Some(&file));
        std::fs::remove_dir_all(&dir).ok();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.sli, SliSpec::Convention("mine".into()));
        assert!(config.conventions.iter().any(|c| c.name == "mine"));
    }

    #[test]
    fn a_mistake_names_its_field_and_line_and_detects_instead() {
        let (config, problems) = parse("refresh = \"1s\"\n\n[sli]\nconvention = \"flsk\"\n");
        assert_eq!(config.sli, SliSpec::Detect);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("line 3"), "{}", problems[0]);
        assert!(
            problems[0].contains("no convention named 'flsk'"),
            "{}",
            problems[0]
        );
        let (_, problems) = parse("[services.a.sli]\ntotal = \"rate(x[5m])\"\nerrors = \"x\"\n");
        assert!(problems[0].contains("services.a.sli.total"), "{problems:?}");
        let (_, problems) = parse("[sli]\ntotal = \"x\"\n");
        assert!(problems[0].contains("errors or good"), "{problems:?}");
        let (config, problems) = parse("service_labels = [\"ok\", \"not a label\"]\n");
        assert_eq!(config.service_labels, ["ok"]);
        assert!(
            problems[0].contains("'not a label' is not a label name"),
            "{problems:?}"
        );
    }
}
