//! AFL++ target `capture`: see `kerbscope_fuzz::capture`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::capture(data));
}
