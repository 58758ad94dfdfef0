//! SDES (RFC 4568): the `a=crypto` lines that carry SRTP master keys in SDP, read and
//! written. What to offer and accept per trunk is [`SrtpPolicy`](super::SrtpPolicy).

use crate::pstn::media::srtp::{SrtpKey, SrtpSuite};

/// One `a=crypto:<tag> <suite> <key-params> [<session-params>]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoAttr {
    pub tag: u32,
    /// The suite and key, when we can use them: a suite we know, one inline key without
    /// MKI, no session parameters. None: a well-formed line we cannot do (skipped).
    pub usable: Option<(SrtpSuite, SrtpKey)>,
}

/// A well-formed crypto line we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesCrypto {
    pub tag: u32,
    pub suite: SrtpSuite,
    pub key: SrtpKey,
}

/// The line (after `a=`) for `key` under `tag`.
pub fn format_crypto(tag: u32, suite: SrtpSuite, key: &SrtpKey) -> String {
    format!("crypto:{tag} {} inline:{}", suite.as_str(), key.to_inline())
}

/// Reads the value of an `a=crypto:` attribute (what follows `crypto:`). A line that is
/// malformed is an error (with the reason); one we cannot do has `usable: None`.
pub fn parse_crypto(value: &str) -> Result<CryptoAttr, String> {
    let mut it = value.split_ascii_whitespace();
    let tag = it
        .next()
        .filter(|t| !t.is_empty() && t.len() <= 9 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u32>().ok())
        .ok_or_else(|| format!("a=crypto:{value}: the tag is not a number of 1-9 digits"))?;
    let suite_name = it
        .next()
        .ok_or_else(|| format!("a=crypto:{value}: no crypto suite"))?;
    let key_params = it
        .next()
        .ok_or_else(|| format!("a=crypto:{value}: no key parameters"))?;
    let has_session_params = it.next().is_some();
    let mut keys = key_params.split(';');
    let first = keys.next().unwrap_or("");
    let Some(inline) = first.strip_prefix("inline:") else {
        return Err(format!(
            "a=crypto:{value}: key parameters must start with inline:"
        ));
    };
    // inline:<key||salt>[|<lifetime>][|<MKI>:<length>]
    let mut parts = inline.split('|');
    let b64 = parts.next().unwrap_or("");
    let mut mki = false;
    for p in parts {
        if p.contains(':') {
            mki = true;
        } else if !(p.starts_with("2^") || p.bytes().all(|b| b.is_ascii_digit())) || p.is_empty() {
            return Err(format!("a=crypto:{value}: bad key lifetime {p:?}"));
        }
    }
    let Some(suite) = SrtpSuite::from_name(suite_name) else {
        return Ok(CryptoAttr { tag, usable: None });
    };
    let key = SrtpKey::from_inline(b64).map_err(|e| format!("a=crypto:{tag} {suite_name}: {e}"))?;
    // Several keys (MKIs), or session parameters we would have to honour: not for us.
    let usable = (!mki && keys.next().is_none() && !has_session_params).then_some((suite, key));
    Ok(CryptoAttr { tag, usable })
}

