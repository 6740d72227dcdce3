//! The msgpack parser (socket.io-msgpack-parser 3.x, which uses notepack.io).
//!
//! Each packet is one msgpack map `{type, data, nsp, id?}`, sent as one
//! binary message; binary values stay inline as `bin`. The msgpack
//! primitives are written here: the subset is small and a hand-written
//! reader can bound depth and allocation on hostile input.

use bytes::Bytes;

use super::{split_event, DecodeError, DecoderLimits, MAX_DEPTH};
use crate::packet::PacketType;
use crate::{Map, Packet, Value};

// ---- encoding ----

fn put_uint(out: &mut Vec<u8>, n: u64) {
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0xcc, n as u8]);
    } else if n <= 0xffff {
        out.push(0xcd);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(0xce);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn put_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        put_uint(out, n as u64);
    } else if n >= -32 {
        out.push(n as u8);
    } else if n >= -0x80 {
        out.extend_from_slice(&[0xd0, n as u8]);
    } else if n >= -0x8000 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -0x8000_0000 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A length header: the fix form when `len < fix_max`, else the 8 (if
/// `m8` is given), 16 or 32-bit form.
fn put_len(out: &mut Vec<u8>, len: usize, fix: u8, fix_max: usize, m8: Option<u8>, m16: u8) {
    if len < fix_max {
        out.push(fix | len as u8);
    } else if let (Some(m8), true) = (m8, len <= 0xff) {
        out.extend_from_slice(&[m8, len as u8]);
    } else if len <= 0xffff {
        out.push(m16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m16 + 1);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len(), 0xa0, 32, Some(0xd9), 0xda);
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0xc0),
        Value::Bool(false) => out.push(0xc2),
        Value::Bool(true) => out.push(0xc3),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                put_uint(out, u);
            } else if let Some(i) = n.as_i64() {
                put_int(out, i);
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_be_bytes());
            }
        }
        Value::String(s) => put_str(out, s),
        Value::Binary(b) => {
            if b.len() <= 0xff {
                out.extend_from_slice(&[0xc4, b.len() as u8]);
            } else if b.len() <= 0xffff {
                out.push(0xc5);
                out.extend_from_slice(&(b.len() as u16).to_be_bytes());
            } else {
                out.push(0xc6);
                out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            }
            out.extend_from_slice(b);
        }
        Value::Array(a) => {
            put_len(out, a.len(), 0x90, 16, None, 0xdc);
            a.iter().for_each(|v| put_value(out, v));
        }
        Value::Object(m) => {
            put_len(out, m.len(), 0x80, 16, None, 0xde);
            for (k, v) in m {
                put_str(out, k);
                put_value(out, v);
            }
        }
    }
}

pub(super) fn encode(packet: &Packet) -> Vec<u8> {
    let ty = match packet {
        Packet::Event { .. } => PacketType::Event,
        Packet::Ack { .. } => PacketType::Ack,
        other => other.packet_type(),
    };
    let data: Option<Value> = match packet {
        Packet::Connect { data, .. } => data.clone(),
        Packet::Disconnect { .. } => None,
        Packet::Event { name, args, .. } => {
            let mut a = Vec::with_capacity(args.len() + 1);
            a.push(Value::from(name.as_str()));
            a.extend(args.iter().cloned());
            Some(Value::Array(a))
        }
        Packet::Ack { args, .. } => Some(Value::Array(args.clone())),
        Packet::ConnectError { data, .. } => (!data.is_null()).then(|| data.clone()),
    };
    let id = match packet {
        Packet::Event { id, .. } => *id,
        Packet::Ack { id, .. } => Some(*id),
        _ => None,
    };
    let nsp = if packet.nsp().is_empty() {
        "/"
    } else {
        packet.nsp()
    };
    let mut out = Vec::with_capacity(32);
    // Key order as socket.io and python-socketio write it.
    out.push(0x80 | (2 + u8::from(data.is_some()) + u8::from(id.is_some())));
    put_str(&mut out, "type");
    put_uint(&mut out, u64::from(ty.as_u8()));
    if let Some(d) = &data {
        put_str(&mut out, "data");
        put_value(&mut out, d);
    }
    put_str(&mut out, "nsp");
    put_str(&mut out, nsp);
    if let Some(id) = id {
        put_str(&mut out, "id");
        put_uint(&mut out, id);
    }
    out
}

