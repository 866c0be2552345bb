//! Network layers between a captured frame and application bytes: link layers (`link`), IPv4 /
//! IPv6 with extension headers (`ip`), IP fragment reassembly (`defrag`) and bidirectional TCP
//! stream reassembly (`tcp`). Anomalies are counted in [`NetStats`], never raised as errors.
//!
//! CONTRACT (used by `dissect/`; keep these names and signatures):
//!
//! ```ignore
//! let mut net = NetDecoder::new(NetLimits::default());
//! if let Some(pkt) = net.decode(&frame) {            // pkt: L4Packet<'_>
//!     match &pkt.transport {
//!         Transport::Udp { payload } => ...,          // payload: &[u8] (reassembled if fragmented)
//!         Transport::Tcp(seg) => ...,                 // seg: TcpSegment<'_>
//!         Transport::Other { protocol } => ...,
//!     }
//! }
//! let stats: &NetStats = net.stats();
//!
//! let mut tcp = TcpTable::new(TcpLimits::default());
//! let (conn, dir) = tcp.segment(&pkt, &seg, frame.number, frame.ts)?;  // ConnId, Direction
//! let half: &mut HalfStream = tcp.half(conn, dir)?;
//! half.take_gap()   // Some(n): n bytes were lost just before half.data(); resynchronise
//! half.data()       // contiguous in-order bytes not consumed yet
//! half.consume(n)   // the application parser used n bytes
//! tcp.take_closed() // ConnIds whose connection ended (FIN/RST both ways, evicted, idle)
//! ```

pub mod defrag;
pub mod ip;
pub mod link;
pub mod tcp;
