//! `eio`: the Engine.IO command line.

fn main() {
    println!("eio {}", env!("CARGO_PKG_VERSION"));
}
