//! The default parser (socket.io-parser's wire format).
//!
//! `<type>[<attachments>-][<nsp>,][<ack id>][JSON]`: the namespace is left
//! out when it is `/`; binary values are replaced by
//! `{"_placeholder":true,"num":i}` and sent after the text as binary
//! messages.

use std::cell::Cell;

use bytes::Bytes;
use engineio_proto::Data;
use serde::ser::{Serialize, SerializeMap, SerializeSeq};

use super::{split_event, DecodeError, DecoderLimits};
use crate::packet::PacketType;
use crate::{Packet, Value};

/// How a [`Value::Binary`] is written into JSON.
#[derive(Clone, Copy)]
enum Bin<'a> {
    /// As the next placeholder (EVENT, ACK).
    Placeholder(&'a Cell<u64>),
    /// As `{"$binary": hex}` (payloads that have no attachments).
    Hex,
}

struct Json<'a>(&'a Value, Bin<'a>);

impl Serialize for Json<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Binary(_) => match self.1 {
                Bin::Placeholder(next) => {
                    let num = next.get();
                    next.set(num + 1);
                    let mut m = s.serialize_map(Some(2))?;
                    m.serialize_entry("_placeholder", &true)?;
                    m.serialize_entry("num", &num)?;
                    m.end()
                }
                Bin::Hex => self.0.to_json().serialize(s),
            },
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Json(v, self.1))?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let mut m = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    m.serialize_entry(k, &Json(v, self.1))?;
                }
                m.end()
            }
            other => other.serialize(s),
        }
    }
}

/// An EVENT / ACK payload array: the optional name, then the arguments.
struct Payload<'a> {
    name: Option<&'a str>,
    args: &'a [Value],
    bin: Bin<'a>,
}

impl Serialize for Payload<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.args.len() + usize::from(self.name.is_some())))?;
        if let Some(name) = self.name {
            seq.serialize_element(name)?;
        }
        for v in self.args {
            seq.serialize_element(&Json(v, self.bin))?;
        }
        seq.end()
    }
}

fn write_json<T: Serialize>(out: &mut Vec<u8>, v: &T) {
    // Writing into a Vec cannot fail, and every key is a string.
    serde_json::to_writer(out, v).expect("a Value always serializes to JSON");
}

fn collect_binary(v: &Value, out: &mut Vec<Bytes>) {
    match v {
        Value::Binary(b) => out.push(b.clone()),
        Value::Array(a) => a.iter().for_each(|v| collect_binary(v, out)),
        Value::Object(m) => m.values().for_each(|v| collect_binary(v, out)),
        _ => {}
    }
}

pub(super) fn encode(packet: &Packet) -> Vec<Data> {
    let ty = packet.packet_type();
    let mut attachments = Vec::new();
    if let Packet::Event { args, .. } | Packet::Ack { args, .. } = packet {
        args.iter()
            .for_each(|v| collect_binary(v, &mut attachments));
    }
    let mut out = Vec::with_capacity(32);
    out.push(b'0' + ty.as_u8());
    if matches!(ty, PacketType::BinaryEvent | PacketType::BinaryAck) {
        out.extend_from_slice(attachments.len().to_string().as_bytes());
        out.push(b'-');
    }
    let nsp = packet.nsp();
    if !nsp.is_empty() && nsp != "/" {
        out.extend_from_slice(nsp.as_bytes());
        out.push(b',');
    }
    let id = match packet {
        Packet::Event { id, .. } => *id,
        Packet::Ack { id, .. } => Some(*id),
        _ => None,
    };
    if let Some(id) = id {
        out.extend_from_slice(id.to_string().as_bytes());
    }
    let next = Cell::new(0);
    match packet {
        Packet::Connect { data: Some(d), .. } => write_json(&mut out, &Json(d, Bin::Hex)),
        Packet::ConnectError { data, .. } if !data.is_null() => {
            write_json(&mut out, &Json(data, Bin::Hex));
        }
        Packet::Event { name, args, .. } => write_json(
            &mut out,
            &Payload {
                name: Some(name),
                args,
                bin: Bin::Placeholder(&next),
            },
        ),
        Packet::Ack { args, .. } => write_json(
            &mut out,
            &Payload {
                name: None,
                args,
                bin: Bin::Placeholder(&next),
            },
        ),
        _ => {}
    }
    // serde_json writes valid UTF-8, and the rest is ASCII or the namespace.
    let text = String::from_utf8(out).unwrap_or_default();
    let mut messages = Vec::with_capacity(1 + attachments.len());
    messages.push(Data::from(text));
    messages.extend(attachments.into_iter().map(Data::Binary));
    messages
}

/// A BINARY_EVENT / BINARY_ACK waiting for its attachments.
#[derive(Debug)]
pub(super) struct Pending {
    packet: Packet,
    expected: usize,
    buffers: Vec<Bytes>,
    bytes: usize,
}

impl Pending {
    /// Adds an attachment; `true` once all have arrived.
    pub(super) fn add(&mut self, b: Bytes, limits: &DecoderLimits) -> Result<bool, DecodeError> {
        self.bytes = self.bytes.saturating_add(b.len());
        if self.bytes > limits.max_binary_bytes {
            return Err(DecodeError::BinaryTooLarge {
                max: limits.max_binary_bytes,
            });
        }
        self.buffers.push(b);
        Ok(self.buffers.len() >= self.expected)
    }

