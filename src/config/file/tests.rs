//! Tests of the configuration file: parsing, problems, defaults.
use super::*;

/// `text` parsed as `opsdeck.toml`, its problems as text.
pub(in crate::config) fn parse(text: &str) -> (Config, Vec<String>) {
    let (config, problems) = Config::parse(Path::new("opsdeck.toml"), text);
    (config, problems.iter().map(ToString::to_string).collect())
}

#[test]
fn the_starting_file_parses_without_a_problem() {
    let (config, problems) = parse(STARTING);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(config.prometheus[0].url.as_str(), "http://localhost:9090/");
    assert_eq!(config.objectives.availability, 0.999);
    assert_eq!(config.limits, super::super::limits::Limits::default());
}

#[test]
fn no_file_means_localhost_defaults() {
    let config = Config::default();
    assert_eq!(config.prometheus[0].url.as_str(), "http://localhost:9090/");
    assert_eq!(
        config.alertmanager[0].url.as_str(),
        "http://localhost:9093/"
    );
    assert_eq!(config.service_labels[0], "service");
}

#[test]
fn a_bad_source_is_left_out_with_its_line_and_the_rest_loads() {
    let text = "[[prometheus]]\nurl = \"http://127.0.0.1:9090\"\ncluster = \"eu\"\n\n[[prometheus]]\nurl = \"ftp://x\"\n\n[[alertmanager]]\nurl = \"not a url\"\n";
    let (config, problems) = parse(text);
    assert_eq!(config.prometheus.len(), 1);
    assert_eq!(config.prometheus[0].cluster.as_deref(), Some("eu"));
    assert!(config.alertmanager.is_empty());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("opsdeck.toml: line 6: prometheus[1].url: unsupported scheme 'ftp'"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("line 9: alertmanager[0].url: 'not a url' is not a URL"),
        "{problems:?}"
    );
}

#[test]
fn secrets_come_from_the_environment_or_a_file_and_never_print() {
    let dir = std::env::temp_dir().join(format!("opsdeck-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "s3cr3t\n").unwrap();
    let text = format!(
        "[[prometheus]]\nurl = \"http://127.0.0.1:9090\"\nbearer_token_file = \"{}\"\n",
        file.display()
    );
    let (config, problems) = parse(&text);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        config.prometheus[0].auth,
        Auth::Bearer(Secret("s3cr3t".into()))
    );
    assert!(!format!("{:?}", config.prometheus[0]).contains("s3cr3t"));
    let missing = "[[prometheus]]\nurl = \"http://127.0.0.1:9090\"\nbearer_token_env = \"OPSDECK_TEST_NO_SUCH_VAR\"\n";
    let (_, problems) = parse(missing);
    assert!(problems[0].contains("line 2: prometheus[0].bearer_token: environment variable OPSDECK_TEST_NO_SUCH_VAR is not set"), "{problems:?}");
}

#[test]
fn mistakes_name_line_and_field() {
    let cases = [
        (
            "refresh = \"soon\"\n",
            "line 1, column 11: bad duration 'soon'",
        ),
        ("refresh = \"soon\"\n", "2m), in refresh;"),
        (
            "[[prometheus]]\nurl = \"http://a\"\ntimeout = 5\n",
            "line 3, column 11: invalid type: integer `5`, expected a string, in prometheus[0].timeout",
        ),
        (
            "[[prometheus]]\nurl = \"http://a\"\n[[prometheus]]\nurl = \"http://b\"\n[prometheus.basic_auth]\nusername = 5\n",
            "line 6, column 12: invalid type: integer `5`, expected a string, in prometheus[1].basic_auth.username",
        ),
        (
            "refresh = \"1s\n",
            "line 1, column 14: invalid basic string, expected `\"`, in refresh;",
        ),
        (
            "[limits]\nmax_series = \"lots\"\n",
            "expected i64, in limits.max_series",
        ),
        (
            "[objectives]\navailability = 99.9\n",
            "objectives.availability: 99.9 is not a ratio",
        ),
        (
            "[queries]\nlatency_p50 = \"x\"\n",
            "line 2: queries.latency_p50: no query of that name",
        ),
        ("colour = \"red\"\n", "unknown field `colour`"),
        (
            "[[prometheus]]\nurl = \"http://a\"\ncolour = \"red\"\n",
            "line 3, column 1: unknown field `colour`",
        ),
        (
            "[services.checkout]\ntier = \"gold\"\n",
            ", in services.checkout.tier;",
        ),
        (
            "[services.checkout]\ntier = \"gold\"\n",
            "unknown variant `gold`",
        ),
    ];
    for (text, expected) in cases {
        let (_, problems) = parse(text);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{text:?}: {problems:?}"
        );
    }
}

