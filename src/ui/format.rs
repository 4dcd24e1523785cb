//! Numbers as an operator reads them: short, unit-bearing, never "NaN".

use chrono::Duration;

use crate::domain::kpi::{Goal, Kpi, Unit};

/// "45s", "12m 03s", "24m", "3h 05m", "2h", "4d 2h": two units at most,
/// the smaller one left out when it is zero.
pub fn duration(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (big, small, big_unit, small_unit) = match s {
        0..60 => return format!("{s}s"),
        60..3_600 => (s / 60, s % 60, "m", "s"),
        3_600..86_400 => (s / 3_600, s % 3_600 / 60, "h", "m"),
        _ => (s / 86_400, s % 86_400 / 3_600, "d", "h"),
    };
    match (small, small_unit) {
        (0, _) => format!("{big}{big_unit}"),
        (_, "h") => format!("{big}{big_unit} {small}{small_unit}"),
        _ => format!("{big}{big_unit} {small:02}{small_unit}"),
    }
}

/// Like `duration` with one unit only, for tight columns: "45s", "12m", "3h", "4d".
pub fn short_duration(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

pub fn ago(d: Duration) -> String {
    format!("{} ago", short_duration(d))
}

/// Beyond this magnitude a number is written in e-notation: a cell never
/// holds more digits than it has room for, so none is cut into another number.
const PLAIN_MAX: f64 = 1e5;

/// `x` in e-notation, seven characters at most: "1.5e6", "-2.0e12", "1e308".
fn scientific(x: f64) -> String {
    if x.abs() >= 1e100 {
        format!("{x:.0e}")
    } else {
        format!("{x:.1e}")
    }
}

/// `x` with `decimals`, in e-notation once it is too long to read; "—" when
/// it is not a number.
pub fn fixed(x: f64, decimals: usize) -> String {
    match x {
        x if !x.is_finite() => "—".into(),
        x if x.abs() < PLAIN_MAX => format!("{x:.decimals$}"),
        x => scientific(x),
    }
}

/// A ratio as a percentage with enough digits to tell 99.9 from 99.95;
/// whole percents from 1000% up.
pub fn percent(ratio: f64, decimals: usize) -> String {
    let pct = ratio * 100.0;
    match pct {
        x if !x.is_finite() => "—".into(),
        x if x.abs() >= 1_000.0 => format!("{}%", fixed(x, 0)),
        x => format!("{x:.decimals$}%"),
    }
}

/// A share of a whole (CPU, memory, disk used) as a percentage; "—" when it
/// is not between 0 and 1, which no reading of a share can be.
pub fn share(ratio: f64, decimals: usize) -> String {
    if is_share(ratio) {
        percent(ratio, decimals)
    } else {
        "—".into()
    }
}

/// Whether `ratio` can be a share of a whole: finite, 0 to 1 (and a hair
/// over, for rounding in the server's arithmetic).
pub fn is_share(ratio: f64) -> bool {
    (0.0..=1.0 + 1e-9).contains(&ratio)
}

/// A latency or duration in milliseconds; "—" when negative or not a number.
pub fn millis(ms: f64) -> String {
    match ms {
        x if !x.is_finite() || x < 0.0 => "—".into(),
        // By the figure as rounded: 999.6 ms reads 1.0s, as 1000.2 ms does,
        // not 1000ms in the row above it.
        x if x >= 9_950.0 => format!("{}s", fixed(x / 1000.0, 0)),
        x if x >= 999.5 => format!("{:.1}s", x / 1000.0),
        x => format!("{x:.0}ms"),
    }
}

/// Requests a second; "—" when negative or not a number.
pub fn rate(per_second: f64) -> String {
    match per_second {
        x if !x.is_finite() || x < 0.0 => "—".into(),
        x if x >= 1e6 => scientific(x),
        x if x >= 10_000.0 => format!("{:.0}k", x / 1000.0),
        x if x >= 1_000.0 => format!("{:.1}k", x / 1000.0),
        x if x >= 10.0 || x == 0.0 => format!("{x:.0}"),
        // A trickle is not nothing: 0.3 requests a second reads as such.
        x if x >= 1.0 => format!("{x:.1}"),
        x if x >= 0.1 => format!("{x:.2}").trim_end_matches('0').to_string(),
        // Two significant digits, however small: 0.034, 0.0012.
        x => {
            let decimals = (1.0 - x.log10().floor()).clamp(2.0, 12.0) as usize;
            format!("{x:.decimals$}")
        }
    }
}

/// A multiple ("2.4x"); "—" when not a number.
pub fn factor(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{}x", fixed(v, decimals))
    } else {
        "—".into()
    }
}

