//! v4 polling payloads: decoding never panics, respects the byte limit, and
//! whatever decodes re-encodes to a payload that decodes to the same packets.
#![no_main]
use bytes::Bytes;
use engineio_proto::payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (limit, body) = match data.split_first() {
        Some((l, rest)) => (usize::from(*l) * 8, rest),
        None => (0, data),
    };
    match payload::decode(Bytes::copy_from_slice(body), limit) {
        Ok(packets) => {
            assert!(body.len() <= limit);
            let again = payload::encode(&packets);
            assert_eq!(payload::decode(again, usize::MAX).expect("re-decodes"), packets);
        }
        Err(_) => {}
    }
});
