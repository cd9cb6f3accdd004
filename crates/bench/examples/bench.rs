//! The bench tool on its own, without the `ferromq` binary:
//! `cargo run -p ferromq-bench --example bench -- produce --namesrv 127.0.0.1:9876 --duration 3s`.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "Benchmark a RocketMQ-compatible broker, found through a name server"
)]
struct Cli {
    #[command(flatten)]
    args: ferromq_bench::BenchArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match ferromq_bench::run(Cli::parse().args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The client's errors repeat their sources in their messages: show the first level only.
            match std::error::Error::source(&e) {
                Some(source) => eprintln!("error: {e}: {source}"),
                None => eprintln!("error: {e}"),
            }
            std::process::ExitCode::FAILURE
        }
    }
}
