//! The client side of Socket.IO over one Engine.IO connection, as a state
//! machine.
//!
//! [`ClientState`] tracks the namespaces (connecting, connected with their
//! sid), numbers acknowledgements, encodes what the application sends and
//! decodes what the server sends. It follows python-socketio's client:
//! emitting to a namespace that is not connected is an error and nothing is
//! buffered; ack ids count per namespace from 1.
//!
//! # Driving it
//!
//! Inputs: [`ClientState::handle_engine_open`] when an Engine.IO connection
//! is up, then [`ClientState::connect`] for each namespace;
//! [`ClientState::handle_message`] for every Engine.IO message from the
//! server; [`ClientState::handle_engine_close`] when the Engine.IO
//! connection ends; [`ClientState::emit`], [`ClientState::ack`],
//! [`ClientState::disconnect`] from the application.
//!
//! Outputs, polled after every input: [`ClientState::poll_transmit`] (the
//! Engine.IO messages to send, in order), then [`ClientState::poll_event`].
//! When [`ClientState::is_idle`] turns true after a server DISCONNECT, no
//! namespace is left and the driver closes the Engine.IO connection.
//!
//! Namespaces are normalised everywhere: `""` and `"/"` are the main
//! namespace `"/"`, and `"admin"` is `"/admin"`.
//!
//! ```
//! use engineio_proto::Data;
//! use socketio_proto::{ClientState, DecoderLimits, Event, Serializer, Value};
//!
//! let mut c = ClientState::new(Serializer::Default, DecoderLimits::default());
//! c.handle_engine_open();
//! c.connect("/", None);
//! assert_eq!(c.poll_transmit(), Some(Data::from("0")));
//! c.handle_message(Data::from(r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#)).unwrap();
//! assert_eq!(
//!     c.poll_event(),
//!     Some(Event::Connect { nsp: "/".into(), sid: "wZX3oN0bSVIhsaknAAAI".into() })
//! );
//!
//! let id = c.emit("/", "hello", vec![Value::from("Jude")], true).unwrap();
//! assert_eq!(id, Some(1));
//! assert_eq!(c.poll_transmit(), Some(Data::from(r#"21["hello","Jude"]"#)));
//! c.handle_message(Data::from(r#"31["ok"]"#)).unwrap();
//! assert_eq!(
//!     c.poll_event(),
//!     Some(Event::Ack { nsp: "/".into(), id: 1, args: vec![Value::from("ok")] })
//! );
//! ```

use std::collections::{BTreeMap, VecDeque};

use engineio_proto::Data;

use crate::packet::normalize_nsp;
use crate::parser::{encode, DecodeError, Decoder, DecoderLimits, Serializer};
use crate::{Packet, Value};

/// Why a namespace was left. The strings are python-socketio's reason
/// values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The application called [`ClientState::disconnect`] (or
    /// `disconnect_all`).
    ClientDisconnect,
    /// The server sent DISCONNECT for the namespace, or closed the Engine.IO
    /// connection.
    ServerDisconnect,
    /// The transport failed.
    TransportError,
    /// The transport was closed by the network or the peer.
    TransportClose,
    /// The server stopped answering heartbeats.
    PingTimeout,
}

