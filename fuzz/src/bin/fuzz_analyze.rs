//! AFL++ target `analyze`: see `kerbscope_fuzz::analyze`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::analyze(data));
}
