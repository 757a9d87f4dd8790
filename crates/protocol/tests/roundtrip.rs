//! Property tests: every frame survives encode → decode unchanged, and no
//! input, however mangled, makes decoding panic.

use livecart_protocol::live::{FlashSalePhase, GiftEvent};
use livecart_protocol::rest::{ChatMessage, FlashSale, FlashSaleState, Pin, UserRef};
use livecart_protocol::{
    ClientFrame, ComboId, Currency, DecodeError, Epoch, ErrorCode, FlashSaleId, GiftId, MessageId,
    Money, ProductId, RoomEvent, ServerFrame, SkuId, Timestamp, UserId,
};
use livecart_protocol::{decode_client_frame, decode_server_frame};
use proptest::prelude::*;
use uuid::Uuid;

fn uuid_v7() -> impl Strategy<Value = Uuid> {
    (0u64..(1 << 47), any::<[u8; 10]>())
        .prop_map(|(ms, r)| uuid::Builder::from_unix_timestamp_millis(ms, &r).into_uuid())
}

fn ts() -> impl Strategy<Value = Timestamp> {
    // Any instant from 1970 to ~2100, with nanoseconds.
    (0i64..4_102_444_800, 0i32..1_000_000_000)
        .prop_map(|(s, n)| Timestamp::new(s, n).expect("in range"))
}

fn money() -> impl Strategy<Value = Money> {
    (
        any::<i64>(),
        prop::sample::select(vec!["USD", "EUR", "CNY", "JPY", "KWD"]),
    )
        .prop_map(|(a, c)| Money::new(a, c.parse::<Currency>().expect("valid")))
}

fn user() -> impl Strategy<Value = UserRef> {
    (uuid_v7(), "\\PC{0,24}").prop_map(|(id, name)| UserRef {
        id: UserId(id),
        name,
    })
}

fn chat() -> impl Strategy<Value = ChatMessage> {
    (
        uuid_v7(),
        user(),
        "\\PC{0,200}",
        ts(),
        prop::option::of(uuid_v7()),
    )
        .prop_map(|(id, user, text, sent_at, client_id)| ChatMessage {
            id: MessageId(id),
            user,
            text,
            sent_at,
            client_id,
        })
}

fn sale() -> impl Strategy<Value = FlashSale> {
    (
        (uuid_v7(), uuid_v7(), uuid_v7()),
        money(),
        money(),
        any::<u32>(),
        any::<u32>(),
        ts(),
        ts(),
        prop::sample::select(vec![
            FlashSaleState::Active,
            FlashSaleState::SoldOut,
            FlashSaleState::Ended,
        ]),
    )
        .prop_map(
            |((id, p, s), price, original_price, total, rem, starts_at, deadline, state)| {
                FlashSale {
                    id: FlashSaleId(id),
                    product_id: ProductId(p),
                    sku_id: SkuId(s),
                    price,
                    original_price,
                    total_stock: total,
                    remaining_stock: rem,
                    starts_at,
                    deadline,
                    state,
                }
            },
        )
}

fn room_event() -> impl Strategy<Value = RoomEvent> {
    prop_oneof![
        chat().prop_map(|message| RoomEvent::Chat { message }),
        uuid_v7().prop_map(|id| RoomEvent::ChatRemoved {
            message_id: MessageId(id)
        }),
        (
            uuid_v7(),
            "\\PC{1,16}",
            any::<u32>(),
            user(),
            1u32..100,
            uuid_v7(),
            any::<u32>()
        )
            .prop_map(|(g, gift_name, coins, sender, count, combo, combo_count)| {
                RoomEvent::Gift(GiftEvent {
                    gift_id: GiftId(g),
                    gift_name,
                    coins,
                    sender,
                    count,
                    combo_id: ComboId(combo),
                    combo_count,
                })
            }),
        (any::<u64>(), any::<u64>()).prop_map(|(added, total)| RoomEvent::Likes { added, total }),
        any::<u64>().prop_map(|count| RoomEvent::Viewers { count }),
        (uuid_v7(), ts(), ts()).prop_map(|(p, pinned_at, stream_time)| RoomEvent::Pin {
            pin: Pin {
                product_id: ProductId(p),
                pinned_at,
                stream_time
            }
        }),
        (uuid_v7(), ts(), ts()).prop_map(|(p, unpinned_at, stream_time)| RoomEvent::Unpin {
            product_id: ProductId(p),
            unpinned_at,
            stream_time
        }),
        (
            prop::sample::select(vec![
                FlashSalePhase::Started,
                FlashSalePhase::Stock,
                FlashSalePhase::Ended
            ]),
            sale()
        )
            .prop_map(|(phase, sale)| RoomEvent::FlashSale { phase, sale }),
        (uuid_v7(), uuid_v7(), any::<u32>()).prop_map(|(p, s, stock)| RoomEvent::Stock {
            product_id: ProductId(p),
            sku_id: SkuId(s),
            stock
        }),
        "\\PC{0,80}".prop_map(|text| RoomEvent::Notice { text }),
    ]
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        (any::<u64>(), uuid_v7(), ts(), room_event()).prop_map(|(seq, e, at, event)| {
            ServerFrame::Event {
                seq,
                epoch: Epoch(e),
                at,
                event,
            }
        }),
        (
            prop::sample::select(vec![
                ErrorCode::RateLimited,
                ErrorCode::Filtered,
                ErrorCode::Malformed
            ]),
            "\\PC{0,40}",
            prop::option::of(any::<u64>())
        )
            .prop_map(|(code, message, retry_after_ms)| ServerFrame::Error {
                code,
                message,
                retry_after_ms
            }),
        (any::<u64>(), ts())
            .prop_map(|(nonce, server_time)| ServerFrame::Pong { nonce, server_time }),
    ]
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        ("\\PC{0,200}", prop::option::of(uuid_v7()))
            .prop_map(|(text, client_id)| ClientFrame::Chat { text, client_id }),
        any::<u32>().prop_map(|count| ClientFrame::Like { count }),
        any::<u64>().prop_map(|nonce| ClientFrame::Ping { nonce }),
        "[A-Za-z0-9._-]{0,64}".prop_map(|access_token| ClientFrame::Auth { access_token }),
    ]
}

