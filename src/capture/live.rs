//! Live capture from a network interface through libpcap (the `pcap` crate; see pcap(3PCAP),
//! pcap_dispatch(3PCAP), pcap_stats(3PCAP)), compiled only with the cargo feature `live` so the
//! default build needs no system library.
//!
//! [`spawn`] opens the interface and runs one capture thread that copies packets out of the
//! kernel ring in batches and sends them over a bounded channel. When the consumer falls behind,
//! the channel fills, the capture thread waits, the kernel ring fills and the kernel drops
//! packets, which `pcap_stats` counts: memory stays bounded and loss is visible, never silent.
//! Frame numbers are not assigned here: the consumer numbers frames in arrival order (1-based),
//! so a `-w` file or an `--evidence` file lines up with them.
//!
//! Stopping ([`LiveHandle::stop`]) wakes the thread with `pcap_breakloop`, waits one ring-block
//! timeout so that packets still sitting in an unfinished TPACKET_V3 block become readable,
//! drains them without blocking, sends the final counters and ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Frame, LinkType, Timestamp};

/// Traffic the analysis can use: every TCP segment (HTTP, SMB, LDAP, WinRM and Kerberos over
/// TCP may use any port), Kerberos and DNS over UDP (also mDNS and LLMNR), and IP fragments,
/// whose non-first pieces carry no port (a large AS-REP over UDP is fragmented).
const FILTER_BASE: &str = "tcp or udp port 88 or udp port 53 or udp port 5353 or udp port 5355 \
                           or (ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] == 44)";

/// The default BPF filter: [`FILTER_BASE`] on untagged frames and on 802.1Q-tagged ones (SPAN
/// ports often mirror trunks).
pub fn default_filter() -> String {
    format!("{FILTER_BASE} or (vlan and ({FILTER_BASE}))")
}

/// How to open the interface.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Interface name, or `any` (Linux: every interface, Linux cooked headers).
    pub interface: String,
    /// BPF filter (tcpdump syntax); None: [`default_filter`]. An empty string captures all.
    pub filter: Option<String>,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    pub promiscuous: bool,
    /// Kernel ring size in bytes (the buffer that absorbs bursts while the analysis catches up).
    pub buffer_bytes: u32,
    /// Longest time a packet waits in a partly filled ring block before it is delivered.
    pub timeout_ms: u32,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interface: "any".into(),
            filter: None,
            snaplen: 262_144,
            promiscuous: true,
            buffer_bytes: 64 << 20,
            timeout_ms: 100,
        }
    }
}

/// Why a live capture could not start or stopped early; `Display` is one line for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveError {
    NoSuchInterface(String),
    /// The process lacks CAP_NET_RAW / CAP_NET_ADMIN (or root).
    Permission(String),
    BadFilter {
        filter: String,
        reason: String,
    },
    Other(String),
}

impl std::fmt::Display for LiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveError::NoSuchInterface(i) => write!(
                f,
                "no interface named {i:?} (`kerbscope sniff --list-interfaces` lists them)"
            ),
            LiveError::Permission(i) => write!(
                f,
                "no permission to capture on {i}: run as root, or once: \
                 sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v kerbscope)\""
            ),
            LiveError::BadFilter { filter, reason } => {
                write!(f, "bad capture filter {filter:?}: {reason}")
            }
            LiveError::Other(m) => write!(f, "live capture: {m}"),
        }
    }
}

impl std::error::Error for LiveError {}

/// Kernel counters of pcap_stats(3PCAP), cumulative since the capture started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets that passed the filter (Linux: including the dropped ones).
    pub received: u64,
    /// Dropped because the ring was full (the analysis did not keep up).
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// An interface pcap can open.
#[derive(Clone, Debug)]
pub struct InterfaceInfo {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<std::net::IpAddr>,
    pub up: bool,
    pub loopback: bool,
}

