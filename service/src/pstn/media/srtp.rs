//! SRTP (RFC 3711) for a phone leg keyed by SDES (RFC 4568): the master keys come from
//! `a=crypto` lines, the crypto itself from webrtc-rs's sans-IO `rtc-srtp` (AES-CM +
//! HMAC-SHA1 on aws-lc-rs), which also keeps the rollover counter and, on the receive
//! side, the replay window.
//!
//! Only RTP is protected: the leg neither sends nor reads RTCP.

use std::fmt;

use base64::Engine as _;
use rtc_crypto::providers::{AwsLcRsCrypto, AwsLcRsRandom};
use rtc_crypto::RTCRandom as _;
use rtc_srtp::context::Context;
use rtc_srtp::option::srtp_replay_protection;
use rtc_srtp::protection_profile::ProtectionProfile;

/// Master key length of the AES_CM_128 suites.
pub const KEY_LEN: usize = 16;
/// Master salt length.
pub const SALT_LEN: usize = 14;
/// The inline key: master key then master salt (RFC 4568 §6.1).
pub const MASTER_LEN: usize = KEY_LEN + SALT_LEN;
/// Packets the receive side may arrive out of order and still be accepted (RFC 3711 §3.3.2
/// asks for at least 64).
pub const REPLAY_WINDOW: usize = 128;

/// A crypto suite we can do (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl SrtpSuite {
    /// The SDP name.
    pub fn as_str(self) -> &'static str {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite called `name` in SDP, if we can do it.
    pub fn from_name(name: &str) -> Option<SrtpSuite> {
        [
            SrtpSuite::AesCm128HmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    fn profile(self) -> ProtectionProfile {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }
}

/// A master key and salt. Its `Debug` does not show it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SrtpKey(pub [u8; MASTER_LEN]);

impl fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SrtpKey(..)")
    }
}

impl SrtpKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<SrtpKey, String> {
        let mut k = [0u8; MASTER_LEN];
        AwsLcRsRandom
            .fill(&mut k)
            .map_err(|e| format!("no random key: {e}"))?;
        Ok(SrtpKey(k))
    }

    /// The key as written after `inline:` (base64, with padding).
    pub fn to_inline(self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Reads the base64 of an `inline:` key; it must hold exactly 30 bytes.
    pub fn from_inline(b64: &str) -> Result<SrtpKey, String> {
        let engine = base64::engine::general_purpose::STANDARD;
        // Some implementations leave the padding out.
        let bytes = engine
            .decode(b64)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
            .map_err(|_| format!("key {b64:?} is not base64"))?;
        let k: [u8; MASTER_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("key is {} bytes, not {MASTER_LEN}", b.len()))?;
        Ok(SrtpKey(k))
    }

    fn key(&self) -> &[u8] {
        &self.0[..KEY_LEN]
    }

    fn salt(&self) -> &[u8] {
        &self.0[KEY_LEN..]
    }
}

/// What a leg needs to protect its RTP: the suite, our key (what we send with) and the
/// phone's (what it sends with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: SrtpSuite,
    pub local: SrtpKey,
    pub remote: SrtpKey,
}

/// The two SRTP contexts of a leg.
pub struct SrtpSession {
    tx: Context,
    rx: Context,
}

impl SrtpSession {
    pub fn new(keys: &SrtpKeys) -> Result<SrtpSession, String> {
        let profile = keys.suite.profile();
        let crypto = AwsLcRsCrypto;
        let tx = Context::new(
            keys.local.key(),
            keys.local.salt(),
            profile,
            None,
            None,
            &crypto,
        )
        .map_err(|e| format!("SRTP: {e}"))?;
        let rx = Context::new(
            keys.remote.key(),
            keys.remote.salt(),
            profile,
            Some(srtp_replay_protection(REPLAY_WINDOW)),
            None,
            &crypto,
        )
        .map_err(|e| format!("SRTP: {e}"))?;
        Ok(SrtpSession { tx, rx })
    }

    /// Our RTP packet, encrypted and authenticated; None if it cannot be (not RTP, or the
    /// key is used up after 2^48 packets).
    pub fn protect(&mut self, rtp: &[u8]) -> Option<Vec<u8>> {
        self.tx.encrypt_rtp(rtp).ok().map(|b| b.to_vec())
    }

