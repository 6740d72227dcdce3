//! gzip/deflate for polling responses: python-engineio's `http_compression`
//! and `compression_threshold`.
//!
//! Pure: bytes in, bytes out. Whether compression is on at all, and the
//! `Content-Encoding`/`Vary` headers, are the server's business.

use std::io::Write;

use bytes::Bytes;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use http::HeaderValue;

/// A content coding this module can apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `gzip` (RFC 1952).
    Gzip,
    /// `deflate`, which HTTP defines as the zlib format (RFC 1950), not raw
    /// deflate; browsers and python's `zlib.compress` agree.
    Deflate,
}

impl Encoding {
    /// The `Content-Encoding` token.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
        }
    }
}

/// The coding to use for a client's `Accept-Encoding`: the first of `gzip` or
/// `deflate` it lists (python's rule: list order, not q-value order), skipping
/// any listed with `q=0`, which means "not acceptable". `*` is not expanded,
/// as in python. Tokens compare case-insensitively.
pub(crate) fn negotiate(accept_encoding: Option<&HeaderValue>) -> Option<Encoding> {
    let header = accept_encoding?.to_str().ok()?;
    header.split(',').find_map(|item| {
        let mut parts = item.split(';');
        let coding = parts.next()?.trim();
        let encoding = if coding.eq_ignore_ascii_case("gzip") {
            Encoding::Gzip
        } else if coding.eq_ignore_ascii_case("deflate") {
            Encoding::Deflate
        } else {
            return None;
        };
        let refused = parts.any(|param| {
            param.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("q")
                    && v.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
            })
        });
        (!refused).then_some(encoding)
    })
}

/// Compresses `body` for a client sending `accept_encoding`, if it is at least
/// `threshold` bytes long (python: `len(body) >= compression_threshold`) and
/// the client accepts gzip or deflate (see [`negotiate`]).
///
/// Returns the body to send and the `Content-Encoding` to declare; when
/// nothing is compressed, `body` itself comes back, uncopied.
pub(crate) fn compress(
    body: Bytes,
    accept_encoding: Option<&HeaderValue>,
    threshold: usize,
) -> (Bytes, Option<&'static str>) {
    if body.len() < threshold {
        return (body, None);
    }
    match negotiate(accept_encoding) {
        None => (body, None),
        Some(encoding) => (encode(&body, encoding), Some(encoding.as_str())),
    }
}

/// `body` in the `encoding` format, at flate2's default level.
pub(crate) fn encode(body: &[u8], encoding: Encoding) -> Bytes {
    // Writes into a Vec cannot fail.
    const VEC_WRITE: &str = "writing to a Vec never fails";
    let out = Vec::with_capacity(body.len() / 2 + 32);
    let out = match encoding {
        Encoding::Gzip => {
            let mut e = GzEncoder::new(out, Compression::default());
            e.write_all(body).expect(VEC_WRITE);
            e.finish().expect(VEC_WRITE)
        }
        Encoding::Deflate => {
            let mut e = ZlibEncoder::new(out, Compression::default());
            e.write_all(body).expect(VEC_WRITE);
            e.finish().expect(VEC_WRITE)
        }
    };
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::{GzDecoder, ZlibDecoder};
    use std::io::Read;

    fn decode(body: &[u8], encoding: &str) -> Vec<u8> {
        let mut out = Vec::new();
        match encoding {
            "gzip" => GzDecoder::new(body).read_to_end(&mut out).unwrap(),
            "deflate" => ZlibDecoder::new(body).read_to_end(&mut out).unwrap(),
            other => panic!("unexpected encoding {other}"),
        };
        out
    }

    #[test]
    fn negotiate_table() {
        let cases: &[(Option<&str>, Option<Encoding>)] = &[
            (None, None),
            (Some(""), None),
            (Some("identity"), None),
            (Some("br"), None),
            (Some("*"), None),
            (Some("gzip"), Some(Encoding::Gzip)),
            (Some("deflate"), Some(Encoding::Deflate)),
            (Some("GZip"), Some(Encoding::Gzip)),
            // list order wins, as in python
            (Some("gzip, deflate"), Some(Encoding::Gzip)),
            (Some("deflate, gzip"), Some(Encoding::Deflate)),
            (Some("br, deflate;q=0.5, gzip"), Some(Encoding::Deflate)),
            (Some("gzip, deflate, br, zstd"), Some(Encoding::Gzip)),
            // q=0 is a refusal
            (Some("gzip;q=0, deflate"), Some(Encoding::Deflate)),
            (Some("gzip; q=0.0 ,deflate"), Some(Encoding::Deflate)),
            (Some("gzip;Q=0.000"), None),
            (Some("gzip;q=0, deflate;q=0"), None),
            (Some("gzip;q=0.001"), Some(Encoding::Gzip)),
            // an unreadable q is ignored
            (Some("gzip;q=abc"), Some(Encoding::Gzip)),
            (Some(" gzip ; level=1 "), Some(Encoding::Gzip)),
            (Some("x-gzip, gzipx"), None),
        ];
        for (header, want) in cases {
            let value = header.map(|h| HeaderValue::from_str(h).unwrap());
            assert_eq!(negotiate(value.as_ref()), *want, "{header:?}");
        }
    }

    #[test]
    fn below_threshold_is_untouched_and_uncopied() {
        let body = Bytes::from(vec![b'a'; 1023]);
        let ptr = body.as_ptr();
        let gzip = HeaderValue::from_static("gzip");
        let (out, enc) = compress(body, Some(&gzip), 1024);
        assert_eq!(enc, None);
        assert_eq!(out.len(), 1023);
        assert_eq!(out.as_ptr(), ptr, "no copy on the fast path");
    }

    #[test]
    fn not_accepted_is_untouched_and_uncopied() {
        for header in [None, Some(HeaderValue::from_static("br, gzip;q=0"))] {
            let body = Bytes::from(vec![b'a'; 4096]);
            let ptr = body.as_ptr();
            let (out, enc) = compress(body, header.as_ref(), 1024);
            assert_eq!((enc, out.as_ptr()), (None, ptr));
        }
    }

    #[test]
    fn at_and_above_threshold_round_trip() {
        let payload: Vec<u8> = b"4hello engine.io \xe2\x9c\x93\x1e"
            .iter()
            .copied()
            .cycle()
            .take(5000)
            .collect();
        for (header, want) in [
            ("gzip, deflate", "gzip"),
            ("deflate, gzip", "deflate"),
            ("gzip;q=0, deflate", "deflate"),
        ] {
            for threshold in [0, 1024, 5000] {
                let accept = HeaderValue::from_static(header);
                let (out, enc) = compress(Bytes::from(payload.clone()), Some(&accept), threshold);
                assert_eq!(enc, Some(want), "{header} threshold {threshold}");
                assert!(out.len() < payload.len(), "repetitive data shrinks");
                assert_eq!(decode(&out, want), payload);
            }
        }
    }

    #[test]
    fn formats_are_gzip_and_zlib() {
        let gz = encode(b"x", Encoding::Gzip);
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
        let z = encode(b"x", Encoding::Deflate);
        // zlib header: CM=8 and (CMF*256 + FLG) % 31 == 0
        assert_eq!(z[0] & 0x0f, 8);
        assert_eq!((u16::from(z[0]) * 256 + u16::from(z[1])) % 31, 0);
        assert_eq!(decode(&encode(b"", Encoding::Deflate), "deflate"), b"");
    }
}
