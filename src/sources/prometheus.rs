//! The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), as
//! served by Prometheus, Thanos, Mimir and VictoriaMetrics: the envelope read
//! in full (`errorType`, `error`, `warnings`), values `NaN` and `±Inf` kept as
//! numbers, every label value cleaned on the way in, and at most
//! `limits.max_series` series kept of an answer.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::SourceError;
use super::http::{HttpClient, snippet};
use super::intern::intern;
use crate::config::limits::{Capped, DEFAULT_MAX_SERIES, read_capped, read_tolerant};
use crate::text::{RawText, clean, clean_owned};

/// One series at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name)
    }
}

/// One series over a range, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub values: Vec<(f64, f64)>,
}

/// A series' labels, cleaned as they are read: pairs sorted by name, one
/// per name. A list, not a map: a series has a handful, and an answer of
/// 10,000 series holds 10,000 of them; the names and values are shared
/// (`intern`), each held once however many answers carry it, and so is
/// the list itself (`intern::pairs`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Labels(crate::sources::intern::Pairs);

impl Labels {
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.0.binary_search_by(|(n, _)| (**n).cmp(name)).ok()?;
        Some(&self.0[i].1)
    }

    /// Sorted by name; of repeated names, the last kept.
    fn sorted(mut pairs: Vec<(Arc<str>, Arc<str>)>) -> Labels {
        pairs.reverse();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Labels(crate::sources::intern::pairs(pairs))
    }
}

/// A query's answer and the server's warnings about it (a partial result).
#[derive(Debug, Clone, PartialEq)]
pub struct Answered<T> {
    pub result: T,
    pub warnings: Vec<String>,
}

// The answer is read without a copy per sample: values are parsed to
// numbers as they are read, and label names and values are borrowed from
// the body while they are cleaned, then copied once, into the map a sample
// keeps. (`#[serde(borrow)]` reaches only a field that is itself a `Cow`,
// not the strings inside a map or a tuple, hence the two small visitors.)

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    status: Cow<'a, str>,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    /// Notes Prometheus (2.52 and later) adds to an answer that is whole
    /// but worth knowing about (a histogram read as a counter, say): shown
    /// on the panel like warnings, never dropped.
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Capped<RawSample>),
    Matrix(Capped<RawSeries>),
    Scalar((f64, Number)),
    String(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: Labels,
    value: (f64, Number),
}

#[derive(Debug, Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    values: Vec<(f64, Number)>,
}

/// A sample value, parsed by `value` from the string it is written as.
#[derive(Debug, Clone, Copy)]
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sample value as a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Number, E> {
                Ok(Number(value(text)))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Labels, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Labels;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of label names to values")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Labels, M::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((name, text)) = map.next_entry::<RawText<'de>, RawText<'de>>()? {
                    out.push((intern(&clean(&name.0)), intern(&clean(&text.0))));
                }
                Ok(Labels::sorted(out))
            }
        }
        deserializer.deserialize_map(Pairs)
    }
}

/// A sample value: Prometheus writes numbers as strings, including `NaN`,
/// `+Inf` and `-Inf`; anything else is not a number.
pub fn value(text: &str) -> f64 {
    text.trim().parse().unwrap_or(f64::NAN)
}

/// Reads a response body as the API envelope, keeping at most
/// `max_series` series; the error says what the server said, or what was
/// wrong with what it sent.
fn envelope(
    status: u16,
    body: &[u8],
    max_series: usize,
) -> Result<(Data, Vec<String>), SourceError> {
    // Whole, or, when that fails, series by series: one series that cannot
    // be read is skipped and counted, never blanking the answer.
    let strict = read_capped(max_series, || serde_json::from_slice::<Envelope>(body));
    let parsed = strict.or_else(|e| {
        read_tolerant(max_series, || serde_json::from_slice::<Envelope>(body)).map_err(|_| e)
    });
    let parsed: Envelope = match parsed {
        Ok(e) => e,
        Err(_) if !(200..300).contains(&status) => {
            return Err(SourceError::Failed(format!(
                "HTTP {status}: {}",
                snippet(body)
            )));
        }
        Err(e) => {
            return Err(SourceError::Failed(
                clean(&format!("not a Prometheus API response: {e}")).into_owned(),
            ));
        }
    };
    let infos = parsed.infos.into_iter().map(|i| format!("info: {i}"));
    let warnings: Vec<String> = parsed
        .warnings
        .into_iter()
        .chain(infos)
        .map(clean_owned)
        .collect();
    if parsed.status != "success" {
        let kind = parsed.error_type.as_deref().unwrap_or("error");
        let message = parsed.error.as_deref().unwrap_or("no error text");
        return Err(SourceError::Failed(
            clean(&format!("{kind}: {message}")).into_owned(),
        ));
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
        decode_vector_capped(answer.status, &answer.body, self.http.endpoint.max_series)
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
        decode_matrix_capped(answer.status, &answer.body, self.http.endpoint.max_series)
    }
}

