//! Bridges raft-rs's slog records into `tracing`.
//!
//! Contract: [`logger`] returns a slog `Logger` whose records become tracing
//! events under the target `raft`, at the matching level (slog's critical and
//! error map to ERROR, warning to WARN, info to INFO, debug and trace to
//! TRACE: raft-rs is chatty at debug). Key-value pairs are rendered in the
//! message. The simulator uses [`silent`].

/// A logger that forwards to tracing.
pub fn logger() -> slog::Logger {
    slog::Logger::root(TracingDrain, slog::o!())
}

/// A logger that drops everything.
pub fn silent() -> slog::Logger {
    slog::Logger::root(slog::Discard, slog::o!())
}

struct TracingDrain;

impl slog::Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &slog::Record<'_>, values: &slog::OwnedKVList) -> Result<(), Self::Err> {
        let mut kv = KvText(String::new());
        let _ = slog::KV::serialize(&record.kv(), record, &mut kv);
        let _ = slog::KV::serialize(values, record, &mut kv);
        match record.level() {
            slog::Level::Critical | slog::Level::Error => {
                tracing::error!(target: "raft", "{}{}", record.msg(), kv.0)
            }
            slog::Level::Warning => tracing::warn!(target: "raft", "{}{}", record.msg(), kv.0),
            slog::Level::Info => tracing::info!(target: "raft", "{}{}", record.msg(), kv.0),
            slog::Level::Debug | slog::Level::Trace => {
                tracing::trace!(target: "raft", "{}{}", record.msg(), kv.0)
            }
        }
        Ok(())
    }
}

struct KvText(String);

impl slog::Serializer for KvText {
    fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments<'_>) -> slog::Result {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {key}={val}");
        Ok(())
    }
}