impl DisconnectReason {
    /// python-socketio's string for the reason, e.g. `"server disconnect"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientDisconnect => "client disconnect",
            DisconnectReason::ServerDisconnect => "server disconnect",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::PingTimeout => "ping timeout",
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<engineio_proto::DisconnectReason> for DisconnectReason {
    fn from(r: engineio_proto::DisconnectReason) -> Self {
        use engineio_proto::DisconnectReason as E;
        match r {
            E::ClientDisconnect => DisconnectReason::ClientDisconnect,
            E::ServerDisconnect => DisconnectReason::ServerDisconnect,
            E::PingTimeout => DisconnectReason::PingTimeout,
            E::TransportClose => DisconnectReason::TransportClose,
            _ => DisconnectReason::TransportError,
        }
    }
}

/// What the application learns from a [`ClientState`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The server accepted a namespace.
    Connect {
        /// The namespace.
        nsp: String,
        /// The namespace's session id (not the Engine.IO sid).
        sid: String,
    },
    /// The server refused a namespace; it is forgotten.
    ConnectError {
        /// The namespace.
        nsp: String,
        /// The CONNECT_ERROR payload as received, e.g.
        /// `{"message":"not authorized","data":{...}}`, or a string.
        data: Value,
    },
    /// A namespace was left. Also sent when the server sends DISCONNECT
    /// for a namespace that was still connecting.
    Disconnect {
        /// The namespace.
        nsp: String,
        /// Why.
        reason: DisconnectReason,
    },
    /// An event from the server.
    Event {
        /// The namespace.
        nsp: String,
        /// The event name.
        name: String,
        /// Its arguments.
        args: Vec<Value>,
        /// `Some(id)` when the server wants an acknowledgement: answer with
        /// [`ClientState::ack`] and this id.
        ack_id: Option<u64>,
    },
    /// The server acknowledged one of our events.
    Ack {
        /// The namespace.
        nsp: String,
        /// The id [`ClientState::emit`] returned.
        id: u64,
        /// The acknowledgement's arguments.
        args: Vec<Value>,
    },
}

/// Why an emit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The namespace is not connected (python-socketio's
    /// `BadNamespaceError`). Nothing was queued.
    #[error("namespace {0} is not connected")]
    NotConnected(String),
}

#[derive(Debug)]
enum NsState {
    Connecting,
    Connected { sid: String },
}

#[derive(Debug)]
struct Namespace {
    name: String,
    state: NsState,
}

/// The client side of Socket.IO over one Engine.IO connection at a time.
/// See the [module docs](self).
#[derive(Debug)]
pub struct ClientState {
    serializer: Serializer,
    decoder: Decoder,
    /// Connected namespaces in the order they were accepted, connecting ones
    /// wherever `connect` put them.
    namespaces: Vec<Namespace>,
    /// The last ack id used, per namespace; kept while the Engine.IO
    /// connection lasts, as python-socketio keeps its callbacks. A
    /// `BTreeMap`: with a namespace or two, a comparison is cheaper than
    /// hashing the name with SipHash on every emit.
    ack_ids: BTreeMap<String, u64>,
    transmit: VecDeque<Data>,
    events: VecDeque<Event>,
}

