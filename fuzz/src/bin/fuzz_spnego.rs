//! AFL++ target `spnego`: see `kerbscope_fuzz::spnego`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::spnego(data));
}
