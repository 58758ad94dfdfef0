//! What calls with phone participants need: DTMF tones, the kind of a raw identifier, and
//! the alternate caller id (the number a phone callee sees). Plain values, unit-tested.

use crate::error::{Error, Result};
use crate::protocol::{is_dtmf_tone, Identifier};

/// A DTMF tone (ACS's `DtmfTone`), numbered as RFC 4733 numbers the telephone events:
/// `0`-`9` are 0-9, `*` 10, `#` 11, `A`-`D` 12-15. ACS's `Flash` (event 16) is not carried:
/// the service's phone gateway does not signal hook flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum DtmfTone {
    Num0 = 0,
    Num1 = 1,
    Num2 = 2,
    Num3 = 3,
    Num4 = 4,
    Num5 = 5,
    Num6 = 6,
    Num7 = 7,
    Num8 = 8,
    Num9 = 9,
    Star = 10,
    Pound = 11,
    A = 12,
    B = 13,
    C = 14,
    D = 15,
}

impl DtmfTone {
    /// Every tone, in RFC 4733 order.
    pub const ALL: [DtmfTone; 16] = [
        DtmfTone::Num0,
        DtmfTone::Num1,
        DtmfTone::Num2,
        DtmfTone::Num3,
        DtmfTone::Num4,
        DtmfTone::Num5,
        DtmfTone::Num6,
        DtmfTone::Num7,
        DtmfTone::Num8,
        DtmfTone::Num9,
        DtmfTone::Star,
        DtmfTone::Pound,
        DtmfTone::A,
        DtmfTone::B,
        DtmfTone::C,
        DtmfTone::D,
    ];

    /// The tone of RFC 4733 event number `n` (`None` for 16, Flash, and anything else).
    pub fn from_event(n: i32) -> Option<Self> {
        usize::try_from(n)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The RFC 4733 event number.
    pub fn event(self) -> i32 {
        self as i32
    }

    /// The tone's key as the protocol spells it: `0`-`9`, `*`, `#`, `A`-`D`.
    pub fn as_char(self) -> char {
        match self {
            DtmfTone::Star => '*',
            DtmfTone::Pound => '#',
            DtmfTone::A => 'A',
            DtmfTone::B => 'B',
            DtmfTone::C => 'C',
            DtmfTone::D => 'D',
            digit => char::from(b'0' + digit as u8),
        }
    }

    /// The tone of a key (`a`-`d` are taken as `A`-`D`).
    pub fn from_char(c: char) -> Option<Self> {
        let c = c.to_ascii_uppercase();
        if !is_dtmf_tone(c) {
            return None;
        }
        Self::ALL.iter().copied().find(|t| t.as_char() == c)
    }

    /// The tone of a one-key string (what `DtmfReceived` carries).
    pub fn from_str_key(s: &str) -> Option<Self> {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Self::from_char(c),
            _ => None,
        }
    }
}

/// What kind of participant a raw identifier names (ACS's `CommunicationIdentifierKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum IdentifierKind {
    /// Not an identifier this SDK knows.
    Unknown = 0,
    /// An ACS user `8:acs:…` (the echo bot `8:echo123` counts as one, as in ACS).
    CommunicationUser = 1,
    /// A phone number `4:+…`.
    PhoneNumber = 2,
}

impl IdentifierKind {
    /// The kind of `raw_id`.
    pub fn of(raw_id: &str) -> Self {
        match Identifier::parse(raw_id) {
            Ok(Identifier::PhoneNumber(_)) => IdentifierKind::PhoneNumber,
            Ok(Identifier::CommunicationUser(_) | Identifier::EchoBot) => {
                IdentifierKind::CommunicationUser
            }
            Err(_) => IdentifierKind::Unknown,
        }
    }
}

/// Checks an alternate caller id and returns its canonical raw id (`4:+<digits>`).
/// `None` or an empty string means none.
pub(crate) fn alternate_caller_id(raw: Option<&str>) -> Result<Option<String>> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match Identifier::parse(raw) {
        Ok(id @ Identifier::PhoneNumber(_)) => Ok(Some(id.raw_id())),
        _ => Err(Error::InvalidArgument(format!(
            "alternate caller id '{raw}' is not a phone number: expected 4:+<3 to 15 digits>"
        ))),
    }
}

/// Whether any of `raw_ids` is a phone number.
pub(crate) fn any_phone(raw_ids: &[String]) -> bool {
    raw_ids
        .iter()
        .any(|r| IdentifierKind::of(r) == IdentifierKind::PhoneNumber)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tones_follow_rfc_4733_numbers_and_the_protocol_keys() {
        let keys: String = DtmfTone::ALL.iter().map(|t| t.as_char()).collect();
        assert_eq!(keys, "0123456789*#ABCD");
        for (i, t) in DtmfTone::ALL.iter().enumerate() {
            assert_eq!(t.event(), i as i32);
            assert_eq!(DtmfTone::from_event(i as i32), Some(*t));
            assert_eq!(DtmfTone::from_char(t.as_char()), Some(*t));
            assert!(is_dtmf_tone(t.as_char()));
        }
        assert_eq!(DtmfTone::from_event(16), None, "Flash is not carried");
        assert_eq!(DtmfTone::from_event(-1), None);
        assert_eq!(DtmfTone::from_char('b'), Some(DtmfTone::B));
        assert_eq!(DtmfTone::from_char('E'), None);
        assert_eq!(DtmfTone::from_str_key("#"), Some(DtmfTone::Pound));
        assert_eq!(DtmfTone::from_str_key("12"), None);
        assert_eq!(DtmfTone::from_str_key(""), None);
    }

    #[test]
    fn identifier_kinds() {
        assert_eq!(
            IdentifierKind::of("4:+15551234567"),
            IdentifierKind::PhoneNumber
        );
        assert_eq!(
            IdentifierKind::of("4:15551234567"),
            IdentifierKind::PhoneNumber
        );
        assert_eq!(
            IdentifierKind::of("8:acs:abc"),
            IdentifierKind::CommunicationUser
        );
        assert_eq!(
            IdentifierKind::of("8:echo123"),
            IdentifierKind::CommunicationUser
        );
        assert_eq!(IdentifierKind::of("bob"), IdentifierKind::Unknown);
        assert!(any_phone(&["8:acs:a".into(), "4:+15551234567".into()]));
        assert!(!any_phone(&["8:acs:a".into()]));
    }

    #[test]
    fn alternate_caller_ids_must_be_phone_numbers() {
        assert_eq!(alternate_caller_id(None).unwrap(), None);
        assert_eq!(alternate_caller_id(Some("")).unwrap(), None);
        assert_eq!(
            alternate_caller_id(Some("4:15551234567"))
                .unwrap()
                .as_deref(),
            Some("4:+15551234567")
        );
        for bad in [
            "8:acs:abc",
            "8:echo123",
            "+15551234567",
            "4:+1",
            "4:+1555abc",
        ] {
            let e = alternate_caller_id(Some(bad)).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(m) if m.contains("not a phone number")),
                "{bad}: {e}"
            );
        }
    }
}
