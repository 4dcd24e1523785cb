//! A simulated service's error ratio as a function of time, and its mean
//! over any window. Every error figure of a demo service (the 5-minute
//! ratio on the Health tab, each burn window, the SLO window's counts) is a
//! mean of this one function, computed exactly: the calm ratio's wobble
//! integrated in closed form, plus each incident's extra errors over its
//! overlap with the window. So a one-hour figure moves as fast as an hour
//! of errors allows and no faster, and the month's budget spends what the
//! burn spends.

use std::f64::consts::{PI, TAU};

use rand::Rng;

use super::WINDOW;
use super::incidents::Burst;

/// Before this many seconds ahead of the demo's start a service's ratio is
/// its month's background (and an old outage); after it, its wobble and
/// the demo's incidents. Three days: the longest burn window.
pub const HORIZON: i64 = 3 * 86_400;
/// The calm ratio's wobble, seconds.
const WOBBLE: f64 = 97.0;

/// An outage in the month before the demo, which spent most of a service's
/// budget: from `start`, `secs` long, at `ratio`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Outage {
    start: i64,
    secs: i64,
    ratio: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorModel {
    /// The ratio a calm service runs at, before its wobble.
    base: f64,
    phase: f64,
    /// The ratio before the horizon, below 1x of any objective the demo
    /// uses, so what leaves the month's window is never a burn…
    background: f64,
    /// …but for an outage days ago, well inside the window.
    outage: Option<Outage>,
}

/// How long `[a, b)` and `[from, to)` overlap, in seconds.
fn overlap(a: i64, b: i64, from: i64, to: i64) -> i64 {
    (b.min(to) - a.max(from)).max(0)
}

/// ∫ |sin u| du from 0 to x.
fn abs_sin_integral(x: f64) -> f64 {
    let k = (x / PI).floor();
    2.0 * k + 1.0 - (x - k * PI).cos()
}

impl ErrorModel {
    /// A service calm at `base` (wobbling by up to half of it), at
    /// `background` before the horizon; with a `target`, an outage is
    /// placed days before the demo so that the month before it averages
    /// exactly `target` (given the demo's incidents in `bursts`).
    pub fn new(
        base: f64,
        phase: f64,
        background: f64,
        target: Option<f64>,
        rng: &mut impl Rng,
        bursts: &[Burst],
    ) -> ErrorModel {
        let mut model = ErrorModel {
            base,
            phase,
            background,
            outage: None,
        };
        if let Some(target) = target {
            let start = -rng.random_range(4 * 86_400..20 * 86_400);
            let secs = rng.random_range(40 * 60..150 * 60);
            let missing = target * WINDOW as f64 - model.integral(-WINDOW, 0, bursts);
            model.outage = Some(Outage {
                start,
                secs,
                ratio: (missing / secs as f64).clamp(0.0, 1.0),
            });
        }
        model
    }

    /// The ratio at the instant `t`.
    #[cfg(test)]
    pub fn at(&self, t: f64, bursts: &[Burst]) -> f64 {
        if t < -HORIZON as f64 {
            let outage = self
                .outage
                .filter(|o| (o.start as f64..(o.start + o.secs) as f64).contains(&t));
            return self.background + outage.map_or(0.0, |o| o.ratio);
        }
        let wobble = (TAU * t / WOBBLE + self.phase).sin().abs();
        let extra: f64 = bursts
            .iter()
            .filter(|b| (b.from as f64..b.to as f64).contains(&t))
            .map(|b| b.ratio)
            .sum();
        self.base * (1.0 + 0.5 * wobble) + extra
    }

    /// The errors over `[from, to)`: the ratio integrated, in seconds of
    /// every request failing.
    fn integral(&self, from: i64, to: i64, bursts: &[Burst]) -> f64 {
        let old = overlap(from, to, i64::MIN, -HORIZON) as f64 * self.background
            + self.outage.map_or(0.0, |o| {
                o.ratio * overlap(from, to, o.start, o.start + o.secs) as f64
            });
        let a = from.max(-HORIZON);
        let wobble = if a < to {
            let w = TAU / WOBBLE;
            let x = |t: i64| w * t as f64 + self.phase;
            let swing = (abs_sin_integral(x(to)) - abs_sin_integral(x(a))) / w;
            self.base * ((to - a) as f64 + 0.5 * swing)
        } else {
            0.0
        };
        let extra: f64 = bursts
            .iter()
            .map(|b| b.ratio * overlap(from, to, b.from, b.to) as f64)
            .sum();
        old + wobble + extra
    }

    /// The mean ratio over the `secs` before `t`. `bursts` are this
    /// service's.
    pub fn mean(&self, t: i64, secs: i64, bursts: &[Burst]) -> f64 {
        (self.integral(t - secs, t, bursts) / secs as f64).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn model(target: Option<f64>) -> ErrorModel {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        ErrorModel::new(0.0004, 1.3, 0.0003, target, &mut rng, &[])
    }

    #[test]
    fn the_mean_is_the_ratio_integrated_second_by_second() {
        let burst = Burst {
            service: "checkout",
            from: 100,
            to: 700,
            ratio: 0.15,
        };
        let m = model(Some(0.0014));
        for (t, secs) in [(900, 300), (3_000, 3_600), (10, 86_400), (50, 3 * 86_400)] {
            // Midpoints of tenths of a second.
            let steps = secs * 10;
            let sum: f64 = (0..steps)
                .map(|k| m.at((t - secs) as f64 + (k as f64 + 0.5) / 10.0, &[burst]))
                .sum();
            let riemann = sum / steps as f64;
            let exact = m.mean(t, secs, &[burst]);
            assert!(
                (riemann - exact).abs() < 1e-7,
                "{t} {secs}: {riemann} {exact}"
            );
        }
    }

    #[test]
    fn an_outage_makes_the_month_before_the_demo_average_its_target() {
        let m = model(Some(0.0014));
        assert!((m.mean(0, WINDOW, &[]) - 0.0014).abs() < 1e-12);
        let o = m.outage.unwrap();
        assert!(o.start + o.secs < -HORIZON && o.start > -WINDOW + 9 * 86_400);
        assert_eq!(model(None).outage, None);
    }
}
