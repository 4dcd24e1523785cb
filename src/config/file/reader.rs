//! Reading the configuration file's values: each problem with its line and
//! field, what could still be used kept.

use super::*;

pub(in crate::config) struct Reader<'a> {
    pub(in crate::config) file: String,
    pub(in crate::config) text: &'a str,
    pub(in crate::config) problems: Vec<Problem>,
}

impl Reader<'_> {
    pub(in crate::config) fn line(&self, at: usize) -> usize {
        line_of(self.text, at)
    }

    pub(in crate::config) fn problem(
        &mut self,
        line: Option<usize>,
        field: &str,
        message: impl fmt::Display,
    ) {
        // Without a line from a span, the line that writes the field.
        let line = line.or_else(|| crate::config::line_of_field(self.text, field));
        let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
        self.problems.push(Problem {
            file: self.file.clone(),
            message: format!("{at}{field}: {message}"),
        });
    }

    pub(in crate::config) fn secret(
        &mut self,
        line: usize,
        field: &str,
        env: &Option<String>,
        file: &Option<PathBuf>,
    ) -> Option<Secret> {
        match (env, file) {
            (Some(var), _) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Some(Secret(value)),
                _ => {
                    self.problem(
                        Some(line),
                        field,
                        format!("environment variable {var} is not set"),
                    );
                    None
                }
            },
            (None, Some(path)) => match std::fs::read_to_string(path) {
                Ok(value) => Some(Secret(value.trim_end_matches(['\n', '\r']).to_string())),
                Err(e) => {
                    self.problem(
                        Some(line),
                        field,
                        format!("cannot read {}: {e}", path.display()),
                    );
                    None
                }
            },
            (None, None) => None,
        }
    }

    pub(in crate::config) fn endpoint(
        &mut self,
        kind: &str,
        index: usize,
        spec: &EndpointSpec,
    ) -> Option<Endpoint> {
        let line = line_of(self.text, spec.url.span().start);
        let field = format!("{kind}[{index}].url");
        let url = match reqwest::Url::parse(spec.url.get_ref()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            Ok(url) => {
                self.problem(
                    Some(line),
                    &field,
                    format!("unsupported scheme '{}' (use http or https)", url.scheme()),
                );
                return None;
            }
            Err(e) => {
                self.problem(
                    Some(line),
                    &field,
                    format!(
                        "'{}' is not a URL: {e}",
                        crate::text::clean(&mask_userinfo(spec.url.get_ref()))
                    ),
                );
                return None;
            }
        };
        let mut endpoint = Endpoint::from_url(spec.name.as_deref(), url);
        endpoint.cluster = spec.cluster.clone();
        let prefix = format!("{kind}[{index}]");
        if let Some(Dur(t)) = spec.timeout {
            if t < MIN_TIMEOUT {
                self.problem(
                    Some(line),
                    &format!("{prefix}.timeout"),
                    "under 100ms; using 5s",
                );
            } else {
                endpoint.timeout = t;
            }
        }
        if let Some(Dur(t)) = spec.connect_timeout {
            endpoint.connect_timeout = t;
        }
        endpoint.headers = spec.headers.clone();
        endpoint.ca_file = spec.ca_file.clone();
        if let Some(max) = spec.max_response_bytes {
            if max < 1024 {
                self.problem(
                    Some(line),
                    &format!("{prefix}.max_response_bytes"),
                    "under 1024; using 32 MiB",
                );
            } else {
                endpoint.max_response_bytes = max;
            }
        }
        if let Some(token) = self.secret(
            line,
            &format!("{prefix}.bearer_token"),
            &spec.bearer_token_env,
            &spec.bearer_token_file,
        ) {
            endpoint.auth = Auth::Bearer(token);
        } else if let Some(basic) = &spec.basic_auth {
            let field = format!("{prefix}.basic_auth");
            let Some(password) =
                self.secret(line, &field, &basic.password_env, &basic.password_file)
            else {
                if basic.password_env.is_none() && basic.password_file.is_none() {
                    self.problem(Some(line), &field, "needs password_env or password_file");
                }
                return None;
            };
            endpoint.auth = Auth::Basic {
                username: basic.username.clone(),
                password,
            };
        }
        if let Some(ca) = &spec.ca_file
            && !ca.is_file()
        {
            self.problem(
                Some(line),
                &format!("{prefix}.ca_file"),
                format!("{} does not exist", ca.display()),
            );
            return None;
        }
        Some(endpoint)
    }

    pub(in crate::config) fn endpoints(
        &mut self,
        kind: &str,
        specs: &[EndpointSpec],
    ) -> Vec<Endpoint> {
        specs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.endpoint(kind, i, s))
            .collect()
    }

    pub(in crate::config) fn ratio(
        &mut self,
        field: &str,
        value: Option<f64>,
        default: f64,
    ) -> f64 {
        match value {
            None => default,
            Some(v) if v > 0.0 && v < 1.0 => v,
            Some(v) => {
                self.problem(
                    None,
                    field,
                    format!("{v} is not a ratio between 0 and 1 (99.9% is 0.999); using {default}"),
                );
                default
            }
        }
    }

    /// A count of standard deviations: 0 (off) or more.
    pub(in crate::config) fn deviations(
        &mut self,
        field: &str,
        value: Option<f64>,
        default: f64,
    ) -> f64 {
        match value {
            None => default,
            Some(v) if v.is_finite() && v >= 0.0 => v,
            Some(v) => {
                self.problem(
                    None,
                    field,
                    format!("{v} is not a number of deviations (3 is usual, 0 turns anomalies off); using {default}"),
                );
                default
            }
        }
    }
}
