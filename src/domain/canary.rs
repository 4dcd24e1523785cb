//! The canary verdict: a new version's error ratio and p95 beside the
//! stable version's, and whether the new one is worse. Pure: figures in,
//! a verdict out.

use super::Status;

/// One version's figures over the window compared: its error ratio (0–1)
/// and p95 latency in seconds; NaN where unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VersionFigures {
    pub error_ratio: f64,
    pub p95: f64,
}

impl VersionFigures {
    pub const UNKNOWN: VersionFigures = VersionFigures {
        error_ratio: f64::NAN,
        p95: f64::NAN,
    };
}

/// How the new and the stable version were told apart.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// By the version label of the request metrics: the two versions'
    /// figures over the same five minutes.
    Version { new: String, stable: String },
    /// By time: the service's figures since the deploy began, against the
    /// same length of time before it (no version label on its metrics).
    BeforeAfter { minutes: u64 },
}

/// How much worse the new version may be before the verdict says so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanaryThresholds {
    /// New errors above stable's times this…
    pub error_ratio_factor: f64,
    /// …and above stable's plus this (0–1): both, so a stable version at
    /// 0% errors does not make a single failed request critical.
    pub error_ratio_margin: f64,
    /// New p95 above stable's times this: a warning.
    pub latency_factor: f64,
}

impl Default for CanaryThresholds {
    fn default() -> Self {
        CanaryThresholds {
            error_ratio_factor: 2.0,
            error_ratio_margin: 0.005,
            latency_factor: 1.5,
        }
    }
}

/// A canary or blue-green deployment's comparison and its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    pub new: VersionFigures,
    pub stable: VersionFigures,
    pub basis: Basis,
    pub status: Status,
    /// `new worse: errors 4.1% vs 0.2%`, `new as good`…
    pub verdict: String,
}

impl Canary {
    /// The comparison of `new` and `stable`, judged by `t`.
    pub fn judge(
        new: VersionFigures,
        stable: VersionFigures,
        basis: Basis,
        t: &CanaryThresholds,
    ) -> Canary {
        let (status, verdict) = verdict(new, stable, t);
        Canary {
            new,
            stable,
            basis,
            status,
            verdict,
        }
    }

    /// `4.1/0.2%`: the new version's errors, then the stable's, in
    /// percent (the Deploys tab's Canary column, 8 wide for most figures).
    pub fn errors_pair(&self) -> String {
        // One decimal each, to keep the column 8 wide; the verdict and the
        // details say a small ratio to two.
        let number = |r: f64| {
            if known(r) {
                format!("{:.1}", r * 100.0)
            } else {
                "—".into()
            }
        };
        format!(
            "{}/{}%",
            number(self.new.error_ratio),
            number(self.stable.error_ratio)
        )
    }

    /// `new worse: errors 4.1% vs 0.2% → ✖ CRIT`: the verdict and its
    /// state, as the rollback dialog says it.
    pub fn line(&self) -> String {
        format!(
            "{} → {} {}",
            self.verdict,
            self.status.symbol(),
            self.status.label()
        )
    }

    /// What the two figures are of, for the details and the dialog.
    pub fn compared(&self) -> String {
        match &self.basis {
            Basis::Version { new, stable } => format!("{new} against {stable}, last 5 minutes"),
            Basis::BeforeAfter { minutes } => {
                format!("the {minutes} minutes since the deploy against the {minutes} before")
            }
        }
    }
}

