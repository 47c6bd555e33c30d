//! Runs tshark over a pcap and reports malformed packets and expert errors.

use std::path::Path;
use std::process::Command;

/// What tshark said about a capture.
#[derive(Debug)]
pub struct Verdict {
    /// Full verbose decode (`tshark -V`), for assertions on field values.
    pub decode: String,
    /// Lines of the decode that mention a malformed packet or an expert error.
    pub problems: Vec<String>,
    /// Number of frames tshark read.
    pub frames: usize,
}

/// `None` when tshark is not installed (the caller prints that it skipped).
pub fn decode(pcap: &Path) -> Option<Verdict> {
    decode_with_prefs(pcap, &[])
}

/// Like [`decode`], with extra `-o` preferences (for instance
/// `"tcp.check_checksum:TRUE"`), so that bad checksums become expert errors.
pub fn decode_with_prefs(pcap: &Path, prefs: &[&str]) -> Option<Verdict> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-o", "tcp.analyze_sequence_numbers:FALSE"]);
    for pref in prefs {
        cmd.args(["-o", pref]);
    }
    let out = cmd.args(["-V", "-r"]).arg(pcap).output().ok()?;
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let decode = String::from_utf8_lossy(&out.stdout).into_owned();
    let frames = decode.lines().filter(|l| l.starts_with("Frame ")).count();
    let problems = decode
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("malformed")
                || l.contains("[expert info (error")
                || l.contains("severity level: error")
                || l.contains("exception occurred")
        })
        .map(str::to_owned)
        .collect();
    Some(Verdict {
        decode,
        problems,
        frames,
    })
}

/// True when tshark is on PATH.
pub fn available() -> bool {
    Command::new("tshark").arg("--version").output().is_ok()
}
