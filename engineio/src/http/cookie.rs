//! The session cookie: python-engineio's `cookie` option.
//!
//! The server sends `Set-Cookie` with the sid on the polling handshake only;
//! this module builds the header value and validates the configuration once,
//! when it is built, so a bad attribute can never split the header.
//!
//! The value is written by hand, not with the `cookie` crate's builder
//! (which the server does use to *read* `Cookie` headers, in
//! `ConnectRequest::cookies`): python's `cookie=` dict is an attribute
//! template, written in the order given, with any attribute name, its
//! spelling kept (`path=/`, not `Path=/`), flags and values computed by a
//! callable on every handshake. `cookie::Cookie` knows a fixed set of
//! attributes and writes them in its own order and spelling, so it could
//! not reproduce python's header (the tests pin the exact strings).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::HeaderValue;

/// A cookie attribute value computed per handshake (python's callable values).
pub type CookieValueFn = Arc<dyn Fn() -> String + Send + Sync>;

/// A configuration the header could not carry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// The cookie name is empty or not an RFC 6265 token (it contains a
    /// space, a control character or one of `()<>@,;:\"/[]?={}`).
    #[error("invalid cookie name {0:?}")]
    Name(String),
    /// An attribute name is empty or not an RFC 6265 token.
    #[error("invalid cookie attribute name {0:?}")]
    AttributeName(String),
    /// An attribute value contains `;`, CR, LF, another control character or
    /// a non-ASCII character.
    #[error("invalid value {value:?} for cookie attribute {attribute:?}")]
    AttributeValue {
        /// The attribute's name.
        attribute: String,
        /// The offending value.
        value: String,
    },
    /// The session id contains characters a cookie value cannot hold (only
    /// possible with a custom sid generator).
    #[error("session id {0:?} cannot be a cookie value")]
    Sid(String),
}

#[derive(Clone)]
enum AttrValue {
    Text(String),
    Flag,
    Dynamic(CookieValueFn),
}

/// The session cookie the server sets on the polling handshake (python's
/// `cookie` option; off unless configured).
///
/// Two forms, as in python:
/// - [`CookieConfig::new("io")`](CookieConfig::new), python's string form:
///   `io=<sid>; path=/; SameSite=Lax`;
/// - [`CookieConfig::builder("io")`](CookieConfig::builder), python's dict
///   form: the name followed by the attributes in the order given, each a
///   value, a flag or a closure evaluated on every handshake.
///
/// [`Default`] is `CookieConfig::new("io")`.
#[derive(Clone)]
pub struct CookieConfig {
    name: String,
    attrs: Vec<(String, AttrValue)>,
}

impl CookieConfig {
    /// Python's string form: `<name>=<sid>; path=/; SameSite=Lax`.
    pub fn new(name: impl Into<String>) -> Result<Self, CookieError> {
        Self::builder(name)
            .attr("path", "/")
            .attr("SameSite", "Lax")
            .build()
    }