/// The warning that a limit left series out, ahead of the server's own.
fn limit_warning<T>(series: &Capped<T>, mut warnings: Vec<String>) -> Vec<String> {
    if let Some(cut) = series.warning("series", "max_series") {
        warnings.insert(0, cut);
    }
    if let Some(unreadable) = series.unreadable_warning("series", "series") {
        warnings.insert(0, unreadable);
    }
    warnings
}

/// An instant query's answer (HTTP `status` and `body`), at most the
/// default `limits.max_series` kept; a scalar answer is one sample without
/// labels. Public for the fuzz targets.
pub fn decode_vector(status: u16, body: &[u8]) -> Result<Answered<Vec<Sample>>, SourceError> {
    decode_vector_capped(status, body, DEFAULT_MAX_SERIES)
}

/// `decode_vector` keeping the first `max_series` series, with a warning
/// when there were more.
pub fn decode_vector_capped(
    status: u16,
    body: &[u8],
    max_series: usize,
) -> Result<Answered<Vec<Sample>>, SourceError> {
    let (data, mut warnings) = envelope(status, body, max_series)?;
    let result = match data {
        Data::Vector(samples) => {
            warnings = limit_warning(&samples, warnings);
            let mut kept: Vec<Sample> = samples
                .kept
                .into_iter()
                .map(|s| Sample {
                    labels: s.metric,
                    value: s.value.1.0,
                })
                .collect();
            // Kept between refreshes: without the room a growing list left.
            kept.shrink_to_fit();
            kept
        }
        Data::Scalar((_, v)) => vec![Sample {
            labels: Labels::default(),
            value: v.0,
        }],
        Data::Matrix(_) | Data::String(_) => {
            return Err(SourceError::Failed(
                "expected an instant vector, got a range or a string".into(),
            ));
        }
    };
    Ok(Answered { result, warnings })
}

/// A range query's answer (HTTP `status` and `body`), at most the default
/// `limits.max_series` kept. Public for the fuzz targets.
pub fn decode_matrix(status: u16, body: &[u8]) -> Result<Answered<Vec<Series>>, SourceError> {
    decode_matrix_capped(status, body, DEFAULT_MAX_SERIES)
}

