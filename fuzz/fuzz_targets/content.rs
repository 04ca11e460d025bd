//! libFuzzer entry point; the checks are [`headroom_fuzz::content`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| headroom_fuzz::content(data));