    /// Python's dict form: starts with the name and no attributes.
    pub fn builder(name: impl Into<String>) -> CookieConfigBuilder {
        CookieConfigBuilder {
            name: name.into(),
            attrs: Vec::new(),
        }
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Set-Cookie` value for `sid`, evaluating closure attributes now.
    ///
    /// A closure result that could break the header (`;`, CR, LF, other
    /// control or non-ASCII characters) drops that attribute, with a warning,
    /// rather than the whole cookie. Fails only for a sid that is not a valid
    /// cookie value, which the default sid generator never produces.
    pub(crate) fn set_cookie_value(&self, sid: &str) -> Result<HeaderValue, CookieError> {
        if !sid.bytes().all(is_cookie_octet) {
            return Err(CookieError::Sid(sid.to_owned()));
        }
        let mut out = format!("{}={sid}", self.name);
        for (attr, value) in &self.attrs {
            let value = match value {
                AttrValue::Flag => None,
                AttrValue::Text(v) => Some(Cow::Borrowed(v.as_str())),
                AttrValue::Dynamic(f) => {
                    let v = f();
                    if !is_attr_value(&v) {
                        tracing::warn!(attribute = %attr, value = ?v, "cookie attribute dropped: invalid value");
                        continue;
                    }
                    Some(Cow::Owned(v))
                }
            };
            out.push_str("; ");
            out.push_str(attr);
            if let Some(value) = value {
                out.push('=');
                out.push_str(&value);
            }
        }
        // Every part was validated as visible ASCII (or spaces), so this holds.
        HeaderValue::try_from(out).map_err(|_| CookieError::Sid(sid.to_owned()))
    }
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self::new("io").expect("\"io\" is a valid cookie name")
    }
}

impl fmt::Debug for CookieConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieConfig")
            .field("name", &self.name)
            .field("attrs", &AttrsDebug(&self.attrs))
            .finish()
    }
}

/// `["path=/", "HttpOnly", "Max-Age=<fn>"]`.
struct AttrsDebug<'a>(&'a [(String, AttrValue)]);

impl fmt::Debug for AttrsDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in self.0 {
            match value {
                AttrValue::Text(v) => list.entry(&format_args!("{name}={v}")),
                AttrValue::Flag => list.entry(&format_args!("{name}")),
                AttrValue::Dynamic(_) => list.entry(&format_args!("{name}=<fn>")),
            };
        }
        list.finish()
    }
}

/// Builds a [`CookieConfig`] in python's dict form; see
/// [`CookieConfig::builder`]. Setting an attribute that is already set
/// replaces its value in place, keeping its position (as a python dict does).
#[must_use]
#[derive(Clone)]
pub struct CookieConfigBuilder {
    name: String,
    attrs: Vec<(String, AttrValue)>,
}

impl CookieConfigBuilder {
    fn set(mut self, name: impl Into<String>, value: AttrValue) -> Self {
        let name = name.into();
        match self.attrs.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((name, value)),
        }
        self
    }

    /// An attribute with a fixed value: `.attr("Max-Age", "60")` → `Max-Age=60`.
    pub fn attr(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, AttrValue::Text(value.into()))
    }

    /// A value-less attribute: `.flag("HttpOnly")` → `HttpOnly` (python's `True`).
    pub fn flag(self, name: impl Into<String>) -> Self {
        self.set(name, AttrValue::Flag)
    }

    /// An attribute whose value `f` computes on every handshake, e.g. an
    /// `Expires` date (python's callable values).
    pub fn attr_fn<F>(self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.set(name, AttrValue::Dynamic(Arc::new(f)))
    }

    /// Validates the name and every fixed attribute.
    pub fn build(self) -> Result<CookieConfig, CookieError> {
        if !is_token(&self.name) {
            return Err(CookieError::Name(self.name));
        }
        for (name, value) in &self.attrs {
            if !is_token(name) {
                return Err(CookieError::AttributeName(name.clone()));
            }
            if let AttrValue::Text(v) = value {
                if !is_attr_value(v) {
                    return Err(CookieError::AttributeValue {
                        attribute: name.clone(),
                        value: v.clone(),
                    });
                }
            }
        }
        Ok(CookieConfig {
            name: self.name,
            attrs: self.attrs,
        })
    }
}

impl fmt::Debug for CookieConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieConfigBuilder")
            .field("name", &self.name)
            .field("attrs", &self.attrs.len())
            .finish()
    }
}

/// RFC 7230/6265 token: visible ASCII minus separators.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// An attribute value (RFC 6265 `av-octet`s): visible ASCII and spaces, no `;`.
fn is_attr_value(s: &str) -> bool {
    s.bytes()
        .all(|b| (b == b' ' || b.is_ascii_graphic()) && b != b';')
}

/// RFC 6265 `cookie-octet`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn string_form_like_python() {
        let c = CookieConfig::new("io").unwrap();
        assert_eq!(
            c.set_cookie_value("abc123").unwrap(),
            "io=abc123; path=/; SameSite=Lax"
        );
        assert_eq!(
            CookieConfig::default().set_cookie_value("x").unwrap(),
            "io=x; path=/; SameSite=Lax"
        );
        assert_eq!(
            CookieConfig::new("sess").unwrap().name(),
            "sess",
            "name accessor"
        );
    }

    #[test]
    fn dict_form_like_python() {
        // python: {'name':'io','path':'/','HttpOnly':True,'SameSite':'Strict',
        //          'Max-Age':lambda:'60'}
        let c = CookieConfig::builder("io")
            .attr("path", "/")
            .flag("HttpOnly")
            .attr("SameSite", "Strict")
            .attr_fn("Max-Age", || "60".into())
            .build()
            .unwrap();
        assert_eq!(
            c.set_cookie_value("s1d").unwrap(),
            "io=s1d; path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        let bare = CookieConfig::builder("io").build().unwrap();
        assert_eq!(bare.set_cookie_value("s").unwrap(), "io=s");
        let expires = CookieConfig::builder("io")
            .attr("Expires", "Wed, 21 Oct 2015 07:28:00 GMT")
            .flag("Secure")
            .build()
            .unwrap();
        assert_eq!(
            expires.set_cookie_value("s").unwrap(),
            "io=s; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure"
        );
    }

    #[test]
    fn closures_run_on_every_call() {
        let n = Arc::new(AtomicUsize::new(0));
        let counter = n.clone();
        let c = CookieConfig::builder("io")
            .attr_fn("Max-Age", move || {
                (counter.fetch_add(1, Ordering::SeqCst) + 1).to_string()
            })
            .build()
            .unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 0, "not evaluated at build time");
        assert_eq!(c.set_cookie_value("a").unwrap(), "io=a; Max-Age=1");
        assert_eq!(c.set_cookie_value("b").unwrap(), "io=b; Max-Age=2");
        let cloned = c.clone();
        assert_eq!(cloned.set_cookie_value("c").unwrap(), "io=c; Max-Age=3");
    }

    #[test]
    fn invalid_closure_value_drops_only_that_attribute() {
        let c = CookieConfig::builder("io")
            .attr_fn("Domain", || "a.com\r\nX-Evil: 1".into())
            .flag("Secure")
            .attr_fn("Path", || "/;x".into())
            .build()
            .unwrap();
        assert_eq!(c.set_cookie_value("s").unwrap(), "io=s; Secure");
    }

    #[test]
    fn resetting_an_attribute_keeps_its_position() {
        let c = CookieConfig::builder("io")
            .attr("path", "/")
            .flag("HttpOnly")
            .attr("path", "/x")
            .build()
            .unwrap();
        assert_eq!(c.set_cookie_value("s").unwrap(), "io=s; path=/x; HttpOnly");
    }

    #[test]
    fn build_rejects_what_would_break_the_header() {
        let cases: Vec<(CookieConfigBuilder, CookieError)> = vec![
            (CookieConfig::builder(""), CookieError::Name(String::new())),
            (
                CookieConfig::builder("a b"),
                CookieError::Name("a b".into()),
            ),
            (
                CookieConfig::builder("io;"),
                CookieError::Name("io;".into()),
            ),
            (
                CookieConfig::builder("i=o"),
                CookieError::Name("i=o".into()),
            ),
            (
                CookieConfig::builder("io").flag("Http\nOnly"),
                CookieError::AttributeName("Http\nOnly".into()),
            ),
            (
                CookieConfig::builder("io").attr("", "x"),
                CookieError::AttributeName(String::new()),
            ),
            (
                CookieConfig::builder("io").attr("path", "/; Domain=evil"),
                CookieError::AttributeValue {
                    attribute: "path".into(),
                    value: "/; Domain=evil".into(),
                },
            ),
            (
                CookieConfig::builder("io").attr("path", "/\r\nX: y"),
                CookieError::AttributeValue {
                    attribute: "path".into(),
                    value: "/\r\nX: y".into(),
                },
            ),
            (
                CookieConfig::builder("io").attr("path", "/é"),
                CookieError::AttributeValue {
                    attribute: "path".into(),
                    value: "/é".into(),
                },
            ),
        ];
        for (builder, want) in cases {
            assert_eq!(builder.build().unwrap_err(), want);
        }
        assert!(CookieConfig::new("bad name").is_err());
    }

    #[test]
    fn sid_must_be_a_cookie_value() {
        let c = CookieConfig::default();
        for bad in ["a b", "a;b", "a,b", "a\"b", "é"] {
            assert_eq!(
                c.set_cookie_value(bad).unwrap_err(),
                CookieError::Sid(bad.into())
            );
        }
        // base64url ids (the default generator's alphabet) are fine
        assert!(c.set_cookie_value("vBlnESnv74MlMR0U-_AA").is_ok());
    }

    #[test]
    fn debug_hides_closures() {
        let c = CookieConfig::builder("io")
            .attr_fn("Max-Age", || "1".into())
            .flag("Secure")
            .build()
            .unwrap();
        let s = format!("{c:?}");
        assert!(s.contains("Max-Age=<fn>") && s.contains("Secure") && s.contains("\"io\""));
    }
}
