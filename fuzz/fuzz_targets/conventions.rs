//! See `opsdeck_fuzz::checks::convention_files` for what this target asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| opsdeck_fuzz::checks::convention_files(data));
