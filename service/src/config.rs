//! Command-line configuration of the service.
//!
//! Parsed by hand (no clap) to keep the build light on the shared 2-core machine.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Everything the service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP/WebSocket listen address (`--listen`).
    pub listen: SocketAddr,
    /// IP of the SFU's UDP socket, also announced as the host candidate (`--media-ip`).
    pub media_ip: IpAddr,
    /// UDP port of the SFU (`--media-port`, 0 = any).
    pub media_port: u16,
    /// HMAC key for tokens and the REST API (`--access-key` or `ACS_ACCESS_KEY`).
    pub access_key: Option<String>,
    /// PEM certificate chain for wss/https (`--tls-cert`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for wss/https (`--tls-key`).
    pub tls_key: Option<PathBuf>,
    /// Setup timeout for ringing and media (`--setup-timeout-secs`).
    pub setup_timeout: Duration,
    /// Maximum participants in one call (`--max-participants`).
    pub max_participants: usize,
    /// Delay of the echo bot (`--echo-delay-ms`).
    pub echo_delay: Duration,
    /// How long before token expiry `TokenExpiring` is sent (`--token-warning-secs`).
    pub token_warning: Duration,
    /// Ringing timeout of a participant added to a 1:1 call (`--promote-timeout-secs`).
    pub promote_timeout: Duration,
    /// A participant with no media and no signaling this long is removed
    /// (`--inactivity-timeout-secs`).
    pub inactivity_timeout: Duration,
    /// How many receive slots the SFU forwards the loudest speakers into
    /// (`--forwarded-speakers`, 1..=AUDIO_SLOTS).
    pub forwarded_speakers: usize,
    /// Drop this percentage of the media datagrams the SFU receives from connected sessions
    /// (`--simulate-loss-percent`, fault injection for tests of NACK/RTX, keyframe recovery
    /// and bitrate adaptation; 0 = off).
    pub simulate_loss_percent: f64,
    /// Calls with more participants than this are mixed by the SFU: one stream per
    /// receiver instead of the forwarded speakers (`--mix-above`).
    pub mix_above: usize,
    /// Calls with more participants than this get roster changes batched
    /// (`ParticipantsUpdated` every 250 ms) instead of one message per change
    /// (`--batch-roster-above`).
    pub batch_roster_above: usize,
    /// SIP listen address (UDP and TCP) of the PSTN gateway (`--sip-listen`); the gateway
    /// runs when this or a trunk is given.
    pub sip_listen: Option<SocketAddr>,
    /// SIP-over-TLS listen address for inbound calls (`--sip-listen-tls`, port 0 = any),
    /// with the `--tls-cert`/`--tls-key` certificate.
    pub sip_listen_tls: Option<SocketAddr>,
    /// SIP trunks to carriers or PBXs (`--sip-trunk`, repeatable; see `sip::TrunkConfig`).
    pub sip_trunks: Vec<String>,
    /// Addresses allowed to send us INVITEs besides the trunks (`--sip-allow`, repeatable).
    pub sip_allow: Vec<IpAddr>,
    /// Numbers of the deployment any user may present as caller id (`--pstn-caller-id`,
    /// repeatable; the first is the default).
    pub pstn_caller_ids: Vec<String>,
    /// A phone that has not answered this long is cancelled (`--pstn-setup-timeout-secs`).
    pub pstn_setup_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            media_ip: IpAddr::from([127, 0, 0, 1]),
            media_port: 0,
            access_key: None,
            tls_cert: None,
            tls_key: None,
            setup_timeout: Duration::from_secs(85),
            max_participants: crate::protocol::DEFAULT_MAX_PARTICIPANTS,
            echo_delay: Duration::from_millis(1000),
            token_warning: Duration::from_secs(60),
            promote_timeout: Duration::from_secs(crate::protocol::timeouts::PROMOTE_SECS),
            inactivity_timeout: Duration::from_secs(
                crate::protocol::timeouts::PARTICIPANT_REMOVAL_SECS,
            ),
            forwarded_speakers: 3,
            simulate_loss_percent: 0.0,
            mix_above: DEFAULT_MIX_ABOVE,
            batch_roster_above: DEFAULT_BATCH_ROSTER_ABOVE,
            sip_listen: None,
            sip_listen_tls: None,
            sip_trunks: Vec::new(),
            sip_allow: Vec::new(),
            pstn_caller_ids: Vec::new(),
            pstn_setup_timeout: Duration::from_secs(crate::protocol::timeouts::PSTN_SETUP_SECS),
        }
    }
}

