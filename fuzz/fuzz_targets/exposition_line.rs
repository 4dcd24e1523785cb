//! See `opsdeck_fuzz::checks::exposition_line` for what this target asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    opsdeck_fuzz::let_guarded_panics_unwind();
    opsdeck_fuzz::checks::exposition_line(data);
});
