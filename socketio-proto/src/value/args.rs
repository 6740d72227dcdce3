//! Argument lists, python-socketio style: a tuple means several arguments.

use serde::de::{self, DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeTuple};

use super::ser_impl::{MapBuilder, SeqBuilder, ValueSerializer};
use super::{Value, ValueError};

/// Converts a Rust value into a Socket.IO argument list.
///
/// - a tuple is several arguments: `("a", 1)` → `["a", 1]`;
/// - unit `()` is no argument;
/// - [`Args`] is its elements, as separate arguments;
/// - anything else is one argument, including a `Vec` or a slice (an array
///   is one argument, as in python-socketio, where only a tuple splits).
///
/// ```
/// use socketio_proto::{to_args, Args, Value};
/// assert_eq!(to_args(&("a", 1)).unwrap(), vec![Value::from("a"), Value::from(1u64)]);
/// assert_eq!(to_args(&()).unwrap(), vec![]);
/// assert_eq!(to_args(&"a").unwrap(), vec![Value::from("a")]);
/// assert_eq!(to_args(&vec![1, 2]).unwrap().len(), 1);
/// let several = Args(vec![Value::from(1u64), Value::from(2u64)]);
/// assert_eq!(to_args(&several).unwrap().len(), 2);
/// ```
pub fn to_args<T: Serialize + ?Sized>(v: &T) -> Result<Vec<Value>, ValueError> {
    v.serialize(ArgsSerializer)
}

/// Reads a Rust value from a Socket.IO argument list.
///
/// - a tuple type takes the arguments as its elements; missing ones are
///   [`Value::Null`] (so an `Option` at the end may be left out) and extra
///   ones are ignored, as in JavaScript;
/// - unit `()` accepts any arguments;
/// - [`Args`] takes them all;
/// - any other type is read from the first argument ([`Value::Null`] if
///   there is none).
///
/// ```
/// use socketio_proto::{from_args, Value};
/// let args = vec![Value::from("a"), Value::from(1u64)];
/// let (s, n, extra): (String, u8, Option<bool>) = from_args(args.clone()).unwrap();
/// assert_eq!((s.as_str(), n, extra), ("a", 1, None));
/// let first: String = from_args(args).unwrap();
/// assert_eq!(first, "a");
/// ```
pub fn from_args<T: DeserializeOwned>(args: Vec<Value>) -> Result<T, ValueError> {
    T::deserialize(ArgsDeserializer(args))
}

/// Several arguments held together, for [`to_args`] and [`from_args`].
///
/// Serialized by `to_args`, its elements become separate arguments
/// (`emit("ev", Args(vec![a, b]))` sends two); read by `from_args`, it
/// collects every argument. Anywhere else it is an array.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Args(pub Vec<Value>);

/// The tuple-struct name [`Args`] uses to tell [`from_args`] it wants every
/// argument.
const ARGS_MAGIC: &str = "$socketio_proto::Args";

impl Serialize for Args {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A tuple: to_args splits it into arguments, every other serializer
        // writes an array.
        let mut t = s.serialize_tuple(self.0.len())?;
        for v in &self.0 {
            t.serialize_element(v)?;
        }
        t.end()
    }
}

impl<'de> de::Deserialize<'de> for Args {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Args, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Args;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Args(out))
            }
        }
        d.deserialize_tuple_struct(ARGS_MAGIC, usize::MAX, ArgsVisitor)
    }
}

impl From<Vec<Value>> for Args {
    fn from(v: Vec<Value>) -> Self {
        Args(v)
    }
}

impl From<Args> for Vec<Value> {
    fn from(a: Args) -> Self {
        a.0
    }
}

/// The top-level serializer of [`to_args`]: tuples split, unit is empty,
/// everything else is one argument.
struct ArgsSerializer;

struct TupleArgs(Vec<Value>);

impl ser::SerializeTuple for TupleArgs {
    type Ok = Vec<Value>;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.0.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Vec<Value>, ValueError> {
        Ok(self.0)
    }
}

/// Wraps a compound serializer of [`ValueSerializer`] so its result is one
/// argument.
struct One<C>(C);

macro_rules! one_compound {
    ($tr:ident, $method:ident $(, $key:ty)?) => {
        impl<C: ser::$tr<Ok = Value, Error = ValueError>> ser::$tr for One<C> {
            type Ok = Vec<Value>;
            type Error = ValueError;
            fn $method<T: Serialize + ?Sized>(&mut self, $(key: $key,)? v: &T) -> Result<(), ValueError> {
                self.0.$method($(key as $key,)? v)
            }
            fn end(self) -> Result<Vec<Value>, ValueError> {
                Ok(vec![self.0.end()?])
            }
        }
    };
}

