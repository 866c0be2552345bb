//! AFL++ target `http`: see `kerbscope_fuzz::http`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::http(data));
}
