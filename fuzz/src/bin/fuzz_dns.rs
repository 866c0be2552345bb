//! AFL++ target `dns`: see `kerbscope_fuzz::dns`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::dns(data));
}