#[test]
fn credentials_in_a_url_move_into_basic_auth_and_out_of_every_name() {
    let (config, problems) = parse("[[prometheus]]\nurl = \"http://ops:s3cr3t@127.0.0.1:9090/\"\n");
    assert!(problems.is_empty(), "{problems:?}");
    let e = &config.prometheus[0];
    assert_eq!(
        (e.name.as_str(), e.url.as_str()),
        ("127.0.0.1:9090", "http://127.0.0.1:9090/")
    );
    assert_eq!(
        e.auth,
        Auth::Basic {
            username: "ops".into(),
            password: Secret("s3cr3t".into())
        }
    );
    let mut config = Config::default();
    config.override_urls(&["http://u:pw@127.0.0.1:1".into()], &[]);
    assert!(
        !format!(
            "{:?} {}",
            config.prometheus[0].name, config.prometheus[0].url
        )
        .contains("pw")
    );
}

#[test]
fn a_url_that_cannot_be_used_is_quoted_without_its_password() {
    let text = "[[prometheus]]\nurl = \"http://ops:s3cr3t@prom host:9090\"\n[[alertmanager]]\nurl = \"http://ops:s3cr3t@am:port\"\n";
    let (_, problems) = parse(text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0]
            .contains("line 2: prometheus[0].url: 'http://ops:••••@prom host:9090' is not a URL"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("line 4: alertmanager[0].url: 'http://ops:••••@am:port' is not a URL"),
        "{problems:?}"
    );
    let mut config = Config::default();
    let problems = config.override_urls(
        &["http://ops:s3cr3t@prom host:9090".into()],
        &["ftp://token123@am:9093/".into()],
    );
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "command line: --prometheus 'http://ops:••••@prom host:9090' is not an http(s) URL",
            "command line: --alertmanager 'ftp://••••@am:9093/' is not an http(s) URL",
        ]
    );
}

#[test]
fn user_information_is_masked_however_the_url_is_broken() {
    let cases = [
        ("http://u:p@h/", "http://u:••••@h/"),
        ("https://u:pa/ss@h:1/x", "https://u:••••@h:1/x"),
        ("http://u:p@ss@h", "http://u:••••@h"),
        ("http://tok@h", "http://••••@h"),
        ("u:p@h", "u:••••@h"),
        ("http://h/path?next=a@b", "http://h/path?next=a@b"),
        ("http://h:99999/x", "http://h:99999/x"),
        ("not a url", "not a url"),
    ];
    for (url, shown) in cases {
        assert_eq!(mask_userinfo(url), shown, "{url}");
    }
}

#[test]
fn sources_get_names_of_their_own() {
    let text = "[[prometheus]]\nname = \"a\"\nurl = \"http://127.0.0.1:1\"\n[[prometheus]]\nname = \"a\"\nurl = \"http://127.0.0.1:2\"\n";
    let (config, problems) = parse(text);
    assert_eq!(config.prometheus[1].name, "a#2");
    assert!(
        problems[0].contains("two sources are named 'a'"),
        "{problems:?}"
    );
}

#[test]
fn values_that_would_hammer_a_server_or_drop_a_source_silently_are_reported() {
    let cases = [
        ("refresh = \"0s\"\n", "refresh: under 100ms"),
        (
            "[[prometheus]]\nurl = \"http://a\"\ntimeout = \"1ms\"\n",
            "line 2: prometheus[0].timeout: under 100ms",
        ),
        (
            "[[prometheus]]\nurl = \"http://a\"\nmax_response_bytes = 0\n",
            "prometheus[0].max_response_bytes: under 1024",
        ),
        (
            "[[prometheus]]\nurl = \"http://a\"\nbasic_auth = { username = \"u\" }\n",
            "prometheus[0].basic_auth: needs password_env or password_file",
        ),
    ];
    for (text, expected) in cases {
        let (_, problems) = parse(text);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{text:?}: {problems:?}"
        );
    }
}

#[test]
fn the_disk_forecast_horizons_are_read_from_thresholds() {
    let (config, problems) =
        parse("[thresholds]\ndisk_full_warn = \"12h\"\ndisk_full_crit = \"90m\"\n");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        config.thresholds.disk_full_warn,
        chrono::Duration::hours(12)
    );
    assert_eq!(
        config.thresholds.disk_full_crit,
        chrono::Duration::minutes(90)
    );
    let (config, _) = parse("");
    assert_eq!(
        config.thresholds.disk_full_warn,
        chrono::Duration::hours(24)
    );
    assert_eq!(config.thresholds.disk_full_crit, chrono::Duration::hours(4));
}