/// `decode_matrix` keeping the first `max_series` series, with a warning
/// when there were more.
pub fn decode_matrix_capped(
    status: u16,
    body: &[u8],
    max_series: usize,
) -> Result<Answered<Vec<Series>>, SourceError> {
    let (data, warnings) = envelope(status, body, max_series)?;
    let Data::Matrix(series) = data else {
        return Err(SourceError::Failed("expected a range of values".into()));
    };
    let warnings = limit_warning(&series, warnings);
    let mut result: Vec<Series> = series
        .kept
        .into_iter()
        .map(|s| Series {
            labels: s.metric,
            values: s.values.into_iter().map(|(t, v)| (t, v.0)).collect(),
        })
        .collect();
    result.shrink_to_fit();
    Ok(Answered { result, warnings })
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
    fn a_range_reads_every_value_and_cleans_every_label() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"service":"checkout","bidi\u202e":"x"},"values":[[10,"1.5"],[15,"NaN"],[20," +Inf"],[25,"\u0032"]]},
            {"values":[[10,"junk"]]}]}}"#;
        let (data, warnings) = envelope(200, body, usize::MAX).unwrap();
        assert!(warnings.is_empty());
        let Data::Matrix(series) = data else {
            panic!("a matrix")
        };
        let values: Vec<Vec<f64>> = series
            .kept
            .iter()
            .map(|s| s.values.iter().map(|(_, v)| v.0).collect())
            .collect();
        assert_eq!(values[0][0], 1.5);
        assert!(values[0][1].is_nan());
        assert_eq!(values[0][2], f64::INFINITY);
        assert_eq!(values[0][3], 2.0, "an escaped value is still read");
        assert!(values[1][0].is_nan());
        let labels = &series.kept[0].metric;
        assert_eq!(labels.get("service"), Some("checkout"));
        assert_eq!(labels.get("bidi\\u{202e}"), Some("x"));
        assert!(series.kept[1].metric.0.is_empty());
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[10,"0.25"]}}"#;
        assert!(
            matches!(envelope(200, scalar, usize::MAX), Ok((Data::Scalar((_, Number(v))), _)) if v == 0.25)
        );
        // A value must be written as a string: a series with a number is
        // unreadable, skipped and counted; the others are kept.
        let number = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1,2]},{"metric":{"job":"b"},"value":[1,"2"]}]}}"#;
        let Ok((Data::Vector(samples), _)) = envelope(200, number, usize::MAX) else {
            panic!("the readable series kept")
        };
        assert_eq!(samples.kept.len(), 1);
        assert_eq!(samples.kept[0].metric.get("job"), Some("b"));
        assert_eq!(samples.unreadable, 1);
        let answer = decode_vector(200, number).unwrap();
        assert_eq!(answer.result.len(), 1);
        assert!(
            answer.warnings[0].starts_with("1 series unreadable: "),
            "{:?}",
            answer.warnings
        );
        // No list at all is still the whole answer's error.
        let garbage = br#"{"status":"success","data":{"resultType":"vector","result":7}}"#;
        assert!(
            matches!(envelope(200, garbage, usize::MAX), Err(SourceError::Failed(m)) if m.starts_with("not a Prometheus API response"))
        );
    }

    #[test]
    fn the_envelope_is_read_in_full() {
        let ok = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"a\u001b[2J"},"value":[1,"NaN"]}]},"warnings":["partial response"]}"#;
        let (data, warnings) = envelope(200, ok, usize::MAX).unwrap();
        assert_eq!(warnings, ["partial response"]);
        let with_infos = br#"{"status":"success","data":{"resultType":"vector","result":[]},"infos":["PromQL info: metric might not be a counter"]}"#;
        let (_, notes) = envelope(200, with_infos, usize::MAX).unwrap();
        assert_eq!(notes, ["info: PromQL info: metric might not be a counter"]);
        let Data::Vector(samples) = data else {
            panic!("a vector")
        };
        assert_eq!(
            samples
                .kept
                .into_iter()
                .next()
                .unwrap()
                .metric
                .get("service"),
            Some("a\\x1b[2J")
        );
        let bad = br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected <op:*>"}"#;
        assert_eq!(
            envelope(400, bad, usize::MAX).unwrap_err(),
            SourceError::Failed("bad_data: 1:5: parse error: unexpected <op:*>".into())
        );
        let html = b"<html><title>502 Bad Gateway</title></html>";
        assert_eq!(
            envelope(502, html, usize::MAX).unwrap_err(),
            SourceError::Failed("HTTP 502: 502 Bad Gateway".into())
        );
        assert!(
            matches!(envelope(200, b"\xff\xfe not json", usize::MAX), Err(SourceError::Failed(m)) if m.starts_with("not a Prometheus API response"))
        );
    }

    /// An answer of `n` series named s0, s1…, as a vector or a matrix.
    fn answer(kind: &str, n: usize, result_first: bool) -> String {
        let series: Vec<String> = (0..n)
            .map(|i| match kind {
                "vector" => format!(r#"{{"metric":{{"service":"s{i}"}},"value":[1,"{i}"]}}"#),
                _ => format!(r#"{{"metric":{{"service":"s{i}"}},"values":[[1,"{i}"],[2,"{i}"]]}}"#),
            })
            .collect();
        let (kind, result) = (
            format!(r#""resultType":"{kind}""#),
            format!(r#""result":[{}]"#, series.join(",")),
        );
        let data = if result_first {
            format!("{result},{kind}")
        } else {
            format!("{kind},{result}")
        };
        format!(r#"{{"status":"success","data":{{{data}}},"warnings":["partial response"]}}"#)
    }

    #[test]
    fn at_most_max_series_are_kept_and_the_panel_is_told() {
        for result_first in [false, true] {
            let vector = answer("vector", 12, result_first);
            let a = decode_vector_capped(200, vector.as_bytes(), 10).unwrap();
            let names: Vec<_> = a.result.iter().filter_map(|s| s.label("service")).collect();
            assert_eq!(
                names,
                ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"]
            );
            assert_eq!(
                a.warnings,
                [
                    "12 series, the first 10 kept (limits.max_series)",
                    "partial response"
                ]
            );
            let matrix = answer("matrix", 25_000, result_first);
            let a = decode_matrix_capped(200, matrix.as_bytes(), 20_000).unwrap();
            assert_eq!(a.result.len(), 20_000);
            assert_eq!(a.result[19_999].labels.get("service"), Some("s19999"));
            assert_eq!(a.result[0].values, [(1.0, 0.0), (2.0, 0.0)]);
            assert_eq!(
                a.warnings[0],
                "25,000 series, the first 20,000 kept (limits.max_series)"
            );
        }
        let exact = answer("vector", 10, false);
        let a = decode_vector_capped(200, exact.as_bytes(), 10).unwrap();
        assert_eq!(
            (a.result.len(), a.warnings.as_slice()),
            (10, &["partial response".to_string()][..]),
            "no warning when nothing was left out"
        );
        let default = answer("vector", DEFAULT_MAX_SERIES + 1, false);
        let a = decode_vector(200, default.as_bytes()).unwrap();
        assert_eq!(
            a.result.len(),
            DEFAULT_MAX_SERIES,
            "the fuzzed path is capped too"
        );
        let broken = answer("vector", 12, false).replace(r#"[1,"11"]"#, r#"[1,"11""#);
        assert!(
            decode_vector_capped(200, broken.as_bytes(), 10).is_err(),
            "what is left out must still be valid JSON"
        );
    }

    #[test]
    fn labels_are_found_by_name_whatever_order_they_came_in() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"zone":"b","app":"x","env":"prod","app":"y"},"value":[1,"2"]}]}}"#;
        let (Data::Vector(samples), _) = envelope(200, body, usize::MAX).unwrap() else {
            panic!("a vector")
        };
        let labels = &samples.kept[0].metric;
        assert_eq!(labels.get("zone"), Some("b"));
        assert_eq!(labels.get("env"), Some("prod"));
        assert_eq!(labels.get("app"), Some("y"), "a repeated name: the last");
        assert_eq!(labels.get("service"), None);
    }
}
