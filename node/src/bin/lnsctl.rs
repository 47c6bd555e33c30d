//! `lnsctl`: the management CLI for lnsd (not built yet).

fn main() -> std::process::ExitCode {
    eprintln!("lnsctl: not built yet; it arrives with the operations issue (see README.md)");
    std::process::ExitCode::from(2)
}
