//! An FLV stream from a host's encoder (any server a stream URL names), in
//! any chunking. The reader never panics; chunking never changes the tags it
//! finds; and what a new viewer is handed is a whole FLV stream: the header
//! and complete tags, nothing cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livecart_media::flv::{FlvHub, FlvReader};

fuzz_target!(|data: &[u8]| {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);

    // All at once…
    let mut whole = FlvReader::default();
    let at_once = whole.push(stream);

    // …and in pieces of `step` bytes, through the hub viewers subscribe to.
    let hub = FlvHub::new(16);
    let mut pieces = FlvReader::default();
    let mut tags = Vec::new();
    let mut header = None;
    let mut failed = false;
    for chunk in stream.chunks(step) {
        match pieces.push(chunk) {
            Ok((h, t)) => {
                header = header.or(h);
                tags.extend(t);
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
        if hub.push(chunk).is_err() {
            break;
        }
    }
    match at_once {
        Ok((h, t)) if !failed => {
            assert_eq!(h, header, "the header does not depend on chunking");
            let a: Vec<_> = t.iter().map(|t| t.bytes.clone()).collect();
            let b: Vec<_> = tags.iter().map(|t| t.bytes.clone()).collect();
            assert_eq!(a, b, "the tags do not depend on chunking");
        }
        _ => {}
    }

    if let Some((start, _live)) = hub.subscribe() {
        let mut viewer = FlvReader::default();
        let (h, _tags) = viewer
            .push(&start)
            .expect("a new viewer's start parses as FLV");
        assert!(
            h.is_some(),
            "a new viewer's start begins with the FLV header"
        );
        assert_eq!(
            viewer.pending(),
            0,
            "a new viewer's start ends on a tag boundary"
        );
    }
});
