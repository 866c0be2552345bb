//! AFL++ target `kerberos`: see `kerbscope_fuzz::kerberos`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::kerberos(data));
}
