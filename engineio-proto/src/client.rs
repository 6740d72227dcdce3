//! placeholder
/// placeholder
#[derive(Debug)]
pub struct ClientSession;
/// placeholder
#[derive(Debug)]
pub enum ClientEvent {}
