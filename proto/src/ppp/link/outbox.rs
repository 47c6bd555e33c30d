//! `Outbox`: a link's undrained output (frames to send, events for the
//! caller), boxed only while something waits in it (issue 5: an idle
//! established link kept two empty `VecDeque`s, 64 bytes, in every
//! session; now 8).
//!
//! Contract: frames and events come out in the order they went in, each
//! kind on its own; once both are drained by a poll that finds nothing,
//! the box is freed.

use std::collections::VecDeque;

use super::LinkEvent;

/// Frames and events waiting for the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outbox(Option<Box<Queues>>);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Queues {
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<LinkEvent>,
}

impl Outbox {
    /// Queues a frame to send.
    pub(crate) fn push_frame(&mut self, frame: Vec<u8>) {
        self.0
            .get_or_insert_with(Box::default)
            .transmit
            .push_back(frame);
    }

    /// Queues an event for the caller.
    pub(crate) fn push_event(&mut self, event: LinkEvent) {
        self.0
            .get_or_insert_with(Box::default)
            .events
            .push_back(event);
    }

    /// The oldest frame; frees the box when a poll finds nothing left.
    pub(crate) fn pop_frame(&mut self) -> Option<Vec<u8>> {
        let frame = self.0.as_mut().and_then(|q| q.transmit.pop_front());
        if frame.is_none() {
            self.release_if_empty();
        }
        frame
    }

    /// The oldest event; frees the box when a poll finds nothing left.
    pub(crate) fn pop_event(&mut self) -> Option<LinkEvent> {
        let event = self.0.as_mut().and_then(|q| q.events.pop_front());
        if event.is_none() {
            self.release_if_empty();
        }
        event
    }

    /// Whether a buffer is held (something was queued and not yet drained).
    #[cfg(test)]
    pub(crate) fn holds_buffer(&self) -> bool {
        self.0.is_some()
    }

    fn release_if_empty(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|q| q.transmit.is_empty() && q.events.is_empty())
        {
            self.0 = None;
        }
    }
}
