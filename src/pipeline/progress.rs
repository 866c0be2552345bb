//! A one-line progress bar on stderr (bytes read, packets/s, ETA), drawn four times a second by
//! its own thread, only when stderr is a terminal; silent otherwise, so logs and pipes never
//! see it. Readers of several captures add to one shared bar.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const REDRAW: Duration = Duration::from_millis(250);
/// Runs shorter than this never draw (no flicker on small files).
const QUIET_START: Duration = Duration::from_millis(500);

pub struct Progress {
    total: Option<u64>,
    bytes: AtomicU64,
    frames: AtomicU64,
    stop: AtomicBool,
    start: Instant,
    drawer: Mutex<Option<JoinHandle<()>>>,
}

impl Progress {
    /// A bar for `total` bytes of input (None: unknown); draws only if stderr is a terminal.
    pub fn start(total: Option<u64>) -> Arc<Progress> {
        let p = Arc::new(Progress {
            total,
            bytes: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            start: Instant::now(),
            drawer: Mutex::new(None),
        });
        if std::io::stderr().is_terminal() {
            let bar = Arc::clone(&p);
            let handle = std::thread::Builder::new()
                .name("kerbscope-progress".into())
                .spawn(move || bar.draw_loop())
                .ok();
            if let Ok(mut d) = p.drawer.lock() {
                *d = handle;
            }
        }
        p
    }

    /// Adds bytes read from a file and frames walked.
    pub fn add(&self, bytes: u64, frames: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.frames.fetch_add(frames, Ordering::Relaxed);
    }

    /// Stops drawing and clears the line.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let handle = self.drawer.lock().ok().and_then(|mut d| d.take());
        if let Some(h) = handle {
            h.thread().unpark();
            let _ = h.join();
        }
    }

    fn draw_loop(&self) {
        let mut drawn = false;
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::park_timeout(REDRAW);
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let elapsed = self.start.elapsed();
            if elapsed < QUIET_START {
                continue;
            }
            let line = self.line(elapsed);
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
            drawn = true;
        }
        if drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    fn line(&self, elapsed: Duration) -> String {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let frames = self.frames.load(Ordering::Relaxed);
        let secs = elapsed.as_secs_f64().max(1e-3);
        let rate = bytes as f64 / secs;
        let pps = frames as f64 / secs;
        let mut line = match self.total {
            Some(total) if total > 0 => format!(
                "{} / {} ({:.0}%)",
                human_bytes(bytes),
                human_bytes(total),
                100.0 * bytes as f64 / total as f64
            ),
            _ => human_bytes(bytes),
        };
        line.push_str(&format!(
            "  {}/s  {:.0}k packets/s",
            human_bytes(rate as u64),
            pps / 1000.0
        ));
        if let Some(total) = self.total
            && rate > 0.0
            && total > bytes
        {
            let eta = ((total - bytes) as f64 / rate) as u64;
            line.push_str(&format!("  ETA {}:{:02}", eta / 60, eta % 60));
        }
        line
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_share_rate_and_eta() {
        let p = Progress::start(Some(4 << 20));
        p.add(1 << 20, 1000);
        let line = p.line(Duration::from_secs(1));
        p.finish();
        assert!(line.starts_with("1.0 MiB / 4.0 MiB (25%)"), "{line}");
        assert!(line.contains("1.0 MiB/s"), "{line}");
        assert!(line.contains("1k packets/s"), "{line}");
        assert!(line.ends_with("ETA 0:03"), "{line}");
    }
}
