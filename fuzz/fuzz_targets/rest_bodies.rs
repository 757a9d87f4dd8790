//! A REST request body from anyone, for every body the server accepts: the
//! first byte picks the type, the rest is the JSON. Decoding never panics,
//! and what decodes survives a round trip (the server stores what it read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use livecart_protocol::{commerce, rest};
use serde::{Serialize, de::DeserializeOwned};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(json: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<T>(json) {
        let again = serde_json::to_vec(&body).expect("a decoded body encodes");
        let back: T = serde_json::from_slice(&again).expect("an encoded body decodes");
        assert_eq!(back, body);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    match which % 16 {
        0 => round_trip::<rest::SignInRequest>(json),
        1 => round_trip::<rest::RefreshRequest>(json),
        2 => round_trip::<rest::ReportRequest>(json),
        3 => round_trip::<rest::CreateRoomRequest>(json),
        4 => round_trip::<rest::AddProductRequest>(json),
        5 => round_trip::<rest::PinRequest>(json),
        6 => round_trip::<rest::UnpinRequest>(json),
        7 => round_trip::<rest::StartFlashSaleRequest>(json),
        8 => round_trip::<rest::MuteRequest>(json),
        9 => round_trip::<rest::NoticeRequest>(json),
        10 => round_trip::<rest::DemoGiftRequest>(json),
        11 => round_trip::<commerce::TopUpRequest>(json),
        12 => round_trip::<commerce::NewAddress>(json),
        13 => round_trip::<commerce::PlaceOrderRequest>(json),
        14 => round_trip::<commerce::RefundRequest>(json),
        _ => round_trip::<commerce::SendGiftRequest>(json),
    }
});
