//! Cache prefetch hints for walking capture records in memory (a mapped file or the read
//! buffer). A record header's first byte is the walk's first touch of its cache line, and on a
//! capture that is not in any cache yet nearly every header starts with a miss: hinting the
//! lines somewhat ahead lets the memory system fetch them while the current record is handled.

/// Bytes ahead of the next record header whose cache lines a walk asks for. Records on SPAN
/// traffic average about 1 KB, so this is one or two records ahead (measured on the generated
/// 1 GiB corpus: 512, 1024, 1536, 2048 and 4096 tried, 1536 the best, 5-9 % of a run).
pub const WALK_AHEAD: usize = 1536;

/// Asks the CPU to bring the two cache lines at `bytes[at..]` closer (a hint: no effect on
/// results, nothing read architecturally; an `at` past the end is clamped to it).
#[inline(always)]
#[allow(unsafe_code)]
pub fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = bytes.as_ptr().wrapping_add(at.min(bytes.len()));
        // SAFETY: PREFETCHT0 only hints the cache; it never faults or reads architecturally,
        // whatever the address, and SSE is part of the x86-64 baseline every build targets.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p.cast());
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}
