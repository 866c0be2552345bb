//! AFL++ target `packets`: see `kerbscope_fuzz::packets`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::packets(data));
}
