//! Communication identifiers as raw-id strings, the way ACS spells them.

use std::fmt;

/// A parsed communication identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    /// An ACS user: `8:acs:<uuid>`.
    CommunicationUser(String),
    /// A phone number in E.164: `4:+15551234567` (`4:15551234567` is accepted and normalised).
    PhoneNumber(String),
    /// The echo bot `8:echo123`.
    EchoBot,
}

/// Why a raw id was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid identifier '{0}': expected 8:acs:<id>, 4:+<digits> or 8:echo123")]
pub struct InvalidIdentifier(pub String);

impl Identifier {
    /// Parses a raw id.
    pub fn parse(raw: &str) -> Result<Self, InvalidIdentifier> {
        let raw_trim = raw.trim();
        if raw_trim == super::ECHO_BOT_ID {
            return Ok(Identifier::EchoBot);
        }
        if let Some(rest) = raw_trim.strip_prefix("8:acs:") {
            let ok = !rest.is_empty()
                && rest.len() <= 128
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
            return if ok {
                Ok(Identifier::CommunicationUser(raw_trim.to_string()))
            } else {
                Err(InvalidIdentifier(raw.to_string()))
            };
        }
        if let Some(rest) = raw_trim.strip_prefix("4:") {
            let digits = rest.strip_prefix('+').unwrap_or(rest);
            let ok = (3..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit());
            return if ok {
                Ok(Identifier::PhoneNumber(format!("+{digits}")))
            } else {
                Err(InvalidIdentifier(raw.to_string()))
            };
        }
        Err(InvalidIdentifier(raw.to_string()))
    }

    /// The canonical raw id.
    pub fn raw_id(&self) -> String {
        match self {
            Identifier::CommunicationUser(id) => id.clone(),
            Identifier::PhoneNumber(n) => format!("4:{n}"),
            Identifier::EchoBot => super::ECHO_BOT_ID.to_string(),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        assert_eq!(Identifier::parse("8:echo123").unwrap(), Identifier::EchoBot);
        assert_eq!(
            Identifier::parse("8:acs:1234-abcd").unwrap().raw_id(),
            "8:acs:1234-abcd"
        );
        assert_eq!(
            Identifier::parse("4:15551234567").unwrap().raw_id(),
            "4:+15551234567"
        );
        assert_eq!(
            Identifier::parse("4:+15551234567").unwrap(),
            Identifier::PhoneNumber("+15551234567".into())
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "8:acs:", "bob", "4:+12ab", "8:acs:has space", "4:+1"] {
            assert!(Identifier::parse(bad).is_err(), "{bad}");
        }
    }
}
