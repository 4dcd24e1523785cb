//! The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), as
//! served by Prometheus, Thanos, Mimir and VictoriaMetrics: the envelope read
//! in full (`errorType`, `error`, `warnings`), values `NaN` and `±Inf` kept as
//! numbers, every label value cleaned on the way in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::SourceError;
use super::clean::clean;
use super::http::{HttpClient, snippet};

/// One series at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

/// One series over a range, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub values: Vec<(f64, f64)>,
}

/// A query's answer and the server's warnings about it (a partial result).
#[derive(Debug, Clone, PartialEq)]
pub struct Answered<T> {
    pub result: T,
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<RawSample>),
    Matrix(Vec<RawSeries>),
    Scalar((f64, String)),
    String(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Debug, Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// A sample value: Prometheus writes numbers as strings, including `NaN`,
/// `+Inf` and `-Inf`; anything else is not a number.
pub fn value(text: &str) -> f64 {
    text.trim().parse().unwrap_or(f64::NAN)
}

fn labels(raw: BTreeMap<String, String>) -> BTreeMap<String, String> {
    raw.into_iter()
        .map(|(k, v)| (clean(&k), clean(&v)))
        .collect()
}

/// Reads a response body as the API envelope; the error says what the
/// server said, or what was wrong with what it sent.
fn envelope(status: u16, body: &[u8]) -> Result<(Data, Vec<String>), SourceError> {
    let parsed: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) if !(200..300).contains(&status) => {
            return Err(SourceError::Failed(format!(
                "HTTP {status}: {}",
                snippet(body)
            )));
        }
        Err(e) => {
            return Err(SourceError::Failed(clean(&format!(
                "not a Prometheus API response: {e}"
            ))));
        }
    };
    let warnings: Vec<String> = parsed.warnings.iter().map(|w| clean(w)).collect();
    if parsed.status != "success" {
        let kind = parsed.error_type.as_deref().unwrap_or("error");
        let message = parsed.error.as_deref().unwrap_or("no error text");
        return Err(SourceError::Failed(clean(&format!("{kind}: {message}"))));
    }
    match parsed.data {
        Some(data) => Ok((data, warnings)),
        None => Err(SourceError::Failed("a success without data".into())),
    }
}

/// The Prometheus API of one endpoint.
#[derive(Debug, Clone)]
pub struct PrometheusApi {
    pub http: HttpClient,
}

impl PrometheusApi {
    /// An instant query at `at`; a scalar answer is one sample without labels.
    pub async fn query(
        &self,
        expr: &str,
        at: DateTime<Utc>,
    ) -> Result<Answered<Vec<Sample>>, SourceError> {
        let params = [
            ("query", expr.to_string()),
            (
                "time",
                format!("{:.3}", at.timestamp_millis() as f64 / 1000.0),
            ),
        ];
        let answer = self.http.get("api/v1/query", &params).await?;
        let (data, warnings) = envelope(answer.status, &answer.body)?;
        let result = match data {
            Data::Vector(samples) => samples
                .into_iter()
                .map(|s| Sample {
                    labels: labels(s.metric),
                    value: value(&s.value.1),
                })
                .collect(),
            Data::Scalar((_, v)) => vec![Sample {
                labels: BTreeMap::new(),
                value: value(&v),
            }],
            Data::Matrix(_) | Data::String(_) => {
                return Err(SourceError::Failed(
                    "expected an instant vector, got a range or a string".into(),
                ));
            }
        };
        Ok(Answered { result, warnings })
    }

    /// A range query from `start` to `end` every `step` seconds.
    pub async fn query_range(
        &self,
        expr: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: u32,
    ) -> Result<Answered<Vec<Series>>, SourceError> {
        let params = [
            ("query", expr.to_string()),
            ("start", start.timestamp().to_string()),
            ("end", end.timestamp().to_string()),
            ("step", step.to_string()),
        ];
        let answer = self.http.get("api/v1/query_range", &params).await?;
        let (data, warnings) = envelope(answer.status, &answer.body)?;
        let Data::Matrix(series) = data else {
            return Err(SourceError::Failed("expected a range of values".into()));
        };
        let result = series
            .into_iter()
            .map(|s| Series {
                labels: labels(s.metric),
                values: s.values.into_iter().map(|(t, v)| (t, value(&v))).collect(),
            })
            .collect();
        Ok(Answered { result, warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values_are_numbers_and_garbage_is_not() {
        assert!(value("NaN").is_nan());
        assert_eq!(value("+Inf"), f64::INFINITY);
        assert_eq!(value("-Inf"), f64::NEG_INFINITY);
        assert_eq!(value("1e308"), 1e308);
        assert!(value("twelve").is_nan());
    }

    #[test]
    fn the_envelope_is_read_in_full() {
        let ok = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"a\u001b[2J"},"value":[1,"NaN"]}]},"warnings":["partial response"]}"#;
        let (data, warnings) = envelope(200, ok).unwrap();
        assert_eq!(warnings, ["partial response"]);
        let Data::Vector(samples) = data else {
            panic!("a vector")
        };
        assert_eq!(
            labels(samples.into_iter().next().unwrap().metric)["service"],
            "a\\x1b[2J"
        );
        let bad = br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected <op:*>"}"#;
        assert_eq!(
            envelope(400, bad).unwrap_err(),
            SourceError::Failed("bad_data: 1:5: parse error: unexpected <op:*>".into())
        );
        let html = b"<html><title>502 Bad Gateway</title></html>";
        assert_eq!(
            envelope(502, html).unwrap_err(),
            SourceError::Failed("HTTP 502: 502 Bad Gateway".into())
        );
        assert!(
            matches!(envelope(200, b"\xff\xfe not json"), Err(SourceError::Failed(m)) if m.starts_with("not a Prometheus API response"))
        );
    }
}
