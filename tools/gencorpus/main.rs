//! Writes a deterministic, realistic SPAN-port capture of a requested size for benchmarks and
//! end-to-end checks: mostly background traffic (see `background`) with the real lab scenarios
//! of `captures/lab` embedded at regular intervals (see `embed`), plus `<out>.truth.json` listing
//! every finding embedded, with its frame numbers in the corpus.
//!
//! ```text
//! cargo run --release --example gencorpus -- --size 1G --seed 1 --out /tmp/corpus-1g.pcap
//! ```
//! The same seed, size and lab captures always give the same bytes.

mod background;
mod corpus;
mod embed;
mod packet;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

struct Args {
    size: u64,
    seed: u64,
    out: PathBuf,
    lab: PathBuf,
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<f64>().ok().map(|n| (n * mult as f64) as u64)
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        size: 100 << 20,
        seed: 1,
        out: PathBuf::from("corpus.pcap"),
        lab: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/captures/lab")),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--size" => a.size = parse_size(&value()?).ok_or("bad --size (e.g. 100M, 1G)")?,
            "--seed" => a.seed = value()?.parse().map_err(|_| "bad --seed")?,
            "--out" => a.out = PathBuf::from(value()?),
            "--lab" => a.lab = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!(
                    "gencorpus [--size 100M] [--seed 1] [--out corpus.pcap] [--lab captures/lab]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("gencorpus: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args = args()?;
    let file = File::create(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let mut w = BufWriter::with_capacity(4 << 20, file);
    let truth = corpus::generate(&mut w, args.size, args.seed, &args.lab)?;
    let truth_path = PathBuf::from(format!("{}.truth.json", args.out.display()));
    std::fs::write(
        &truth_path,
        serde_json::to_string_pretty(&truth).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", truth_path.display()))?;
    eprintln!(
        "gencorpus: {} bytes, {} frames, {} embeddings, {} findings → {} (+ .truth.json)",
        truth["bytes"],
        truth["frames"],
        truth["embeddings"].as_array().map_or(0, Vec::len),
        truth["findings"].as_array().map_or(0, Vec::len),
        args.out.display()
    );
    Ok(())
}
