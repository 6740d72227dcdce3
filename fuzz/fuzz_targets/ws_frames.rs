//! WebSocket framing: any bytes, in any split, never panic the decoder of
//! either end (a server's, decoding masked frames, and a client's, with a
//! fragment limit, decoding unmasked ones); it
//! never holds more than the size limit of one message, and a whole input
//! gives the same messages (or the same error) however it is split.
#![no_main]
use bytes::BytesMut;
use engineio_proto::ws::{MessageDecoder, WsError, WsMessage};
use libfuzzer_sys::fuzz_target;

fn decode(chunks: &[&[u8]], max: usize, client: bool) -> (Vec<WsMessage>, Option<WsError>) {
    let mut d = if client {
        MessageDecoder::client(max).with_max_fragments(4)
    } else {
        MessageDecoder::new(max)
    };
    let mut input = BytesMut::new();
    let mut out = Vec::new();
    for c in chunks {
        input.extend_from_slice(c);
        loop {
            match d.decode(&mut input) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, body)) = data.split_first() else {
        return;
    };
    let max = usize::from(head) * 4;
    let cut = usize::from(head % 13) + 1;
    let pieces: Vec<&[u8]> = body.chunks(cut).collect();
    for client in [false, true] {
        let whole = decode(&[body], max, client);
        let split = decode(&pieces, max, client);
        assert_eq!(whole, split);
        for m in &whole.0 {
            if let WsMessage::Text(b) | WsMessage::Binary(b) = m {
                assert!(b.len() <= max);
            }
            if let WsMessage::Text(b) = m {
                assert!(std::str::from_utf8(b).is_ok());
            }
        }
    }
});
