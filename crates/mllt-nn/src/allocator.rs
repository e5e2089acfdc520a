//! Allocator tuning for the CPU backend.
//!
//! Every training step and every forward pass allocates and frees tensors of a few MB to a few hundred MB
//! (a Lite0 activation at batch 32 and 112 px is 154 MB). With glibc's defaults every block above the mmap
//! threshold (at most 32 MB) is served by `mmap` and returned by `munmap`, and the heap top is trimmed after
//! smaller ones are freed: each pass then pays for fresh zeroed pages, a page fault per 4 KB, and TLB
//! shootdowns across the threads when the block is unmapped. Measured (`results/speed/`): the Lite0 forward
//! pass of 32 images on 2 threads goes from 16 images/s (glibc's defaults) to 24 with the mmap threshold
//! raised to 32 MB and a 256 MB trim threshold, and to 33 with no block mmapped at all; training steps at
//! batch 8 are unchanged. So: no `mmap` for the
//! main heap (`M_MMAP_MAX = 0`), and a trim threshold of 1 GB (freed memory up to that stays in the heap
//! for the next pass). The price is that up to 1 GB of freed memory stays with the process until it exits;
//! peak memory is unchanged (measured: 440 MB vs 415 MB for that forward pass). Other allocators are left
//! alone.

/// Keeps freed tensor buffers in the process heap (glibc only; a no-op elsewhere). Idempotent; call it
/// before the first large tensor is allocated.
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // glibc <malloc.h>: M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4.
            const M_TRIM_THRESHOLD: i32 = -1;
            const M_MMAP_MAX: i32 = -4;
            unsafe extern "C" {
                fn mallopt(param: i32, value: i32) -> i32;
            }
            // SAFETY: `mallopt` only changes allocator parameters, and glibc serialises it with the
            // allocator's own lock. Blocks mmapped before the call stay valid and are unmapped when freed.
            unsafe {
                mallopt(M_MMAP_MAX, 0);
                mallopt(M_TRIM_THRESHOLD, 1 << 30);
            }
        });
    }
}