/// A number of seconds as a `Duration`; `None` when negative, not a number
/// or beyond what a duration holds.
fn seconds(v: f64) -> Option<Duration> {
    if (0.0..1e15).contains(&v) {
        Duration::try_seconds(v as i64)
    } else {
        None
    }
}

pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if !b.is_finite() || b < 0.0 {
        return "—".into();
    }
    let mut value = b;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 1024.0 {
        // Past a thousand exbibytes: no backup is that big.
        "—".into()
    } else if value >= 100.0 || unit == 0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// All of `values` as a one-line sparkline at most `width` cells wide,
/// scaled to their own range: longer series are averaged into `width`
/// buckets, so the line always spans the whole history, newest on the right.
pub fn sparkline(values: &[f64], width: usize) -> String {
    let buckets = resample(values, width);
    let finite = buckets.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    buckets
        .iter()
        .map(|v| {
            if !v.is_finite() {
                ' '
            } else if (hi - lo).abs() < f64::EPSILON {
                BARS[3]
            } else {
                BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            }
        })
        .collect()
}

/// Means of `width` consecutive, near-equal slices of `values` (NaN where a
/// slice has no finite value); `values` itself when it is short enough.
fn resample(values: &[f64], width: usize) -> Vec<f64> {
    if values.len() <= width || width == 0 {
        return values.to_vec();
    }
    (0..width)
        .map(|b| {
            let slice = &values[b * values.len() / width..(b + 1) * values.len() / width];
            let finite: Vec<f64> = slice.iter().copied().filter(|v| v.is_finite()).collect();
            if finite.is_empty() {
                f64::NAN
            } else {
                finite.iter().sum::<f64>() / finite.len() as f64
            }
        })
        .collect()
}

/// A gauge for a 0..1 value as its filled and empty parts, "━━━━━━" and
/// "────", to be styled apart; line characters keep the gauges of
/// neighbouring rows apart.
pub fn gauge(ratio: f64, cells: usize) -> (String, String) {
    let filled = if ratio.is_finite() {
        (ratio.clamp(0.0, 1.0) * cells as f64).round() as usize
    } else {
        0
    };
    ("━".repeat(filled), "─".repeat(cells - filled))
}

/// A KPI's (or a part's) value in its unit.
pub fn value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Percent(decimals) => percent(v, decimals.into()),
        Unit::Millis => millis(v),
        Unit::Seconds => seconds(v).map_or("—".into(), duration),
        Unit::Factor => factor(v, 1),
        Unit::PerDay if v.is_finite() => format!("{}/day", fixed(v, 1)),
        Unit::PerDay => "—".into(),
    }
}

