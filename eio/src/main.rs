//! `eio`: the Engine.IO command line.
//!
//! - `eio serve`: an echo server with a live latency demo page;
//! - `eio connect URL`: a client printing one JSON object per event;
//! - `eio bench URL`: a raw Engine.IO v4 load generator.

use clap::{Parser, Subcommand};

mod bench;
mod connect;
mod serve;

/// The Engine.IO command line.
#[derive(Debug, Parser)]
#[command(name = "eio", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an echo server with a live latency demo page at `/`.
    Serve(serve::ServeArgs),
    /// Connect to a server and print one JSON object per event; stdin lines
    /// are sent as text messages.
    Connect(connect::ConnectArgs),
    /// Load an Engine.IO server with echo traffic, handshakes or idle
    /// connections, and report messages/s and latency.
    Bench(bench::BenchArgs),
    /// A plain TCP echo server: the floor `eio bench --transport tcp`
    /// measures against.
    #[command(hide = true)]
    TcpEcho {
        /// Interface to bind.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port (0 picks a free one; the chosen port is printed).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

/// mimalloc: growing glibc's per-thread heaps costs an `mprotect` call
/// every few pages, which showed as 6% of the server's CPU in a handshake
/// storm (sessions pile up for 45 s); mimalloc makes `eio serve` 18% faster
/// there and is otherwise neutral (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Connect(args) => connect::run(args),
        Command::Bench(args) => bench::run(args),
        Command::TcpEcho { host, port } => bench::tcp_echo(&host, port),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eio: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
