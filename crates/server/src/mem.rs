//! Giving freed memory back to the OS, and work that should only use a core
//! nobody else wants.
//!
//! glibc keeps freed heap for reuse; after a burst (seeding the demo world's
//! images, a stopped publisher's encoder and frames) that can be 100+ MiB of
//! RSS nobody uses — measured: a headless server at 242 MiB dropped to 104 MiB
//! after one `malloc_trim`. We trim after such bursts, not on a timer.

/// Returns free heap pages to the OS (glibc only; elsewhere a no-op).
#[allow(unsafe_code)]
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let started = std::time::Instant::now();
        // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
        unsafe {
            libc::malloc_trim(0);
        }
        tracing::debug!(
            ms = started.elapsed().as_secs_f64() * 1e3,
            "freed heap given back"
        );
    }
}

/// Puts the calling thread in Linux's idle scheduling class (`SCHED_IDLE`):
/// it runs only on a core nothing else wants. Elsewhere (or if refused) it
/// stays as it was, which is only slower to yield.
#[allow(unsafe_code)]
pub fn run_when_idle() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` outlives the call.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &raw const param) };
        if rc != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "SCHED_IDLE refused");
        }
    }
}
