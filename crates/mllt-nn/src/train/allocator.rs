//! Allocator tuning for training on the CPU backend.
//!
//! Every training step allocates and frees tensors of a few MB (the 2048×256 weight, its gradient, momentum
//! and temporaries). With glibc's defaults such blocks are served by `mmap` (or the heap top is trimmed
//! after they are freed), so each step pays for fresh zeroed pages and page faults: measured on the paper
//! head, that halves the steps per second. Raising the mmap threshold to its maximum (32 MB) and the trim
//! threshold to 256 MB keeps freed blocks in the heap for reuse. Other allocators are left alone.

/// Keeps freed tensor buffers in the process heap (glibc only; a no-op elsewhere). Idempotent.
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // glibc <malloc.h>: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3.
            const M_TRIM_THRESHOLD: i32 = -1;
            const M_MMAP_THRESHOLD: i32 = -3;
            unsafe extern "C" {
                fn mallopt(param: i32, value: i32) -> i32;
            }
            // SAFETY: `mallopt` only changes allocator parameters; it is called once, before the buffers it
            // concerns are allocated, and glibc serialises it with the allocator's own lock.
            unsafe {
                mallopt(M_MMAP_THRESHOLD, 32 << 20);
                mallopt(M_TRIM_THRESHOLD, 256 << 20);
            }
        });
    }
}