    /// The phone's packet, authenticated and decrypted; None when it is not SRTP with the
    /// phone's key, or a replay.
    pub fn unprotect(&mut self, srtp: &[u8]) -> Option<Vec<u8>> {
        self.rx.decrypt_rtp(srtp).ok().map(|b| b.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 0x00];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&1234u32.to_be_bytes());
        p.extend_from_slice(&0xdead_beefu32.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn pair(suite: SrtpSuite) -> (SrtpSession, SrtpSession) {
        let a = SrtpKey::generate().unwrap();
        let b = SrtpKey::generate().unwrap();
        assert_ne!(a, b, "two keys from the CSPRNG differ");
        let ours = SrtpSession::new(&SrtpKeys {
            suite,
            local: a,
            remote: b,
        })
        .unwrap();
        let theirs = SrtpSession::new(&SrtpKeys {
            suite,
            local: b,
            remote: a,
        })
        .unwrap();
        (ours, theirs)
    }

    #[test]
    fn round_trip_hides_the_payload_and_authenticates() {
        for (suite, tag) in [
            (SrtpSuite::AesCm128HmacSha1_80, 10),
            (SrtpSuite::AesCm128HmacSha1_32, 4),
        ] {
            let (mut ours, mut theirs) = pair(suite);
            let plain = rtp(7, &[0x55; 160]);
            let sealed = ours.protect(&plain).unwrap();
            assert_eq!(sealed.len(), plain.len() + tag);
            assert_eq!(sealed[..12], plain[..12], "the header stays clear");
            assert_ne!(sealed[12..172], plain[12..], "the payload is encrypted");
            assert_eq!(theirs.unprotect(&sealed).unwrap(), plain);
            // A replay is refused, a flipped bit too.
            assert!(theirs.unprotect(&sealed).is_none());
            let mut bad = ours.protect(&rtp(8, &[1; 160])).unwrap();
            bad[20] ^= 1;
            assert!(theirs.unprotect(&bad).is_none());
            // Plain RTP and garbage are refused, without panicking.
            assert!(theirs.unprotect(&rtp(9, &[0; 160])).is_none());
            assert!(theirs.unprotect(&[0x80]).is_none());
            assert!(theirs.unprotect(&[]).is_none());
        }
    }

    #[test]
    fn sequence_wrap_keeps_working_across_the_rollover() {
        let (mut ours, mut theirs) = pair(SrtpSuite::AesCm128HmacSha1_80);
        for seq in (65_530u16..=65_535).chain(0..6) {
            let plain = rtp(seq, &[seq as u8; 20]);
            let sealed = ours.protect(&plain).unwrap();
            assert_eq!(theirs.unprotect(&sealed).unwrap(), plain, "seq {seq}");
        }
        // Reordered within the window: still accepted once.
        let late = ours.protect(&rtp(8, &[8; 20])).unwrap();
        let early = ours.protect(&rtp(7, &[7; 20])).unwrap();
        assert!(theirs.unprotect(&late).is_some());
        assert!(theirs.unprotect(&early).is_some());
        assert!(theirs.unprotect(&early).is_none());
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Known answers from an independent RFC 3711 implementation (Python `cryptography`
    /// AES-CTR + hmac, `scripts/srtp_kat.py`), itself checked against the RFC's appendix B.2 keystream and B.3 key
    /// derivation vectors, with B.3's master key and salt: the same bytes on the wire.
    #[test]
    fn matches_an_independent_rfc_3711_implementation() {
        // B.3: master key E1F97A0D…4139, master salt 0EC675AD…3AABE6.
        let master = SrtpKey::from_inline("4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm").unwrap();
        assert_eq!(
            master.0[..KEY_LEN],
            hex("E1F97A0D3E018BE0D64FA32C06DE4139")[..]
        );
        let mut plain = hex("80001234000004d2deadbeef");
        plain.extend(0u8..20);
        let expected = "80001234000004d2deadbeef1e162ded720b403a2a241e308709ea43d8088bc5cec8feb8";
        for (suite, tag) in [
            (SrtpSuite::AesCm128HmacSha1_80, "15e7d8058db4"),
            (SrtpSuite::AesCm128HmacSha1_32, ""),
        ] {
            let keys = SrtpKeys {
                suite,
                local: master,
                remote: master,
            };
            let mut s = SrtpSession::new(&keys).unwrap();
            let sealed = s.protect(&plain).unwrap();
            assert_eq!(sealed, hex(&format!("{expected}{tag}")), "{suite:?}");
            assert_eq!(s.unprotect(&sealed).unwrap(), plain);
        }
    }

    #[test]
    fn inline_keys() {
        let k = SrtpKey::generate().unwrap();
        assert_eq!(k.to_inline().len(), 40);
        assert_eq!(SrtpKey::from_inline(&k.to_inline()).unwrap(), k);
        let unpadded = k.to_inline().trim_end_matches('=').to_string();
        assert_eq!(SrtpKey::from_inline(&unpadded).unwrap(), k);
        assert!(SrtpKey::from_inline("c2hvcnQ=").is_err());
        assert!(SrtpKey::from_inline("not base64 !!").is_err());
        assert!(SrtpKey::from_inline("").is_err());
        assert_eq!(format!("{k:?}"), "SrtpKey(..)");
        assert_eq!(
            SrtpSuite::from_name("AES_CM_128_HMAC_SHA1_80"),
            Some(SrtpSuite::AesCm128HmacSha1_80)
        );
        assert_eq!(SrtpSuite::from_name("AEAD_AES_256_GCM"), None);
    }
}
