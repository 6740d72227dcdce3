//! Static file rules: python-engineio's `static_files` (WSGIApp/ASGIApp).
//!
//! [`StaticFiles::resolve`] maps a URL path to a local file without touching
//! the filesystem; [`StaticFiles::serve`] opens it with tower-http's
//! `ServeFile` (which brings `HEAD`, ranges and `Last-Modified` along) and
//! says "not mine" (`None`) whenever the request should go on to the inner
//! service instead.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use tower::ServiceExt;
use tower_http::services::ServeFile;

/// The body of a static file answer.
pub(crate) type StaticBody = UnsyncBoxBody<Bytes, io::Error>;

/// The file served for URLs ending in `/` when no [`StaticFiles::index`] is set.
const DEFAULT_INDEX: &str = "index.html";

/// One rule's target: a local path and, optionally, a fixed content type.
#[derive(Clone, Debug)]
struct Target {
    path: PathBuf,
    content_type: Option<HeaderValue>,
}

impl Target {
    fn new(path: PathBuf, content_type: Option<HeaderValue>) -> Self {
        Self { path, content_type }
    }
}

/// Static file rules with python-engineio's semantics, checked after the
/// Engine.IO path and before the inner service.
///
/// - [`file`](Self::file): an exact URL serves one file.
/// - [`dir`](Self::dir): a URL prefix serves a directory, the rest of the URL
///   appended to the directory path (`/static` → `./public` makes
///   `/static/css/a.css` serve `./public/css/a.css`). The longest matching
///   prefix wins; exact file rules win over directories.
/// - A URL ending in `/` gets the [`index`](Self::index) file appended
///   (python's `''` rule; `index.html` by default), and that rule's content
///   type if it has one.
/// - Content types come from the final file's extension: `css` text/css,
///   `gif` image/gif, `html` text/html, `jpg` image/jpeg, `js`
///   application/javascript, `json` application/json, `png` image/png, `txt`
///   text/plain, anything else application/octet-stream — unless the rule
///   (or the index rule) gives one explicitly.
/// - URLs are percent-decoded first; a `..` segment (or any segment that is
///   not a plain file name, such as one holding `\`) matches nothing, so a
///   directory rule never escapes its directory.
/// - A missing file, a non-`GET`/`HEAD` request and a directory URL that
///   already ends in `/` without an index file fall through to the inner
///   service. A directory URL *without* its trailing slash (python crashes
///   there with `IsADirectoryError`) is redirected with `307` to the same URL
///   plus `/`, like tower-http's `ServeDir`.
///
/// As in python, static serving is meant for development: no caching
/// headers beyond `Last-Modified`, no compression.
#[derive(Clone, Debug, Default)]
pub struct StaticFiles {
    /// Exact URL → file.
    files: HashMap<String, Target>,
    /// URL prefix without its trailing `/` (`""` for the root) → directory.
    dirs: HashMap<String, Target>,
    /// Python's `''` rule.
    index: Option<Target>,
}

impl StaticFiles {
    /// No rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `path` at exactly `url` (a leading `/` is added if missing).
    /// `url` `""` sets the index file instead, as python's `''` key does.
    #[must_use]
    pub fn file(self, url: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.add_file(url.into(), Target::new(path.into(), None))
    }

    /// Serves the directory `path` under the URL prefix `url` (with or
    /// without a trailing `/`; `"/"` serves the whole site).
    #[must_use]
    pub fn dir(self, url: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.add_dir(url.into(), Target::new(path.into(), None))
    }

    /// The file name appended to URLs ending in `/` (python's `''` rule),
    /// relative to the directory the URL resolves to. Default `index.html`.
    #[must_use]
    pub fn index(mut self, file_name: impl Into<PathBuf>) -> Self {
        self.index = Some(Target::new(file_name.into(), None));
        self
    }