/// Default of `--mix-above`: small calls keep forwarding (no decoding, no added delay).
pub const DEFAULT_MIX_ABOVE: usize = 100;
/// Default of `--batch-roster-above`.
pub const DEFAULT_BATCH_ROSTER_ABOVE: usize = 50;

/// Usage text printed by `--help` and on argument errors.
pub const USAGE: &str = "usage: acscalling-service [--listen 127.0.0.1:0] [--media-ip 127.0.0.1] \
[--media-port 0] [--access-key KEY (or env ACS_ACCESS_KEY)] [--tls-cert PEM --tls-key PEM] \
[--setup-timeout-secs 85] [--promote-timeout-secs 115] [--inactivity-timeout-secs 120] \
[--max-participants 350] [--forwarded-speakers 3] [--mix-above 100] [--batch-roster-above 50] \
[--echo-delay-ms 1000] [--token-warning-secs 60] [--simulate-loss-percent 0] \
[--sip-listen 127.0.0.1:5060] [--sip-listen-tls 127.0.0.1:5061 (with --tls-cert/--tls-key)] \
[--sip-trunk name=HOST[:PORT][;transport=udp|tcp|tls][;ca=PEM][;user=U][;password=P][;register]\
[;domain=D][;srtp=off|optional|mandatory]]... \
[--sip-allow IP]... [--pstn-caller-id +15550000000]... [--pstn-setup-timeout-secs 115]";

/// What the command line asked for.
#[derive(Debug)]
pub enum Command {
    /// Run the service.
    Run(Box<Config>),
    /// Print usage and exit.
    Help,
}

