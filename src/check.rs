//! `opsdeck config check`: the configuration's own problems, then every
//! configured query run once against its source and every Alertmanager asked
//! for its alerts, each failure with where it was written and the server's
//! own words.

use chrono::Utc;
use futures::future::join_all;

use crate::config::Problem;
use crate::config::file::Config;
use crate::sources::clean::clean;
use crate::sources::metrics::PrometheusSource;
use crate::sources::scrape::ScrapeSource;
use crate::sources::{AlertSource, MetricsSource, alertmanager::AlertmanagerSource};

pub struct Report {
    pub text: String,
    pub problems: usize,
}

/// Where a query was written: its line in the file, or the built-in table.
fn origin(config: &Config, name: &str) -> String {
    match (config.queries.get(name), &config.path) {
        (Some((_, line)), Some(path)) => format!("{}: line {line}: queries.{name}", path.display()),
        _ => format!("built-in query {name}"),
    }
}

async fn check_prometheus(
    config: &Config,
    source: &PrometheusSource,
    out: &mut Vec<String>,
) -> usize {
    let now = Utc::now();
    let queries: Vec<(&str, &str)> = source.queries().all().collect();
    let answers = join_all(queries.iter().map(|(_, q)| source.api().query(q, now))).await;
    let mut problems = 0;
    let mut empty = 0;
    let mut lines = Vec::new();
    let mut errors = std::collections::BTreeSet::new();
    for ((name, _), answer) in queries.iter().zip(answers) {
        match answer {
            Ok(a) if a.result.is_empty() => empty += 1,
            Ok(a) => {
                for warning in a.warnings {
                    lines.push(format!("  ! {}: warning: {warning}", origin(config, name)));
                }
            }
            Err(e) => {
                problems += 1;
                errors.insert(e.to_string());
                lines.push(format!("  ✖ {}: {e}", origin(config, name)));
            }
        }
    }
    let failed = problems;
    // A server that is down fails every query the same way: say it once.
    if problems == queries.len() && errors.len() == 1 {
        lines = vec![format!(
            "  ✖ every query: {}",
            errors.into_iter().next().unwrap_or_default()
        )];
        problems = 1;
    }
    out.extend(lines);
    let ran = queries.len();
    out.push(format!(
        "  {} {ran} queries ran, {failed} failed, {empty} returned no series",
        if failed == 0 { "✔" } else { "✖" }
    ));
    problems
}

/// One source's answer as report lines: what it said, or each warning and
/// the error as a problem. Returns the number of problems.
fn outcome(out: &mut Vec<String>, result: Result<(String, Vec<String>), String>) -> usize {
    match result {
        Ok((said, warnings)) if warnings.is_empty() => {
            out.push(format!("  ✔ {said}"));
            0
        }
        Ok((_, warnings)) => {
            out.extend(warnings.iter().map(|w| format!("  ✖ {w}")));
            warnings.len()
        }
        Err(e) => {
            out.push(format!("  ✖ {e}"));
            1
        }
    }
}

pub async fn run(config: &Config, problems: Vec<Problem>) -> Report {
    let mut out = vec![format!(
        "opsdeck config check: {}",
        config
            .path
            .as_ref()
            .map_or("built-in defaults".to_string(), |p| p.display().to_string())
    )];
    let mut count = problems.len();
    for p in &problems {
        out.push(format!("  ✖ {p}"));
    }
    for endpoint in &config.prometheus {
        out.push(clean(&format!("prometheus '{}' {}", endpoint.name, endpoint.url)).into_owned());
        match PrometheusSource::new(endpoint.clone(), config) {
            Ok(source) => count += check_prometheus(config, &source, &mut out).await,
            Err(e) => {
                count += 1;
                out.push(format!("  ✖ {e}"));
            }
        }
    }
    for endpoint in &config.alertmanager {
        out.push(
            clean(&format!(
                "alertmanager '{}' {}",
                endpoint.name, endpoint.url
            ))
            .into_owned(),
        );
        let result = match AlertmanagerSource::new(endpoint.clone(), &config.service_label) {
            Ok(source) => source
                .alerts(Utc::now())
                .await
                .map_err(|e| e.to_string())
                .map(|f| {
                    (
                        format!(
                            "{} alerts, {} silences",
                            f.value.alerts.len(),
                            f.value.silences.len()
                        ),
                        f.warnings,
                    )
                }),
            Err(e) => Err(e),
        };
        count += outcome(&mut out, result);
    }
    for endpoint in &config.scrape {
        out.push(clean(&format!("scrape '{}' {}", endpoint.name, endpoint.url)).into_owned());
        let result = match ScrapeSource::new(endpoint.clone(), config) {
            Ok(source) => source
                .health(Utc::now())
                .await
                .map_err(|e| e.to_string())
                .map(|f| ("read".to_string(), f.warnings)),
            Err(e) => Err(e),
        };
        count += outcome(&mut out, result);
    }
    out.push(match count {
        0 => "no problems".to_string(),
        1 => "1 problem".to_string(),
        n => format!("{n} problems"),
    });
    Report {
        text: out.join("\n") + "\n",
        problems: count,
    }
}
