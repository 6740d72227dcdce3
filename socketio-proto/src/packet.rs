//! Socket.IO v5 packets, independent of any parser.
//!
//! A [`Packet`] is what both parsers ([`crate::parser`]) encode and decode.
//! BINARY_EVENT and BINARY_ACK (types 5 and 6) are not separate variants:
//! they are the default parser's way of sending an [`Packet::Event`] or an
//! [`Packet::Ack`] whose arguments hold [`Value::Binary`].

use crate::Value;

/// The packet type numbers of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: connect to a namespace (client), or its acceptance (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event.
    Event,
    /// `3`: an acknowledgement.
    Ack,
    /// `4`: the server refused a namespace connection.
    ConnectError,
    /// `5`: an event with binary attachments (default parser only).
    BinaryEvent,
    /// `6`: an acknowledgement with binary attachments (default parser only).
    BinaryAck,
}

impl PacketType {
    /// The type number, `0..=6`.
    pub const fn as_u8(self) -> u8 {
        match self {
            PacketType::Connect => 0,
            PacketType::Disconnect => 1,
            PacketType::Event => 2,
            PacketType::Ack => 3,
            PacketType::ConnectError => 4,
            PacketType::BinaryEvent => 5,
            PacketType::BinaryAck => 6,
        }
    }

    /// The type for a number, if it is one of `0..=6`.
    pub const fn from_u8(n: u8) -> Option<Self> {
        Some(match n {
            0 => PacketType::Connect,
            1 => PacketType::Disconnect,
            2 => PacketType::Event,
            3 => PacketType::Ack,
            4 => PacketType::ConnectError,
            5 => PacketType::BinaryEvent,
            6 => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// The protocol's name for the type, e.g. `"CONNECT_ERROR"`.
    pub const fn name(self) -> &'static str {
        match self {
            PacketType::Connect => "CONNECT",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Event => "EVENT",
            PacketType::Ack => "ACK",
            PacketType::ConnectError => "CONNECT_ERROR",
            PacketType::BinaryEvent => "BINARY_EVENT",
            PacketType::BinaryAck => "BINARY_ACK",
        }
    }
}

/// One Socket.IO packet.
///
/// `nsp` is the namespace as on the wire: `"/"` for the main namespace.
/// The default parser leaves `"/"` out when encoding and reads a missing
/// namespace as `"/"`; a namespace must not contain a `,` (the default
/// parser's separator).
#[derive(Clone, Debug, PartialEq)]
pub enum Packet {
    /// `0` CONNECT. From the client, `data` is the auth object (or `None`);
    /// from the server, `{"sid": "..."}`.
    Connect {
        /// The namespace.
        nsp: String,
        /// The auth object (client) or `{"sid"}` (server); an object or
        /// `None`.
        data: Option<Value>,
    },
    /// `1` DISCONNECT: leave the namespace.
    Disconnect {
        /// The namespace.
        nsp: String,
    },
    /// `2` EVENT, or `5` BINARY_EVENT when any argument holds binary.
    Event {
        /// The namespace.
        nsp: String,
        /// The ack id, when the sender wants an acknowledgement.
        id: Option<u64>,
        /// The event name (the first element of the payload array).
        name: String,
        /// The arguments (the rest of the payload array).
        args: Vec<Value>,
    },
    /// `3` ACK, or `6` BINARY_ACK when any argument holds binary.
    Ack {
        /// The namespace.
        nsp: String,
        /// The id of the event acknowledged.
        id: u64,
        /// The acknowledgement's arguments (possibly none).
        args: Vec<Value>,
    },
    /// `4` CONNECT_ERROR: the server refused the namespace.
    ConnectError {
        /// The namespace.
        nsp: String,
        /// `{"message": ..., "data"?: ...}` (v5) or a string (older servers);
        /// [`Value::Null`] if the server sent nothing.
        data: Value,
    },
}

impl Packet {
    /// The packet's namespace.
    pub fn nsp(&self) -> &str {
        match self {
            Packet::Connect { nsp, .. }
            | Packet::Disconnect { nsp }
            | Packet::Event { nsp, .. }
            | Packet::Ack { nsp, .. }
            | Packet::ConnectError { nsp, .. } => nsp,
        }
    }

    /// The type this packet has on the wire under the default parser:
    /// [`PacketType::BinaryEvent`] / [`PacketType::BinaryAck`] when an
    /// argument holds binary.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect { .. } => PacketType::Connect,
            Packet::Disconnect { .. } => PacketType::Disconnect,
            Packet::Event { args, .. } if args.iter().any(Value::has_binary) => {
                PacketType::BinaryEvent
            }
            Packet::Event { .. } => PacketType::Event,
            Packet::Ack { args, .. } if args.iter().any(Value::has_binary) => PacketType::BinaryAck,
            Packet::Ack { .. } => PacketType::Ack,
            Packet::ConnectError { .. } => PacketType::ConnectError,
        }
    }
}

/// Normalises a namespace name: `""` and `"/"` are the main namespace `"/"`,
/// and a name without a leading slash gets one (`"admin"` → `"/admin"`).
///
/// ```
/// use socketio_proto::packet::normalize_nsp;
/// assert_eq!(normalize_nsp(""), "/");
/// assert_eq!(normalize_nsp("admin"), "/admin");
/// assert_eq!(normalize_nsp("/admin"), "/admin");
/// ```
pub fn normalize_nsp(nsp: &str) -> String {
    if nsp.starts_with('/') {
        nsp.to_owned()
    } else {
        format!("/{nsp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        for n in 0..=6 {
            assert_eq!(PacketType::from_u8(n).unwrap().as_u8(), n);
        }
        assert_eq!(PacketType::from_u8(7), None);
        let ev = Packet::Event {
            nsp: "/".into(),
            id: None,
            name: "a".into(),
            args: vec![Value::Array(vec![Value::from(vec![1u8])])],
        };
        assert_eq!(ev.packet_type(), PacketType::BinaryEvent);
        assert_eq!(ev.nsp(), "/");
        assert_eq!(PacketType::ConnectError.name(), "CONNECT_ERROR");
    }
}
