//! What the `bench` binary measures beyond lac-sim's own figures.
//!
//! Contract: [`ceiling`] is the pure step-up search for a forwarding
//! ceiling, [`sample`] reads CPU time and interface counters from /proc,
//! [`forward`] runs the forward cells against one bed with lac-sim and
//! `blast` (crate::load) and returns each cell's ceiling, [`rounds`]
//! combines several rounds of a figure into one.

pub mod ceiling;
pub mod forward;
pub mod rounds;
pub mod sample;