    /// [`file`](Self::file) with an explicit content type (python's
    /// `{'filename': …, 'content_type': …}`). The type is a
    /// [`HeaderValue`], so an invalid one is caught where it is made, not
    /// here:
    ///
    /// ```
    /// use engineio::server::StaticFiles;
    /// use http::HeaderValue;
    ///
    /// let files = StaticFiles::new()
    ///     .file_with_type("/notes", "notes.txt", HeaderValue::from_static("text/plain; charset=utf-8"));
    /// assert!(HeaderValue::from_str("text/plain\r\n").is_err());
    /// # let _ = files;
    /// ```
    #[must_use]
    pub fn file_with_type(
        self,
        url: impl Into<String>,
        path: impl Into<PathBuf>,
        content_type: HeaderValue,
    ) -> Self {
        self.add_file(url.into(), Target::new(path.into(), Some(content_type)))
    }

    /// [`dir`](Self::dir) with one content type for every file in it.
    #[must_use]
    pub fn dir_with_type(
        self,
        url: impl Into<String>,
        path: impl Into<PathBuf>,
        content_type: HeaderValue,
    ) -> Self {
        self.add_dir(url.into(), Target::new(path.into(), Some(content_type)))
    }

    /// [`index`](Self::index) with an explicit content type.
    #[must_use]
    pub fn index_with_type(
        mut self,
        file_name: impl Into<PathBuf>,
        content_type: HeaderValue,
    ) -> Self {
        self.index = Some(Target::new(file_name.into(), Some(content_type)));
        self
    }

    /// `true` when no file or directory rule is set.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dirs.is_empty()
    }

    fn add_file(mut self, url: String, target: Target) -> Self {
        if url.is_empty() {
            self.index = Some(target);
        } else {
            self.files.insert(with_leading_slash(url), target);
        }
        self
    }

    fn add_dir(mut self, url: String, target: Target) -> Self {
        let url = with_leading_slash(url);
        let prefix = url.trim_end_matches('/').to_owned();
        self.dirs.insert(prefix, target);
        self
    }

    /// The local file and content type for a request path (raw, as in the
    /// URI; percent-decoded here), or `None` when no rule matches or the path
    /// tries to leave a directory. Pure: the file may not exist, and for a
    /// directory rule's own URL the directory itself is returned.
    pub(crate) fn resolve(&self, raw_path: &str) -> Option<(PathBuf, HeaderValue)> {
        let decoded = percent_decode(raw_path)?;
        let path: &str = &decoded;
        if let Some(target) = self.files.get(path) {
            // A file rule naming a directory with a trailing slash gets the
            // index, as in python (`'/': 'public/'`).
            let names_dir = target.path.as_os_str().to_string_lossy().ends_with('/');
            return Some(self.finish(target.path.clone(), &target.content_type, names_dir));
        }
        let mut prefix = path;
        loop {
            if let Some(target) = self.dirs.get(prefix) {
                let rest = &path[prefix.len()..];
                let mut file = target.path.clone();
                for segment in rest.split('/') {
                    if segment.is_empty() || segment == "." {
                        continue;
                    }
                    if !is_plain_name(segment) {
                        return None;
                    }
                    file.push(segment);
                }
                return Some(self.finish(file, &target.content_type, rest.ends_with('/')));
            }
            prefix = &prefix[..prefix.rfind('/')?];
        }
    }

    /// Appends the index when the URL named a directory, then picks the
    /// content type: the index rule's, the matched rule's, the extension's.
    fn finish(
        &self,
        mut file: PathBuf,
        content_type: &Option<HeaderValue>,
        add_index: bool,
    ) -> (PathBuf, HeaderValue) {
        let mut content_type = content_type.clone();
        if add_index {
            match &self.index {
                Some(index) => {
                    file.push(&index.path);
                    if index.content_type.is_some() {
                        content_type.clone_from(&index.content_type);
                    }
                }
                None => file.push(DEFAULT_INDEX),
            }
        }
        let content_type =
            content_type.unwrap_or_else(|| HeaderValue::from_static(content_type_for(&file)));
        (file, content_type)
    }

    /// Whether some rule matches `raw_path` (cheap and synchronous; the file
    /// may still be missing, in which case [`serve`](Self::serve) yields `None`).
    pub(crate) fn matches(&self, raw_path: &str) -> bool {
        self.resolve(raw_path).is_some()
    }

    /// Serves the file `req` resolves to, or yields `None` to let the request
    /// fall through to the inner service: no rule matched, the method is not
    /// `GET` or `HEAD`, the file does not exist, or the URL names a directory
    /// and already ends in `/`. A directory URL without its trailing slash is
    /// answered `307 Temporary Redirect` to the URL with the slash (a
    /// relative `Location`, so it also works behind a path-stripping router).
    ///
    /// Everything needed is copied out of `req` before returning, so the
    /// future is `Send + 'static` whatever the body type, and the caller keeps
    /// `req` to pass on when the answer is `None`.
    pub(crate) fn serve<B>(&self, req: &Request<B>) -> StaticFuture {
        let resolved = if req.method() == Method::GET || req.method() == Method::HEAD {
            self.resolve(req.uri().path())
        } else {
            None
        };
        let Some((file, content_type)) = resolved else {
            return Box::pin(std::future::ready(None));
        };
        // ServeFile reads the method and the conditional/range headers only.
        let mut head = Request::new(());
        *head.method_mut() = req.method().clone();
        *head.uri_mut() = req.uri().clone();
        *head.version_mut() = req.version();
        *head.headers_mut() = req.headers().clone();
        Box::pin(serve_file(head, file, content_type))
    }
}

