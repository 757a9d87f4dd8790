//! A WebSocket text frame from anyone: decoding never panics, refuses
//! anything over the limit, and whatever it accepts survives a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livecart_protocol::{MAX_CLIENT_FRAME_BYTES, decode_client_frame, decode_server_frame};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match decode_client_frame(text, MAX_CLIENT_FRAME_BYTES) {
        Ok(frame) => {
            assert!(text.len() <= MAX_CLIENT_FRAME_BYTES);
            let again = serde_json::to_string(&frame).expect("a decoded frame encodes");
            let back = decode_client_frame(&again, usize::MAX).expect("an encoded frame decodes");
            assert_eq!(back, frame);
        }
        // The error is what the client is told: it must format.
        Err(e) => drop(e.to_string()),
    }
    // The app decodes what the server sends with the same machinery.
    if let Err(e) = decode_server_frame(text) {
        drop(e.to_string());
    }
});