/// Interfaces pcap_findalldevs(3PCAP) reports (no privileges needed on Linux).
pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, LiveError> {
    let devs = pcap::Device::list().map_err(|e| LiveError::Other(e.to_string()))?;
    Ok(devs
        .into_iter()
        .map(|d| InterfaceInfo {
            up: d.flags.is_up(),
            loopback: d.flags.is_loopback(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            name: d.name,
            description: d.desc,
        })
        .collect())
}

/// One packet's place in a [`Batch`].
#[derive(Clone, Copy, Debug)]
struct Record {
    ts: Timestamp,
    orig_len: u32,
    start: usize,
    len: usize,
}

/// Packets copied out of the kernel ring, in arrival order.
#[derive(Debug, Default)]
pub struct Batch {
    data: Vec<u8>,
    records: Vec<Record>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Captured bytes in the batch.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// The packets as frames numbered from `first_number`.
    pub fn frames(
        &self,
        link_type: LinkType,
        first_number: u64,
    ) -> impl Iterator<Item = Frame<'_>> {
        self.records.iter().enumerate().filter_map(move |(i, r)| {
            let data = self.data.get(r.start..r.start.checked_add(r.len)?)?;
            Some(Frame {
                number: first_number.saturating_add(i as u64),
                ts: r.ts,
                link_type,
                data,
                orig_len: r.orig_len,
            })
        })
    }

    fn clear(&mut self) {
        self.data.clear();
        self.records.clear();
    }

    // time_t is narrower than i64 on some targets.
    #[allow(clippy::useless_conversion)]
    fn push(&mut self, packet: &pcap::Packet<'_>) {
        let secs = i64::from(packet.header.ts.tv_sec);
        let micros = u32::try_from(packet.header.ts.tv_usec)
            .unwrap_or(0)
            .min(999_999);
        let start = self.data.len();
        self.data.extend_from_slice(packet.data);
        self.records.push(Record {
            ts: Timestamp {
                secs,
                nanos: micros * 1000,
                digits: 6,
            },
            orig_len: packet.header.len,
            start,
            len: packet.data.len(),
        });
    }
}

/// What the capture thread sends.
#[derive(Debug)]
pub enum LiveMessage {
    Packets(Batch),
    /// Sent about once a second and once at the end.
    Stats(KernelStats),
    /// The thread ended: None after a requested stop, Some(reason) on a capture error.
    Ended(Option<String>),
}

/// A running capture: receive [`LiveMessage`]s from `messages`, hand emptied batches back with
/// [`LiveHandle::recycle`], stop with [`LiveHandle::stop`].
pub struct LiveHandle {
    pub messages: Receiver<LiveMessage>,
    recycled: Sender<Batch>,
    stop: Arc<AtomicBool>,
    breaker: pcap::BreakLoop,
    link_type: LinkType,
    filter: String,
    thread: Option<JoinHandle<()>>,
}

impl LiveHandle {
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// The BPF filter in force.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Give an emptied batch back so its buffers are reused.
    pub fn recycle(&self, batch: Batch) {
        let _ = self.recycled.send(batch);
    }

    /// Ask the capture to stop; it drains what the kernel holds and then sends `Ended`.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.breaker.breakloop();
    }

    /// Wait for the capture thread to end (after `Ended` was received).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Packets per batch before it is sent, and bytes.
const BATCH_PACKETS: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;
/// Batches in flight between the capture thread and the consumer.
const CHANNEL_BATCHES: usize = 64;

/// Open the interface and start capturing.
pub fn spawn(cfg: &LiveConfig) -> Result<LiveHandle, LiveError> {
    let iface = cfg.interface.clone();
    // pcap_create accepts any name and only fails at activation with a message that differs
    // between kernels; checking the list first gives one clear error.
    if iface != "any"
        && let Ok(list) = list_interfaces()
        && !list.iter().any(|d| d.name == iface)
    {
        return Err(LiveError::NoSuchInterface(iface));
    }
    let clamp = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    let inactive = pcap::Capture::from_device(iface.as_str()).map_err(|e| classify(&iface, e))?;
    let mut cap = inactive
        .promisc(cfg.promiscuous)
        .snaplen(clamp(cfg.snaplen.max(64)))
        .buffer_size(clamp(cfg.buffer_bytes.max(1 << 20)))
        .timeout(clamp(cfg.timeout_ms.max(1)))
        .open()
        .map_err(|e| classify(&iface, e))?;
    let filter = match &cfg.filter {
        Some(f) => {
            cap.filter(f, true).map_err(|e| LiveError::BadFilter {
                filter: f.clone(),
                reason: e.to_string(),
            })?;
            f.clone()
        }
        None => {
            // Some link types (e.g. Linux cooked headers of `any` on old libpcap) have no
            // `vlan` primitive: then the untagged part alone.
            let full = default_filter();
            match cap.filter(&full, true) {
                Ok(()) => full,
                Err(_) => {
                    cap.filter(FILTER_BASE, true)
                        .map_err(|e| LiveError::BadFilter {
                            filter: FILTER_BASE.into(),
                            reason: e.to_string(),
                        })?;
                    FILTER_BASE.to_string()
                }
            }
        }
    };
    let link_type = LinkType(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX)).normalized();
    let breaker = cap.breakloop_handle();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::sync_channel(CHANNEL_BATCHES);
    let (recycled_tx, recycled_rx) = mpsc::channel();
    let thread_stop = Arc::clone(&stop);
    let linger = Duration::from_millis(u64::from(cfg.timeout_ms.max(1)) + 50);
    let thread = std::thread::Builder::new()
        .name("kerbscope-capture".into())
        .spawn(move || capture_loop(cap, &tx, &recycled_rx, &thread_stop, linger))
        .map_err(|e| LiveError::Other(e.to_string()))?;
    Ok(LiveHandle {
        messages: rx,
        recycled: recycled_tx,
        stop,
        breaker,
        link_type,
        filter,
        thread: Some(thread),
    })
}

