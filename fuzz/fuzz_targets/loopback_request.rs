//! Any bytes sent to a loopback listener: reading the request head never panics and never
//! answers a head longer than the listener's limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let read = rt.block_on(keyfob_core::internals::read_loopback_request(data));
    if read.is_ok() {
        let end = data.windows(4).position(|w| w == b"\r\n\r\n");
        assert!(end.is_some_and(|at| at + 4 <= 16 * 1024));
    }
});
