#![no_main]

// The entry point is shared with the stable regression tests (service/tests/fuzz_corpus.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| acscalling_service::fuzzing::sdp(data));
