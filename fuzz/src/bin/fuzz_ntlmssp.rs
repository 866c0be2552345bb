//! AFL++ target `ntlmssp`: see `kerbscope_fuzz::ntlmssp`.
fn main() {
    afl::fuzz!(|data: &[u8]| kerbscope_fuzz::ntlmssp(data));
}