fn known(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

/// An error ratio as a percentage (`4.1%`, `0.04%`), or `—`.
pub fn percent(ratio: f64) -> String {
    if known(ratio) {
        format!("{}%", digits(ratio * 100.0))
    } else {
        "—".into()
    }
}

/// A percentage to one decimal, or two under 0.1 so a small ratio is not
/// shown as none: `4.1`, `0.2`, `0.04`, `0.0`.
fn digits(pct: f64) -> String {
    if pct == 0.0 || pct >= 0.095 {
        format!("{pct:.1}")
    } else {
        format!("{pct:.2}")
    }
}

fn millis(seconds: f64) -> String {
    format!("{:.0} ms", seconds * 1000.0)
}

/// The verdict on `new` against `stable`: critical when its errors exceed
/// stable's by both the factor and the margin, a warning when only its
/// p95 exceeds stable's by the latency factor, unknown when either error
/// ratio is.
pub fn verdict(
    new: VersionFigures,
    stable: VersionFigures,
    t: &CanaryThresholds,
) -> (Status, String) {
    if !known(new.error_ratio) || !known(stable.error_ratio) {
        return (Status::Unknown, "no figures to compare".into());
    }
    let (n, s) = (new.error_ratio, stable.error_ratio);
    if n > s * t.error_ratio_factor && n > s + t.error_ratio_margin {
        return (
            Status::Crit,
            format!("new worse: errors {} vs {}", percent(n), percent(s)),
        );
    }
    if known(new.p95)
        && known(stable.p95)
        && stable.p95 > 0.0
        && new.p95 > stable.p95 * t.latency_factor
    {
        return (
            Status::Warn,
            format!(
                "new slower: p95 {} vs {}",
                millis(new.p95),
                millis(stable.p95)
            ),
        );
    }
    (Status::Ok, "new as good".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(error_ratio: f64, p95: f64) -> VersionFigures {
        VersionFigures { error_ratio, p95 }
    }

    fn judge(new: VersionFigures, stable: VersionFigures) -> (Status, String) {
        verdict(new, stable, &CanaryThresholds::default())
    }

    #[test]
    fn four_percent_against_a_fifth_of_a_percent_is_critical() {
        let (status, text) = judge(figures(0.041, 0.1), figures(0.002, 0.1));
        assert_eq!(status, Status::Crit);
        assert_eq!(text, "new worse: errors 4.1% vs 0.2%");
    }

    #[test]
    fn errors_must_exceed_both_the_factor_and_the_margin() {
        // Three times as many, but under half a point more: noise.
        assert_eq!(
            judge(figures(0.003, 0.1), figures(0.001, 0.1)).0,
            Status::Ok
        );
        // Over half a point more, but not twice as many.
        assert_eq!(judge(figures(0.11, 0.1), figures(0.10, 0.1)).0, Status::Ok);
        // A stable version without errors: one point is critical.
        assert_eq!(judge(figures(0.01, 0.1), figures(0.0, 0.1)).0, Status::Crit);
        let strict = CanaryThresholds {
            error_ratio_factor: 1.5,
            error_ratio_margin: 0.0,
            latency_factor: 1.5,
        };
        assert_eq!(
            verdict(figures(0.003, 0.1), figures(0.001, 0.1), &strict).0,
            Status::Crit
        );
    }

    #[test]
    fn slower_alone_is_a_warning() {
        let (status, text) = judge(figures(0.002, 0.45), figures(0.002, 0.12));
        assert_eq!(status, Status::Warn);
        assert_eq!(text, "new slower: p95 450 ms vs 120 ms");
        // Latency unknown on either side: judged on errors alone.
        assert_eq!(
            judge(figures(0.002, f64::NAN), figures(0.002, 0.12)).0,
            Status::Ok
        );
    }

    #[test]
    fn as_good_and_unknown() {
        assert_eq!(
            judge(figures(0.002, 0.1), figures(0.002, 0.1)),
            (Status::Ok, "new as good".into())
        );
        assert_eq!(
            judge(figures(f64::NAN, 0.1), figures(0.002, 0.1)).0,
            Status::Unknown
        );
        assert_eq!(
            judge(figures(0.1, 0.1), figures(-1.0, 0.1)).0,
            Status::Unknown
        );
        assert_eq!(
            judge(figures(f64::INFINITY, 0.1), figures(0.0, 0.1)).0,
            Status::Unknown
        );
    }

    #[test]
    fn the_pair_reads_new_then_stable() {
        let c = Canary::judge(
            figures(0.04, 0.1),
            figures(0.002, 0.1),
            Basis::Version {
                new: "v2".into(),
                stable: "v1".into(),
            },
            &CanaryThresholds::default(),
        );
        assert_eq!(c.errors_pair(), "4.0/0.2%");
        assert_eq!(c.compared(), "v2 against v1, last 5 minutes");
        assert_eq!(c.line(), "new worse: errors 4.0% vs 0.2% → ✖ CRIT");
        assert_eq!(c.status, Status::Crit);
        // A stable version failing 0.04% is not shown as none.
        let small = Canary::judge(
            figures(0.041, 0.1),
            figures(0.0004, 0.1),
            Basis::Version {
                new: "v2".into(),
                stable: "v1".into(),
            },
            &CanaryThresholds::default(),
        );
        assert_eq!(small.errors_pair(), "4.1/0.0%");
        assert_eq!(small.verdict, "new worse: errors 4.1% vs 0.04%");
        assert_eq!(percent(0.0), "0.0%");
    }
}
