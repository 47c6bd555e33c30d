//! RFC 2661 L2TPv2: wire formats and the sans-IO control-channel machines.
