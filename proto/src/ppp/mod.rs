//! RFC 1661 PPP: framing, negotiation automaton and the session link driver.
