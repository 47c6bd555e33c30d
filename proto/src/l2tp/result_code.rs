//! RFC 2661 §4.4.2 Result and Error Codes, as open enums.
//!
//! Contract: StopCCN and CDN have distinct Result Code spaces; both share
//! the Error Code space. Unknown numbers survive as `Unknown(n)`.

macro_rules! open_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $val:expr,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A value this implementation does not name.
            Unknown(u16),
        }
        impl From<u16> for $name {
            fn from(v: u16) -> Self {
                match v {
                    $($val => $name::$var,)*
                    other => $name::Unknown(other),
                }
            }
        }
        impl From<$name> for u16 {
            fn from(v: $name) -> u16 {
                match v {
                    $($name::$var => $val,)*
                    $name::Unknown(n) => n,
                }
            }
        }
    };
}
pub(crate) use open_enum;

open_enum! {
    /// StopCCN Result Codes (RFC 2661 §4.4.2).
    StopCcnResult {
        /// 1: general request to clear the control connection.
        ClearConnection = 0x0001,
        /// 2: general error, see the Error Code.
        GeneralError = 0x0002,
        /// 3: control channel already exists.
        ChannelExists = 0x0003,
        /// 4: requester is not authorized to establish a control channel.
        NotAuthorized = 0x0004,
        /// 5: the protocol version of the requester is not supported.
        UnsupportedVersion = 0x0005,
        /// 6: requester is being shut down.
        ShuttingDown = 0x0006,
        /// 7: finite state machine error.
        FsmError = 0x0007,
    }
}

open_enum! {
    /// CDN Result Codes (RFC 2661 §4.4.2).
    CdnResult {
        /// 1: call disconnected due to loss of carrier.
        LostCarrier = 0x0001,
        /// 2: disconnected for the reason in the Error Code.
        GeneralError = 0x0002,
        /// 3: disconnected for administrative reasons.
        Administrative = 0x0003,
        /// 4: no appropriate facilities (temporary).
        NoFacilitiesTemporary = 0x0004,
        /// 5: no appropriate facilities (permanent).
        NoFacilitiesPermanent = 0x0005,
        /// 6: invalid destination.
        InvalidDestination = 0x0006,
        /// 7: no carrier detected.
        NoCarrier = 0x0007,
        /// 8: busy signal.
        Busy = 0x0008,
        /// 9: no dial tone.
        NoDialTone = 0x0009,
        /// 10: call not established within the time allotted.
        Timeout = 0x000a,
        /// 11: connected but no appropriate framing detected.
        NoFraming = 0x000b,
    }
}

open_enum! {
    /// General Error Codes (RFC 2661 §4.4.2).
    ErrorCode {
        /// 0: no general error.
        NoError = 0x0000,
        /// 1: no control connection exists yet for this LAC-LNS pair.
        NoControlConnection = 0x0001,
        /// 2: length is wrong.
        BadLength = 0x0002,
        /// 3: a field value was out of range or a reserved field was non-zero.
        BadValue = 0x0003,
        /// 4: insufficient resources to handle this operation now.
        NoResources = 0x0004,
        /// 5: the Session ID is invalid in this context.
        InvalidSessionId = 0x0005,
        /// 6: a generic vendor-specific error occurred.
        VendorSpecific = 0x0006,
        /// 7: try another LNS.
        TryAnother = 0x0007,
        /// 8: shut down due to an unknown AVP with the M bit set.
        UnknownMandatoryAvp = 0x0008,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_roundtrip_and_stay_open() {
        for n in 0..20u16 {
            assert_eq!(u16::from(StopCcnResult::from(n)), n);
            assert_eq!(u16::from(CdnResult::from(n)), n);
            assert_eq!(u16::from(ErrorCode::from(n)), n);
        }
        assert_eq!(ErrorCode::from(8), ErrorCode::UnknownMandatoryAvp);
        assert_eq!(StopCcnResult::from(0x99), StopCcnResult::Unknown(0x99));
    }
}
