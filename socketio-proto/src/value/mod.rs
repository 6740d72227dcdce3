//! [`Value`]: the data model of Socket.IO arguments.
//!
//! A Socket.IO argument is JSON plus one more kind, raw bytes. [`Value`] is
//! that tree; [`Value::Binary`] may sit anywhere in it, and the parsers carry
//! it as an attachment (default parser) or as msgpack `bin` (msgpack parser).
//!
//! This module owns the conversions: to and from `serde_json::Value`
//! ([`Value::to_json`], [`Value::from_json_with_binary`]), to and from any
//! serde type ([`to_value`], [`from_value`]), and the argument-list helpers
//! ([`to_args`], [`from_args`], [`Args`]) that follow python-socketio's rule
//! that *a tuple means several arguments*.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};

mod args;
mod de_impl;
mod ser_impl;

pub use args::{from_args, to_args, Args};
pub use de_impl::from_value;
pub use ser_impl::to_value;

/// An ordered JSON object: keys keep the order they were inserted or
/// received in.
pub type Map = indexmap::IndexMap<String, Value>;

/// A Socket.IO value: JSON plus binary.
///
/// Numbers are `serde_json::Number` (an `u64`, an `i64` or a finite `f64`).
/// Binary data is cheap to clone ([`Bytes`]).
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// `null` (also what msgpack's `nil` and notepack's `undefined` decode to).
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// Raw bytes (a Node.js `Buffer`, a Python `bytes`).
    Binary(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object, in key order.
    Object(Map),
}

/// Why a conversion between [`Value`] and a Rust type failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A message from a `Serialize` or `Deserialize` implementation
    /// (e.g. "invalid type: string, expected u32").
    #[error("{0}")]
    Custom(String),
    /// A map key that is not a string, an integer, a bool or a char.
    #[error("map key must be a string")]
    KeyMustBeAString,
    /// An integer that fits neither `i64` nor `u64`.
    #[error("number out of range")]
    NumberOutOfRange,
}

impl serde::ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }
}

impl de::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }
}

impl Value {
    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is a [`Value::Binary`].
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is a [`Value::Array`].
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, mutably, if this is a [`Value::Array`].
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The object, if this is a [`Value::Object`].
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The object, mutably, if this is a [`Value::Object`].
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The number as `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The number as `u64`, if it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The number as `f64` (integers are converted, possibly losing
    /// precision).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The boolean, if this is a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Object member by key (`None` if this is not an object or has no such
    /// key).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    /// Whether a [`Value::Binary`] occurs anywhere in the tree.
    pub fn has_binary(&self) -> bool {
        match self {
            Value::Binary(_) => true,
            Value::Array(a) => a.iter().any(Value::has_binary),
            Value::Object(m) => m.values().any(Value::has_binary),
            _ => false,
        }
    }

    /// Converts to a `serde_json::Value`.
    ///
    /// JSON has no bytes, so each [`Value::Binary`] becomes the object
    /// `{"$binary": "<lowercase hex>"}`; [`Value::from_json_with_binary`]
    /// turns such objects back into binary.
    ///
    /// ```
    /// use socketio_proto::Value;
    /// let v = Value::Array(vec![Value::from("a"), Value::from(vec![1u8, 0xab])]);
    /// assert_eq!(v.to_json(), serde_json::json!(["a", {"$binary": "01ab"}]));
    /// assert_eq!(Value::from_json_with_binary(v.to_json()), v);
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Binary(b) => {
                let mut m = serde_json::Map::new();
                m.insert("$binary".to_owned(), serde_json::Value::String(hex(b)));
                serde_json::Value::Object(m)
            }
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Value::to_json).collect()),
            Value::Object(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// The inverse of [`Value::to_json`]: an object that is exactly
    /// `{"$binary": "<hex>"}` with valid hex (either case) becomes
    /// [`Value::Binary`]; everything else converts as is.
    pub fn from_json_with_binary(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Object(m) => {
                if m.len() == 1 {
                    if let Some(serde_json::Value::String(h)) = m.get("$binary") {
                        if let Some(b) = unhex(h) {
                            return Value::Binary(Bytes::from(b));
                        }
                    }
                }
                Value::Object(
                    m.into_iter()
                        .map(|(k, v)| (k, Value::from_json_with_binary(v)))
                        .collect(),
                )
            }
            serde_json::Value::Array(a) => {
                Value::Array(a.into_iter().map(Value::from_json_with_binary).collect())
            }
            other => Value::from(other),
        }
    }
}

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &byte in b {
        s.push(char::from(DIGITS[usize::from(byte >> 4)]));
        s.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let s = s.as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

impl From<serde_json::Value> for Value {
    /// A plain conversion: `{"$binary": ...}` objects stay objects (see
    /// [`Value::from_json_with_binary`]).
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(m) => {
                Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n.into())
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Number(n.into())
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Number(n.into())
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Number(n.into())
    }
}

