//! `lnsd`: the L2TP Network Server daemon (not built yet).

fn main() -> std::process::ExitCode {
    eprintln!("lnsd: the daemon is not built yet; only the protocol cores exist (see README.md)");
    std::process::ExitCode::from(2)
}
