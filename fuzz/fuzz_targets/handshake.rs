//! The handshake side: query strings, session ids and `open` JSON.
#![no_main]
use engineio_proto::handshake::{EngineQuery, OpenData};
use engineio_proto::Sid;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let q = EngineQuery::parse(&s);
    if let Some(sid) = q.sid.as_deref().and_then(Sid::parse) {
        assert_eq!(sid.as_str().len(), Sid::LEN);
    }
    if let Ok(open) = OpenData::parse(&s) {
        assert_eq!(OpenData::parse(&open.to_text()).expect("re-parses"), open);
    }
});
