//! Single packets: the text form (WebSocket text frames, payload segments)
//! and the WebSocket frame encoding round trip.
#![no_main]
use bytes::Bytes;
use engineio_proto::Packet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::decode_text(Bytes::copy_from_slice(data)) {
        // Whatever decodes re-encodes to the same bytes, except that close,
        // upgrade and noop carry no data (trailing bytes are ignored, as in
        // engine.io-parser).
        let (binary, frame) = p.to_ws_frame();
        assert!(!binary);
        match p {
            Packet::Close | Packet::Upgrade | Packet::Noop => assert_eq!(&frame[..], &data[..1]),
            _ => assert_eq!(&frame[..], data),
        }
    }
    let _ = Packet::decode_binary_frame(Bytes::copy_from_slice(data));
});
