//! The two bit masks exchanged in option negotiation: [`Actions`] (what the milter may change)
//! and [`ProtocolFlags`] (which steps the MTA skips, which need no reply, and a few options).
//!
//! Both are hand-written newtypes over `u32`. Unknown bits are kept as they are
//! ([`Actions::from_bits_retain`]), so a newer MTA's offer round-trips unchanged.

use std::fmt;
use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not, Sub};

macro_rules! flag_type {
    (
        $(#[$meta:meta])*
        pub struct $name:ident;
        $( $(#[$fmeta:meta])* const $flag:ident = $value:expr; )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            $( $(#[$fmeta])* pub const $flag: Self = Self($value); )*

            /// No bit set.
            pub const EMPTY: Self = Self(0);

            /// Every bit this crate has a name for.
            pub const ALL_KNOWN: Self = Self(0 $(| $value)*);

            /// Every named flag with its name, in bit order.
            pub const NAMED: &'static [(&'static str, Self)] = &[$((stringify!($flag), Self::$flag)),*];

            /// The mask as sent on the wire.
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// The mask from the wire, unknown bits kept.
            pub const fn from_bits_retain(bits: u32) -> Self {
                Self(bits)
            }

            /// Whether no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// Whether every bit of `other` is set in `self`.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether `self` and `other` share a bit.
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// The bits set in both.
            pub const fn intersection(self, other: Self) -> Self {
                Self(self.0 & other.0)
            }

            /// The bits set in either.
            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }

            /// The bits of `self` that are not in `other`.
            pub const fn difference(self, other: Self) -> Self {
                Self(self.0 & !other.0)
            }

            /// The bits that have no name in this crate.
            pub const fn unknown_bits(self) -> u32 {
                self.0 & !Self::ALL_KNOWN.0
            }

            /// The names of the set bits, in bit order (unknown bits are not listed).
            pub fn names(self) -> impl Iterator<Item = &'static str> {
                Self::NAMED.iter().filter(move |(_, f)| self.contains(*f)).map(|(n, _)| *n)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:#x}", stringify!($name), self.0)?;
                let mut sep = ": ";
                for name in self.names() {
                    write!(f, "{sep}{name}")?;
                    sep = " | ";
                }
                if self.unknown_bits() != 0 {
                    write!(f, "{sep}{:#x}", self.unknown_bits())?;
                }
                write!(f, ")")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut first = true;
                for name in self.names() {
                    if !first {
                        f.write_str("|")?;
                    }
                    f.write_str(name)?;
                    first = false;
                }
                if self.unknown_bits() != 0 {
                    if !first {
                        f.write_str("|")?;
                    }
                    write!(f, "{:#x}", self.unknown_bits())?;
                    first = false;
                }
                if first {
                    f.write_str("none")?;
                }
                Ok(())
            }
        }

        impl BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                self.union(rhs)
            }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl BitAnd for $name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                self.intersection(rhs)
            }
        }

        impl BitAndAssign for $name {
            fn bitand_assign(&mut self, rhs: Self) {
                self.0 &= rhs.0;
            }
        }

        impl Sub for $name {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                self.difference(rhs)
            }
        }

        impl Not for $name {
            type Output = Self;
            fn not(self) -> Self {
                Self(!self.0)
            }
        }
    };
}

flag_type! {
    /// The actions (`SMFIF_*`) a milter may take at end of message. The MTA offers a mask; the
    /// milter asks for a subset; a modification whose action was not granted must never be sent.
    pub struct Actions;
    /// `SMFIF_ADDHDRS`: add (`h`) and insert (`i`) header fields.
    const ADDHDRS = 0x0000_0001;
    /// `SMFIF_CHGBODY`: replace the body (`b`).
    const CHGBODY = 0x0000_0002;
    /// `SMFIF_ADDRCPT`: add recipients (`+`).
    const ADDRCPT = 0x0000_0004;
    /// `SMFIF_DELRCPT`: remove recipients (`-`).
    const DELRCPT = 0x0000_0008;
    /// `SMFIF_CHGHDRS`: change or delete header fields (`m`).
    const CHGHDRS = 0x0000_0010;
    /// `SMFIF_QUARANTINE`: quarantine the message (`q`).
    const QUARANTINE = 0x0000_0020;
    /// `SMFIF_CHGFROM`: change the envelope sender (`e`).
    const CHGFROM = 0x0000_0040;
    /// `SMFIF_ADDRCPT_PAR`: add recipients with ESMTP arguments (`2`).
    const ADDRCPT_PAR = 0x0000_0080;
    /// `SMFIF_SETSYMLIST`: the milter may name the macros it wants per stage in its
    /// negotiation reply.
    const SETSYMLIST = 0x0000_0100;
}