impl From<f64> for Value {
    /// A finite float becomes a number; NaN and the infinities become
    /// [`Value::Null`], as in JSON.
    fn from(n: f64) -> Self {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Self {
        Value::Binary(b)
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Binary(Bytes::from(b))
    }
}

impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Self {
        Value::Binary(Bytes::copy_from_slice(b))
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}

impl From<()> for Value {
    fn from((): ()) -> Self {
        Value::Null
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl serde::Serialize for Value {
    /// JSON values serialize as themselves; [`Value::Binary`] goes through
    /// `serialize_bytes` (an array of numbers in serde_json, `bin` in
    /// msgpack serializers).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(v) => s.serialize_str(v),
            Value::Binary(b) => s.serialize_bytes(b),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any Socket.IO value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        if let Ok(n) = u64::try_from(v) {
            Ok(Value::from(n))
        } else if let Ok(n) = i64::try_from(v) {
            Ok(Value::from(n))
        } else {
            Err(E::custom("number out of range"))
        }
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(Value::from)
            .map_err(|_| E::custom("number out of range"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_char<E>(self, v: char) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        de::Deserialize::deserialize(d)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        de::Deserialize::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // The hint comes from the input: never trust it for more than a
        // small preallocation.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    /// Accepts anything self-describing; bytes (`visit_bytes`,
    /// `visit_byte_buf`) become [`Value::Binary`].
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_binary_mapping() {
        let v = Value::from(vec![0u8, 0x0f, 0xff]);
        assert_eq!(v.to_json(), json!({"$binary": "000fff"}));
        assert_eq!(
            Value::from_json_with_binary(json!({"$binary": "000FFF"})),
            v
        );
        // Not exactly {"$binary": hex}: stays an object.
        for j in [
            json!({"$binary": "0"}),
            json!({"$binary": "zz"}),
            json!({"$binary": 1}),
            json!({"$binary": "00", "x": 1}),
        ] {
            assert!(matches!(Value::from_json_with_binary(j), Value::Object(_)));
        }
        assert_eq!(
            Value::from(json!({"$binary": "00"})),
            Value::Object(Map::from_iter([("$binary".into(), Value::from("00"))]))
        );
    }

    #[test]
    fn accessors() {
        let v = Value::from(json!({"a": [1, -2, 1.5, true, null, "s"]}));
        let a = v.get("a").unwrap().as_array().unwrap();
        assert_eq!(a[0].as_u64(), Some(1));
        assert_eq!(a[1].as_i64(), Some(-2));
        assert_eq!(a[1].as_u64(), None);
        assert_eq!(a[2].as_f64(), Some(1.5));
        assert_eq!(a[3].as_bool(), Some(true));
        assert!(a[4].is_null());
        assert_eq!(a[5].as_str(), Some("s"));
        assert!(!v.has_binary());
        assert!(Value::Array(vec![Value::Object(Map::from_iter([(
            "k".into(),
            Value::from(vec![1u8])
        )]))])
        .has_binary());
        assert_eq!(Value::from(f64::NAN), Value::Null);
    }

    #[test]
    fn serde_json_round_trip_keeps_order() {
        let text = r#"{"z":1,"a":[true,null,"x"],"m":{"b":2,"a":1}}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
    }
}
