//! `lnsd`: the L2TP Network Server daemon.
//!
//! ```text
//! lnsd --config FILE        run in the foreground
//! lnsd check-config FILE    validate FILE (and the files it names), then exit
//! ```
//!
//! Thin by design: parse arguments, use one malloc arena
//! (`lns_node::arena`, which may re-execute the process), set up logging,
//! build the runtime and call `lns_node::daemon::run`.

use lns_node::config::{Config, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: lnsd --config FILE | lnsd check-config FILE";

enum Command {
    Run(PathBuf),
    Check(PathBuf),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args.as_slice() {
        [flag, file] if flag == "--config" || flag == "-c" => Command::Run(file.into()),
        [cmd, file] if cmd == "check-config" => Command::Check(file.into()),
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Check(path) => check(&path),
        Command::Run(path) => {
            // Before anything starts: it may re-execute the process.
            lns_node::arena::use_one_arena();
            run(path)
        }
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    let result = Config::load(path).and_then(|c| {
        c.aaa_settings()
            .map_err(|e| lns_node::config::ConfigError::Syntax(format!("{e:#}")))
    });
    match result {
        Ok(_) => {
            println!("{}: OK", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: invalid configuration:\n{e}", path.display());
            ExitCode::from(1)
        }
    }
}

fn run(path: PathBuf) -> ExitCode {
    let config = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: invalid configuration:\n{e}", path.display());
            return ExitCode::from(1);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match config.log.format {
        LogFormat::Text => builder.init(),
        LogFormat::Compact => builder.compact().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(lns_node::daemon::run(path, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(1)
        }
    }
}
