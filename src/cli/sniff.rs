//! `kerbscope sniff`: live capture on an interface (a mirror / SPAN port), the same decoders and
//! rules as `analyze` fed incrementally (`engine`), findings streamed as they are proven, the
//! final report on SIGINT / SIGTERM / `--duration`. Needs the cargo feature `live` (libpcap);
//! without it the subcommand exists and says how to rebuild.
//!
//! Frame numbers count captured packets from 1, so `-w` files and `--evidence` comments line up
//! with the numbers findings cite.

#[cfg_attr(not(feature = "live"), allow(dead_code))]
mod engine;
#[cfg_attr(not(feature = "live"), allow(dead_code))]
mod evidence;
#[cfg_attr(not(feature = "live"), allow(dead_code))]
mod pcapng_out;

use std::io;

use super::Outcome;
use super::args::SniffArgs;

#[cfg(not(feature = "live"))]
pub fn run(_args: &SniffArgs) -> io::Result<Outcome> {
    Err(io::Error::other(
        "built without live capture support; rebuild with --features live (needs libpcap-dev)",
    ))
}

#[cfg(feature = "live")]
pub fn run(args: &SniffArgs) -> io::Result<Outcome> {
    live::run(args)
}

/// A string from the wire made safe for a terminal line: control and bidirectional-override
/// characters become U+FFFD.
#[cfg_attr(not(feature = "live"), allow(dead_code))]
fn terminal_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control()
                || ('\u{202A}'..='\u{202E}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
            {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(feature = "live")]
mod live {
    use std::fs::File;
    use std::io::{self, BufWriter, IsTerminal, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::{Duration, Instant};

    use kerbscope::analyze::finding::{Finding, Severity};
    use kerbscope::capture::live::{self as cap, KernelStats, LiveConfig, LiveMessage};
    use kerbscope::report::{self, WriteOptions};

    use super::super::Outcome;
    use super::super::args::{FormatArg, SeverityArg, SniffArgs};
    use super::engine::{Engine, Limits};
    use super::evidence::EvidenceKeeper;
    use super::pcapng_out::Rotating;
    use super::terminal_safe;

    /// Shortest time between two rule passes; a pass never takes more than a tenth of the time.
    const PASS_EVERY: Duration = Duration::from_secs(1);

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Stream {
        Text,
        Ndjson,
        /// The final report is one document on stdout: notices go to stderr.
        Notice,
    }

    pub fn run(args: &SniffArgs) -> io::Result<Outcome> {
        if args.list_interfaces {
            return list();
        }
        let iface = args
            .interface
            .clone()
            .ok_or_else(|| io::Error::other("sniff needs -i IFACE (or --list-interfaces)"))?;
        let stdout_tty = io::stdout().is_terminal();
        let format = match args.format {
            Some(f) => f,
            None if stdout_tty => FormatArg::Text,
            None => FormatArg::Ndjson,
        };
        let stream = match format {
            FormatArg::Text => Stream::Text,
            FormatArg::Ndjson => Stream::Ndjson,
            _ => Stream::Notice,
        };
        let min_severity: Severity = args.min_severity.unwrap_or(SeverityArg::Info).into();
        if let Some(d) = args.duration
            && !(d.is_finite() && d >= 0.0)
        {
            return Err(io::Error::other("--duration needs a number of seconds"));
        }
        // Unwritable outputs fail before capturing starts.
        let mut writer = match &args.write {
            Some(p) => Some(Rotating::new(
                p,
                &iface,
                args.rotate_mib.saturating_mul(1 << 20),
                args.rotate_files,
            )?),
            None => None,
        };
        if let Some(p) = &args.evidence {
            File::create(p)?;
        }
        let cfg = LiveConfig {
            interface: iface.clone(),
            filter: args.filter.clone(),
            snaplen: args.snaplen,
            promiscuous: !args.no_promisc,
            buffer_bytes: args.buffer_mib.saturating_mul(1 << 20),
            ..LiveConfig::default()
        };
        let handle = cap::spawn(&cfg).map_err(io::Error::other)?;
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, Arc::clone(&stop))?;
        }
        let link = handle.link_type();
        eprintln!(
            "kerbscope: listening on {iface} ({}), filter: {}",
            link.name(),
            if handle.filter().is_empty() {
                "(none)"
            } else {
                handle.filter()
            }
        );

        let name = format!("live:{iface}");
        let limits = Limits {
            window_secs: args.window,
            max_events: args.max_events.max(1),
            ..Limits::default()
        };
        let mut engine = Engine::new(&name, limits);
        let mut keeper = args.evidence.as_ref().map(|_| EvidenceKeeper::new(&name));
        let mut out = io::stdout().lock();
        let started = Instant::now();
        let deadline = args.duration.map(|d| started + Duration::from_secs_f64(d));
        let stats_every = Duration::from_secs(args.stats_interval);
        let mut kernel = KernelStats::default();
        let mut next_number = 1u64;
        let mut last_pass = Instant::now();
        let mut pass_cost = Duration::ZERO;
        let mut last_stats = Instant::now();
        let mut stopping = false;
        let mut failure: Option<io::Error> = None;
        let mut capture_error = None;

        loop {
            let asked =
                stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d);
            if asked && !stopping {
                handle.stop();
                stopping = true;
            }
            match handle.messages.recv_timeout(Duration::from_millis(100)) {
                Ok(LiveMessage::Packets(batch)) => {
                    for frame in batch.frames(link, next_number) {
                        if let Some(w) = writer.as_mut()
                            && let Err(e) = w.write(&frame)
                        {
                            failure.get_or_insert(e);
                        }
                        let n = engine.frame(&frame);
                        if let Some(k) = keeper.as_mut() {
                            k.frame(&frame, engine.last_events(n));
                        }
                    }
                    next_number += batch.len() as u64;
                    handle.recycle(batch);
                }
                Ok(LiveMessage::Stats(s)) => kernel = s,
                Ok(LiveMessage::Ended(err)) => {
                    capture_error = err;
                    break;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if failure.is_some() && !stopping {
                handle.stop();
                stopping = true;
            }
            if engine.pass_due() && last_pass.elapsed() >= PASS_EVERY.max(pass_cost * 10) {
                let t = Instant::now();
                let (all, new) = engine.pass();
                pass_cost = t.elapsed();
                last_pass = Instant::now();
                emit(&mut out, stream, &new, min_severity)?;
                if let Some(k) = keeper.as_mut() {
                    k.pin(&all);
                }
            }
            if let Some(k) = keeper.as_mut() {
                k.trim_candidates(engine.evicted_below());
            }
            if args.stats_interval > 0 && last_stats.elapsed() >= stats_every {
                last_stats = Instant::now();
                eprintln!("kerbscope: {}", stats_line(started, &engine, kernel));
            }
        }
        handle.join();
        if let Some(e) = failure {
            return Err(e);
        }
        if let Some(e) = &capture_error {
            eprintln!("kerbscope: capture ended early: {e}");
        }
        let (all, new) = engine.finish();
        emit(&mut out, stream, &new, min_severity)?;
        if let Some(k) = keeper.as_mut() {
            k.pin(&all);
        }
        if let Some(w) = writer.as_mut() {
            w.flush()?;
        }

        let mut warnings = Vec::new();
        if kernel.dropped > 0 || kernel.if_dropped > 0 {
            warnings.push(format!(
                "{} packets dropped by the kernel and {} by the interface: findings may be missing",
                kernel.dropped, kernel.if_dropped
            ));
        }
        if engine.evicted_events > 0 {
            warnings.push(format!(
                "{} events left the {} s / {} event correlation window before the end",
                engine.evicted_events, limits.window_secs, limits.max_events
            ));
        }
        if let Some(e) = &capture_error {
            warnings.push(format!("capture ended early: {e}"));
        }
        let line = stats_line(started, &engine, kernel);
        let dropped_findings = engine.findings_dropped;
        let extra = [
            ("live_kernel_received", kernel.received),
            ("live_kernel_dropped", kernel.dropped),
            ("live_interface_dropped", kernel.if_dropped),
            ("live_events_evicted", engine.evicted_events),
            ("live_findings_not_kept", dropped_findings),
        ];
        let report = engine.into_report(warnings, &extra);

        let opts = WriteOptions {
            color: args.output.is_none() && stdout_tty && std::env::var_os("NO_COLOR").is_none(),
            min_severity,
        };
        match &args.output {
            Some(path) => {
                let mut f = BufWriter::new(File::create(path)?);
                report::write(&report, format.into(), &opts, &mut f)?;
                f.flush()?;
            }
            // Streamed NDJSON lines already are the findings: a pipeline gets each one once.
            None if stream == Stream::Ndjson => {}
            None => {
                if stream == Stream::Text {
                    writeln!(out, "\n--- final report ---")?;
                }
                report::write(&report, format.into(), &opts, &mut out)?;
                out.flush()?;
            }
        }
        if let (Some(path), Some(k)) = (&args.evidence, &keeper) {
            let (written, missing) = k.write(path, report.findings.len())?;
            let note = if missing > 0 {
                format!(" ({missing} cited frames were no longer held)")
            } else {
                String::new()
            };
            eprintln!(
                "kerbscope: evidence: {written} frames written to {}{note}",
                path.display()
            );
        }
        eprintln!("kerbscope: final: {line}");
        let shown = report
            .findings
            .iter()
            .any(|f| f.severity >= min_severity && f.severity >= Severity::Warning);
        Ok(if capture_error.is_some() {
            Outcome::InputError
        } else if shown {
            Outcome::Findings
        } else {
            Outcome::Clean
        })
    }

    fn list() -> io::Result<Outcome> {
        let list = cap::list_interfaces().map_err(io::Error::other)?;
        let mut out = io::stdout().lock();
        for d in list {
            let addrs: Vec<String> = d.addresses.iter().map(ToString::to_string).collect();
            let mut flags = Vec::new();
            if d.up {
                flags.push("up");
            }
            if d.loopback {
                flags.push("loopback");
            }
            writeln!(
                out,
                "{}\t{}\t{}\t{}",
                d.name,
                flags.join(","),
                addrs.join(","),
                d.description
                    .as_deref()
                    .map(terminal_safe)
                    .unwrap_or_default()
            )?;
        }
        Ok(Outcome::Clean)
    }

    fn stats_line(started: Instant, engine: &Engine, k: KernelStats) -> String {
        format!(
            "{:.1} s: {} packets, {} bytes captured; kernel: {} received, {} dropped, {} dropped by the interface; \
             {} events in window",
            started.elapsed().as_secs_f64(),
            engine.packets,
            engine.bytes,
            k.received,
            k.dropped,
            k.if_dropped,
            engine.window_len()
        )
    }

    fn emit(out: &mut dyn Write, stream: Stream, new: &[Finding], min: Severity) -> io::Result<()> {
        for f in new.iter().filter(|f| f.severity >= min) {
            match stream {
                Stream::Ndjson => {
                    serde_json::to_writer(&mut *out, f)?;
                    out.write_all(b"\n")?;
                }
                Stream::Text => writeln!(out, "{}", text_line(f))?,
                Stream::Notice => eprintln!("kerbscope: finding: {}", text_line(f)),
            }
        }
        out.flush()
    }

    /// `2024-05-01T10:00:01.123456Z error wrong_spn_cname: <summary> (frames 12, 14)`.
    fn text_line(f: &Finding) -> String {
        let frames: Vec<String> = f.frames.iter().map(u64::to_string).collect();
        format!(
            "{} {} {}: {} (frames {})",
            f.first_ts,
            f.severity.as_str(),
            f.kind.as_str(),
            terminal_safe(&f.summary),
            frames.join(", ")
        )
    }
}
