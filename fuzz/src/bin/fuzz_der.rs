//! AFL++ target `der`: see `kerbscope_fuzz::der`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::der(data));
}
