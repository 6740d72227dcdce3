//! placeholder
/// placeholder
#[derive(Debug)]
pub struct ServerSession;
/// placeholder
#[derive(Debug)]
pub enum ServerEvent {}