proptest! {
    #[test]
    fn server_frames_round_trip(frame in server_frame()) {
        let json = serde_json::to_string(&frame).expect("serialises");
        prop_assert_eq!(decode_server_frame(&json), Ok(frame));
    }

    #[test]
    fn client_frames_round_trip(frame in client_frame()) {
        let json = serde_json::to_string(&frame).expect("serialises");
        prop_assert_eq!(decode_client_frame(&json, usize::MAX), Ok(frame));
    }

    #[test]
    fn money_round_trips(m in money()) {
        let json = serde_json::to_string(&m).expect("serialises");
        prop_assert_eq!(serde_json::from_str::<Money>(&json).expect("decodes"), m);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = decode_client_frame(&s, 16 * 1024);
        let _ = decode_server_frame(&s);
    }

    #[test]
    fn mangled_frames_give_typed_errors(frame in client_frame(), cut in 0usize..64) {
        let json = serde_json::to_string(&frame).expect("serialises");
        let cut = cut.min(json.chars().count().saturating_sub(1));
        let truncated: String = json.chars().take(cut).collect();
        prop_assert!(decode_client_frame(&truncated, usize::MAX).is_err());
    }
}

#[test]
fn each_bad_input_has_its_own_error() {
    let max = 16 * 1024;
    assert!(matches!(
        decode_client_frame("{not json", max),
        Err(DecodeError::Malformed(_))
    ));
    assert_eq!(
        decode_client_frame(r#"{"text":"hi"}"#, max),
        Err(DecodeError::MissingType)
    );
    assert_eq!(
        decode_client_frame(r#"{"type":"teleport"}"#, max),
        Err(DecodeError::UnknownType("teleport".into()))
    );
    let invalid = decode_client_frame(r#"{"type":"like","count":"many"}"#, max);
    assert!(
        matches!(invalid, Err(DecodeError::Invalid { ref kind, .. }) if kind == "like"),
        "{invalid:?}"
    );
    // Unknown fields in a client frame are refused, not silently dropped.
    assert!(matches!(
        decode_client_frame(r#"{"type":"chat","text":"hi","colour":"red"}"#, max),
        Err(DecodeError::Invalid { .. })
    ));
    let big = format!(r#"{{"type":"chat","text":"{}"}}"#, "a".repeat(max));
    assert_eq!(
        decode_client_frame(&big, max),
        Err(DecodeError::TooLarge {
            size: big.len(),
            max
        })
    );
}

#[test]
fn unknown_error_codes_from_a_newer_server_still_decode() {
    let frame = decode_server_frame(r#"{"type":"error","code":"quantum_flux","message":"?"}"#)
        .expect("decodes");
    assert!(matches!(
        frame,
        ServerFrame::Error {
            code: ErrorCode::Unknown,
            ..
        }
    ));
}

#[test]
fn stream_protocols_a_newer_server_names_still_decode() {
    use livecart_protocol::rest::{StreamProtocol, StreamUrl};
    let s: StreamUrl = serde_json::from_str(r#"{"protocol":"moq","url":"https://example.com/r"}"#)
        .expect("decodes");
    assert_eq!(
        s.protocol,
        StreamProtocol::Other,
        "played by nobody, not an error"
    );
    let s: StreamUrl =
        serde_json::from_str(r#"{"protocol":"access_units","url":"ws://h/live/r/au"}"#)
            .expect("decodes");
    assert_eq!(s.protocol, StreamProtocol::AccessUnits);
}

#[test]
fn event_frames_carry_seq_epoch_and_time_at_the_top() {
    let frame = ServerFrame::Event {
        seq: 7,
        epoch: Epoch(Uuid::nil()),
        at: Timestamp::UNIX_EPOCH,
        event: RoomEvent::Likes {
            added: 3,
            total: 10,
        },
    };
    let v: serde_json::Value = serde_json::to_value(&frame).expect("serialises");
    assert_eq!(v["type"], "event");
    assert_eq!(v["seq"], 7);
    assert_eq!(v["event"]["type"], "likes");
    assert_eq!(v["at"], "1970-01-01T00:00:00Z");
}