/// pcap's activation errors, sorted into the two a person can act on.
fn classify(iface: &str, e: pcap::Error) -> LiveError {
    let msg = e.to_string();
    let lower = msg.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        LiveError::Permission(iface.to_string())
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        LiveError::NoSuchInterface(iface.to_string())
    } else {
        LiveError::Other(format!("{iface}: {msg}"))
    }
}

fn kernel_stats(cap: &mut pcap::Capture<pcap::Active>) -> Option<KernelStats> {
    cap.stats().ok().map(|s| KernelStats {
        received: u64::from(s.received),
        dropped: u64::from(s.dropped),
        if_dropped: u64::from(s.if_dropped),
    })
}

/// Counters are 32-bit in pcap_stats; widen them so a long run does not wrap.
#[derive(Default)]
struct Widen {
    last: KernelStats,
    total: KernelStats,
}

impl Widen {
    fn update(&mut self, now: KernelStats) -> KernelStats {
        let step = |prev: u64, cur: u64| cur.wrapping_sub(prev) & u64::from(u32::MAX);
        self.total.received += step(self.last.received, now.received);
        self.total.dropped += step(self.last.dropped, now.dropped);
        self.total.if_dropped += step(self.last.if_dropped, now.if_dropped);
        self.last = now;
        self.total
    }
}

fn capture_loop(
    mut cap: pcap::Capture<pcap::Active>,
    tx: &SyncSender<LiveMessage>,
    recycled: &Receiver<Batch>,
    stop: &AtomicBool,
    linger: Duration,
) {
    let mut widen = Widen::default();
    let mut batch = Batch::default();
    let mut last_send = Instant::now();
    let mut last_stats = Instant::now();
    let fresh = |recycled: &Receiver<Batch>| match recycled.try_recv() {
        Ok(mut b) => {
            b.clear();
            b
        }
        Err(TryRecvError::Empty | TryRecvError::Disconnected) => Batch::default(),
    };
    let mut error = None;
    while !stop.load(Ordering::SeqCst) {
        let result = cap.dispatch(None, |p| batch.push(&p));
        if let Err(e) = result {
            if stop.load(Ordering::SeqCst) {
                break; // pcap_breakloop makes dispatch return an error
            }
            error = Some(e.to_string());
            break;
        }
        let due = last_send.elapsed() >= Duration::from_millis(20);
        if batch.len() >= BATCH_PACKETS
            || batch.bytes() >= BATCH_BYTES
            || (due && !batch.is_empty())
        {
            let full = std::mem::replace(&mut batch, fresh(recycled));
            if tx.send(LiveMessage::Packets(full)).is_err() {
                return;
            }
            last_send = Instant::now();
        }
        if last_stats.elapsed() >= Duration::from_secs(1) {
            last_stats = Instant::now();
            if let Some(s) = kernel_stats(&mut cap)
                && tx.send(LiveMessage::Stats(widen.update(s))).is_err()
            {
                return;
            }
        }
    }
    if error.is_none() {
        // Packets of a ring block the kernel has not closed yet become readable when its timer
        // fires: wait for it, then read without blocking until nothing is left.
        std::thread::sleep(linger);
        match cap.setnonblock() {
            Ok(mut nb) => {
                while let Ok(n) = nb.dispatch(None, |p| batch.push(&p)) {
                    if n == 0 {
                        break;
                    }
                }
                cap = nb;
            }
            Err(e) => {
                let _ = tx.send(LiveMessage::Packets(batch));
                let _ = tx.send(LiveMessage::Ended(Some(e.to_string())));
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(LiveMessage::Packets(batch));
    }
    if let Some(s) = kernel_stats(&mut cap) {
        let _ = tx.send(LiveMessage::Stats(widen.update(s)));
    }
    let _ = tx.send(LiveMessage::Ended(error));
}
