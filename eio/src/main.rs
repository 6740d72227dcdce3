//! `eio`: the Engine.IO command line.
//!
//! - `eio serve`: an echo server with a live latency demo page;
//! - `eio connect URL`: a client printing one JSON object per event;
//! - `eio bench URL`: a raw Engine.IO v4 load generator;
//! - `eio sio URL`: a scriptable Socket.IO client (JSON lines both ways).

use clap::{Parser, Subcommand};

mod bench;
mod client_bench;
mod connect;
mod serve;
mod sio;
mod sio_bench;

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
    /// A Socket.IO client: prints one JSON object per event, runs one JSON
    /// command per stdin line (emit, call, disconnect).
    Sio(sio::SioArgs),
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
    /// Socket.IO emit-with-ack round trips with our client (the peer
    /// benchmark's client workload).
    #[command(hide = true)]
    SioBench(sio_bench::SioBenchArgs),
    /// Engine.IO echo round trips and idle connections with our clients
    /// (the peer benchmark's Engine.IO client workload).
    #[command(hide = true)]
    EioClientBench(client_bench::ClientBenchArgs),
}

/// mimalloc: growing glibc's per-thread heaps costs an `mprotect` call
/// every few pages, which showed as 6% of the server's CPU in a handshake
/// storm (sessions pile up for 45 s); mimalloc makes `eio serve` 18% faster
/// there and is otherwise neutral (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The tokio runtime of a subcommand with a `--threads` flag: `None` is one
/// worker per CPU this process may run on; 0 or 1 is a single-threaded
/// runtime (no work-stealing scheduler), as a process pinned to one CPU would
/// use anyway.
fn runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `eio sio` reports every fatal error, bad arguments included, as
        // its JSON error line.
        Err(e) if std::env::args().nth(1).as_deref() == Some("sio") && e.use_stderr() => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let _ = sio::fatal(first.trim_start_matches("error: "));
            e.exit()
        }
        Err(e) => e.exit(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Connect(args) => connect::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Sio(args) => sio::run(args),
        Command::TcpEcho { host, port } => bench::tcp_echo(&host, port),
        Command::SioBench(args) => sio_bench::run(args),
        Command::EioClientBench(args) => client_bench::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eio: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
