//! Enumerated attribute values: open number spaces for the integer
//! attributes whose values an LNS names (RFC 2865 §5, RFC 2866 §5,
//! RFC 2868 §3, RFC 5176 §3.5).

open_enum! {
    /// Service-Type (RFC 2865 §5.6).
    pub enum ServiceType: u32 {
        /// Login.
        Login = 0x01,
        /// Framed: what a PPP subscriber is.
        Framed = 0x02,
        /// Callback Login.
        CallbackLogin = 0x03,
        /// Callback Framed.
        CallbackFramed = 0x04,
        /// Outbound.
        Outbound = 0x05,
        /// Administrative.
        Administrative = 0x06,
        /// Authorize Only (RFC 5176 §3.2).
        AuthorizeOnly = 0x11,
    }
}

open_enum! {
    /// Framed-Protocol (RFC 2865 §5.7).
    pub enum FramedProtocol: u32 {
        /// PPP.
        Ppp = 0x01,
        /// SLIP.
        Slip = 0x02,
    }
}

open_enum! {
    /// NAS-Port-Type (RFC 2865 §5.41).
    pub enum NasPortType: u32 {
        /// Async.
        Async = 0x00,
        /// Sync.
        Sync = 0x01,
        /// ISDN Sync.
        IsdnSync = 0x02,
        /// Virtual: what an LNS reports for an L2TP session.
        Virtual = 0x05,
        /// Ethernet.
        Ethernet = 0x0f,
        /// xDSL.
        Xdsl = 0x10,
    }
}

open_enum! {
    /// Termination-Action (RFC 2865 §5.29).
    pub enum TerminationAction: u32 {
        /// Default: end the session.
        Default = 0x00,
        /// RADIUS-Request: re-authenticate.
        RadiusRequest = 0x01,
    }
}

open_enum! {
    /// Acct-Status-Type (RFC 2866 §5.1).
    pub enum AcctStatusType: u32 {
        /// Start.
        Start = 0x01,
        /// Stop.
        Stop = 0x02,
        /// Interim-Update (RFC 2869 §2.1).
        InterimUpdate = 0x03,
        /// Accounting-On.
        AccountingOn = 0x07,
        /// Accounting-Off.
        AccountingOff = 0x08,
    }
}

open_enum! {
    /// Acct-Authentic (RFC 2866 §5.6).
    pub enum AcctAuthentic: u32 {
        /// Authenticated by RADIUS.
        Radius = 0x01,
        /// Authenticated locally.
        Local = 0x02,
        /// Authenticated by another remote protocol.
        Remote = 0x03,
    }
}

open_enum! {
    /// Acct-Terminate-Cause (RFC 2866 §5.10).
    pub enum AcctTerminateCause: u32 {
        /// User Request (the subscriber hung up: LCP Terminate).
        UserRequest = 0x01,
        /// Lost Carrier (the L2TP session or tunnel went away).
        LostCarrier = 0x02,
        /// Lost Service.
        LostService = 0x03,
        /// Idle Timeout.
        IdleTimeout = 0x04,
        /// Session Timeout.
        SessionTimeout = 0x05,
        /// Admin Reset (an operator or a Disconnect-Request).
        AdminReset = 0x06,
        /// Admin Reboot (graceful shutdown of the LNS).
        AdminReboot = 0x07,
        /// Port Error.
        PortError = 0x08,
        /// NAS Error.
        NasError = 0x09,
        /// NAS Request.
        NasRequest = 0x0a,
        /// NAS Reboot.
        NasReboot = 0x0b,
        /// Port Unneeded.
        PortUnneeded = 0x0c,
        /// Port Preempted.
        PortPreempted = 0x0d,
        /// Port Suspended.
        PortSuspended = 0x0e,
        /// Service Unavailable.
        ServiceUnavailable = 0x0f,
        /// Callback.
        Callback = 0x10,
        /// User Error.
        UserError = 0x11,
        /// Host Request.
        HostRequest = 0x12,
    }
}

open_enum! {
    /// Tunnel-Type (RFC 2868 §3.1); the value is 24 bits on the wire.
    pub enum TunnelType: u32 {
        /// PPTP.
        Pptp = 0x01,
        /// L2F.
        L2f = 0x02,
        /// L2TP.
        L2tp = 0x03,
    }
}

open_enum! {
    /// Tunnel-Medium-Type (RFC 2868 §3.2); 24 bits on the wire.
    pub enum TunnelMediumType: u32 {
        /// IPv4.
        Ipv4 = 0x01,
        /// IPv6.
        Ipv6 = 0x02,
    }
}

open_enum! {
    /// Error-Cause (RFC 5176 §3.5).
    pub enum ErrorCause: u32 {
        /// 201 Residual Session Context Removed.
        ResidualSessionContextRemoved = 0xc9,
        /// 202 Invalid EAP Packet (Ignored).
        InvalidEapPacket = 0xca,
        /// 401 Unsupported Attribute.
        UnsupportedAttribute = 0x191,
        /// 402 Missing Attribute.
        MissingAttribute = 0x192,
        /// 403 NAS Identification Mismatch.
        NasIdentificationMismatch = 0x193,
        /// 404 Invalid Request.
        InvalidRequest = 0x194,
        /// 405 Unsupported Service.
        UnsupportedService = 0x195,
        /// 406 Unsupported Extension.
        UnsupportedExtension = 0x196,
        /// 407 Invalid Attribute Value.
        InvalidAttributeValue = 0x197,
        /// 501 Administratively Prohibited.
        AdministrativelyProhibited = 0x1f5,
        /// 502 Request Not Routable (Proxy).
        RequestNotRoutable = 0x1f6,
        /// 503 Session Context Not Found.
        SessionContextNotFound = 0x1f7,
        /// 504 Session Context Not Removable.
        SessionContextNotRemovable = 0x1f8,
        /// 505 Other Proxy Processing Error.
        OtherProxyProcessingError = 0x1f9,
        /// 506 Resources Unavailable.
        ResourcesUnavailable = 0x1fa,
        /// 507 Request Initiated.
        RequestInitiated = 0x1fb,
        /// 508 Multiple Session Selection Unsupported.
        MultipleSessionSelectionUnsupported = 0x1fc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_numbers() {
        // RFC 5176 §3.5 gives these in decimal.
        assert_eq!(u32::from(ErrorCause::SessionContextNotFound), 503);
        assert_eq!(u32::from(ErrorCause::UnsupportedAttribute), 401);
        assert_eq!(ErrorCause::from(506), ErrorCause::ResourcesUnavailable);
        assert_eq!(ErrorCause::from(999), ErrorCause::Unknown(999));
        // RFC 2865 §5.41: Virtual is 5.
        assert_eq!(u32::from(NasPortType::Virtual), 5);
        assert_eq!(u32::from(AcctTerminateCause::HostRequest), 18);
        assert_eq!(AcctStatusType::from(3), AcctStatusType::InterimUpdate);
    }
}
