//! The SLA engine: `domain::kpi::compute` of the thirteen KPIs over 10,
//! 1,000 and 10,000 services (with the estate's backups, deployments and
//! incident history), the part of every update and tick that grows with
//! the estate.

mod support;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use opsdeck::demo::scaled;
use opsdeck::domain::kpi::{self, Inputs};
use opsdeck::domain::{Objectives, Thresholds};

fn sla(c: &mut Criterion) {
    let (objectives, thresholds) = (Objectives::default(), Thresholds::default());
    for services in support::SIZES {
        let now = support::now();
        let health = scaled::health(services, now);
        let backups = scaled::backups(services, now);
        let deployments = scaled::deployments(services, now);
        let resolved = scaled::history(services, now);
        let inputs = Inputs {
            services: &health.services,
            backups: &backups,
            deployments: Some(&deployments),
            resolved: Some(&resolved),
            open: &[],
            objectives: &objectives,
            thresholds: &thresholds,
            now,
        };
        let mut group = c.benchmark_group("sla");
        support::sized(&mut group, services);
        group.bench_with_input(
            BenchmarkId::new("kpi_compute", services),
            &inputs,
            |b, inputs| b.iter(|| kpi::compute(inputs)),
        );
        group.finish();
    }
}

criterion_group!(benches, sla);
criterion_main!(benches);