one_compound!(SerializeSeq, serialize_element);
one_compound!(SerializeTupleStruct, serialize_field);
one_compound!(SerializeTupleVariant, serialize_field);
one_compound!(SerializeStruct, serialize_field, &'static str);
one_compound!(SerializeStructVariant, serialize_field, &'static str);

impl ser::SerializeMap for One<MapBuilder> {
    type Ok = Vec<Value>;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        ser::SerializeMap::serialize_key(&mut self.0, key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        ser::SerializeMap::serialize_value(&mut self.0, v)
    }
    fn end(self) -> Result<Vec<Value>, ValueError> {
        Ok(vec![ser::SerializeMap::end(self.0)?])
    }
}

macro_rules! one_scalar {
    ($($f:ident($($a:ident: $t:ty),*)),*) => {$(
        fn $f(self, $($a: $t),*) -> Result<Vec<Value>, ValueError> {
            Ok(vec![ser::Serializer::$f(ValueSerializer, $($a),*)?])
        }
    )*};
}

impl ser::Serializer for ArgsSerializer {
    type Ok = Vec<Value>;
    type Error = ValueError;
    type SerializeSeq = One<SeqBuilder>;
    type SerializeTuple = TupleArgs;
    type SerializeTupleStruct = One<SeqBuilder>;
    type SerializeTupleVariant = One<SeqBuilder>;
    type SerializeMap = One<MapBuilder>;
    type SerializeStruct = One<MapBuilder>;
    type SerializeStructVariant = One<MapBuilder>;

    one_scalar!(
        serialize_bool(v: bool), serialize_i8(v: i8), serialize_i16(v: i16),
        serialize_i32(v: i32), serialize_i64(v: i64), serialize_i128(v: i128),
        serialize_u8(v: u8), serialize_u16(v: u16), serialize_u32(v: u32),
        serialize_u64(v: u64), serialize_u128(v: u128), serialize_f32(v: f32),
        serialize_f64(v: f64), serialize_char(v: char), serialize_str(v: &str),
        serialize_bytes(v: &[u8]), serialize_none(), serialize_unit_struct(name: &'static str),
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str)
    );

    fn serialize_unit(self) -> Result<Vec<Value>, ValueError> {
        Ok(Vec::new())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Vec<Value>, ValueError> {
        Ok(vec![v.serialize(ValueSerializer)?])
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<Vec<Value>, ValueError> {
        // Transparent, so a newtype around a tuple still splits.
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Vec<Value>, ValueError> {
        Ok(vec![ser::Serializer::serialize_newtype_variant(
            ValueSerializer,
            name,
            index,
            variant,
            v,
        )?])
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<One<SeqBuilder>, ValueError> {
        Ok(One(ser::Serializer::serialize_seq(ValueSerializer, len)?))
    }
    fn serialize_tuple(self, len: usize) -> Result<TupleArgs, ValueError> {
        Ok(TupleArgs(Vec::with_capacity(len)))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<One<SeqBuilder>, ValueError> {
        Ok(One(ser::Serializer::serialize_tuple_struct(
            ValueSerializer,
            name,
            len,
        )?))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<One<SeqBuilder>, ValueError> {
        Ok(One(ser::Serializer::serialize_tuple_variant(
            ValueSerializer,
            name,
            index,
            variant,
            len,
        )?))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<One<MapBuilder>, ValueError> {
        Ok(One(ser::Serializer::serialize_map(ValueSerializer, len)?))
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<One<MapBuilder>, ValueError> {
        Ok(One(ser::Serializer::serialize_struct(
            ValueSerializer,
            name,
            len,
        )?))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<One<MapBuilder>, ValueError> {
        Ok(One(ser::Serializer::serialize_struct_variant(
            ValueSerializer,
            name,
            index,
            variant,
            len,
        )?))
    }
}

/// The top-level deserializer of [`from_args`].
struct ArgsDeserializer(Vec<Value>);

impl ArgsDeserializer {
    fn first(self) -> Value {
        self.0.into_iter().next().unwrap_or_default()
    }
}

/// Yields the arguments; with `left: Some(n)`, exactly `n` of them (padded
/// with `Null`, extras dropped), with `None` all of them.
struct PaddedArgs {
    iter: std::vec::IntoIter<Value>,
    left: Option<usize>,
}

impl<'de> SeqAccess<'de> for PaddedArgs {
    type Error = ValueError;
    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ValueError> {
        let v = match &mut self.left {
            None => match self.iter.next() {
                Some(v) => v,
                None => return Ok(None),
            },
            Some(0) => return Ok(None),
            Some(n) => {
                *n -= 1;
                self.iter.next().unwrap_or_default()
            }
        };
        seed.deserialize(v).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left.unwrap_or(self.iter.len()))
    }
}

macro_rules! first_arg {
    ($($f:ident),*) => {$(
        fn $f<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            de::Deserializer::$f(self.first(), visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ArgsDeserializer {
    type Error = ValueError;

    first_arg!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any
    );

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        // Transparent, mirroring `to_args`.
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_seq(PaddedArgs {
            iter: self.0.into_iter(),
            left: Some(len),
        })
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        if name == ARGS_MAGIC {
            visitor.visit_seq(PaddedArgs {
                iter: self.0.into_iter(),
                left: None,
            })
        } else {
            self.first().deserialize_tuple_struct(name, len, visitor)
        }
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.first().deserialize_struct(name, fields, visitor)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.first().deserialize_enum(name, variants, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vals(j: serde_json::Value) -> Vec<Value> {
        match Value::from(j) {
            Value::Array(a) => a,
            _ => unreachable!(),
        }
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[test]
    fn to_args_rules() {
        assert_eq!(
            to_args(&(1, "b", true)).unwrap(),
            vals(json!([1, "b", true]))
        );
        assert_eq!(to_args(&()).unwrap(), vec![]);
        assert_eq!(to_args(&(5,)).unwrap(), vals(json!([5])));
        assert_eq!(to_args(&[1, 2][..]).unwrap(), vals(json!([[1, 2]])));
        assert_eq!(to_args(&vec![1, 2]).unwrap(), vals(json!([[1, 2]])));
        assert_eq!(
            to_args(&Point { x: 1, y: 2 }).unwrap(),
            vals(json!([{"x": 1, "y": 2}]))
        );
        assert_eq!(to_args(&None::<u8>).unwrap(), vals(json!([null])));
        assert_eq!(to_args(&Some(3)).unwrap(), vals(json!([3])));
        assert_eq!(
            to_args(&Args(vals(json!([1, [2]])))).unwrap(),
            vals(json!([1, [2]]))
        );
        assert_eq!(to_args(&Args::default()).unwrap(), vec![]);
        // Nested tuples are arrays.
        assert_eq!(to_args(&((1, 2), 3)).unwrap(), vals(json!([[1, 2], 3])));
        let m: std::collections::BTreeMap<&str, u8> = [("k", 1)].into();
        assert_eq!(to_args(&m).unwrap(), vals(json!([{"k": 1}])));
        // Args inside another value is an array.
        assert_eq!(
            to_args(&(Args(vals(json!([1, 2]))),)).unwrap(),
            vals(json!([[1, 2]]))
        );
        assert_eq!(
            to_args(&bytes::Bytes::from_static(b"\x01")).unwrap(),
            vec![Value::from(vec![1u8])]
        );
    }

    #[test]
    fn from_args_rules() {
        let args = vals(json!(["a", 2, {"x": 1, "y": 2}]));
        let t: (String, u8, Point) = from_args(args.clone()).unwrap();
        assert_eq!(t, ("a".into(), 2, Point { x: 1, y: 2 }));
        let t: (String, u8, Point, Option<u8>) = from_args(args.clone()).unwrap();
        assert_eq!(t.3, None);
        let s: String = from_args(args.clone()).unwrap();
        assert_eq!(s, "a");
        let (s,): (String,) = from_args(args.clone()).unwrap();
        assert_eq!(s, "a");
        from_args::<()>(args.clone()).unwrap();
        from_args::<()>(vec![]).unwrap();
        let a: Args = from_args(args.clone()).unwrap();
        assert_eq!(a.0, args);
        let a: Args = from_args(vec![]).unwrap();
        assert_eq!(a.0, vec![]);
        assert_eq!(from_args::<Option<u8>>(vec![]).unwrap(), None);
        assert_eq!(from_args::<Value>(vec![]).unwrap(), Value::Null);
        assert!(from_args::<u8>(vec![]).is_err());
        let p: Point = from_args(vals(json!([{"x": 1, "y": 2}]))).unwrap();
        assert_eq!(p, Point { x: 1, y: 2 });
        let v: Vec<u8> = from_args(vals(json!([[1, 2], 3]))).unwrap();
        assert_eq!(v, vec![1, 2]);
        // Args elsewhere reads an array.
        let a: Args = crate::from_value(Value::from(json!([1, 2]))).unwrap();
        assert_eq!(a.0.len(), 2);
        let a: Args = serde_json::from_str("[1,2]").unwrap();
        assert_eq!(a.0.len(), 2);
        assert_eq!(serde_json::to_string(&a).unwrap(), "[1,2]");
    }
}
