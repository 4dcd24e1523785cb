//! What opsdeck sends: the configured credentials and headers reach the
//! server, and the secret never shows in what opsdeck prints or logs.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;

use chrono::Utc;
use opsdeck::config::file::Config;
use opsdeck::sources::MetricsSource;
use opsdeck::sources::metrics::PrometheusSource;

/// A server that answers one empty vector per request and hands each
/// request's head to the test.
fn recording_server() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).to_string());
            let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, rx)
}

fn config_with(text: &str) -> Config {
    let (config, problems) = Config::parse(Path::new("auth.toml"), text);
    assert!(problems.is_empty(), "{problems:?}");
    config
}

#[tokio::test]
async fn a_bearer_token_from_a_file_and_extra_headers_reach_the_server() {
    let (url, requests) = recording_server();
    let dir = std::env::temp_dir().join(format!("opsdeck-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("token");
    std::fs::write(&token, "t0ps3cret\n").unwrap();
    let config = config_with(&format!(
        "[[prometheus]]\nurl = \"{url}\"\nbearer_token_file = \"{}\"\nheaders = {{ \"X-Scope-OrgID\" = \"team-a\" }}\n",
        token.display()
    ));
    let source = PrometheusSource::new(config.prometheus[0].clone(), &config).unwrap();
    source.deployments(Utc::now()).await.unwrap();
    let head = requests.recv().unwrap().to_ascii_lowercase();
    assert!(
        head.contains("authorization: bearer t0ps3cret\r\n"),
        "{head}"
    );
    assert!(head.contains("x-scope-orgid: team-a\r\n"), "{head}");
    assert!(head.starts_with("get /api/v1/query?"), "{head}");
    assert!(
        !format!("{config:?}").contains("t0ps3cret"),
        "the secret never prints"
    );
}

#[tokio::test]
async fn basic_auth_from_the_environment_reaches_the_server() {
    let (url, requests) = recording_server();
    // SAFETY: this test binary sets this one variable before any thread reads it.
    unsafe { std::env::set_var("OPSDECK_TEST_BASIC_PASSWORD", "pa ss") };
    let config = config_with(&format!(
        "[[prometheus]]\nurl = \"{url}\"\nbasic_auth = {{ username = \"opsdeck\", password_env = \"OPSDECK_TEST_BASIC_PASSWORD\" }}\n"
    ));
    let source = PrometheusSource::new(config.prometheus[0].clone(), &config).unwrap();
    source.backups(Utc::now()).await.unwrap();
    let head = requests.recv().unwrap();
    // base64("opsdeck:pa ss")
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: basic b3bzzgvjazpwysbzcw==\r\n"),
        "{head}"
    );
    assert!(!format!("{config:?}").contains("pa ss"));
}
