//! DHCP Unique Identifiers (RFC 8415 §11).
//!
//! Contract: [`Duid::parse`] accepts 2 to 130 octets (type code plus at most
//! 128 octets, RFC 8415 §11.1) and the fixed parts of the known types; any
//! other type is kept raw. DUIDs compare by their wire bytes. lnsd's own
//! server DUID is built from configuration ([`Duid::En`] or [`Duid::Ll`]),
//! never from a local MAC, so every cluster node answers with the same one.

use super::Dhcpv6Error;

/// DUID type codes (RFC 8415 §11.1, RFC 6355).
mod duid_type {
    pub const LLT: u16 = 0x0001;
    pub const EN: u16 = 0x0002;
    pub const LL: u16 = 0x0003;
    pub const UUID: u16 = 0x0004;
}

/// Largest DUID on the wire: type code plus 128 octets.
const MAX_DUID_LEN: usize = 130;

/// A DUID.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Duid {
    /// DUID-LLT (RFC 8415 §11.2): hardware type, time, link-layer address.
    Llt {
        /// IANA hardware type.
        hardware_type: u16,
        /// Seconds since 2000-01-01 UTC, mod 2^32.
        time: u32,
        /// Link-layer address.
        link_layer_address: Vec<u8>,
    },
    /// DUID-EN (RFC 8415 §11.3): enterprise number and identifier.
    En {
        /// IANA Private Enterprise Number.
        enterprise_number: u32,
        /// Identifier chosen by the vendor.
        identifier: Vec<u8>,
    },
    /// DUID-LL (RFC 8415 §11.4): hardware type and link-layer address.
    Ll {
        /// IANA hardware type.
        hardware_type: u16,
        /// Link-layer address.
        link_layer_address: Vec<u8>,
    },
    /// DUID-UUID (RFC 6355).
    Uuid([u8; 16]),
    /// Any other type, kept raw.
    Unknown {
        /// The type code.
        duid_type: u16,
        /// The octets after the type code.
        data: Vec<u8>,
    },
}

impl Duid {
    /// Parses the contents of a Client or Server Identifier option.
    pub fn parse(data: &[u8]) -> Result<Duid, Dhcpv6Error> {
        if data.len() < 2 || data.len() > MAX_DUID_LEN {
            return Err(Dhcpv6Error::BadDuid);
        }
        let ty = u16::from_be_bytes([data[0], data[1]]);
        let rest = &data[2..];
        Ok(match ty {
            duid_type::LLT if rest.len() >= 6 => Duid::Llt {
                hardware_type: u16::from_be_bytes([rest[0], rest[1]]),
                time: u32::from_be_bytes([rest[2], rest[3], rest[4], rest[5]]),
                link_layer_address: rest[6..].to_vec(),
            },
            duid_type::EN if rest.len() >= 4 => Duid::En {
                enterprise_number: u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]),
                identifier: rest[4..].to_vec(),
            },
            duid_type::LL if rest.len() >= 2 => Duid::Ll {
                hardware_type: u16::from_be_bytes([rest[0], rest[1]]),
                link_layer_address: rest[2..].to_vec(),
            },
            duid_type::UUID => {
                let uuid: [u8; 16] = rest.try_into().map_err(|_| Dhcpv6Error::BadDuid)?;
                Duid::Uuid(uuid)
            }
            duid_type::LLT | duid_type::EN | duid_type::LL => return Err(Dhcpv6Error::BadDuid),
            duid_type => Duid::Unknown {
                duid_type,
                data: rest.to_vec(),
            },
        })
    }

    /// Appends the DUID's wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            Duid::Llt {
                hardware_type,
                time,
                link_layer_address,
            } => {
                out.extend_from_slice(&duid_type::LLT.to_be_bytes());
                out.extend_from_slice(&hardware_type.to_be_bytes());
                out.extend_from_slice(&time.to_be_bytes());
                out.extend_from_slice(link_layer_address);
            }
            Duid::En {
                enterprise_number,
                identifier,
            } => {
                out.extend_from_slice(&duid_type::EN.to_be_bytes());
                out.extend_from_slice(&enterprise_number.to_be_bytes());
                out.extend_from_slice(identifier);
            }
            Duid::Ll {
                hardware_type,
                link_layer_address,
            } => {
                out.extend_from_slice(&duid_type::LL.to_be_bytes());
                out.extend_from_slice(&hardware_type.to_be_bytes());
                out.extend_from_slice(link_layer_address);
            }
            Duid::Uuid(uuid) => {
                out.extend_from_slice(&duid_type::UUID.to_be_bytes());
                out.extend_from_slice(uuid);
            }
            Duid::Unknown { duid_type, data } => {
                out.extend_from_slice(&duid_type.to_be_bytes());
                out.extend_from_slice(data);
            }
        }
    }

    /// The wire form as a new vector (the key of a binding).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duid_llt_byte_vector() {
        // RFC 8415 §11.2: type 1, hardware type 1 (Ethernet), time, MAC.
        let wire = [
            0x00, 0x01, 0x00, 0x01, 0x2a, 0x3b, 0x4c, 0x5d, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01,
        ];
        let d = Duid::parse(&wire).expect("valid");
        assert_eq!(
            d,
            Duid::Llt {
                hardware_type: 1,
                time: 0x2a3b_4c5d,
                link_layer_address: vec![0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]
            }
        );
        assert_eq!(d.to_bytes(), wire);
    }

    #[test]
    fn duid_en_uuid_and_unknown() {
        let en = Duid::En {
            enterprise_number: 0x0000_b0b0,
            identifier: b"ffdn-lns".to_vec(),
        };
        assert_eq!(Duid::parse(&en.to_bytes()), Ok(en));
        let uuid = Duid::Uuid([7; 16]);
        assert_eq!(Duid::parse(&uuid.to_bytes()), Ok(uuid));
        assert_eq!(Duid::parse(&[0x00, 0x04, 1, 2]), Err(Dhcpv6Error::BadDuid));
        assert_eq!(
            Duid::parse(&[0x12, 0x34, 9]),
            Ok(Duid::Unknown {
                duid_type: 0x1234,
                data: vec![9]
            })
        );
        // RFC 8415 §11.1: at most 128 octets after the type code.
        assert_eq!(Duid::parse(&[0u8; 131]), Err(Dhcpv6Error::BadDuid));
        assert_eq!(Duid::parse(&[0x00]), Err(Dhcpv6Error::BadDuid));
    }
}
