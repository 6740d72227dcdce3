//! A serde `Deserializer` over an owned [`Value`].

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

use super::{Map, Value, ValueError};

/// Converts a [`Value`] into any `Deserialize` type.
///
/// The data model is serde_json's, plus binary: [`Value::Binary`] is handed
/// to `visit_byte_buf` (so `bytes::Bytes`, `serde_bytes::ByteBuf` get it
/// whole) and, when the target asks for a sequence (`Vec<u8>`, `[u8; N]`),
/// as a sequence of `u8`.
///
/// ```
/// use socketio_proto::{from_value, Value};
/// let v = Value::from(serde_json::json!({"name": "x", "n": 3}));
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct T { name: String, n: u8 }
/// assert_eq!(from_value::<T>(v).unwrap(), T { name: "x".into(), n: 3 });
/// let bin: Vec<u8> = from_value(Value::from(vec![1u8, 2])).unwrap();
/// assert_eq!(bin, [1, 2]);
/// ```
pub fn from_value<T: DeserializeOwned>(v: Value) -> Result<T, ValueError> {
    T::deserialize(v)
}

impl Value {
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Unexpected::Unsigned(u)
                } else if let Some(i) = n.as_i64() {
                    Unexpected::Signed(i)
                } else {
                    Unexpected::Float(n.as_f64().unwrap_or(0.0))
                }
            }
            Value::String(s) => Unexpected::Str(s),
            Value::Binary(b) => Unexpected::Bytes(b),
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        }
    }
}

struct SeqDeser<I> {
    iter: I,
    len: usize,
}

