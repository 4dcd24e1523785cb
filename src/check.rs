//! `opsdeck config check`: the configuration's own problems, then every
//! configured query run once against its source and every Alertmanager asked
//! for its alerts, each failure with where it was written and the server's
//! own words.

use chrono::Utc;
use futures::future::join_all;

use crate::config::Problem;
use crate::config::file::Config;
use crate::sli::identity;
use crate::sli::queries::disagreements;
use crate::sources::metrics::PrometheusSource;
use crate::sources::metrics::plan::Plan;
use crate::sources::scrape::ScrapeSource;
use crate::sources::{AlertSource, MetricsSource, alertmanager::AlertmanagerSource};
use crate::text::clean;

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
    let mut warnings = Vec::new();
    let plan = source.detect(now, &mut warnings).await;
    let queries: Vec<(&str, &str)> = plan.queries.all().collect();

    let answers = join_all(queries.iter().map(|(_, q)| {
        // As the source asks it: the baselines' day shift filled in.
        let q = crate::sli::derive::at_time(q, now.timestamp()).into_owned();
        async move { source.api().query(&q, now).await }
    }))
    .await;
    let mut problems = 0;
    let mut empty = Vec::new();
    let mut lines = Vec::new();
    let mut errors = std::collections::BTreeSet::new();
    let mut by_convention: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for ((name, _), answer) in queries.iter().zip(answers) {
        match answer {
            Ok(a) if a.result.is_empty() => empty.push(*name),
            Ok(a) => {
                for warning in a.warnings {
                    lines.push(format!("  ! {}: warning: {warning}", origin(config, name)));
                }
                if *name == "requests" {
                    for s in &a.result {
                        let branch = plan
                            .set
                            .branch(s.label(identity::BRANCH))
                            .map_or("queries", |b| b.id.as_str());
                        if let Some((service, _)) =
                            identity::resolve(|l| s.label(l), &plan.set.labels)
                        {
                            by_convention
                                .entry(branch.to_string())
                                .or_default()
                                .push(service.to_string());
                        }
                    }
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
    } else {
        // A detection that failed leaves the queries of the first
        // convention: said, not silently checked instead.
        problems += warnings.len();
        lines.extend(
            warnings
                .iter()
                .map(|w| clean(&format!("  ✖ {w}")).into_owned()),
        );
        lines.extend(conventions(&plan, &by_convention, &config.conventions));
    }
    for (name, line, message) in disagreements(&plan.set, &config.queries) {
        problems += 1;
        let file = config
            .path
            .as_ref()
            .map_or(String::new(), |p| format!("{}: ", p.display()));
        lines.push(format!("  ✖ {file}line {line}: queries.{name} {message}"));
    }
    out.extend(lines);
    let ran = queries.len();
    out.push(format!(
        "  {} {ran} queries ran, {failed} failed, {} returned no series{}",
        if failed == 0 { "✔" } else { "✖" },
        empty.len(),
        if empty.is_empty() {
            String::new()
        } else {
            format!(": {}", empty.join(", "))
        }
    ));
    problems
}

/// The conventions detected and the services each names, and the SLI in
/// force, as report lines.
fn conventions(
    plan: &Plan,
    services: &std::collections::BTreeMap<String, Vec<String>>,
    catalogue: &[crate::sli::Convention],
) -> Vec<String> {
    let mut lines = vec![format!("  · {}", plan.looked_for(catalogue))];
    for b in &plan.set.branches {
        let named = services.get(&b.id).map_or(&[][..], |v| &v[..]);
        let list = if named.is_empty() {
            "no services".to_string()
        } else {
            listed(named, 10)
        };
        lines.push(
            clean(&format!(
                "  · SLI {} ({}): {list}",
                b.id, b.convention.title
            ))
            .into_owned(),
        );
    }
    lines
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

/// Each placeholder of the file's action templates that the action would
/// not have when run (`{servce}`), and each template that does not parse,
/// with its file, line and field. A secret's name is checked when the
/// file is read.
pub fn templates(config: &Config) -> Vec<Problem> {
    use crate::actions::template::{known_placeholders, placeholders};
    let file = config
        .path
        .as_ref()
        .map_or("command line".to_string(), |p| p.display().to_string());
    let mut problems = Vec::new();
    let mut say = |line: usize, field: &str, message: String| {
        problems.push(Problem {
            file: file.clone(),
            message: clean(&format!("line {line}: {field}: {message}")).into_owned(),
        })
    };
    for site in &config.action_templates {
        let Some(known) = known_placeholders(&site.applies_to) else {
            continue;
        };
        let names = match placeholders(&site.template) {
            Ok(names) => names,
            Err(e) => {
                say(site.line, &site.field, e.to_string());
                continue;
            }
        };
        for name in names.iter().filter(|n| !n.starts_with("secret.")) {
            if known.contains(&name.as_str()) {
                continue;
            }
            let near = crate::config::file::nearest(name, &known)
                .map(|n| format!("did you mean {{{n}}}? "))
                .unwrap_or_default();
            let listed: Vec<String> = known.iter().map(|k| format!("{{{k}}}")).collect();
            say(
                site.line,
                &site.field,
                format!(
                    "unknown placeholder {{{name}}}; {near}an action on a {} has {}",
                    site.applies_to,
                    listed.join(", ")
                ),
            );
        }
    }
    problems
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
        let result = match AlertmanagerSource::new(endpoint.clone(), &config.service_labels) {
            Ok(source) => source
                .with_rules(config.alert_rules.clone())
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
    // Each backup tool target listed once, all at once, each within its
    // timeout: what it keeps, or what its tool said.
    let listings =
        futures::future::join_all(config.backup_tools.iter().map(crate::sources::tools::list))
            .await;
    for (t, listing) in config.backup_tools.iter().zip(listings) {
        let at = t
            .repository
            .clone()
            .or_else(|| t.stanza.as_ref().map(|s| format!("stanza {s}")))
            .unwrap_or_default();
        out.push(clean(&format!("backups '{}' {} {at}", t.target, t.tool.name())).into_owned());
        let result = listing.map(|l| {
            let newest = l.last_success.map_or("none yet".into(), |t| {
                let ago = (Utc::now() - t).num_seconds().max(0) as u64;
                format!(
                    "newest {} ago",
                    humantime::format_duration(std::time::Duration::from_secs(ago))
                )
            });
            let kept = l.kept.map_or(0, |k| k.count);
            (format!("{kept} kept, {newest}"), Vec::new())
        });
        count += outcome(&mut out, result);
    }
    count += oncall(config, &mut out).await;
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

/// Each on-call schedule read once: how many shifts, who is on call now,
/// or why it cannot be read.
async fn oncall(config: &Config, out: &mut Vec<String>) -> usize {
    use crate::config::oncall::Location;
    let now = Utc::now();
    let readings = futures::future::join_all(
        (config.oncall.iter()).map(|s| crate::sources::oncall::read(s, now)),
    )
    .await;
    let mut count = 0;
    for (s, reading) in config.oncall.iter().zip(readings) {
        let from = match &s.location {
            Location::File(path) => path.display().to_string(),
            Location::Url(endpoint) => endpoint.url.to_string(),
        };
        out.push(clean(&format!("oncall '{}' {from}", s.name)).into_owned());
        let result = reading.map(|parsed| {
            let o = crate::domain::oncall::on_call(&parsed.shifts, now);
            let who = o.now.map_or("nobody".into(), |n| n.person);
            let n = parsed.shifts.len();
            let s = if n == 1 { "" } else { "s" };
            (format!("{n} shift{s}, on call now: {who}"), parsed.warnings)
        });
        count += outcome(out, result);
    }
    count
}

/// What the first Prometheus of `config` has, as the lines `config init`
/// puts in the starting file: the labels that named its services and the
/// conventions detected, with their services; `None` when no server
/// answers within `within`.
pub async fn detected(config: &Config, within: std::time::Duration) -> Option<String> {
    let endpoint = config.prometheus.first()?.clone();
    let url = endpoint.url.clone();
    let source = PrometheusSource::new(endpoint, config).ok()?;
    let now = Utc::now();
    let ask = async {
        let mut warnings = Vec::new();
        let plan = source.detect(now, &mut warnings).await;
        if !warnings.is_empty() {
            return None;
        }
        let answer = source
            .api()
            .query(plan.queries.get("requests"), now)
            .await
            .ok()?;
        Some((plan, answer.result))
    };
    let (plan, requests) = tokio::time::timeout(within, ask).await.ok()??;
    let mut labels: Vec<String> = Vec::new();
    let mut by_branch: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for s in &requests {
        let Some((service, label)) = identity::resolve(|l| s.label(l), &plan.set.labels) else {
            continue;
        };
        // A convention's own label (HAProxy's proxy) is its own affair.
        let configured = plan.set.labels.iter().any(|l| l == label);
        if configured && !labels.iter().any(|l| l == label) {
            labels.push(label.to_string());
        }
        let branch = plan
            .set
            .branch(s.label(identity::BRANCH))
            .map_or("queries", |b| b.id.as_str())
            .to_string();
        by_branch
            .entry(branch)
            .or_default()
            .push(service.to_string());
    }
    // In the list's order, and the job last so scrape targets still name
    // theirs.
    let order = |l: &String| {
        plan.set
            .labels
            .iter()
            .position(|x| x == l)
            .unwrap_or(usize::MAX)
    };
    labels.sort_by_key(order);
    if !labels.iter().any(|l| l == "job") {
        labels.push("job".into());
    }
    let quoted: Vec<String> = labels.iter().map(|l| format!("{l:?}")).collect();
    let mut out = vec![
        format!("# Detected on {url} when this file was written."),
        "# The labels that name a service, most specific first: those that named one.".into(),
        format!("service_labels = [{}]", quoted.join(", ")),
        String::new(),
        "# The SLI of every service: detected among the conventions of the catalogue".into(),
        "# (conventions/ in the repository), or one of them, or your own selectors:".into(),
        "# [sli]".into(),
    ];
    if by_branch.is_empty() {
        out.push(format!("# {}", plan.looked_for(&config.conventions)));
    }
    for b in &plan.set.branches {
        let Some(services) = by_branch.get(&b.id) else {
            continue;
        };
        out.push(
            clean(&format!(
                "# convention = {:?}   # {}: {}",
                b.id,
                b.convention.title,
                listed(services, 8)
            ))
            .into_owned(),
        );
    }
    out.push("# total = 'http_requests_total{job=\"api\"}'".into());
    out.push(
        "# errors = 'http_requests_total{job=\"api\",code=~\"5..\"}'   # or good = '...'".into(),
    );
    out.push(
        "# latency = 'http_request_duration_seconds{job=\"api\"}'   # a histogram, without _bucket"
            .into(),
    );
    Some(out.join("\n") + "\n")
}

/// The first `most` of `names`, and how many more.
fn listed(names: &[String], most: usize) -> String {
    let shown: Vec<&str> = names.iter().take(most).map(String::as_str).collect();
    match names.len().saturating_sub(most) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}