impl ClientState {
    /// A client speaking `serializer`, its decoder bounded by `limits`.
    pub fn new(serializer: Serializer, limits: DecoderLimits) -> Self {
        ClientState {
            serializer,
            decoder: Decoder::new(serializer, limits),
            namespaces: Vec::new(),
            ack_ids: BTreeMap::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The serializer in use.
    pub fn serializer(&self) -> Serializer {
        self.serializer
    }

    fn find(&self, nsp: &str) -> Option<usize> {
        self.namespaces.iter().position(|n| n.name == nsp)
    }

    fn send(&mut self, packet: &Packet) {
        self.transmit.extend(encode(self.serializer, packet));
    }

    fn forget_connection(&mut self) {
        self.decoder.reset();
        self.namespaces.clear();
        self.ack_ids.clear();
        self.transmit.clear();
    }

    /// A (new) Engine.IO connection is up. The decoder is reset, and
    /// namespaces, ack ids and queued messages of an earlier connection
    /// are forgotten (without events: [`ClientState::handle_engine_close`]
    /// gave them). Call [`ClientState::connect`] afterwards.
    pub fn handle_engine_open(&mut self) {
        self.forget_connection();
    }

    /// Queues a CONNECT for `nsp`, which becomes "connecting" until the
    /// server answers. `auth` is the CONNECT payload, which the protocol
    /// requires to be an object: pass an object or `None` (a
    /// [`Value::Null`] counts as `None`; other values are sent as they are
    /// and servers refuse them). A namespace already connected or
    /// connecting is left alone.
    pub fn connect(&mut self, nsp: &str, auth: Option<Value>) {
        let nsp = normalize_nsp(nsp);
        if self.find(&nsp).is_some() {
            return;
        }
        let data = auth.filter(|a| !a.is_null());
        self.send(&Packet::Connect {
            nsp: nsp.clone(),
            data,
        });
        self.namespaces.push(Namespace {
            name: nsp,
            state: NsState::Connecting,
        });
    }

    /// Leaves `nsp`: if it is connected or connecting, queues DISCONNECT,
    /// forgets it, produces [`Event::Disconnect`] with
    /// [`DisconnectReason::ClientDisconnect`] (only if it was connected) and
    /// returns `true`; otherwise returns `false`.
    pub fn disconnect(&mut self, nsp: &str) -> bool {
        let nsp = normalize_nsp(nsp);
        let Some(i) = self.find(&nsp) else {
            return false;
        };
        let ns = self.namespaces.remove(i);
        self.send(&Packet::Disconnect { nsp: nsp.clone() });
        if matches!(ns.state, NsState::Connected { .. }) {
            self.events.push_back(Event::Disconnect {
                nsp,
                reason: DisconnectReason::ClientDisconnect,
            });
        }
        true
    }

    /// Leaves every namespace: DISCONNECT and [`Event::Disconnect`] for each
    /// connected one, in connect order; namespaces still connecting get a
    /// DISCONNECT too, without event. The driver then closes the Engine.IO
    /// connection.
    pub fn disconnect_all(&mut self) {
        let mut names: Vec<String> = self
            .namespaces
            .iter()
            .filter(|n| matches!(n.state, NsState::Connected { .. }))
            .map(|n| n.name.clone())
            .collect();
        names.extend(
            self.namespaces
                .iter()
                .filter(|n| matches!(n.state, NsState::Connecting))
                .map(|n| n.name.clone()),
        );
        for n in names {
            self.disconnect(&n);
        }
    }

    fn check_connected(&self, nsp: &str) -> Result<(), EmitError> {
        if self.is_connected(nsp) {
            Ok(())
        } else {
            Err(EmitError::NotConnected(nsp.to_owned()))
        }
    }

    /// Queues an EVENT `name` with `args` on a connected namespace. With
    /// `want_ack`, the event carries the next ack id of the namespace
    /// (counting from 1), which is returned; the answer comes as
    /// [`Event::Ack`] with that id.
    ///
    /// The default parser sends it as BINARY_EVENT when an argument holds
    /// binary. Event names socket.io reserves (`"connect"`,
    /// `"disconnect"`, ...) make socket.io servers drop the connection.
    pub fn emit(
        &mut self,
        nsp: &str,
        name: &str,
        args: Vec<Value>,
        want_ack: bool,
    ) -> Result<Option<u64>, EmitError> {
        let nsp = normalize_nsp(nsp);
        self.check_connected(&nsp)?;
        let id = want_ack.then(|| match self.ack_ids.get_mut(&nsp) {
            Some(last) => {
                *last += 1;
                *last
            }
            None => {
                self.ack_ids.insert(nsp.clone(), 1);
                1
            }
        });
        self.send(&Packet::Event {
            nsp,
            id,
            name: name.to_owned(),
            args,
        });
        Ok(id)
    }

    /// Queues an ACK answering the server's event `id` (from
    /// [`Event::Event::ack_id`](Event::Event)) on a connected namespace.
    pub fn ack(&mut self, nsp: &str, id: u64, args: Vec<Value>) -> Result<(), EmitError> {
        let nsp = normalize_nsp(nsp);
        self.check_connected(&nsp)?;
        self.send(&Packet::Ack { nsp, id, args });
        Ok(())
    }

    /// One Engine.IO message from the server.
    ///
    /// An error means the server broke the protocol (socket.io-client
    /// closes the connection with "parse error"); the state is unchanged
    /// except that a half-received binary packet is dropped. Packets for a
    /// namespace that is not connected are ignored, as are CONNECT answers
    /// nobody asked for.
    pub fn handle_message(&mut self, data: Data) -> Result<(), DecodeError> {
        let Some(packet) = self.decoder.decode(data)? else {
            return Ok(());
        };
        match packet {
            Packet::Connect { nsp, data } => {
                let nsp = into_normalized(nsp);
                let Some(i) = self.find(&nsp) else {
                    return Ok(());
                };
                if !matches!(self.namespaces[i].state, NsState::Connecting) {
                    return Ok(());
                }
                let sid = data
                    .as_ref()
                    .and_then(|d| d.get("sid"))
                    .and_then(Value::as_str)
                    .ok_or(DecodeError::InvalidPayload { kind: "CONNECT" })?
                    .to_owned();
                // Connected namespaces are kept in the order accepted.
                let mut ns = self.namespaces.remove(i);
                ns.state = NsState::Connected { sid: sid.clone() };
                self.namespaces.push(ns);
                self.events.push_back(Event::Connect { nsp, sid });
            }
            Packet::ConnectError { nsp, data } => {
                let nsp = into_normalized(nsp);
                if let Some(i) = self.find(&nsp) {
                    self.namespaces.remove(i);
                    self.events.push_back(Event::ConnectError { nsp, data });
                }
            }
            Packet::Disconnect { nsp } => {
                let nsp = into_normalized(nsp);
                if let Some(i) = self.find(&nsp) {
                    self.namespaces.remove(i);
                    self.events.push_back(Event::Disconnect {
                        nsp,
                        reason: DisconnectReason::ServerDisconnect,
                    });
                }
            }
            Packet::Event {
                nsp,
                id,
                name,
                args,
            } => {
                let nsp = into_normalized(nsp);
                if self.is_connected(&nsp) {
                    self.events.push_back(Event::Event {
                        nsp,
                        name,
                        args,
                        ack_id: id,
                    });
                }
            }
            Packet::Ack { nsp, id, args } => {
                let nsp = into_normalized(nsp);
                if self.is_connected(&nsp) {
                    self.events.push_back(Event::Ack { nsp, id, args });
                }
            }
        }
        Ok(())
    }

    /// The Engine.IO connection ended: each connected namespace gets
    /// [`Event::Disconnect`] with `reason`, in connect order; connecting
    /// ones are dropped silently; queued messages are dropped and the
    /// decoder is reset.
    pub fn handle_engine_close(&mut self, reason: DisconnectReason) {
        for ns in std::mem::take(&mut self.namespaces) {
            if matches!(ns.state, NsState::Connected { .. }) {
                self.events.push_back(Event::Disconnect {
                    nsp: ns.name,
                    reason,
                });
            }
        }
        self.forget_connection();
    }

    /// The next Engine.IO message to send.
    pub fn poll_transmit(&mut self) -> Option<Data> {
        self.transmit.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The namespace's sid, if it is connected.
    pub fn sid(&self, nsp: &str) -> Option<&str> {
        self.namespaces.iter().find_map(|n| match &n.state {
            NsState::Connected { sid } if names(&n.name, nsp) => Some(sid.as_str()),
            _ => None,
        })
    }

    /// Whether the namespace is connected.
    pub fn is_connected(&self, nsp: &str) -> bool {
        self.sid(nsp).is_some()
    }

    /// Whether a CONNECT for the namespace awaits the server's answer.
    pub fn is_connecting(&self, nsp: &str) -> bool {
        self.namespaces
            .iter()
            .any(|n| names(&n.name, nsp) && matches!(n.state, NsState::Connecting))
    }

    /// The connected namespaces and their sids, in connect order.
    pub fn namespaces(&self) -> Vec<(String, String)> {
        self.namespaces
            .iter()
            .filter_map(|n| match &n.state {
                NsState::Connected { sid } => Some((n.name.clone(), sid.clone())),
                NsState::Connecting => None,
            })
            .collect()
    }

    /// Whether no namespace is connected or connecting.
    pub fn is_idle(&self) -> bool {
        self.namespaces.is_empty()
    }
}

/// [`normalize_nsp`] of an owned name, which keeps its allocation when it
/// is normal already (every name a server sends).
fn into_normalized(nsp: String) -> String {
    if nsp.starts_with('/') {
        nsp
    } else {
        normalize_nsp(&nsp)
    }
}

/// Whether the normalized namespace `name` is `nsp` once normalized, without
/// allocating.
fn names(name: &str, nsp: &str) -> bool {
    if nsp.starts_with('/') {
        name == nsp
    } else {
        name.strip_prefix('/') == Some(nsp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client() -> ClientState {
        let mut c = ClientState::new(Serializer::Default, DecoderLimits::default());
        c.handle_engine_open();
        c
    }

    fn text(s: &str) -> Data {
        Data::from(s)
    }

    fn sent(c: &mut ClientState) -> Vec<Data> {
        std::iter::from_fn(|| c.poll_transmit()).collect()
    }

    fn events(c: &mut ClientState) -> Vec<Event> {
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    fn connected(nsps: &[&str]) -> ClientState {
        let mut c = client();
        for (i, n) in nsps.iter().enumerate() {
            c.connect(n, None);
            let nsp = normalize_nsp(n);
            let prefix = if nsp == "/" {
                String::new()
            } else {
                format!("{nsp},")
            };
            c.handle_message(text(&format!(r#"0{prefix}{{"sid":"s{i}"}}"#)))
                .unwrap();
        }
        sent(&mut c);
        events(&mut c);
        c
    }

    #[test]
    fn connect_with_auth_and_namespaces() {
        let mut c = client();
        c.connect("admin", Some(Value::from(json!({"token": "123"}))));
        assert!(c.is_connecting("/admin"));
        assert!(!c.is_idle());
        c.connect("/admin", None); // no-op
        c.connect("", Some(Value::Null));
        assert_eq!(
            sent(&mut c),
            vec![text(r#"0/admin,{"token":"123"}"#), text("0")]
        );
        c.handle_message(text(r#"0{"sid":"a"}"#)).unwrap();
        c.handle_message(text(r#"0/admin,{"sid":"b"}"#)).unwrap();
        assert_eq!(
            events(&mut c),
            vec![
                Event::Connect {
                    nsp: "/".into(),
                    sid: "a".into()
                },
                Event::Connect {
                    nsp: "/admin".into(),
                    sid: "b".into()
                },
            ]
        );
        assert_eq!(
            c.namespaces(),
            vec![("/".into(), "a".into()), ("/admin".into(), "b".into())]
        );
        assert_eq!(c.sid("admin"), Some("b"));
        // An answer for a namespace we did not ask for, or a second one.
        c.handle_message(text(r#"0/other,{"sid":"x"}"#)).unwrap();
        c.handle_message(text(r#"0/admin,{"sid":"y"}"#)).unwrap();
        assert_eq!(events(&mut c), vec![]);
        assert_eq!(c.sid("/admin"), Some("b"));
    }

    #[test]
    fn connect_answer_needs_a_sid() {
        let mut c = client();
        c.connect("/", None);
        for bad in ["0", r#"0{"sid":1}"#, r#"0{}"#] {
            assert_eq!(
                c.handle_message(text(bad)),
                Err(DecodeError::InvalidPayload { kind: "CONNECT" })
            );
        }
        assert!(c.is_connecting("/"));
    }

    #[test]
    fn connect_error() {
        let mut c = client();
        c.connect("/", None);
        c.handle_message(text(r#"4{"message":"not authorized","data":{"code":4}}"#))
            .unwrap();
        assert_eq!(
            events(&mut c),
            vec![Event::ConnectError {
                nsp: "/".into(),
                data: Value::from(json!({"message":"not authorized","data":{"code":4}}))
            }]
        );
        assert!(c.is_idle());
        // For a namespace we don't know: ignored.
        c.handle_message(text(r#"4/x,"no""#)).unwrap();
        assert_eq!(events(&mut c), vec![]);
    }

    #[test]
    fn namespace_names_compare_as_normalized() {
        for (name, nsp, same) in [
            ("/", "/", true),
            ("/", "", true),
            ("/chat", "chat", true),
            ("/chat", "/chat", true),
            ("/chat", "/", false),
            ("/", "chat", false),
            ("/chat", "/chats", false),
            ("/chat", "hat", false),
        ] {
            assert_eq!(names(name, nsp), same, "{name:?} vs {nsp:?}");
            assert_eq!(
                names(name, nsp),
                normalize_nsp(nsp) == name,
                "{name:?} vs {nsp:?}"
            );
        }
        assert_eq!(into_normalized("/a".into()), "/a");
        assert_eq!(into_normalized("a".into()), "/a");
        assert_eq!(into_normalized(String::new()), "/");
    }

    #[test]
    fn emit_and_ack_ids_per_namespace() {
        let mut c = connected(&["/", "/admin"]);
        assert_eq!(
            c.emit("/nope", "x", vec![], false),
            Err(EmitError::NotConnected("/nope".into()))
        );
        assert_eq!(c.emit("/", "a", vec![], true), Ok(Some(1)));
        assert_eq!(c.emit("/", "b", vec![], false), Ok(None));
        assert_eq!(c.emit("/", "c", vec![], true), Ok(Some(2)));
        assert_eq!(
            c.emit("/admin", "d", vec![Value::from(1u64)], true),
            Ok(Some(1))
        );
        assert_eq!(
            sent(&mut c),
            vec![
                text(r#"21["a"]"#),
                text(r#"2["b"]"#),
                text(r#"22["c"]"#),
                text(r#"2/admin,1["d",1]"#),
            ]
        );
        c.handle_message(text(r#"3/admin,1["bar"]"#)).unwrap();
        assert_eq!(
            events(&mut c),
            vec![Event::Ack {
                nsp: "/admin".into(),
                id: 1,
                args: vec![Value::from("bar")]
            }]
        );
        assert_eq!(
            c.ack("/x", 1, vec![]),
            Err(EmitError::NotConnected("/x".into()))
        );
        c.ack("/admin", 13, vec![Value::from("bar")]).unwrap();
        assert_eq!(sent(&mut c), vec![text(r#"3/admin,13["bar"]"#)]);
    }

    #[test]
    fn events_with_binary() {
        let mut c = connected(&["/"]);
        c.emit("/", "up", vec![Value::from(vec![1u8, 2])], false)
            .unwrap();
        assert_eq!(
            sent(&mut c),
            vec![
                text(r#"51-["up",{"_placeholder":true,"num":0}]"#),
                Data::from(vec![1u8, 2])
            ]
        );
        c.handle_message(text(r#"51-15["foo",{"_placeholder":true,"num":0}]"#))
            .unwrap();
        assert_eq!(events(&mut c), vec![]);
        c.handle_message(Data::from(vec![9u8])).unwrap();
        assert_eq!(
            events(&mut c),
            vec![Event::Event {
                nsp: "/".into(),
                name: "foo".into(),
                args: vec![Value::from(vec![9u8])],
                ack_id: Some(15)
            }]
        );
    }

    #[test]
    fn packets_for_unconnected_namespaces_are_ignored() {
        let mut c = connected(&["/"]);
        c.connect("/pending", None);
        for m in [
            r#"2/x,["a"]"#,
            r#"3/x,1[]"#,
            r#"2/pending,["a"]"#,
            r#"1/x,"#,
        ] {
            c.handle_message(text(m)).unwrap();
        }
        assert_eq!(events(&mut c), vec![]);
        c.handle_message(text(r#"2["a",1]"#)).unwrap();
        assert_eq!(events(&mut c).len(), 1);
    }

    #[test]
    fn server_disconnect() {
        let mut c = connected(&["/", "/admin"]);
        c.handle_message(text("1/admin,")).unwrap();
        assert_eq!(
            events(&mut c),
            vec![Event::Disconnect {
                nsp: "/admin".into(),
                reason: DisconnectReason::ServerDisconnect
            }]
        );
        assert!(!c.is_idle());
        c.handle_message(text("1")).unwrap();
        assert_eq!(events(&mut c).len(), 1);
        assert!(c.is_idle());
        assert_eq!(sent(&mut c), vec![]);
    }

    #[test]
    fn client_disconnect() {
        let mut c = connected(&["/", "/a"]);
        c.connect("/b", None);
        sent(&mut c);
        assert!(c.disconnect("a"));
        assert!(!c.disconnect("a"));
        assert!(c.disconnect("/b")); // connecting: DISCONNECT, no event
        assert_eq!(sent(&mut c), vec![text("1/a,"), text("1/b,")]);
        assert_eq!(
            events(&mut c),
            vec![Event::Disconnect {
                nsp: "/a".into(),
                reason: DisconnectReason::ClientDisconnect
            }]
        );
        let mut c = connected(&["/z", "/", "/a"]);
        c.disconnect_all();
        assert_eq!(sent(&mut c), vec![text("1/z,"), text("1"), text("1/a,")]);
        let nsps: Vec<String> = events(&mut c)
            .into_iter()
            .map(|e| match e {
                Event::Disconnect { nsp, reason } => {
                    assert_eq!(reason, DisconnectReason::ClientDisconnect);
                    nsp
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(nsps, ["/z", "/", "/a"]);
        assert!(c.is_idle());
    }

    #[test]
    fn engine_close_and_reopen() {
        let mut c = connected(&["/a", "/"]);
        c.connect("/c", None);
        c.emit("/", "x", vec![], true).unwrap();
        // Half a binary packet.
        c.handle_message(text(r#"51-["x",{"_placeholder":true,"num":0}]"#))
            .unwrap();
        c.handle_engine_close(DisconnectReason::PingTimeout);
        assert_eq!(sent(&mut c), vec![]);
        assert_eq!(
            events(&mut c),
            vec![
                Event::Disconnect {
                    nsp: "/a".into(),
                    reason: DisconnectReason::PingTimeout
                },
                Event::Disconnect {
                    nsp: "/".into(),
                    reason: DisconnectReason::PingTimeout
                },
            ]
        );
        assert!(c.is_idle());
        c.handle_engine_open();
        // The decoder was reset: a text message is fine again.
        c.connect("/", None);
        c.handle_message(text(r#"0{"sid":"n"}"#)).unwrap();
        // Ack ids start again.
        assert_eq!(c.emit("/", "x", vec![], true), Ok(Some(1)));
    }

    #[test]
    fn reasons() {
        use engineio_proto::DisconnectReason as E;
        for (e, s) in [
            (E::ClientDisconnect, "client disconnect"),
            (E::ServerDisconnect, "server disconnect"),
            (E::PingTimeout, "ping timeout"),
            (E::TransportClose, "transport close"),
            (E::TransportError, "transport error"),
        ] {
            assert_eq!(DisconnectReason::from(e).as_str(), s);
            assert_eq!(DisconnectReason::from(e).to_string(), s);
        }
    }

    #[test]
    fn msgpack_client() {
        let mut c = ClientState::new(Serializer::MsgPack, DecoderLimits::default());
        c.handle_engine_open();
        c.connect("/", None);
        let Some(Data::Binary(connect)) = c.poll_transmit() else {
            panic!("not binary")
        };
        // {"type":0,"nsp":"/"}
        assert_eq!(&connect[..], b"\x82\xa4type\x00\xa3nsp\xa1/");
        c.handle_message(Data::from(
            b"\x83\xa4type\x00\xa4data\x81\xa3sid\xa3abc\xa3nsp\xa1/".to_vec(),
        ))
        .unwrap();
        assert!(c.is_connected("/"));
        assert_eq!(c.sid("/"), Some("abc"));
        assert!(c.handle_message(Data::from("0")).is_err());
    }
}