impl<'de, I, T> SeqAccess<'de> for SeqDeser<I>
where
    I: Iterator<Item = T>,
    T: IntoDeserializer<'de, ValueError>,
{
    type Error = ValueError;
    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ValueError> {
        match self.iter.next() {
            Some(v) => {
                self.len = self.len.saturating_sub(1);
                seed.deserialize(v.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.len)
    }
}

fn visit_array<'de, V: Visitor<'de>>(a: Vec<Value>, visitor: V) -> Result<V::Value, ValueError> {
    let len = a.len();
    let mut seq = SeqDeser {
        iter: a.into_iter(),
        len,
    };
    let out = visitor.visit_seq(&mut seq)?;
    if seq.len == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in array"))
    }
}

struct MapDeser {
    iter: indexmap::map::IntoIter<String, Value>,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for MapDeser {
    type Error = ValueError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(KeyDeserializer(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        let v = self
            .value
            .take()
            .ok_or_else(|| ValueError::Custom("value requested before key".into()))?;
        seed.deserialize(v)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

fn visit_object<'de, V: Visitor<'de>>(m: Map, visitor: V) -> Result<V::Value, ValueError> {
    visitor.visit_map(MapDeser {
        iter: m.into_iter(),
        value: None,
    })
}

impl<'de> IntoDeserializer<'de, ValueError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_string(s),
            Value::Binary(b) => visitor.visit_byte_buf(b.to_vec()),
            Value::Array(a) => visit_array(a, visitor),
            Value::Object(m) => visit_object(m, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            v => visitor.visit_some(v),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Binary(b) => {
                let len = b.len();
                visitor.visit_seq(SeqDeser {
                    iter: b.into_iter(),
                    len,
                })
            }
            v => v.deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::String(variant) => visitor.visit_enum(EnumDeser {
                variant,
                value: None,
            }),
            Value::Object(m) if m.len() == 1 => {
                let Some((variant, value)) = m.into_iter().next() else {
                    return Err(ValueError::Custom("empty enum object".into()));
                };
                visitor.visit_enum(EnumDeser {
                    variant,
                    value: Some(value),
                })
            }
            other => Err(de::Error::invalid_type(
                other.unexpected(),
                &"a string or an object with one key",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct map struct identifier
    }
}

struct EnumDeser {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for EnumDeser {
    type Error = ValueError;
    type Variant = VariantDeser;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, VariantDeser), ValueError> {
        let v = seed.deserialize(KeyDeserializer(self.variant))?;
        Ok((v, VariantDeser(self.value)))
    }
}

struct VariantDeser(Option<Value>);

impl<'de> VariantAccess<'de> for VariantDeser {
    type Error = ValueError;
    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(v) => Err(de::Error::invalid_type(v.unexpected(), &"unit variant")),
        }
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        seed.deserialize(self.0.unwrap_or_default())
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        de::Deserializer::deserialize_seq(self.0.unwrap_or_default(), visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        de::Deserializer::deserialize_any(self.0.unwrap_or_default(), visitor)
    }
}

/// Object keys: strings, also readable as integers, bools or chars when the
/// target asks for one (`HashMap<u32, _>`), as with serde_json.
struct KeyDeserializer(String);

macro_rules! key_parse {
    ($($f:ident => $visit:ident: $t:ty),*) => {$(
        fn $f<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            match self.0.parse::<$t>() {
                Ok(n) => visitor.$visit(n),
                Err(_) => visitor.visit_string(self.0),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDeserializer {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_string(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_enum(EnumDeser {
            variant: self.0,
            value: None,
        })
    }

    key_parse!(
        deserialize_i8 => visit_i8: i8, deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32, deserialize_u64 => visit_u64: u64,
        deserialize_bool => visit_bool: bool, deserialize_char => visit_char: char
    );

    serde::forward_to_deserialize_any! {
        i128 u128 f32 f64 str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde::Deserialize;
    use std::collections::HashMap;

    #[derive(Deserialize, Debug, PartialEq)]
    enum E {
        Unit,
        New(u8),
        Tup(u8, u8),
        St { a: u8 },
    }

    fn v(j: serde_json::Value) -> Value {
        Value::from(j)
    }

    #[test]
    fn data_model() {
        use serde_json::json;
        assert_eq!(from_value::<E>(v(json!("Unit"))).unwrap(), E::Unit);
        assert_eq!(from_value::<E>(v(json!({"New": 4}))).unwrap(), E::New(4));
        assert_eq!(
            from_value::<E>(v(json!({"Tup": [1, 2]}))).unwrap(),
            E::Tup(1, 2)
        );
        assert_eq!(
            from_value::<E>(v(json!({"St": {"a": 1}}))).unwrap(),
            E::St { a: 1 }
        );
        assert_eq!(from_value::<Option<u8>>(Value::Null).unwrap(), None);
        assert_eq!(from_value::<Option<u8>>(v(json!(3))).unwrap(), Some(3));
        assert_eq!(from_value::<f64>(v(json!(3))).unwrap(), 3.0);
        assert_eq!(from_value::<i8>(v(json!(-3))).unwrap(), -3);
        assert!(from_value::<u8>(v(json!(300))).is_err());
        assert!(from_value::<u8>(v(json!("x"))).is_err());
        assert_eq!(
            from_value::<(u8, String)>(v(json!([1, "a"]))).unwrap(),
            (1, "a".into())
        );
        assert!(from_value::<(u8,)>(v(json!([1, 2]))).is_err());
        let m: HashMap<u32, bool> = from_value(v(json!({"7": true}))).unwrap();
        assert!(m[&7]);
        assert_eq!(
            from_value::<serde_json::Value>(v(json!({"a": [1]}))).unwrap(),
            json!({"a": [1]})
        );
    }

    #[test]
    fn binary() {
        let b = Value::from(vec![1u8, 2, 3]);
        assert_eq!(
            from_value::<Bytes>(b.clone()).unwrap(),
            Bytes::from_static(&[1, 2, 3])
        );
        assert_eq!(from_value::<Vec<u8>>(b.clone()).unwrap(), vec![1, 2, 3]);
        assert_eq!(from_value::<[u8; 3]>(b.clone()).unwrap(), [1, 2, 3]);
        assert_eq!(from_value::<Value>(b.clone()).unwrap(), b);
        // An array of numbers also reads as bytes.
        let arr = Value::from(serde_json::json!([4, 5]));
        assert_eq!(from_value::<Vec<u8>>(arr).unwrap(), vec![4, 5]);
    }
}
