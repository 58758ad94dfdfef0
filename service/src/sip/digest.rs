//! HTTP digest authentication for SIP (RFC 3261 §22, RFC 2617): MD5, with `qop=auth`
//! when the challenge offers it.

use md5::{Digest, Md5};

/// A `WWW-Authenticate` / `Proxy-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    /// The challenge offered `qop=auth`.
    pub qop_auth: bool,
    pub algorithm: Option<String>,
}

fn hex_md5(s: &str) -> String {
    let d = Md5::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// `key=value` / `key="value"` pairs of a digest header (after the scheme).
fn auth_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' {
            i += 1;
        }
        let key = s[ks..i].trim().to_ascii_lowercase();
        if i >= b.len() || b[i] != b'=' {
            continue;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = String::new();
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                // Push whole chars: find the char boundary starting at i.
                let ch = s[i..].chars().next().unwrap_or('?');
                v.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
            v
        } else {
            let vs = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            s[vs..i].trim().to_string()
        };
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

impl Challenge {
    /// Parses a `Digest …` challenge; None for other schemes or without realm/nonce.
    pub fn parse(v: &str) -> Option<Challenge> {
        let v = v.trim();
        let (scheme, rest) = v.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let p = auth_params(rest);
        let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let algorithm = get("algorithm");
        if let Some(a) = &algorithm {
            if !a.eq_ignore_ascii_case("md5") {
                return None;
            }
        }
        Some(Challenge {
            realm: get("realm")?,
            nonce: get("nonce")?,
            opaque: get("opaque"),
            qop_auth: get("qop")
                .map(|q| q.split(',').any(|x| x.trim().eq_ignore_ascii_case("auth")))
                .unwrap_or(false),
            algorithm,
        })
    }

    /// The `Authorization` value answering this challenge for `method uri`.
    pub fn authorization(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> String {
        let ha1 = hex_md5(&format!("{user}:{}:{password}", self.realm));
        let ha2 = hex_md5(&format!("{method}:{uri}"));
        let mut out = format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\"",
            self.realm, self.nonce
        );
        if self.qop_auth {
            let nc = format!("{nc:08x}");
            let response = hex_md5(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce));
            out.push_str(&format!(
                ", response=\"{response}\", cnonce=\"{cnonce}\", qop=auth, nc={nc}"
            ));
        } else {
            let response = hex_md5(&format!("{ha1}:{}:{ha2}", self.nonce));
            out.push_str(&format!(", response=\"{response}\""));
        }
        out.push_str(", algorithm=MD5");
        if let Some(o) = &self.opaque {
            out.push_str(&format!(", opaque=\"{o}\""));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example_response() {
        // RFC 2617 §3.5 (HTTP, but the computation is the same).
        let c = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .unwrap();
        assert!(c.qop_auth);
        let a = c.authorization(
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "0a4f113b",
            1,
        );
        assert!(
            a.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{a}"
        );
        assert!(a.contains("nc=00000001"));
        assert!(a.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    }

    #[test]
    fn without_qop_and_other_schemes() {
        let c = Challenge::parse("Digest realm=\"r\",nonce=\"n\"").unwrap();
        assert!(!c.qop_auth);
        let a = c.authorization("u", "p", "INVITE", "sip:x@y", "c", 1);
        let ha1 = hex_md5("u:r:p");
        let ha2 = hex_md5("INVITE:sip:x@y");
        assert!(a.contains(&hex_md5(&format!("{ha1}:n:{ha2}"))));
        assert_eq!(Challenge::parse("Basic realm=\"r\""), None);
        assert_eq!(Challenge::parse("Digest realm=\"r\""), None);
        assert_eq!(Challenge::parse("Digest realm=\"é"), None);
    }
}
