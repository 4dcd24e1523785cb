//! Parsing the text exposition format (`sources::scrape::parse`): a page the
//! size of node_exporter's (about 1,000 lines) and one of 10,000 lines. The
//! pages are generated with node_exporter's shape: `# HELP` and `# TYPE`
//! before each family, CPU, disk, filesystem and network series with their
//! labels, counters written as floats.

use std::fmt::Write;

mod support;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A family: name, type, help, and the label sets of its series.
fn family(out: &mut String, name: &str, kind: &str, help: &str, series: &[String], seed: usize) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (i, labels) in series.iter().enumerate() {
        let value = ((seed * 7_919 + i * 104_729) % 10_000_000) as f64 / 7.0;
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value:e}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value:e}");
        }
    }
}

/// A node_exporter-like page of about `lines` lines: the per-CPU, per-disk,
/// per-mount and per-interface families grow with the machine.
fn page(lines: usize) -> String {
    let mut out = String::with_capacity(lines * 80);
    let modes = [
        "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
    ];
    // Per CPU: 8 modes, plus guest and frequency; about 11 lines per CPU.
    let cpus = (lines / 11 / 4).max(1);
    let devices = (lines / 60).max(1);
    let mut n = 0;
    let cpu: Vec<String> = (0..cpus)
        .flat_map(|c| {
            modes
                .iter()
                .map(move |m| format!("cpu=\"{c}\",mode=\"{m}\""))
        })
        .collect();
    family(
        &mut out,
        "node_cpu_seconds_total",
        "counter",
        "Seconds the CPUs spent in each mode.",
        &cpu,
        n,
    );
    let per_cpu: Vec<String> = (0..cpus).map(|c| format!("cpu=\"{c}\"")).collect();
    for name in [
        "node_cpu_guest_seconds_total",
        "node_cpu_scaling_frequency_hertz",
        "node_cpu_core_throttles_total",
    ] {
        n += 1;
        family(&mut out, name, "gauge", "Per-CPU figure.", &per_cpu, n);
    }
    let disks: Vec<String> = (0..devices)
        .map(|d| format!("device=\"nvme{d}n1\""))
        .collect();
    for name in [
        "node_disk_read_bytes_total",
        "node_disk_written_bytes_total",
        "node_disk_io_time_seconds_total",
        "node_disk_reads_completed_total",
        "node_disk_writes_completed_total",
        "node_disk_read_time_seconds_total",
        "node_disk_write_time_seconds_total",
    ] {
        n += 1;
        family(
            &mut out,
            name,
            "counter",
            "Disk statistic from /proc/diskstats.",
            &disks,
            n,
        );
    }
    let mounts: Vec<String> = (0..devices)
        .map(|d| {
            format!("device=\"/dev/nvme{d}n1p1\",fstype=\"ext4\",mountpoint=\"/srv/data-{d:03}\"")
        })
        .collect();
    for name in [
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
        "node_filesystem_free_bytes",
        "node_filesystem_files",
        "node_filesystem_files_free",
        "node_filesystem_readonly",
        "node_filesystem_device_error",
    ] {
        n += 1;
        family(
            &mut out,
            name,
            "gauge",
            "Filesystem figure from statfs.",
            &mounts,
            n,
        );
    }
    let links: Vec<String> = (0..devices).map(|d| format!("device=\"eth{d}\"")).collect();
    for name in [
        "node_network_receive_bytes_total",
        "node_network_transmit_bytes_total",
        "node_network_receive_packets_total",
        "node_network_transmit_packets_total",
        "node_network_receive_errs_total",
        "node_network_transmit_errs_total",
        "node_network_receive_drop_total",
        "node_network_transmit_drop_total",
    ] {
        n += 1;
        family(
            &mut out,
            name,
            "counter",
            "Network device statistic from /proc/net/dev.",
            &links,
            n,
        );
    }
    // Single gauges (memory, load, vmstat…) until the page has its size.
    let mut k = 0;
    while out.lines().count() < lines {
        k += 1;
        family(
            &mut out,
            &format!("node_memory_field_{k:03}_bytes"),
            "gauge",
            "Memory information field.",
            &[String::new()],
            k,
        );
    }
    let _ = writeln!(
        out,
        "node_uname_info{{domainname=\"(none)\",machine=\"x86_64\",nodename=\"db-01\",release=\"6.1.0-27-amd64\",sysname=\"Linux\",version=\"#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)\"}} 1"
    );
    out
}

fn scrape(c: &mut Criterion) {
    for lines in [1_000, 10_000] {
        let mut group = c.benchmark_group("scrape");
        support::sized(&mut group, lines);
        let body = page(lines);
        let samples = opsdeck::sources::scrape::parse(&body).unwrap().len();
        println!(
            "scrape page: {} lines, {} samples, {} KiB",
            body.lines().count(),
            samples,
            body.len() / 1024
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("parse", lines), &body, |b, body| {
            b.iter(|| opsdeck::sources::scrape::parse(body).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, scrape);
criterion_main!(benches);
