//! Numbers from servers into the domain's types, refusing what does not fit
//! (NaN, negative, or beyond what a date or duration can hold) rather than
//! panicking on it.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::domain::Tier;

/// Unix seconds as a time; `None` for NaN, zero, negative or out of range.
pub fn timestamp(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 1e11 {
        return None;
    }
    Utc.timestamp_opt(seconds as i64, 0).single()
}

/// Seconds as a duration; `None` for NaN, negative or out of range.
pub fn seconds(value: f64) -> Option<Duration> {
    if !(0.0..=1e12).contains(&value) {
        return None;
    }
    Duration::try_seconds(value as i64)
}

/// A recovery tier from a label, in any pipeline's spelling; missing or
/// unknown is `standard`.
pub fn tier(text: Option<&str>) -> Tier {
    match text
        .map(|t| t.to_ascii_lowercase().replace(['_', ' '], "-"))
        .as_deref()
    {
        Some("critical" | "tier-1" | "tier1") => Tier::Critical,
        Some("non-critical" | "noncritical" | "low" | "tier-3" | "tier3") => Tier::NonCritical,
        _ => Tier::Standard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_do_not_fit_are_none_not_a_panic() {
        for v in [f64::NAN, f64::INFINITY, -1.0, 1e17, 1e308] {
            assert_eq!(seconds(v), None, "{v}");
        }
        for v in [f64::NAN, 0.0, -5.0, 1e17, f64::NEG_INFINITY] {
            assert_eq!(timestamp(v), None, "{v}");
        }
        assert_eq!(seconds(4320.0), Some(Duration::seconds(4320)));
        assert_eq!(
            timestamp(1_763_780_400.0).map(|t| t.timestamp()),
            Some(1_763_780_400)
        );
    }

    #[test]
    fn tiers_in_any_spelling() {
        assert_eq!(tier(Some("critical")), Tier::Critical);
        assert_eq!(tier(Some("non_critical")), Tier::NonCritical);
        assert_eq!(tier(Some("Tier 1")), Tier::Critical);
        assert_eq!(tier(None), Tier::Standard);
    }
}
