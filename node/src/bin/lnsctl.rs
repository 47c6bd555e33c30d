//! `lnsctl`: the management CLI for lnsd. Thin: parses arguments, runs one
//! command (see `lns_node::mgmt::ctl`), maps failures to exit codes.

use std::process::ExitCode;

use clap::Parser;
use lns_node::mgmt::ctl::{self, Cli, CtlError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lnsctl: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(ctl::run(cli, &mut stdout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lnsctl: {e}");
            match e {
                CtlError::Refused(_) | CtlError::InvalidConfig(_) => ExitCode::from(1),
                _ => ExitCode::from(2),
            }
        }
    }
}