    /// The packet with its placeholders replaced (all were checked to be in
    /// range when the header was decoded).
    pub(super) fn finish(mut self) -> Packet {
        if let Packet::Event { args, .. } | Packet::Ack { args, .. } = &mut self.packet {
            for v in args {
                fill(v, &self.buffers);
            }
        }
        self.packet
    }
}

fn placeholder_num(m: &crate::Map) -> Option<Option<&Value>> {
    (m.get("_placeholder") == Some(&Value::Bool(true))).then(|| m.get("num"))
}

/// Checks every placeholder points at one of `count` attachments.
fn check_placeholders(v: &Value, count: usize) -> Result<(), DecodeError> {
    match v {
        Value::Object(m) => match placeholder_num(m) {
            Some(num) => match num.and_then(Value::as_u64) {
                Some(n) if n < count as u64 => Ok(()),
                _ => Err(DecodeError::BadPlaceholder),
            },
            None => m.values().try_for_each(|v| check_placeholders(v, count)),
        },
        Value::Array(a) => a.iter().try_for_each(|v| check_placeholders(v, count)),
        _ => Ok(()),
    }
}

fn fill(v: &mut Value, buffers: &[Bytes]) {
    match v {
        Value::Object(m) => {
            let index = placeholder_num(m).map(|n| n.and_then(Value::as_u64));
            match index {
                Some(Some(n)) => {
                    if let Some(b) = usize::try_from(n).ok().and_then(|n| buffers.get(n)) {
                        *v = Value::Binary(b.clone());
                    }
                }
                Some(None) => {}
                None => m.values_mut().for_each(|v| fill(v, buffers)),
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| fill(v, buffers)),
        _ => {}
    }
}

pub(super) enum Decoded {
    Packet(Packet),
    Pending(Pending),
}

fn digits(s: &[u8], from: usize) -> usize {
    s[from..].iter().take_while(|b| b.is_ascii_digit()).count()
}

pub(super) fn decode(s: &str, limits: &DecoderLimits) -> Result<Decoded, DecodeError> {
    let bytes = s.as_bytes();
    let &first = bytes.first().ok_or(DecodeError::Empty)?;
    let ty = first
        .checked_sub(b'0')
        .and_then(PacketType::from_u8)
        .ok_or(DecodeError::UnknownType(first))?;
    let mut i = 1;

    let binary = matches!(ty, PacketType::BinaryEvent | PacketType::BinaryAck);
    let mut attachments = 0usize;
    if binary {
        let n = digits(bytes, i);
        if n == 0 || bytes.get(i + n) != Some(&b'-') {
            return Err(DecodeError::BadAttachmentCount);
        }
        attachments = s[i..i + n].parse().unwrap_or(usize::MAX);
        if attachments > limits.max_attachments {
            return Err(DecodeError::TooManyAttachments {
                count: attachments,
                max: limits.max_attachments,
            });
        }
        i += n + 1;
    }

    let nsp = if bytes.get(i) == Some(&b'/') {
        let end = bytes[i..]
            .iter()
            .position(|&b| b == b',')
            .map_or(bytes.len(), |p| i + p);
        let nsp = s[i..end].to_owned();
        i = (end + 1).min(bytes.len());
        nsp
    } else {
        "/".to_owned()
    };

    let n = digits(bytes, i);
    let id = if n > 0 {
        let id = s[i..i + n]
            .parse::<u64>()
            .map_err(|_| DecodeError::BadAckId)?;
        i += n;
        Some(id)
    } else {
        None
    };

    let payload = if i < bytes.len() {
        Some(
            serde_json::from_str::<Value>(&s[i..])
                .map_err(|e| DecodeError::InvalidJson(e.to_string()))?,
        )
    } else {
        None
    };

    let invalid = DecodeError::InvalidPayload { kind: ty.name() };
    let packet = match ty {
        PacketType::Connect => match payload {
            None => Packet::Connect { nsp, data: None },
            Some(d @ Value::Object(_)) => Packet::Connect { nsp, data: Some(d) },
            Some(_) => return Err(invalid),
        },
        PacketType::Disconnect => match payload {
            None => Packet::Disconnect { nsp },
            Some(_) => return Err(invalid),
        },
        PacketType::ConnectError => match payload {
            None => Packet::ConnectError {
                nsp,
                data: Value::Null,
            },
            Some(d @ (Value::String(_) | Value::Object(_))) => {
                Packet::ConnectError { nsp, data: d }
            }
            Some(_) => return Err(invalid),
        },
        PacketType::Event | PacketType::BinaryEvent => {
            let (name, args) = split_event(payload.ok_or(invalid)?, true)
                .map_err(|_| DecodeError::InvalidPayload { kind: ty.name() })?;
            Packet::Event {
                nsp,
                id,
                name,
                args,
            }
        }
        PacketType::Ack | PacketType::BinaryAck => {
            let Some(Value::Array(args)) = payload else {
                return Err(invalid);
            };
            Packet::Ack {
                nsp,
                id: id.ok_or(DecodeError::BadAckId)?,
                args,
            }
        }
    };

    if !binary {
        return Ok(Decoded::Packet(packet));
    }
    if let Packet::Event { args, .. } | Packet::Ack { args, .. } = &packet {
        args.iter()
            .try_for_each(|v| check_placeholders(v, attachments))?;
    }
    if attachments == 0 {
        return Ok(Decoded::Packet(packet));
    }
    Ok(Decoded::Pending(Pending {
        packet,
        expected: attachments,
        buffers: Vec::with_capacity(attachments.min(16)),
        bytes: 0,
    }))
}