/// A KPI's objective in full ("obj ≥ 99.90%") and short ("≥99.90%") forms;
/// empty without one.
pub fn objective(kpi: &Kpi) -> (String, String) {
    let Some(o) = kpi.objective else {
        return (String::new(), String::new());
    };
    let amount = match kpi.unit {
        Unit::Percent(_) if o >= 1.0 => "100%".to_string(),
        Unit::Percent(_) => percent(o, 2).replace(".00%", "%"),
        Unit::Millis => millis(o),
        Unit::Seconds => seconds(o).map_or("—".into(), short_duration),
        Unit::Factor => factor(o, 0),
        Unit::PerDay => value(Unit::PerDay, o),
    };
    let sign = match kpi.goal {
        Goal::AtLeast if o >= 1.0 => "",
        Goal::AtLeast => "≥",
        Goal::Below => "<",
    };
    let spaced = if sign.is_empty() {
        String::new()
    } else {
        format!("{sign} ")
    };
    (format!("obj {spaced}{amount}"), format!("{sign}{amount}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::seconds(45)), "45s");
        assert_eq!(duration(Duration::seconds(47 * 60 + 3)), "47m 03s");
        assert_eq!(duration(Duration::seconds(3 * 3600 + 5 * 60)), "3h 05m");
        assert_eq!(duration(Duration::minutes(24)), "24m");
        assert_eq!(duration(Duration::hours(2)), "2h");
        assert_eq!(duration(Duration::days(4) + Duration::hours(2)), "4d 2h");
        assert_eq!(short_duration(Duration::seconds(-5)), "0s");
    }

    #[test]
    fn numbers_never_print_nan() {
        assert_eq!(percent(f64::NAN, 2), "—");
        assert_eq!(millis(f64::INFINITY), "—");
        assert_eq!(bytes(-1.0), "—");
        assert_eq!(bytes(48.0 * 1024.0 * 1024.0 * 1024.0), "48.0 GiB");
        assert_eq!(millis(2400.0), "2.4s");
        assert_eq!(millis(-5.0), "—");
        // A unit by the figure as it reads, so neighbours read alike.
        assert_eq!(millis(999.4), "999ms");
        assert_eq!(millis(999.6), "1.0s");
        assert_eq!(millis(1000.2), "1.0s");
        assert_eq!(millis(9_960.0), "10s");
        assert_eq!(millis(10_400.0), "10s");
        assert_eq!(rate(-5.0), "—");
        assert_eq!(share(-0.5, 0), "—");
        assert_eq!(share(1e308, 0), "—");
        assert_eq!(share(0.5, 0), "50%");
        assert_eq!(value(Unit::Seconds, 1e308), "—");
        assert_eq!(value(Unit::PerDay, f64::NAN), "—");
    }

    #[test]
    fn huge_numbers_stay_short_and_read_as_themselves() {
        assert_eq!(rate(1e308), "1e308");
        assert_eq!(rate(1.5e6), "1.5e6");
        assert_eq!(rate(12_345.0), "12k");
        assert_eq!(rate(0.3), "0.3");
        assert_eq!(rate(0.25), "0.25");
        assert_eq!(rate(2.04), "2.0");
        assert_eq!(rate(0.034), "0.034");
        assert_eq!(rate(0.0012), "0.0012");
        assert_eq!(rate(0.0), "0");
        assert_eq!(millis(1e308), "1e305s");
        assert_eq!(percent(1e306, 0), "1e308%");
        assert_eq!(percent(25.0, 1), "2500%");
        assert_eq!(factor(1e300, 1), "1e300x");
        assert_eq!(fixed(-123_456.0, 1), "-1.2e5");
        assert_eq!(bytes(1e308), "—");
        assert_eq!(bytes(2e18), "1.7 EiB");
        for text in [
            rate(1e308),
            millis(1e308),
            percent(1e306, 3),
            factor(-1e99, 1),
        ] {
            assert!(text.chars().count() <= 8, "{text}");
        }
    }

    #[test]
    fn sparklines_scale_to_their_range_and_keep_their_width() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 3), "▁▅█");
        assert_eq!(sparkline(&[5.0, 5.0], 2), "▄▄");
        // A long series is averaged to the width, keeping the newest on the right.
        assert_eq!(sparkline(&[1.0, 1.0, 1.0, 9.0, 9.0, 9.0], 2), "▁█");
        assert_eq!(sparkline(&[f64::NAN, 1.0, 2.0], 3), " ▁█");
        assert_eq!(gauge(0.5, 10), ("━━━━━".into(), "─────".into()));
        assert_eq!(gauge(f64::NAN, 4), (String::new(), "────".into()));
    }
}
