//! One replicated command: the active node's inputs with their time and
//! randomness, in the versioned protobuf encoding (`lns_proto::pb::lnsd`).
//!
//! Contract: [`Command::decode`]`(`[`Command::encode`]`(c)) == c`; decoding
//! checks everything (version, seed length, every input) before anything
//! is applied, and says who is at fault with a [`CommandError`].
//! [`SeedEntropy`] expands the seed with ChaCha20: every replica draws the
//! same bytes from the same seed, and nobody can predict them without it.

use crate::engine::snapshot::{input_from_pb, input_to_pb, SnapshotError};
use crate::engine::Input;
use lns_proto::entropy::Entropy;
use lns_proto::pb::lnsd as pb;
use lns_proto::time::Timestamp;
use prost::Message;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// The command schema version written by this code.
pub const COMMAND_VERSION: u32 = 1;

/// A command that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Not a protobuf `Command` (a corrupt entry).
    #[error("command does not decode: {0}")]
    Malformed(String),
    /// Written by a newer lnsd: this member must be upgraded first.
    #[error("command version {0} is not supported (this lnsd reads {COMMAND_VERSION})")]
    UnsupportedVersion(u32),
    /// The seed is not 32 bytes.
    #[error("command seed is {0} bytes, not 32")]
    BadSeed(usize),
    /// An input that does not decode.
    #[error("command input: {0}")]
    Input(#[from] SnapshotError),
}

/// A decoded command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The active node's wall clock when it proposed.
    pub now: Timestamp,
    /// Expanded into the entropy of every input of the command.
    pub seed: [u8; 32],
    /// Applied in order.
    pub inputs: Vec<Input>,
    /// The active node's engine configuration fingerprint (written when it
    /// becomes active; every member compares it with its own).
    pub fingerprint: Option<super::ConfigFingerprint>,
    /// The active node's engine settings, written with the fingerprint
    /// (a witness builds its engine from them).
    pub settings: Option<super::EngineSettings>,
}

impl Command {
    /// The command's bytes.
    pub fn encode(&self) -> Vec<u8> {
        pb::Command {
            version: COMMAND_VERSION,
            now_us: self.now.unix_micros(),
            seed: self.seed.to_vec(),
            inputs: self.inputs.iter().map(input_to_pb).collect(),
            config_fingerprint: self.fingerprint.as_ref().map(|f| f.to_pb()),
            cfg_settings: self.settings.as_ref().map(|s| s.to_pb()),
        }
        .encode_to_vec()
    }

    /// Decodes and checks a command.
    pub fn decode(bytes: &[u8]) -> Result<Command, CommandError> {
        let c = pb::Command::decode(bytes).map_err(|e| CommandError::Malformed(e.to_string()))?;
        if c.version != COMMAND_VERSION {
            return Err(CommandError::UnsupportedVersion(c.version));
        }
        let seed: [u8; 32] = c
            .seed
            .as_slice()
            .try_into()
            .map_err(|_| CommandError::BadSeed(c.seed.len()))?;
        let inputs = c
            .inputs
            .iter()
            .map(input_from_pb)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Command {
            now: Timestamp::from_unix_micros(c.now_us),
            seed,
            inputs,
            fingerprint: c
                .config_fingerprint
                .as_ref()
                .map(super::ConfigFingerprint::from_pb),
            settings: c.cfg_settings.as_ref().map(super::EngineSettings::from_pb),
        })
    }
}

/// The entropy of one command: ChaCha20 keyed by the command's seed.
#[derive(Debug)]
pub struct SeedEntropy(ChaCha20Rng);

impl SeedEntropy {
    /// The stream of `seed`.
    pub fn new(seed: [u8; 32]) -> SeedEntropy {
        SeedEntropy(ChaCha20Rng::from_seed(seed))
    }
}

impl Entropy for SeedEntropy {
    fn fill(&mut self, dst: &mut [u8]) {
        self.0.fill_bytes(dst);
    }
}