/// The future [`StaticFiles::serve`] returns.
pub(crate) type StaticFuture =
    Pin<Box<dyn Future<Output = Option<Response<StaticBody>>> + Send + 'static>>;

async fn serve_file(
    head: Request<()>,
    file: PathBuf,
    content_type: HeaderValue,
) -> Option<Response<StaticBody>> {
    let meta = tokio::fs::metadata(&file).await.ok()?;
    if meta.is_dir() {
        return (!head.uri().path().ends_with('/')).then(|| redirect_to_slash(&head));
    }
    let res = match ServeFile::new(&file).oneshot(head).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    if res.status() == StatusCode::NOT_FOUND {
        // Removed between the metadata check and the open.
        return None;
    }
    let (mut parts, body) = res.into_parts();
    if parts.status.is_success() {
        parts.headers.insert(CONTENT_TYPE, content_type);
    }
    Some(Response::from_parts(parts, body.boxed_unsync()))
}

/// `307` to the request's own URL plus `/`, as a relative reference.
fn redirect_to_slash<B>(req: &Request<B>) -> Response<StaticBody> {
    let path = req.uri().path();
    let last = &path[path.rfind('/').map_or(0, |i| i + 1)..];
    let mut location = format!("{last}/");
    if last.is_empty() || last.contains(':') {
        // `./` keeps an empty or colon-holding segment from reading as a scheme.
        location.insert_str(0, "./");
    }
    if let Some(query) = req.uri().query() {
        location.push('?');
        location.push_str(query);
    }
    let mut res = Response::new(Empty::new().map_err(|never| match never {}).boxed_unsync());
    *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    // The path and query came from a valid URI, so they are valid header text.
    if let Ok(location) = HeaderValue::try_from(location) {
        res.headers_mut().insert(LOCATION, location);
    }
    res
}

fn with_leading_slash(url: String) -> String {
    if url.starts_with('/') {
        url
    } else {
        format!("/{url}")
    }
}

/// A single ordinary path component: not `..`, no separator of any platform,
/// no drive prefix, no NUL.
fn is_plain_name(segment: &str) -> bool {
    if segment.contains(['\\', '\0']) {
        return false;
    }
    let mut components = Path::new(segment).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    )
}

