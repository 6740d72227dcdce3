//! `eio serve` and `eio connect` driven as processes: the JSON-lines
//! contract, exit statuses, and the demo page in headless Chromium.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const EIO: &str = env!("CARGO_BIN_EXE_eio");

/// `eio serve --port 0 ...`, killed on drop.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let mut child = Command::new(EIO)
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn eio serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("a line").expect("utf-8");
        let start = first.find("http://").expect("URL in the first line");
        let url = first[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_owned();
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `eio connect`, with its stdout lines parsed as JSON.
struct Connect {
    child: Child,
    rx: mpsc::Receiver<String>,
}

impl Connect {
    fn start(args: &[&str]) -> Connect {
        Connect::start_with(args, Stdio::piped())
    }

    fn start_with(args: &[&str], stdin: Stdio) -> Connect {
        let mut child = Command::new(EIO)
            .arg("connect")
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn eio connect");
        let rx = lines(child.stdout.take().unwrap());
        Connect { child, rx }
    }

    fn next(&self) -> Value {
        let line = self
            .rx
            .recv_timeout(Duration::from_secs(20))
            .expect("an event line within 20 s");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Next event that is not an upgrade (which may or may not come first).
    fn next_skipping_upgrade(&self) -> Value {
        loop {
            let v = self.next();
            if v["event"] != "upgrade" {
                return v;
            }
        }
    }

    /// Waits for the exit, then returns everything it wrote to stderr.
    fn wait_with_stderr(mut self) -> (std::process::ExitStatus, String) {
        let mut stderr = self.child.stderr.take().unwrap();
        let status = self.wait_ref();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        (status, text)
    }

    fn wait(mut self) -> std::process::ExitStatus {
        self.wait_ref()
    }

    fn wait_ref(&mut self) -> std::process::ExitStatus {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("eio connect did not exit within 10 s");
    }
}

fn lines(out: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn connect_sends_text_and_binary_and_prints_json_lines() {
    let serve = Serve::start(&["--no-demo"]);
    let c = Connect::start(&[
        &serve.url,
        "--send",
        "hello",
        "--send-binary",
        "00ff10",
        "--exit-after",
        "2",
    ]);
    let connect = c.next();
    assert_eq!(connect["event"], "connect");
    assert_eq!(connect["transport"], "polling");
    assert_eq!(connect["sid"].as_str().unwrap().len(), 20);
    assert_eq!(
        c.next_skipping_upgrade(),
        serde_json::json!({"event":"message","type":"text","data":"hello"})
    );
    assert_eq!(
        c.next_skipping_upgrade(),
        serde_json::json!({"event":"message","type":"binary","data":"00ff10"})
    );
    assert_eq!(
        c.next_skipping_upgrade(),
        serde_json::json!({"event":"disconnect","reason":"client disconnect"})
    );
    assert!(c.wait().success());
}

/// In a script stdin is often closed from the start: `--exit-after` still
/// waits for its messages, over each transport.
#[test]
fn connect_with_stdin_at_eof_still_gets_its_replies() {
    let serve = Serve::start(&["--no-demo"]);
    for transports in ["polling", "websocket", "polling,websocket"] {
        let c = Connect::start_with(
            &[
                &serve.url,
                "--transports",
                transports,
                "--send",
                "hello",
                "--send-binary",
                "0102",
                "--exit-after",
                "2",
            ],
            Stdio::null(),
        );
        assert_eq!(c.next()["event"], "connect", "{transports}");
        let mut got = Vec::new();
        loop {
            let v = c.next_skipping_upgrade();
            if v["event"] == "disconnect" {
                assert_eq!(v["reason"], "client disconnect", "{transports}");
                break;
            }
            got.push(v["data"].clone());
        }
        assert_eq!(
            got,
            vec![Value::from("hello"), Value::from("0102")],
            "{transports}"
        );
        let (status, stderr) = c.wait_with_stderr();
        assert!(status.success());
        // A clean exit (here often while the upgrade is under way) is not
        // worth a warning, and stderr is not a terminal: no colour codes.
        assert!(!stderr.contains("WARN"), "{transports}: {stderr}");
        assert!(!stderr.contains('\x1b'), "{transports}: {stderr:?}");
    }
}

#[test]
fn connect_upgrades_to_websocket() {
    let serve = Serve::start(&["--no-demo"]);
    let c = Connect::start(&[&serve.url]);
    assert_eq!(c.next()["event"], "connect");
    assert_eq!(
        c.next(),
        serde_json::json!({"event":"upgrade","transport":"websocket"})
    );
    drop(c);
}

#[test]
fn connect_websocket_only_and_stdin_lines_then_eof() {
    let serve = Serve::start(&["--no-demo"]);
    let mut c = Connect::start(&[&serve.url, "--transports", "websocket"]);
    let connect = c.next();
    assert_eq!(connect["event"], "connect");
    assert_eq!(connect["transport"], "websocket");
    let mut stdin = c.child.stdin.take().unwrap();
    writeln!(stdin, "first line").unwrap();
    writeln!(stdin, "second line").unwrap();
    stdin.flush().unwrap();
    assert_eq!(c.next()["data"], "first line");
    assert_eq!(c.next()["data"], "second line");
    drop(stdin); // EOF: a clean disconnect
    assert_eq!(
        c.next(),
        serde_json::json!({"event":"disconnect","reason":"client disconnect"})
    );
    assert!(c.wait().success());
}

#[test]
fn connect_to_a_closed_port_is_an_error_exit() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Connect::start(&[&format!("http://127.0.0.1:{port}")]);
    let ev = c.next();
    assert_eq!(ev["event"], "error", "{ev}");
    assert!(!ev["message"].as_str().unwrap().is_empty());
    assert!(!c.wait().success());
}

#[test]
fn connect_to_an_unknown_host_is_an_error_exit() {
    let c = Connect::start(&["http://no-such-host.invalid:5000", "--timeout", "3"]);
    let ev = c.next();
    assert_eq!(ev["event"], "error", "{ev}");
    assert!(!c.wait().success());
}

#[test]
fn connect_rejects_an_invalid_url() {
    let c = Connect::start(&["ftp://127.0.0.1:1/"]);
    assert_eq!(c.next()["event"], "error");
    assert!(!c.wait().success());
}

#[test]
fn serve_serves_the_demo_page_and_the_npm_client() {
    let serve = Serve::start(&[]);
    let page = http_get(&format!("{}/", serve.url));
    assert!(page.contains("Engine.IO latency"), "{page}");
    assert!(page.contains("engine.io.js"));
    let js = http_get(&format!("{}/engine.io.js", serve.url));
    assert!(
        js.contains("Engine.IO v6"),
        "the npm engine.io-client is served (install: npm ci --prefix eio/demo)"
    );
}

#[test]
fn serve_without_demo_answers_404_at_root() {
    let serve = Serve::start(&["--no-demo"]);
    let (status, _) = http_get_status(&format!("{}/", serve.url));
    assert_eq!(status, 404);
}

#[test]
fn bench_against_serve_reports_numbers() {
    let serve = Serve::start(&["--no-demo"]);
    let v = bench_json(&serve.url, &["--connections", "4", "--duration", "5"]);
    assert_eq!(v["connections"], 4);
    assert_eq!(v["errors"], 0);
    assert!(v["messages_per_sec"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["p99_ms"].as_f64().unwrap() >= v["p50_ms"].as_f64().unwrap());
    assert!(v["client_cpu_us_per_msg"].as_f64().unwrap() > 0.0);
    let d = v["duration_s"].as_f64().unwrap();
    assert!((4.9..6.0).contains(&d), "{v}");
}

/// `eio bench --mode broadcast`: `eio serve` answers `broadcast:<N>` by
/// sending N bytes to every session, and every session gets exactly one
/// copy per round.
#[test]
fn bench_broadcast_against_serve() {
    let serve = Serve::start(&["--no-demo"]);
    let v = bench_json(
        &serve.url,
        &[
            "--mode",
            "broadcast",
            "--connections",
            "50",
            "--size",
            "64",
            "--rounds",
            "3",
        ],
    );
    assert_eq!(v["connections"], 50, "{v}");
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(v["messages_received"], 150, "{v}");
    assert_eq!(v["rounds"].as_array().unwrap().len(), 3, "{v}");
    let (min, med, max) = (
        v["round_min_ms"].as_f64().unwrap(),
        v["round_median_ms"].as_f64().unwrap(),
        v["round_max_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= med && med <= max, "{v}");
}

/// Headless Chromium loads the demo page, connects with the npm
/// engine.io-client, and gets latency samples. Needs Debian's chromium and
/// `npm ci --prefix eio/tests/browser` (both done by scripts/test.sh).
#[test]
fn demo_page_in_headless_chromium() {
    let serve = Serve::start(&[]);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "run `npm ci --prefix eio/tests/browser` (scripts/test.sh does)"
    );
    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/demo-latency.png");
    let out = Command::new("node")
        .arg(dir.join("latency.mjs"))
        .arg(format!("{}/", serve.url))
        .arg(&shot)
        .current_dir(&dir)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
    assert_eq!(v["state"], "connected");
    assert!(v["samples"].as_u64().unwrap() >= 5, "{v}");
    assert!(shot.exists());
}

#[test]
fn serve_static_cors_and_cookie_options() {
    let dir = std::env::temp_dir().join(format!("eio-cli-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), "static hello").unwrap();
    let dir_arg = format!("/files={}/", dir.display());
    let serve = Serve::start(&[
        "--no-demo",
        "--static",
        &dir_arg,
        "--cors",
        "http://allowed.example",
        "--cookie",
        "io",
    ]);
    let (status, head, body) = http_request(&format!("{}/files/hello.txt", serve.url), &[]);
    assert_eq!((status, body.as_str()), (200, "static hello"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );

    let handshake = format!("{}/engine.io/?EIO=4&transport=polling", serve.url);
    let (status, head, body) = http_request(&handshake, &["Origin: http://allowed.example"]);
    assert_eq!(status, 200, "{body}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("access-control-allow-origin: http://allowed.example"),
        "{head}"
    );
    assert!(lower.contains("set-cookie: io="), "{head}");
    let (status, _, body) = http_request(&handshake, &["Origin: http://evil.example"]);
    assert_eq!(status, 400);
    assert_eq!(body, r#"{"code":3,"message":"Bad request"}"#);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `eio bench URL ARGS --json`, which must succeed; its JSON output.
fn bench_json(url: &str, args: &[&str]) -> Value {
    let out = Command::new(EIO)
        .arg("bench")
        .arg(url)
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn http_get(url: &str) -> String {
    let (status, body) = http_get_status(url);
    assert_eq!(status, 200, "GET {url}");
    body
}

fn http_get_status(url: &str) -> (u16, String) {
    let (status, _, body) = http_request(url, &[]);
    (status, body)
}

/// A minimal HTTP/1.0 GET over a std socket (no client dependency):
/// status, response head, body.
fn http_request(url: &str, headers: &[&str]) -> (u16, String, String) {
    use std::io::Read;
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n{extra}\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_owned(), body.to_owned())
}
