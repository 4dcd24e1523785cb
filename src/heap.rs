//! Keeping the resident set flat on glibc. Its allocator gives threads that
//! allocate at once arenas of their own (up to eight per core) and keeps
//! what is freed in them; opsdeck decodes answers of thousands of series on
//! the runtime's workers every second, so without a bound its resident set
//! creeps up by fragmentation (bench/whole.sh measured 30 MB growing to
//! 61 MB over ten minutes at 1,000 services). Two arenas serve two workers,
//! and a trim every 10 s hands back to the system what is free.
//! Other platforms' allocators are left as they are.

/// Bounds the arenas; before the runtime starts its threads.
pub fn bound_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of glibc's allocator; it is
    // called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        // A fixed threshold: glibc's own rises to the largest block freed,
        // so after the first answer body of a megabyte or two every later
        // one came from the arenas and left holes there. Blocks of 128 KiB
        // and more (bodies, the lists of an answer) are mapped on their own
        // and handed back the moment they are freed.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Returns the free memory at the top of each arena and the free pages
/// inside them to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes the allocator's own locks; it may be called
    // from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