/// python-engineio's content type table, by extension (ASCII-case-insensitive).
fn content_type_for(file: &Path) -> &'static str {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "css" => "text/css",
        "gif" => "image/gif",
        "html" => "text/html",
        "jpg" => "image/jpeg",
        "js" => "application/javascript",
        "json" => "application/json",
        "png" => "image/png",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Decodes `%XX` escapes with the `percent-encoding` crate (a `%` not
/// followed by two hex digits stays as is, `+` stays `+`); `None` if the
/// result is not UTF-8 or holds a NUL. Borrows when nothing is escaped.
///
/// Not `engineio_proto::handshake::percent_decode`, which is for query
/// values and replaces invalid UTF-8: a path must be refused instead, or
/// two different URLs could name one file.
fn percent_decode(raw: &str) -> Option<Cow<'_, str>> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    (!decoded.contains('\0')).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A unique directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let dir = std::env::temp_dir().join(format!(
                "engineio-static-{}-{}-{nanos}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn write(&self, rel: &str, contents: &str) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, contents).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn resolved(sf: &StaticFiles, path: &str) -> Option<(String, String)> {
        sf.resolve(path).map(|(p, ct)| {
            (
                p.to_string_lossy().replace('\\', "/"),
                ct.to_str().unwrap().to_owned(),
            )
        })
    }

    fn some(path: &str, ct: &str) -> Option<(String, String)> {
        Some((path.to_owned(), ct.to_owned()))
    }

    /// python's test_middleware.test_static_files rules, on made-up paths.
    fn python_rules() -> StaticFiles {
        StaticFiles::new()
            .file("/", "root/index.html")
            .file_with_type(
                "/foo",
                "root/index.html",
                HeaderValue::from_static("text/plain"),
            )
            .dir("/static", "root")
            .dir("/static/test/", "root/")
    }

    #[test]
    fn resolve_table_like_python() {
        let sf = python_rules();
        let cases: &[(&str, Option<(String, String)>)] = &[
            ("/", some("root/index.html", "text/html")),
            ("/foo", some("root/index.html", "text/plain")),
            ("/static/index.html", some("root/index.html", "text/html")),
            (
                "/static/foo.bar",
                some("root/foo.bar", "application/octet-stream"),
            ),
            (
                "/static/test/index.html",
                some("root/index.html", "text/html"),
            ),
            ("/static/test/", some("root/index.html", "text/html")),
            ("/static/", some("root/index.html", "text/html")),
            ("/static/a/b/c.css", some("root/a/b/c.css", "text/css")),
            ("/bar/foo", None),
            ("", None),
            ("/foo/", None),
            // the directory rule's own URL resolves to the directory itself
            ("/static", some("root", "application/octet-stream")),
        ];
        for (path, want) in cases {
            assert_eq!(resolved(&sf, path), *want, "{path:?}");
        }
    }

    #[test]
    fn index_rule_table() {
        let cases: &[(StaticFiles, (&str, &str))] = &[
            (
                python_rules().index("index.html"),
                ("root/index.html", "text/html"),
            ),
            (
                python_rules().file("", "index.html"),
                ("root/index.html", "text/html"),
            ),
            (
                python_rules().index_with_type("index.html", HeaderValue::from_static("image/gif")),
                ("root/index.html", "image/gif"),
            ),
            (
                python_rules().index("test.gif"),
                ("root/test.gif", "image/gif"),
            ),
            (
                python_rules().index("sub/page.txt"),
                ("root/sub/page.txt", "text/plain"),
            ),
        ];
        for (sf, (path, ct)) in cases {
            assert_eq!(resolved(sf, "/static/test/"), some(path, ct));
        }
        assert_eq!(
            resolved(&StaticFiles::new(), "/static/test/index.html"),
            None
        );
    }

    #[test]
    fn content_type_table() {
        let sf = StaticFiles::new().dir("/", "d");
        for (file, ct) in [
            ("a.css", "text/css"),
            ("a.gif", "image/gif"),
            ("a.html", "text/html"),
            ("A.HTML", "text/html"),
            ("a.jpg", "image/jpeg"),
            ("a.js", "application/javascript"),
            ("a.json", "application/json"),
            ("a.png", "image/png"),
            ("a.txt", "text/plain"),
            ("a.jpeg", "application/octet-stream"),
            ("a.tar.gz", "application/octet-stream"),
            ("Makefile", "application/octet-stream"),
            (".hidden", "application/octet-stream"),
        ] {
            assert_eq!(
                resolved(&sf, &format!("/{file}")),
                some(&format!("d/{file}"), ct)
            );
        }
        // a directory rule's explicit type covers every file under it
        let typed =
            StaticFiles::new().dir_with_type("/raw", "d", HeaderValue::from_static("text/plain"));
        assert_eq!(
            resolved(&typed, "/raw/x.png"),
            some("d/x.png", "text/plain")
        );
        // ... and the index rule's type wins when the index is appended
        let typed = typed.index_with_type("i.bin", HeaderValue::from_static("image/png"));
        assert_eq!(resolved(&typed, "/raw/"), some("d/i.bin", "image/png"));
    }

    #[test]
    fn rule_precedence_and_normalisation() {
        let sf = StaticFiles::new()
            .dir("/", "site")
            .dir("/a", "da")
            .dir("/a/b/", "dab")
            .file("/a/b/c.js", "special.js")
            .file("no-slash.txt", "n.txt");
        let cases: &[(&str, Option<(String, String)>)] = &[
            ("/x.txt", some("site/x.txt", "text/plain")),
            ("/", some("site/index.html", "text/html")),
            ("/a/x.txt", some("da/x.txt", "text/plain")),
            ("/a/b/x.txt", some("dab/x.txt", "text/plain")),
            ("/a/b/c.js", some("special.js", "application/javascript")),
            ("/a/bc/x.txt", some("da/bc/x.txt", "text/plain")),
            ("/no-slash.txt", some("n.txt", "text/plain")),
            ("/a//x.txt", some("da/x.txt", "text/plain")),
            ("/a/./x.txt", some("da/x.txt", "text/plain")),
        ];
        for (path, want) in cases {
            assert_eq!(resolved(&sf, path), *want, "{path:?}");
        }
        assert!(!sf.is_empty());
        assert!(StaticFiles::new().index("x").is_empty());
    }

    #[test]
    fn file_rule_with_trailing_slash_gets_the_index() {
        let sf = StaticFiles::new().file("/", "public/");
        assert_eq!(resolved(&sf, "/"), some("public/index.html", "text/html"));
    }

    #[test]
    fn dot_dot_never_escapes() {
        let sf = StaticFiles::new().dir("/static", "root");
        for path in [
            "/static/../secret.txt",
            "/static/a/../../secret.txt",
            "/static/a/../b.txt",
            "/static/%2e%2e/secret.txt",
            "/static/%2E%2E%2Fsecret.txt",
            "/static/..",
            "/static/..\\secret.txt",
            "/static/a%5c..%5csecret.txt",
            "/static/a%00.txt",
            "/static/%ff.txt",
        ] {
            assert_eq!(resolved(&sf, path), None, "{path:?}");
        }
        // dots inside names are fine
        assert_eq!(
            resolved(&sf, "/static/a..b.txt"),
            some("root/a..b.txt", "text/plain")
        );
        assert_eq!(
            resolved(&sf, "/static/%61.txt"),
            some("root/a.txt", "text/plain")
        );
        assert_eq!(
            resolved(&sf, "/static/100%.txt"),
            some("root/100%.txt", "text/plain")
        );
    }

    #[test]
    fn percent_decode_table() {
        for (raw, want) in [
            ("/a%20b", Some("/a b")),
            ("/%41%4a%4A", Some("/AJJ")),
            ("/%", Some("/%")),
            ("/%4", Some("/%4")),
            ("/%zz", Some("/%zz")),
            ("/%C3%A9", Some("/é")),
            ("/%C3", None),
            ("/%00", None),
            ("/a+b", Some("/a+b")),
            ("/%2e%2E%2fx", Some("/../x")),
            ("/%%41", Some("/%A")),
        ] {
            assert_eq!(percent_decode(raw).as_deref(), want, "{raw}");
        }
        assert!(matches!(
            percent_decode("/plain/path.txt"),
            Some(Cow::Borrowed(_))
        ));
    }

    fn get(uri: &str) -> Request<()> {
        Request::get(uri).body(()).unwrap()
    }

    async fn body_text(res: Response<StaticBody>) -> String {
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn serve_every_rule_kind() {
        let tmp = TempDir::new();
        tmp.write("latency.html", "<html>latency</html>");
        tmp.write("public/index.html", "<html>index</html>");
        tmp.write("public/css/a.css", "body{}");
        tmp.write("public/img.gif", "GIF89a");
        tmp.write("notes", "plain");
        let sf = StaticFiles::new()
            .file("/", tmp.0.join("latency.html"))
            .file_with_type(
                "/notes",
                tmp.0.join("notes"),
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )
            .dir("/static", tmp.0.join("public"));
        let cases = [
            ("/", "text/html", "<html>latency</html>"),
            ("/notes", "text/plain; charset=utf-8", "plain"),
            ("/static/", "text/html", "<html>index</html>"),
            ("/static/index.html", "text/html", "<html>index</html>"),
            ("/static/css/a.css", "text/css", "body{}"),
            ("/static/img.gif?v=1", "image/gif", "GIF89a"),
        ];
        for (uri, ct, body) in cases {
            let res = sf.serve(&get(uri)).await.unwrap_or_else(|| panic!("{uri}"));
            assert_eq!(res.status(), StatusCode::OK, "{uri}");
            assert_eq!(res.headers()[CONTENT_TYPE], ct, "{uri}");
            assert_eq!(body_text(res).await, body, "{uri}");
        }
        // the "" rule's file for slash-ending URLs
        let sf = sf.index_with_type("img.gif", HeaderValue::from_static("text/plain"));
        let res = sf.serve(&get("/static/")).await.unwrap();
        assert_eq!(res.headers()[CONTENT_TYPE], "text/plain");
        assert_eq!(body_text(res).await, "GIF89a");
    }

    #[tokio::test]
    async fn serve_head_and_range_come_from_serve_file() {
        let tmp = TempDir::new();
        tmp.write("a.txt", "0123456789");
        let sf = StaticFiles::new().dir("/", &tmp.0);
        let head = Request::head("/a.txt").body(()).unwrap();
        let res = sf.serve(&head).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[CONTENT_TYPE], "text/plain");
        assert_eq!(body_text(res).await, "");
        let range = Request::get("/a.txt")
            .header("range", "bytes=2-4")
            .body(())
            .unwrap();
        let res = sf.serve(&range).await.unwrap();
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(body_text(res).await, "234");
    }

    #[tokio::test]
    async fn serve_falls_through() {
        let tmp = TempDir::new();
        tmp.write("public/a.txt", "a");
        std::fs::create_dir_all(tmp.0.join("public/empty")).unwrap();
        tmp.write("secret.txt", "secret");
        let sf = StaticFiles::new()
            .dir("/static", tmp.0.join("public"))
            .file("/gone", tmp.0.join("missing.txt"));
        for uri in [
            "/static/missing.txt",
            "/gone",
            "/elsewhere",
            "/static/../secret.txt",
            "/static/%2e%2e/secret.txt",
            // a directory with its slash but no index file
            "/static/empty/",
        ] {
            assert!(sf.serve(&get(uri)).await.is_none(), "{uri}");
        }
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
            let req = Request::builder()
                .method(method.clone())
                .uri("/static/a.txt")
                .body(())
                .unwrap();
            assert!(sf.serve(&req).await.is_none(), "{method}");
        }
    }

    #[tokio::test]
    async fn directory_without_slash_redirects() {
        let tmp = TempDir::new();
        tmp.write("public/index.html", "i");
        tmp.write("public/sub/index.html", "s");
        let sf = StaticFiles::new().dir("/static", tmp.0.join("public"));
        for (uri, location) in [
            ("/static", "static/"),
            ("/static?x=1", "static/?x=1"),
            ("/static/sub", "sub/"),
        ] {
            let res = sf.serve(&get(uri)).await.unwrap();
            assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT, "{uri}");
            assert_eq!(res.headers()[LOCATION], location, "{uri}");
        }
        // following the redirect serves the index
        let res = sf.serve(&get("/static/sub/")).await.unwrap();
        assert_eq!(body_text(res).await, "s");
    }

    #[test]
    fn serve_future_is_send_static_for_any_body() {
        fn assert_send_static<T: Send + 'static>(_: &T) {}
        // a body that is neither Send nor Sync
        let req = Request::get("/x").body(std::rc::Rc::new(())).unwrap();
        let sf = StaticFiles::new().dir("/", "d");
        assert!(sf.matches("/x") && !StaticFiles::new().matches("/x"));
        let fut = sf.serve(&req);
        drop(sf);
        assert_send_static(&fut);
    }

    #[test]
    fn redirect_location_is_never_a_scheme() {
        let res = redirect_to_slash(&get("/a:b"));
        assert_eq!(res.headers()[LOCATION], "./a:b/");
    }
}