// ---- decoding ----

fn err(msg: &str) -> DecodeError {
    DecodeError::MsgPack(msg.to_owned())
}

struct Reader<'a> {
    src: &'a Bytes,
    pos: usize,
    binary_bytes: usize,
    max_binary_bytes: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.src.len())
            .ok_or_else(|| err("truncated"))?;
        let s = &self.src[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len8(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(self.byte()?))
    }
    fn len16(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(u16::from_be_bytes(self.be()?)))
    }
    fn len32(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(u32::from_be_bytes(self.be()?)).map_err(|_| err("length too large"))
    }

    fn remaining(&self) -> usize {
        self.src.len() - self.pos
    }

    fn string(&mut self, len: usize) -> Result<String, DecodeError> {
        let b = self.take(len)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| err("invalid UTF-8 in string"))
    }

    fn binary(&mut self, len: usize) -> Result<Value, DecodeError> {
        self.binary_bytes = self.binary_bytes.saturating_add(len);
        if self.binary_bytes > self.max_binary_bytes {
            return Err(DecodeError::BinaryTooLarge {
                max: self.max_binary_bytes,
            });
        }
        let start = self.pos;
        self.take(len)?;
        Ok(Value::Binary(self.src.slice(start..start + len)))
    }

    fn array(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        // Every element takes at least one byte: never reserve more than
        // the input could hold.
        let mut a = Vec::with_capacity(len.min(self.remaining()));
        for _ in 0..len {
            a.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(a))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        let mut m = Map::with_capacity(len.min(self.remaining() / 2));
        for _ in 0..len {
            let Value::String(k) = self.value(depth + 1)? else {
                return Err(err("map key is not a string"));
            };
            let v = self.value(depth + 1)?;
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }

    fn ext(&mut self, len: usize) -> Result<Value, DecodeError> {
        let ty = self.byte()? as i8;
        self.take(len)?;
        if ty == 0 && len == 1 {
            // notepack.io's `undefined`: d4 00 00.
            Ok(Value::Null)
        } else {
            Err(DecodeError::MsgPack(format!(
                "unsupported extension type {ty}"
            )))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep { max: MAX_DEPTH });
        }
        let b = self.byte()?;
        Ok(match b {
            0x00..=0x7f => Value::from(u64::from(b)),
            0x80..=0x8f => return self.map(usize::from(b & 0x0f), depth),
            0x90..=0x9f => return self.array(usize::from(b & 0x0f), depth),
            0xa0..=0xbf => Value::String(self.string(usize::from(b & 0x1f))?),
            0xc0 => Value::Null,
            0xc1 => return Err(err("reserved byte 0xc1")),
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let n = self.len8()?;
                self.binary(n)?
            }
            0xc5 => {
                let n = self.len16()?;
                self.binary(n)?
            }
            0xc6 => {
                let n = self.len32()?;
                self.binary(n)?
            }
            0xc7 => {
                let n = self.len8()?;
                self.ext(n)?
            }
            0xc8 => {
                let n = self.len16()?;
                self.ext(n)?
            }
            0xc9 => {
                let n = self.len32()?;
                self.ext(n)?
            }
            0xca => Value::from(f64::from(f32::from_be_bytes(self.be()?))),
            0xcb => Value::from(f64::from_be_bytes(self.be()?)),
            0xcc => Value::from(u64::from(self.byte()?)),
            0xcd => Value::from(u64::from(u16::from_be_bytes(self.be()?))),
            0xce => Value::from(u64::from(u32::from_be_bytes(self.be()?))),
            0xcf => Value::from(u64::from_be_bytes(self.be()?)),
            0xd0 => Value::from(i64::from(self.byte()? as i8)),
            0xd1 => Value::from(i64::from(i16::from_be_bytes(self.be()?))),
            0xd2 => Value::from(i64::from(i32::from_be_bytes(self.be()?))),
            0xd3 => Value::from(i64::from_be_bytes(self.be()?)),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9 => {
                let n = self.len8()?;
                Value::String(self.string(n)?)
            }
            0xda => {
                let n = self.len16()?;
                Value::String(self.string(n)?)
            }
            0xdb => {
                let n = self.len32()?;
                Value::String(self.string(n)?)
            }
            0xdc => {
                let n = self.len16()?;
                return self.array(n, depth);
            }
            0xdd => {
                let n = self.len32()?;
                return self.array(n, depth);
            }
            0xde => {
                let n = self.len16()?;
                return self.map(n, depth);
            }
            0xdf => {
                let n = self.len32()?;
                return self.map(n, depth);
            }
            0xe0..=0xff => Value::from(i64::from(b as i8)),
        })
    }
}

