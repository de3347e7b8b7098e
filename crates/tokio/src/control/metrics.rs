//! `GET /metrics`: the Prometheus text format (through `prometheus-client`), built at
//! scrape time from the hub's, the sessions' and the ingests' own counters, plus the
//! webhooks' call counts and latency histogram and the process's RSS, CPU time and
//! open file descriptors.
//!
//! Who may use it: anyone who can reach the HTTP port (like the stream list); put it behind
//! the operator's network rules, as with other servers' metrics endpoints.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use hyper::{Response, StatusCode};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::core::Role;
use crate::ctx::Ctx;
use crate::net::http::{full, Body};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    protocol: String,
    role: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabels {
    protocol: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

fn counter(value: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(value);
    c
}

fn gauge(value: u64) -> Gauge {
    let g = Gauge::default();
    g.set(i64::try_from(value).unwrap_or(i64::MAX));
    g
}

/// The metrics, encoded.
pub(crate) fn render(ctx: &Ctx) -> String {
    let mut r = Registry::with_prefix("weir");
    let streams = ctx.hub.streams();
    r.register(
        "streams",
        "Streams live or in their grace period",
        gauge(streams.len() as u64),
    );
    let sessions = ctx.hub.sessions();
    let by_kind: Family<SessionLabels, Gauge> = Family::default();
    let bytes_in: Family<ProtocolLabels, Counter> = Family::default();
    let bytes_out: Family<ProtocolLabels, Counter> = Family::default();
    let mut totals: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (p, i, o) in ctx.hub.closed_session_bytes() {
        let t = totals.entry(p).or_default();
        t.0 += i;
        t.1 += o;
    }
    for s in &sessions {
        by_kind
            .get_or_create(&SessionLabels {
                protocol: s.protocol.to_string(),
                role: s.role.as_str().to_string(),
            })
            .inc();
        let t = totals.entry(s.protocol).or_default();
        t.0 += s.bytes_in;
        t.1 += s.bytes_out;
    }
    for (p, (i, o)) in totals {
        let l = ProtocolLabels {
            protocol: p.to_string(),
        };
        bytes_in.get_or_create(&l).inc_by(i);
        bytes_out.get_or_create(&l).inc_by(o);
    }
    r.register("sessions", "Sessions by protocol and role", by_kind);
    r.register(
        "bytes_in",
        "Bytes received, by protocol (connections' traffic)",
        bytes_in,
    );
    r.register(
        "bytes_out",
        "Bytes sent, by protocol (connections' traffic)",
        bytes_out,
    );
    let publishers = sessions
        .iter()
        .filter(|s| s.role == Role::Publisher)
        .count();
    r.register(
        "publishers",
        "Publishers connected",
        gauge(publishers as u64),
    );
    let c = ctx.hub.counters();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    r.register(
        "player_units_skipped",
        "Units slow players skipped (they jump to the next keyframe)",
        counter(load(&c.units_skipped)),
    );
    r.register(
        "players_stuck",
        "Players disconnected because they accepted nothing for the stuck timeout",
        counter(load(&c.players_stuck)),
    );
    r.register(
        "timestamp_repairs",
        "Frame timestamps repaired",
        counter(load(&c.repairs)),
    );
    r.register(
        "publishes",
        "Publishes accepted",
        counter(load(&c.publishes)),
    );
    let gb: Family<ReasonLabels, Counter> = Family::default();
    let g = &ctx.gb28181;
    for (reason, v) in [
        ("spoofed_source", g.spoofed()),
        ("refused", g.dropped()),
        ("lost", g.lost()),
    ] {
        gb.get_or_create(&ReasonLabels {
            reason: reason.to_string(),
        })
        .inc_by(v);
    }
    r.register(
        "gb28181_packets_dropped",
        "GB28181 packets dropped: from another source than the stream's, of refused streams, lost in the network",
        gb,
    );
    r.register(
        "gb28181_streams_refused",
        "GB28181 streams refused",
        counter(g.refused()),
    );
    let pulls: Family<StateLabels, Gauge> = Family::default();
    let (mut attempts, mut failing) = (0u64, 0u64);
    for p in ctx.pulls.list() {
        pulls
            .get_or_create(&StateLabels {
                state: p.state.as_str().to_string(),
            })
            .inc();
        attempts += p.attempts;
        failing += u64::from(
            p.retries > 0 && p.last_error.is_some() && p.state != crate::proxy::PullState::Playing,
        );
    }
    r.register("pulls", "Pulls by state", pulls);
    r.register(
        "pull_attempts",
        "Connection attempts of pulls",
        counter(attempts),
    );
    r.register(
        "pulls_failing",
        "Pulls whose source is not answering (retrying)",
        gauge(failing),
    );
    ctx.hooks.register_metrics(&mut r);
    process_metrics(&mut r);
    let mut out = String::new();
    if encode(&mut out, &r).is_err() {
        out.clear();
    }
    out
}

/// The process's resident memory, CPU time and open descriptors (Linux `/proc`).
fn process_metrics(r: &mut Registry) {
    let r = r.sub_registry_with_prefix("process");
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let kib = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
        if let Some(kib) = kib {
            r.register(
                "resident_memory_bytes",
                "Resident memory",
                gauge(kib * 1024),
            );
        }
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|i| f.get(*i)?.parse::<u64>().ok())
            .sum();
        // USER_HZ is 100 on Linux.
        let c: Counter<f64, std::sync::atomic::AtomicU64> = Counter::default();
        c.inc_by(ticks as f64 / 100.0);
        r.register("cpu_seconds", "CPU time (user + system)", c);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        r.register(
            "open_fds",
            "Open file descriptors",
            gauge(fds.count() as u64),
        );
    }
}

/// The `/metrics` response.
pub(crate) fn response(ctx: &Ctx) -> Response<Body> {
    full(
        StatusCode::OK,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        Bytes::from(render(ctx)),
    )
}
