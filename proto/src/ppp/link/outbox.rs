//! `Outbox`: a link's undrained output (frames to send, events for the
//! caller), boxed only while something waits in it (issue 5: an idle
//! established link kept two empty `VecDeque`s, 64 bytes, in every
//! session; now 8).
//!
//! Contract: frames and events come out in the order they went in, each
//! kind on its own; once both are drained by a poll that finds nothing,
//! the box is freed (an idle link emits a frame and an event or two per
//! echo interval: kept, the buffers would hold 4 slots each between
//! bursts). Whether the box is held is not state: equality sees only
//! what waits, and snapshots (taken drained) never see it.

use std::collections::VecDeque;

use super::LinkEvent;

/// Frames and events waiting for the caller.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox(Option<Box<Queues>>);

impl PartialEq for Outbox {
    fn eq(&self, other: &Self) -> bool {
        let empty = Queues::default();
        let (a, b) = (self.0.as_deref(), other.0.as_deref());
        a.unwrap_or(&empty) == b.unwrap_or(&empty)
    }
}

impl Eq for Outbox {}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Queues {
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<LinkEvent>,
}

impl Outbox {
    /// Nothing queued, no buffer held.
    #[cfg(test)]
    pub(crate) const EMPTY: Outbox = Outbox(None);

    /// Whether no buffer is held: nothing queued, or drained and released
    /// by a poll that found nothing.
    pub(crate) fn is_released(&self) -> bool {
        self.0.is_none()
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drained_box_equals_no_box_and_order_is_kept() {
        let mut out = Outbox::default();
        out.push_frame(vec![0x01]);
        out.push_frame(vec![0x02]);
        out.push_event(LinkEvent::Ipv4Down);
        assert_ne!(out, Outbox::default());
        assert_eq!(out.pop_frame(), Some(vec![0x01]));
        assert_eq!(out.pop_frame(), Some(vec![0x02]));
        assert_eq!(out.pop_event(), Some(LinkEvent::Ipv4Down));
        // Drained but not yet released: equal to an empty outbox all the same.
        assert!(out.holds_buffer());
        assert_eq!(out, Outbox::default());
        assert_eq!(out.pop_frame(), None);
        assert!(!out.holds_buffer());
    }
}
