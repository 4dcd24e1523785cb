//! `[canary]`: how much worse a canary's new version may be than the
//! stable one before its verdict says so.

use super::reader::Reader;
use super::*;
use crate::domain::canary::CanaryThresholds;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CanarySpec {
    error_ratio_factor: Option<f64>,
    error_ratio_margin: Option<f64>,
    latency_factor: Option<f64>,
}

impl CanarySpec {
    /// The thresholds, each bad value a problem and its default used.
    pub(super) fn read(&self, reader: &mut Reader) -> CanaryThresholds {
        let d = CanaryThresholds::default();
        let mut factor = |field: &str, v: Option<f64>, default: f64| match v {
            None => default,
            Some(v) if v.is_finite() && v >= 1.0 => v,
            Some(v) => {
                reader.problem(
                    None,
                    field,
                    format!("{v} is not a factor of 1 or more; using {default}"),
                );
                default
            }
        };
        let error_ratio_factor = factor(
            "canary.error_ratio_factor",
            self.error_ratio_factor,
            d.error_ratio_factor,
        );
        let latency_factor = factor(
            "canary.latency_factor",
            self.latency_factor,
            d.latency_factor,
        );
        let error_ratio_margin = match self.error_ratio_margin {
            Some(0.0) => 0.0,
            margin => reader.ratio("canary.error_ratio_margin", margin, d.error_ratio_margin),
        };
        CanaryThresholds {
            error_ratio_factor,
            error_ratio_margin,
            latency_factor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use crate::domain::canary::CanaryThresholds;

    #[test]
    fn canary_thresholds_from_the_file_else_the_defaults() {
        let (config, problems) = parse("");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.canary, CanaryThresholds::default());
        let text =
            "[canary]\nerror_ratio_factor = 3.0\nerror_ratio_margin = 0.0\nlatency_factor = 2\n";
        let (config, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            config.canary,
            CanaryThresholds {
                error_ratio_factor: 3.0,
                error_ratio_margin: 0.0,
                latency_factor: 2.0,
            }
        );
    }

    #[test]
    fn a_bad_canary_threshold_is_a_problem_and_its_default_used() {
        let text = "[canary]\nerror_ratio_factor = 0.5\nerror_ratio_margin = 5\n";
        let (config, problems) = parse(text);
        assert_eq!(config.canary, CanaryThresholds::default());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0]
                .contains("line 2: canary.error_ratio_factor: 0.5 is not a factor of 1 or more"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("canary.error_ratio_margin"),
            "{problems:?}"
        );
        // A misspelt key is refused, as everywhere in the file.
        let (_, problems) = parse("[canary]\nerror_factor = 2.0\n");
        assert!(!problems.is_empty());
    }
}