/// The first usable line of `lines` (values after `crypto:`), or the first error.
pub fn first_usable(lines: &[String]) -> Result<Option<SdesCrypto>, String> {
    let mut found = None;
    for l in lines {
        let a = parse_crypto(l)?;
        if found.is_none() {
            found = a.usable.map(|(suite, key)| SdesCrypto {
                tag: a.tag,
                suite,
                key,
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    #[test]
    fn reads_what_rfc_4568_and_baresip_write() {
        let a = parse_crypto(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20|1:4")).unwrap();
        assert_eq!(a.tag, 1);
        assert_eq!(a.usable, None, "an MKI is not for us");
        let a = parse_crypto(&format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}|2^31")).unwrap();
        let (suite, key) = a.usable.unwrap();
        assert_eq!(suite, SrtpSuite::AesCm128HmacSha1_32);
        assert_eq!(key.to_inline(), KEY);
        let a = parse_crypto(&format!("3 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")).unwrap();
        assert!(a.usable.is_some());
        let a = parse_crypto(&format!("4 AEAD_AES_256_GCM inline:{KEY}")).unwrap();
        assert_eq!((a.tag, a.usable), (4, None));
        let a = parse_crypto(&format!(
            "5 AES_CM_128_HMAC_SHA1_80 inline:{KEY} UNENCRYPTED_SRTP"
        ))
        .unwrap();
        assert_eq!(a.usable, None, "session parameters are not for us");
        let line = format_crypto(1, suite, &key);
        let back = parse_crypto(line.strip_prefix("crypto:").unwrap()).unwrap();
        assert_eq!(back.usable, Some((suite, key)));
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        for bad in [
            "",
            "x AES_CM_128_HMAC_SHA1_80 inline:abc",
            "-1 AES_CM_128_HMAC_SHA1_80 inline:abc",
            "99999999999 AES_CM_128_HMAC_SHA1_80 inline:abc",
            "1",
            "1 AES_CM_128_HMAC_SHA1_80",
            "1 AES_CM_128_HMAC_SHA1_80 key:abc",
            "1 AES_CM_128_HMAC_SHA1_80 inline:",
            "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!",
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=",
            "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|",
            "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|x",
            "1 AES_CM_128_HMAC_SHA1_80 inline:ключ",
        ] {
            assert!(parse_crypto(bad).is_err(), "{bad:?} is malformed");
        }
        let e = parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=").unwrap_err();
        assert!(e.contains("5 bytes, not 30"), "{e}");
    }

    #[test]
    fn first_usable_skips_what_we_cannot_do() {
        let lines = vec![
            format!("1 AEAD_AES_128_GCM inline:{KEY}"),
            format!("2 AES_CM_128_HMAC_SHA1_80 inline:{KEY}"),
            format!("3 AES_CM_128_HMAC_SHA1_32 inline:{KEY}"),
        ];
        let c = first_usable(&lines).unwrap().unwrap();
        assert_eq!((c.tag, c.suite), (2, SrtpSuite::AesCm128HmacSha1_80));
        assert_eq!(first_usable(&[]).unwrap(), None);
        assert!(first_usable(&["1 AES_CM_128_HMAC_SHA1_80 inline:%".into()]).is_err());
    }

    mod offer_answer {
        use super::super::super::sdp::{
            answer_keys, answer_offer, build_offer_srtp, parse_answer, SdpError,
        };
        use super::KEY;
        use crate::sip::SrtpPolicy;
        use std::net::SocketAddr;

        fn addr(s: &str) -> SocketAddr {
            s.parse().unwrap()
        }

        fn offer(proto: &str, crypto: &str) -> String {
            format!(
                "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
                 m=audio 4000 {proto} 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{crypto}"
            )
        }

        #[test]
        fn mandatory_offer_and_its_answer() {
            let (o, key) =
                build_offer_srtp(addr("10.0.0.1:4000"), 1, SrtpPolicy::Mandatory).unwrap();
            let key = key.unwrap();
            assert!(o.contains("m=audio 4000 RTP/SAVP 0 8 101\r\n"), "{o}");
            let line = format!(
                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n",
                key.to_inline()
            );
            assert!(o.contains(&line), "{o}");
            // The phone's side answers it (any policy: RTP/SAVP is SRTP or nothing).
            let (answer, remote, keys) =
                answer_offer(&o, addr("10.0.0.2:5000"), 1, SrtpPolicy::Off).unwrap();
            let keys = keys.unwrap();
            assert_eq!(keys.remote, key);
            assert!(remote.savp);
            assert!(
                answer.contains("m=audio 5000 RTP/SAVP 0 101\r\n"),
                "{answer}"
            );
            // Our side reads the answer: the keys cross over.
            let back = parse_answer(&answer).unwrap();
            let ours = answer_keys(Some(&key), SrtpPolicy::Mandatory, &back)
                .unwrap()
                .unwrap();
            assert_eq!((ours.local, ours.remote), (keys.remote, keys.local));
        }

        #[test]
        fn optional_offer_is_avp_with_crypto_and_accepts_a_plain_answer() {
            let (o, key) =
                build_offer_srtp(addr("10.0.0.1:4000"), 1, SrtpPolicy::Optional).unwrap();
            assert!(
                o.contains("RTP/AVP 0 8 101") && o.contains("a=crypto:1 "),
                "{o}"
            );
            let plain = parse_answer(&offer("RTP/AVP", "")).unwrap();
            assert_eq!(
                answer_keys(key.as_ref(), SrtpPolicy::Optional, &plain),
                Ok(None)
            );
            assert_eq!(
                answer_keys(key.as_ref(), SrtpPolicy::Mandatory, &plain),
                Err(SdpError::SrtpRequired)
            );
            let (o, key) = build_offer_srtp(addr("10.0.0.1:4000"), 1, SrtpPolicy::Off).unwrap();
            assert!(key.is_none() && !o.contains("crypto"));
        }

        #[test]
        fn inbound_offers_by_policy() {
            let crypto = format!("a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:{KEY}\r\n");
            let rtp = addr("10.0.0.2:5000");
            // SAVP with a suite we do: answered with our key under its tag.
            let (a, _, keys) =
                answer_offer(&offer("RTP/SAVP", &crypto), rtp, 1, SrtpPolicy::Off).unwrap();
            assert!(
                a.contains("RTP/SAVP") && a.contains("a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:")
            );
            assert_eq!(keys.unwrap().remote.to_inline(), KEY);
            // AVP with crypto: SRTP unless off.
            let avp = offer("RTP/AVP", &crypto);
            let (a, _, keys) = answer_offer(&avp, rtp, 1, SrtpPolicy::Off).unwrap();
            assert!(keys.is_none() && !a.contains("crypto"));
            let (a, _, keys) = answer_offer(&avp, rtp, 1, SrtpPolicy::Optional).unwrap();
            assert!(keys.is_some() && a.contains("RTP/AVP") && a.contains("a=crypto:7"));
            // SAVP we cannot do, DTLS-SRTP, plain under mandatory: refused (488).
            let gcm = format!("a=crypto:1 AEAD_AES_256_GCM inline:{KEY}\r\n");
            assert_eq!(
                answer_offer(&offer("RTP/SAVP", &gcm), rtp, 1, SrtpPolicy::Optional).err(),
                Some(SdpError::NoCommonCrypto)
            );
            assert_eq!(
                answer_offer(&offer("RTP/SAVP", ""), rtp, 1, SrtpPolicy::Off).err(),
                Some(SdpError::NoCommonCrypto)
            );
            assert_eq!(
                answer_offer(&offer("UDP/TLS/RTP/SAVP", ""), rtp, 1, SrtpPolicy::Off).err(),
                Some(SdpError::NoCommonCrypto)
            );
            assert_eq!(
                answer_offer(&offer("RTP/AVP", ""), rtp, 1, SrtpPolicy::Mandatory).err(),
                Some(SdpError::SrtpRequired)
            );
            // A malformed crypto line: a clear error.
            let bad = offer(
                "RTP/SAVP",
                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%%%\r\n",
            );
            match answer_offer(&bad, rtp, 1, SrtpPolicy::Off) {
                Err(SdpError::Crypto(e)) => assert!(e.contains("not base64"), "{e}"),
                other => panic!("{other:?}"),
            }
            assert!(matches!(
                parse_answer(&offer("RTP/SAVP", "a=crypto:\r\n")),
                Err(SdpError::Crypto(_))
            ));
        }

        #[test]
        fn an_answer_with_a_tag_we_did_not_offer_is_refused() {
            let (_, key) =
                build_offer_srtp(addr("10.0.0.1:4000"), 1, SrtpPolicy::Mandatory).unwrap();
            let crypto = format!("a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{KEY}\r\n");
            let answer = parse_answer(&offer("RTP/SAVP", &crypto)).unwrap();
            assert!(matches!(
                answer_keys(key.as_ref(), SrtpPolicy::Mandatory, &answer),
                Err(SdpError::Crypto(_))
            ));
        }
    }
}