impl Config {
    /// Parses `args` (without the program name). `env_key` is the value of `ACS_ACCESS_KEY`.
    pub fn parse<I: IntoIterator<Item = String>>(
        args: I,
        env_key: Option<String>,
    ) -> Result<Command, String> {
        let mut c = Config {
            access_key: env_key.filter(|k| !k.is_empty()),
            ..Config::default()
        };
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(Command::Help);
            }
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (flag.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            let bad = |v: &str| format!("invalid value for {name}: '{v}'");
            match name.as_str() {
                "--listen" => {
                    let v = value()?;
                    c.listen = v.parse().map_err(|_| bad(&v))?;
                }
                "--media-ip" => {
                    let v = value()?;
                    c.media_ip = v.parse().map_err(|_| bad(&v))?;
                }
                "--media-port" => {
                    let v = value()?;
                    c.media_port = v.parse().map_err(|_| bad(&v))?;
                }
                "--access-key" => {
                    let v = value()?;
                    if v.is_empty() {
                        return Err(bad(&v));
                    }
                    c.access_key = Some(v);
                }
                "--tls-cert" => c.tls_cert = Some(PathBuf::from(value()?)),
                "--tls-key" => c.tls_key = Some(PathBuf::from(value()?)),
                "--setup-timeout-secs" => {
                    let v = value()?;
                    let s: u64 = v.parse().map_err(|_| bad(&v))?;
                    c.setup_timeout = Duration::from_secs(s.max(1));
                }
                "--max-participants" => {
                    let v = value()?;
                    c.max_participants = v.parse().map_err(|_| bad(&v))?;
                    if c.max_participants < 2 {
                        return Err(bad(&v));
                    }
                }
                "--promote-timeout-secs" => {
                    let v = value()?;
                    let s: u64 = v.parse().map_err(|_| bad(&v))?;
                    c.promote_timeout = Duration::from_secs(s.max(1));
                }
                "--inactivity-timeout-secs" => {
                    let v = value()?;
                    let s: u64 = v.parse().map_err(|_| bad(&v))?;
                    c.inactivity_timeout = Duration::from_secs(s.max(1));
                }
                "--forwarded-speakers" => {
                    let v = value()?;
                    let n: usize = v.parse().map_err(|_| bad(&v))?;
                    if !(1..=crate::protocol::AUDIO_SLOTS).contains(&n) {
                        return Err(bad(&v));
                    }
                    c.forwarded_speakers = n;
                }
                "--simulate-loss-percent" => {
                    let v = value()?;
                    let p: f64 = v.parse().map_err(|_| bad(&v))?;
                    if !(0.0..=100.0).contains(&p) {
                        return Err(bad(&v));
                    }
                    c.simulate_loss_percent = p;
                }
                "--mix-above" => {
                    let v = value()?;
                    c.mix_above = v.parse().map_err(|_| bad(&v))?;
                }
                "--batch-roster-above" => {
                    let v = value()?;
                    c.batch_roster_above = v.parse().map_err(|_| bad(&v))?;
                }
                "--echo-delay-ms" => {
                    let v = value()?;
                    c.echo_delay = Duration::from_millis(v.parse().map_err(|_| bad(&v))?);
                }
                "--token-warning-secs" => {
                    let v = value()?;
                    c.token_warning = Duration::from_secs(v.parse().map_err(|_| bad(&v))?);
                }
                "--sip-listen" => {
                    let v = value()?;
                    c.sip_listen = Some(v.parse().map_err(|_| bad(&v))?);
                }
                "--sip-listen-tls" => {
                    let v = value()?;
                    c.sip_listen_tls = Some(v.parse().map_err(|_| bad(&v))?);
                }
                "--sip-trunk" => {
                    let v = value()?;
                    crate::sip::TrunkConfig::parse(&v)
                        .map_err(|e| format!("invalid value for {name}: {e}"))?;
                    c.sip_trunks.push(v);
                }
                "--sip-allow" => {
                    let v = value()?;
                    c.sip_allow.push(v.parse().map_err(|_| bad(&v))?);
                }
                "--pstn-caller-id" => {
                    let v = value()?;
                    let n = crate::phone_numbers::normalize(&v).ok_or_else(|| bad(&v))?;
                    c.pstn_caller_ids.push(n);
                }
                "--pstn-setup-timeout-secs" => {
                    let v = value()?;
                    let s: u64 = v.parse().map_err(|_| bad(&v))?;
                    c.pstn_setup_timeout = Duration::from_secs(s.max(1));
                }
                other => return Err(format!("unknown argument '{other}'")),
            }
        }
        if c.tls_cert.is_some() != c.tls_key.is_some() {
            return Err("--tls-cert and --tls-key go together".into());
        }
        if c.sip_listen_tls.is_some() && c.tls_cert.is_none() {
            return Err("--sip-listen-tls needs --tls-cert and --tls-key".into());
        }
        Ok(Command::Run(Box::new(c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn defaults_and_flags() {
        let Ok(Command::Run(c)) = Config::parse(args(""), None) else {
            panic!("parse")
        };
        assert_eq!(c.listen.to_string(), "127.0.0.1:0");
        assert_eq!(c.setup_timeout, Duration::from_secs(85));
        assert_eq!(c.promote_timeout, Duration::from_secs(115));
        assert_eq!(c.inactivity_timeout, Duration::from_secs(120));
        assert_eq!(c.max_participants, 350);
        assert_eq!(c.forwarded_speakers, 3);
        assert_eq!(c.mix_above, DEFAULT_MIX_ABOVE);
        let Ok(Command::Run(c)) = Config::parse(args("--mix-above 2 --batch-roster-above 3"), None)
        else {
            panic!("parse")
        };
        assert_eq!((c.mix_above, c.batch_roster_above), (2, 3));
        let Ok(Command::Run(c)) = Config::parse(
            args("--listen 127.0.0.1:9000 --media-port=5000 --echo-delay-ms 10 --access-key k"),
            Some("env".into()),
        ) else {
            panic!("parse")
        };
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.media_port, 5000);
        assert_eq!(c.echo_delay, Duration::from_millis(10));
        assert_eq!(c.access_key.as_deref(), Some("k"));
    }

    #[test]
    fn errors() {
        assert!(Config::parse(args("--listen nope"), None).is_err());
        assert!(Config::parse(args("--bogus"), None).is_err());
        assert!(Config::parse(args("--tls-cert a.pem"), None).is_err());
        assert!(Config::parse(args("--media-port"), None).is_err());
        assert!(Config::parse(args("--forwarded-speakers 0"), None).is_err());
        assert!(Config::parse(args("--forwarded-speakers 99"), None).is_err());
        assert!(Config::parse(args("--max-participants 1"), None).is_err());
        assert!(Config::parse(args("--sip-listen nope"), None).is_err());
        assert!(Config::parse(args("--sip-allow 1.2.3"), None).is_err());
        assert!(Config::parse(args("--pstn-caller-id alice"), None).is_err());
        assert!(Config::parse(args("--sip-trunk =:"), None).is_err());
    }

    #[test]
    fn pstn_flags() {
        let Ok(Command::Run(c)) = Config::parse(
            args(
                "--sip-listen 127.0.0.1:5070 --sip-trunk carrier=127.0.0.1:5080 \
                 --sip-allow 127.0.0.2 --pstn-caller-id 4:15550001111 \
                 --pstn-setup-timeout-secs 3",
            ),
            None,
        ) else {
            panic!("parse")
        };
        assert_eq!(c.sip_listen.unwrap().port(), 5070);
        assert_eq!(c.sip_trunks, vec!["carrier=127.0.0.1:5080".to_string()]);
        assert_eq!(c.sip_allow, vec![IpAddr::from([127, 0, 0, 2])]);
        assert_eq!(c.pstn_caller_ids, vec!["+15550001111".to_string()]);
        assert_eq!(c.pstn_setup_timeout, Duration::from_secs(3));
        let Ok(Command::Run(c)) = Config::parse(args(""), None) else {
            panic!("parse")
        };
        assert_eq!(c.pstn_setup_timeout, Duration::from_secs(115));
        assert!(c.sip_listen.is_none() && c.sip_trunks.is_empty());
        assert!(c.sip_listen_tls.is_none());
    }

    #[test]
    fn sip_tls_and_srtp_flags() {
        let Ok(Command::Run(c)) = Config::parse(
            args(
                "--tls-cert c.pem --tls-key k.pem --sip-listen-tls 127.0.0.1:5061 \
                 --sip-trunk sec=pbx.example.com;transport=tls;ca=/etc/ca.pem;srtp=mandatory",
            ),
            None,
        ) else {
            panic!("parse")
        };
        assert_eq!(c.sip_listen_tls.unwrap().port(), 5061);
        assert_eq!(c.sip_trunks.len(), 1);
        assert!(
            USAGE.contains("--sip-listen-tls") && USAGE.contains("srtp=off|optional|mandatory")
        );
        let e = Config::parse(args("--sip-listen-tls 127.0.0.1:5061"), None).unwrap_err();
        assert!(e.contains("--tls-cert"), "{e}");
        assert!(Config::parse(args("--sip-listen-tls nope"), None).is_err());
        assert!(Config::parse(args("--sip-trunk p=h;srtp=always"), None).is_err());
        assert!(Config::parse(args("--sip-trunk p=h;transport=tls;ca="), None).is_err());
    }
}
