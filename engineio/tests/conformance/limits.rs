//! engine.io 6.6.13's polling limits (`maxBufferedChunks`,
//! `httpRequestBodyTimeout`, the body limit in raw bytes), CORS with
//! `origin: "*"`, and JSONP polling (`j=`).

use super::*;

/// Opens a polling session on a server with any heartbeat; returns the sid.
async fn open_any(base: &str) -> String {
    let resp = get(base, "EIO=4&transport=polling").await;
    assert_eq!(resp.status, 200, "handshake: {resp:?}");
    let json: Value = serde_json::from_str(resp.body.strip_prefix('0').expect("open packet"))
        .expect("handshake JSON");
    json["sid"].as_str().expect("sid").to_owned()
}

/// What became of a POST whose body was sent in pieces.
#[derive(Debug)]
struct Pieces {
    /// The answer, if one came before the connection ended.
    resp: Option<RawResp>,
    /// How many pieces had been written when the answer (or the end of the
    /// connection) came.
    written: usize,
}

/// POSTs a chunked body of `pieces` one-byte chunks (`4`, then `a`s) on a
/// fresh connection, one chunk per write with `pause` between them
/// (TCP_NODELAY, so each leaves as its own segment), then the final chunk
/// unless `finish` is false. The answer is read meanwhile: a server that
/// gives up early answers while the client is still writing.
async fn post_in_pieces(
    base: &str,
    sid: &str,
    pieces: usize,
    pause: Duration,
    finish: bool,
) -> Pieces {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let stream = TcpStream::connect(host_port(base)).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /engine.io/?{} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        sid_query(sid),
        host_port(base)
    );
    let written = AtomicUsize::new(0);
    let writer = async {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for i in 0..pieces {
            tokio::time::sleep(pause).await;
            let data = if i == 0 { "4" } else { "a" };
            if wr
                .write_all(format!("1\r\n{data}\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
            written.store(i + 1, Ordering::SeqCst);
        }
        if finish {
            let _ = wr.write_all(b"0\r\n\r\n").await;
        }
    };
    let reader = async {
        let mut first = [0u8; 1];
        // The answer's first byte; EOF or an error means none came.
        let answered = matches!(rd.peek(&mut first).await, Ok(n) if n > 0);
        let at = written.load(Ordering::SeqCst);
        let resp = if answered {
            Some(read_raw_response(&mut rd).await)
        } else {
            None
        };
        (resp, at)
    };
    // The writer ends first when the body is sent whole; the answer is
    // still awaited then.
    let (resp, at) = tokio::time::timeout(CASE_LIMIT, async {
        let (out, ()) = tokio::join!(reader, async {
            writer.await;
        });
        out
    })
    .await
    .expect("no answer to the POST");
    Pieces { resp, written: at }
}

/// A POST body in more than [`FEW_CHUNKS`] pieces: `413`, the session ends.
pub async fn post_over_max_chunks_ends_session(base: &str) {
    let sid = open_any(base).await;
    let pieces = 3 * FEW_CHUNKS as usize;
    let out = post_in_pieces(base, &sid, pieces, Duration::from_millis(3), true).await;
    let resp = out.resp.as_ref().expect("an answer to the POST");
    assert_eq!(resp.status, 413, "{out:?}");
    // The precondition: the server refused the body only after more than
    // FEW_CHUNKS pieces had left, not at once.
    assert!(
        out.written > FEW_CHUNKS as usize,
        "answered too early: {out:?}"
    );
    assert_session_unknown(base, &sid).await;
}

/// The control: the same body in fewer than [`FEW_CHUNKS`] pieces is
/// accepted and echoed.
pub async fn post_in_few_chunks_is_accepted(base: &str) {
    let sid = open_any(base).await;
    let pieces = FEW_CHUNKS as usize / 2;
    let out = post_in_pieces(base, &sid, pieces, Duration::from_millis(3), true).await;
    let resp = out.resp.as_ref().expect("an answer to the POST");
    assert_eq!(resp.status, 200, "{out:?}");
    assert_eq!(resp.body, b"ok");
    assert_eq!(out.written, pieces);
    let echo = format!("4{}", "a".repeat(pieces - 1));
    poll_expect(base, &sid, &[echo.as_str()]).await;
}

/// A body that stops half-way: `408` after `httpRequestBodyTimeout`, and
/// the session ends (the next GET gets code 1).
pub async fn post_body_timeout_ends_session(base: &str) {
    let sid = open_any(base).await;
    let started = Instant::now();
    let out = post_in_pieces(base, &sid, 3, Duration::from_millis(1), false).await;
    let waited = started.elapsed();
    let resp = out.resp.as_ref().expect("an answer to the stalled POST");
    assert_eq!(resp.status, 408, "{out:?}");
    assert!(
        waited >= Duration::from_millis(SHORT_BODY_TIMEOUT),
        "408 before the body timeout: {waited:?}"
    );
    assert_session_unknown(base, &sid).await;
}

/// The body limit counts raw bytes: `4` and 500,000 bytes of 0xFF fit in
/// 1,000,000, and come back as U+FFFD characters (engine.io 6.6.13).
pub async fn post_limit_counts_raw_bytes(base: &str) {
    let sid = open_polling(base).await;
    let mut body = vec![b'4'];
    body.extend(std::iter::repeat_n(0xFF, 500_000));
    let resp = http_client()
        .post(eio_url(base, &sid_query(&sid)))
        .header(reqwest::header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 200, "{resp:?}");
    assert_eq!(resp.text().await.expect("body"), "ok");
    let want = format!("4{}", "\u{fffd}".repeat(500_000));
    poll_expect(base, &sid, &[want.as_str()]).await;
}

/// A JSONP answer `___eio[<index>]("<payload>");`: the payload.
fn jsonp_payload(resp: &Resp, index: &str) -> String {
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(
        resp.content_type.as_deref(),
        Some("text/plain; charset=UTF-8"),
        "{resp:?}"
    );
    let call = resp
        .body
        .strip_prefix(&format!("___eio[{index}]("))
        .and_then(|r| r.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not a JSONP call for index {index}: {resp:?}"));
    serde_json::from_str::<String>(call).unwrap_or_else(|e| panic!("{e}: {resp:?}"))
}

/// A form POST on a JSONP session.
async fn jsonp_post(base: &str, sid: &str, form: &str) -> Resp {
    request(
        reqwest::Method::POST,
        base,
        &sid_query(sid),
        Some(form),
        Some("application/x-www-form-urlencoded"),
    )
    .await
}

/// JSONP: `j=` on the handshake (only its digits count) makes every answer
/// of the session a `___eio[N]("…");` call, and every POST a `d=` form in
/// which `\n` stands for a newline.
pub async fn jsonp_handshake_get_and_post(base: &str) {
    let resp = get(base, "EIO=4&transport=polling&j=a1b2").await;
    let open = parse_open(&jsonp_payload(&resp, "12"));
    let sid = open["sid"].as_str().expect("sid").to_owned();

    // `d=4a\nb%20c` sends the message "a<newline>b c"; the answer is a
    // JSONP call even without `j` on later requests.
    let resp = jsonp_post(base, &sid, r"d=4a\nb%20c").await;
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.body, "ok");
    let resp = get(base, &sid_query(&sid)).await;
    let payload = jsonp_payload(&resp, "12");
    let rest: Vec<&str> = packets(&payload)
        .into_iter()
        .filter(|p| *p != "2")
        .collect();
    assert_eq!(rest, ["4a\nb c"], "{resp:?}");
    if rest.len() != packets(&payload).len() {
        let _ = jsonp_post(base, &sid, "d=3").await;
    }
}

/// A JSONP POST without a `d` field is answered `ok` and ignored: the
/// session goes on.
pub async fn jsonp_post_without_d_is_ignored(base: &str) {
    let resp = get(base, "EIO=4&transport=polling&j=0").await;
    let sid = parse_open(&jsonp_payload(&resp, "0"))["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let resp = jsonp_post(base, &sid, "x=4nothing").await;
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.body, "ok");
    let resp = jsonp_post(base, &sid, "d=4after").await;
    assert_eq!(resp.status, 200, "{resp:?}");
    let resp = get(base, &sid_query(&sid)).await;
    let payload = jsonp_payload(&resp, "0");
    let rest: Vec<&str> = packets(&payload)
        .into_iter()
        .filter(|p| *p != "2")
        .collect();
    assert_eq!(rest, ["4after"], "{resp:?}");
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header"))
}

/// With every origin accepted: `Access-Control-Allow-Origin: *` and no
/// credentials, on handshakes and errors alike, with or without `Origin`.
pub async fn cors_any_is_star_without_credentials(base: &str) {
    for (query, status) in [
        ("EIO=4&transport=polling", 200),
        ("EIO=4&transport=nope", 400),
    ] {
        for origin in [Some("http://elsewhere.example"), None] {
            let mut req = http_client().get(eio_url(base, query));
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let resp = req.send().await.expect("GET");
            assert_eq!(resp.status(), status, "?{query} {origin:?}: {resp:?}");
            assert_eq!(
                header(&resp, "access-control-allow-origin"),
                Some("*"),
                "?{query} {origin:?}: {resp:?}"
            );
            assert_eq!(
                header(&resp, "access-control-allow-credentials"),
                None,
                "?{query} {origin:?}: {resp:?}"
            );
        }
    }
}

/// The preflight: `204`, origin `*`, `GET` and `POST` allowed, the
/// requested headers allowed, no credentials.
pub async fn cors_preflight_is_204(base: &str) {
    let resp = http_client()
        .request(
            reqwest::Method::OPTIONS,
            eio_url(base, "EIO=4&transport=polling"),
        )
        .header("origin", "http://elsewhere.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-custom")
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(resp.status(), 204, "{resp:?}");
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&resp, "access-control-allow-credentials"), None);
    let methods: Vec<&str> = header(&resp, "access-control-allow-methods")
        .expect("methods")
        .split(',')
        .map(str::trim)
        .collect();
    assert!(
        methods.contains(&"GET") && methods.contains(&"POST"),
        "{methods:?}"
    );
    assert_eq!(
        header(&resp, "access-control-allow-headers"),
        Some("content-type, x-custom")
    );
    let vary: Vec<&str> = resp
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().expect("vary"))
        .collect();
    assert!(
        vary.iter()
            .any(|v| v.contains("Access-Control-Request-Headers")),
        "{vary:?}"
    );
    assert!(resp.text().await.expect("body").is_empty());
}