flag_type! {
    /// The protocol flags (`SMFIP_*`). The MTA offers the ones it understands; the milter sets the
    /// ones it wants. `NO*` flags ask the MTA to skip a step, `NR_*` flags say the milter will not
    /// reply to a step, and a few flags are options ([`ProtocolFlags::SKIP`],
    /// [`ProtocolFlags::RCPT_REJ`], [`ProtocolFlags::HDR_LEADSPC`]).
    pub struct ProtocolFlags;
    /// `SMFIP_NOCONNECT`: do not send connect (`C`).
    const NOCONNECT = 0x0000_0001;
    /// `SMFIP_NOHELO`: do not send HELO (`H`).
    const NOHELO = 0x0000_0002;
    /// `SMFIP_NOMAIL`: do not send MAIL (`M`).
    const NOMAIL = 0x0000_0004;
    /// `SMFIP_NORCPT`: do not send RCPT (`R`).
    const NORCPT = 0x0000_0008;
    /// `SMFIP_NOBODY`: do not send body chunks (`B`).
    const NOBODY = 0x0000_0010;
    /// `SMFIP_NOHDRS`: do not send header fields (`L`).
    const NOHDRS = 0x0000_0020;
    /// `SMFIP_NOEOH`: do not send end of headers (`N`).
    const NOEOH = 0x0000_0040;
    /// `SMFIP_NR_HDR`: the milter does not reply to header fields.
    const NR_HDR = 0x0000_0080;
    /// `SMFIP_NOUNKNOWN`: do not send unknown SMTP commands (`U`).
    const NOUNKNOWN = 0x0000_0100;
    /// `SMFIP_NODATA`: do not send DATA (`T`).
    const NODATA = 0x0000_0200;
    /// `SMFIP_SKIP`: the MTA understands the skip reply (`s`) to a body chunk.
    const SKIP = 0x0000_0400;
    /// `SMFIP_RCPT_REJ`: also send recipients the MTA rejected.
    const RCPT_REJ = 0x0000_0800;
    /// `SMFIP_NR_CONN`: no reply to connect.
    const NR_CONN = 0x0000_1000;
    /// `SMFIP_NR_HELO`: no reply to HELO.
    const NR_HELO = 0x0000_2000;
    /// `SMFIP_NR_MAIL`: no reply to MAIL.
    const NR_MAIL = 0x0000_4000;
    /// `SMFIP_NR_RCPT`: no reply to RCPT.
    const NR_RCPT = 0x0000_8000;
    /// `SMFIP_NR_DATA`: no reply to DATA.
    const NR_DATA = 0x0001_0000;
    /// `SMFIP_NR_UNKN`: no reply to unknown commands.
    const NR_UNKN = 0x0002_0000;
    /// `SMFIP_NR_EOH`: no reply to end of headers.
    const NR_EOH = 0x0004_0000;
    /// `SMFIP_NR_BODY`: no reply to body chunks.
    const NR_BODY = 0x0008_0000;
    /// `SMFIP_HDR_LEADSPC`: header values keep their leading space in both directions (the MTA
    /// sends it and does not add one to fields the milter adds or changes).
    const HDR_LEADSPC = 0x0010_0000;
    /// `SMFIP_MDS_256K`: the milter accepts packets of up to 256 KiB (data size option).
    const MDS_256K = 0x1000_0000;
    /// `SMFIP_MDS_1M`: the milter accepts packets of up to 1 MiB (data size option).
    const MDS_1M = 0x2000_0000;
}

impl ProtocolFlags {
    /// Every `NR_*` flag (no reply for a step).
    pub const ALL_NO_REPLY: Self = Self(
        Self::NR_HDR.0
            | Self::NR_CONN.0
            | Self::NR_HELO.0
            | Self::NR_MAIL.0
            | Self::NR_RCPT.0
            | Self::NR_DATA.0
            | Self::NR_UNKN.0
            | Self::NR_EOH.0
            | Self::NR_BODY.0,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_public_description() {
        assert_eq!(Actions::ADDHDRS.bits(), 0x01);
        assert_eq!(Actions::CHGBODY.bits(), 0x02);
        assert_eq!(Actions::ADDRCPT.bits(), 0x04);
        assert_eq!(Actions::DELRCPT.bits(), 0x08);
        assert_eq!(Actions::CHGHDRS.bits(), 0x10);
        assert_eq!(Actions::QUARANTINE.bits(), 0x20);
        assert_eq!(Actions::CHGFROM.bits(), 0x40);
        assert_eq!(Actions::ADDRCPT_PAR.bits(), 0x80);
        assert_eq!(Actions::SETSYMLIST.bits(), 0x100);
        assert_eq!(Actions::ALL_KNOWN.bits(), 0x1ff);
        let protocol = [
            ProtocolFlags::NOCONNECT,
            ProtocolFlags::NOHELO,
            ProtocolFlags::NOMAIL,
            ProtocolFlags::NORCPT,
            ProtocolFlags::NOBODY,
            ProtocolFlags::NOHDRS,
            ProtocolFlags::NOEOH,
            ProtocolFlags::NR_HDR,
            ProtocolFlags::NOUNKNOWN,
            ProtocolFlags::NODATA,
            ProtocolFlags::SKIP,
            ProtocolFlags::RCPT_REJ,
            ProtocolFlags::NR_CONN,
            ProtocolFlags::NR_HELO,
            ProtocolFlags::NR_MAIL,
            ProtocolFlags::NR_RCPT,
            ProtocolFlags::NR_DATA,
            ProtocolFlags::NR_UNKN,
            ProtocolFlags::NR_EOH,
            ProtocolFlags::NR_BODY,
            ProtocolFlags::HDR_LEADSPC,
        ];
        for (i, flag) in protocol.iter().enumerate() {
            assert_eq!(flag.bits(), 1 << i, "{flag:?}");
        }
        assert_eq!(ProtocolFlags::ALL_NO_REPLY.bits(), 0x000f_f080);
    }

    #[test]
    fn set_operations_and_formatting() {
        let a = Actions::ADDHDRS | Actions::CHGHDRS;
        assert!(a.contains(Actions::ADDHDRS));
        assert!(!a.contains(Actions::ADDHDRS | Actions::CHGBODY));
        assert_eq!(a - Actions::ADDHDRS, Actions::CHGHDRS);
        assert_eq!(a.to_string(), "ADDHDRS|CHGHDRS");
        assert_eq!(Actions::EMPTY.to_string(), "none");
        let odd = Actions::from_bits_retain(0x8000_0001);
        assert_eq!(odd.to_string(), "ADDHDRS|0x80000000");
        assert_eq!(
            format!("{odd:?}"),
            "Actions(0x80000001: ADDHDRS | 0x80000000)"
        );
    }
}
