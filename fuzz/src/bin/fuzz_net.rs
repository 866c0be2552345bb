//! AFL++ target `net`: see `kerbscope_fuzz::net`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::net(data));
}