/// An integer, as JavaScript's `Number.isInteger` sees it (an integral
/// float counts).
fn integer(v: &Value) -> Option<i128> {
    let Value::Number(n) = v else { return None };
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 1.8e19).then_some(f as i128)
}

pub(super) fn decode(src: Bytes, limits: &DecoderLimits) -> Result<Packet, DecodeError> {
    let mut r = Reader {
        src: &src,
        pos: 0,
        binary_bytes: 0,
        max_binary_bytes: limits.max_binary_bytes,
    };
    let top = r.value(1)?;
    if r.remaining() != 0 {
        return Err(DecodeError::MsgPack(format!(
            "{} trailing bytes",
            r.remaining()
        )));
    }
    let Value::Object(mut m) = top else {
        return Err(err("packet is not a map"));
    };
    let ty = m
        .get("type")
        .and_then(integer)
        .and_then(|t| u8::try_from(t).ok())
        .and_then(PacketType::from_u8)
        .filter(|t| t.as_u8() <= 4)
        .ok_or(DecodeError::BadType)?;
    let nsp = match m.swap_remove("nsp") {
        Some(Value::String(s)) if s.is_empty() => "/".to_owned(),
        Some(Value::String(s)) => s,
        _ => return Err(DecodeError::BadNamespace),
    };
    let id = match m.get("id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            integer(v)
                .and_then(|i| u64::try_from(i).ok())
                .ok_or(DecodeError::BadAckId)?,
        ),
    };
    let data = match m.swap_remove("data") {
        None | Some(Value::Null) => None,
        Some(d) => Some(d),
    };
    let invalid = DecodeError::InvalidPayload { kind: ty.name() };
    Ok(match ty {
        PacketType::Connect => match data {
            None => Packet::Connect { nsp, data: None },
            Some(d @ Value::Object(_)) => Packet::Connect { nsp, data: Some(d) },
            Some(_) => return Err(invalid),
        },
        PacketType::Disconnect => match data {
            None => Packet::Disconnect { nsp },
            Some(_) => return Err(invalid),
        },
        PacketType::ConnectError => match data {
            None => Packet::ConnectError {
                nsp,
                data: Value::Null,
            },
            Some(d @ (Value::String(_) | Value::Object(_))) => {
                Packet::ConnectError { nsp, data: d }
            }
            Some(_) => return Err(invalid),
        },
        PacketType::Event => {
            let (name, args) = split_event(data.ok_or(invalid)?, false)?;
            Packet::Event {
                nsp,
                id,
                name,
                args,
            }
        }
        PacketType::Ack => {
            let Some(Value::Array(args)) = data else {
                return Err(invalid);
            };
            Packet::Ack {
                nsp,
                id: id.ok_or(DecodeError::BadAckId)?,
                args,
            }
        }
        PacketType::BinaryEvent | PacketType::BinaryAck => return Err(DecodeError::BadType),
    })
}
