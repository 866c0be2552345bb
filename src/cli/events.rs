//! `kerbscope events`: NDJSON, one decoded message per line, ordered by frame within each
//! capture, captures in the order given (a directory contributes its captures, sorted by path).
//! Captures are decoded in parallel, and each one is sharded by flow over `-j` threads; the
//! output does not depend on the thread count.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use kerbscope::event::CaptureEvent;
use kerbscope::pipeline::{self, CaptureRun, DissectOptions};

use super::Outcome;
use super::args::EventsArgs;

pub fn run(args: &EventsArgs) -> io::Result<Outcome> {
    let keys = match args.keys.load() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("kerbscope: {e}");
            return Ok(Outcome::InputError);
        }
    };
    let captures = pipeline::capture_paths(&args.captures)?;
    let opts = DissectOptions {
        threads: args.threads.unwrap_or(0),
        keep_plain_http: true,
        progress: true,
        keys,
    };
    let results = pipeline::dissect_files(&captures, &opts);
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(File::create(path)?)),
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
    };
    let many = captures.len() > 1;
    let mut outcome = Outcome::Clean;
    for (path, result) in captures.iter().zip(results) {
        match result {
            Ok(run) => {
                warn(&run);
                write_events(&mut out, &run, many)?;
            }
            Err(e) => {
                eprintln!("kerbscope: {}: {e}", path.display());
                outcome = Outcome::InputError;
            }
        }
    }
    out.flush()?;
    Ok(outcome)
}

fn warn(run: &CaptureRun) {
    for w in &run.warnings {
        eprintln!("kerbscope: warning: {}: {w}", run.path.display());
    }
}

fn write_events(out: &mut dyn Write, run: &CaptureRun, with_capture: bool) -> io::Result<()> {
    let capture = run.path.display().to_string();
    for event in &run.events {
        if with_capture {
            serde_json::to_writer(
                &mut *out,
                &CaptureEvent {
                    capture: &capture,
                    event,
                },
            )
        } else {
            serde_json::to_writer(&mut *out, event)
        }
        .map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
