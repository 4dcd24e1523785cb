//! opsdeck's fuzz targets: the properties they check (`checks`, shared with
//! `tests/fuzz_regressions.rs`) and the panic hook they run under.

pub mod checks;

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// libFuzzer's panic hook aborts on every panic, even one that opsdeck's
/// `terminal::guarded` would catch (a panic inside prometheus-parse is an
/// error on the panel by design, not a crash). Inside such a call a panic
/// is left to unwind to the guard, and the first one is noted; a panic that
/// gets past the guard is raised again by the check, outside the call, and
/// reaches libFuzzer's hook as a crash. Call at the start of every input.
pub fn let_guarded_panics_unwind() {
    static INSTALL: Once = Once::new();
    static NOTED: AtomicBool = AtomicBool::new(false);
    INSTALL.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !checks::GUARDED_CALL.get() {
                return fuzzer_hook(info);
            }
            if !NOTED.swap(true, Ordering::Relaxed) {
                eprintln!("note: a panic inside a guarded call, left to its guard: {info}");
            }
        }));
    });
}
