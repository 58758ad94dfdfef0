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
    /// Address announced to peers instead of the bound one (`--media-public IP:PORT`: a NAT
    /// or load balancer that forwards to the media socket).
    pub media_public: Option<SocketAddr>,
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
    /// A participant with no media and no signaling this long is removed; also how long a
    /// dropped signaling session waits for its agent to resume it (the reconnect window,
    /// `--inactivity-timeout-secs`).
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
    /// Numbers assigned to users at start, `(number, user id)` (`--pstn-number N=USER`,
    /// repeatable); the users are created when they do not exist.
    pub pstn_numbers: Vec<(String, String)>,
    /// Further numbers a user may present as caller id, `(user id, number)`
    /// (`--pstn-user-caller-id USER=N`, repeatable).
    pub pstn_user_caller_ids: Vec<(String, String)>,
    /// The SQLite database of users, tokens and numbers (`--database`, `:memory:` for none
    /// that outlives the process).
    pub database: String,
    /// Rate and size limits of the REST API and of signaling (`--rest-rate-limit`,
    /// `--rest-burst`, `--signaling-rate-limit`, `--signaling-burst`,
    /// `--signaling-flood-close`, `--signaling-max-message-bytes`,
    /// `--signaling-max-frame-bytes`; see `rate_limit.rs`).
    pub limits: crate::rate_limit::Limits,
    /// Serve the browser SDK bundle and the sample page from this directory (`--web-dir`,
    /// the repository's `web/` once built).
    pub web_dir: Option<PathBuf>,
    /// `POST /dev/token` issues a user and a token to loopback clients without the access
    /// key (`--dev-tokens`): for the sample page on a developer's machine only.
    pub dev_tokens: bool,
}

/// Default of `--database`: in the working directory.
pub const DEFAULT_DATABASE: &str = "acscalling-service.db";

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            media_ip: IpAddr::from([127, 0, 0, 1]),
            media_port: 0,
            media_public: None,
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
            pstn_numbers: Vec::new(),
            pstn_user_caller_ids: Vec::new(),
            database: DEFAULT_DATABASE.to_string(),
            limits: crate::rate_limit::Limits::default(),
            web_dir: None,
            dev_tokens: false,
        }
    }
}

/// Default of `--mix-above`: small calls keep forwarding (no decoding, no added delay).
pub const DEFAULT_MIX_ABOVE: usize = 100;
/// Default of `--batch-roster-above`.
pub const DEFAULT_BATCH_ROSTER_ABOVE: usize = 50;

/// Usage text printed by `--help` and on argument errors.
pub const USAGE: &str = "usage: acscalling-service [--config FILE.toml] \
[--database acscalling-service.db (or :memory:)] [--listen 127.0.0.1:0] [--media-ip 127.0.0.1] \
[--media-port 0] [--media-public IP:PORT] [--access-key KEY (or env ACS_ACCESS_KEY)] [--tls-cert PEM --tls-key PEM] \
[--setup-timeout-secs 85] [--promote-timeout-secs 115] [--inactivity-timeout-secs 120] \
[--max-participants 350] [--forwarded-speakers 3] [--mix-above 100] [--batch-roster-above 50] \
[--echo-delay-ms 1000] [--token-warning-secs 60] [--simulate-loss-percent 0] \
[--sip-listen 127.0.0.1:5060] [--sip-listen-tls 127.0.0.1:5061 (with --tls-cert/--tls-key)] \
[--sip-trunk name=HOST[:PORT][;transport=udp|tcp|tls][;ca=PEM][;user=U][;password=P][;register]\
[;domain=D][;srtp=off|optional|mandatory]]... \
[--sip-allow IP]... [--pstn-caller-id +15550000000]... [--pstn-setup-timeout-secs 115] \
[--pstn-number +15551230001=8:acs:USER]... [--pstn-user-caller-id 8:acs:USER=+15551230009]... \
[--rest-rate-limit 200 (per client IP per second, 0 = none)] [--rest-burst 400] \
[--signaling-rate-limit 20 (per connection per second, 0 = none)] [--signaling-burst 100] \
[--signaling-flood-close 200 (refusals in 10 s, 0 = never)] [--signaling-max-message-bytes 262144] \
[--signaling-max-frame-bytes 1048576] [--web-dir web (the browser SDK and sample page)] \
[--dev-tokens (POST /dev/token for loopback clients: development only)]\n\
The config file holds the same settings in TOML (see service/src/config_file.rs); flags given \
on the command line come after it.";

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
        // `--config FILE` first: its settings are flags that come before the command line's.
        let mut cli = Vec::new();
        let mut files = Vec::new();
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            if a == "--config" {
                files.push(it.next().ok_or("--config needs a value")?);
            } else if let Some(f) = a.strip_prefix("--config=") {
                files.push(f.to_string());
            } else {
                cli.push(a);
            }
        }
        for f in files {
            let flags = crate::config_file::flags_from_file(std::path::Path::new(&f))?;
            if c.apply(flags)
                .map_err(|e| format!("config file {f}: {e}"))?
            {
                return Err(format!("config file {f}: --help is not a setting"));
            }
        }
        if c.apply(cli)? {
            return Ok(Command::Help);
        }
        if c.tls_cert.is_some() != c.tls_key.is_some() {
            return Err("--tls-cert and --tls-key go together".into());
        }
        if c.sip_listen_tls.is_some() && c.tls_cert.is_none() {
            return Err("--sip-listen-tls needs --tls-cert and --tls-key".into());
        }
        c.limits.check()?;
        Ok(Command::Run(Box::new(c)))
    }

    /// Applies flags in order; `Ok(true)` when help was asked for.
    fn apply(&mut self, args: Vec<String>) -> Result<bool, String> {
        let c = self;
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(true);
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
                "--media-public" => {
                    let v = value()?;
                    c.media_public = Some(v.parse().map_err(|_| bad(&v))?);
                }
                "--access-key" => {
                    let v = value()?;
                    if v.is_empty() {
                        return Err(bad(&v));
                    }
                    c.access_key = Some(v);
                }
                "--database" => {
                    let v = value()?;
                    if v.is_empty() {
                        return Err(bad(&v));
                    }
                    c.database = v;
                }
                "--web-dir" => {
                    let v = value()?;
                    if v.is_empty() {
                        return Err(bad(&v));
                    }
                    c.web_dir = Some(PathBuf::from(v));
                }
                // A switch: alone it means on; `=true`/`=false` (the config file's form).
                "--dev-tokens" => {
                    c.dev_tokens = match inline.as_deref() {
                        None | Some("true") => true,
                        Some("false") => false,
                        Some(v) => return Err(bad(v)),
                    };
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
                "--pstn-number" => {
                    let v = value()?;
                    let (n, user) = number_and_user(&v).ok_or_else(|| bad(&v))?;
                    c.pstn_numbers.push((n, user));
                }
                "--pstn-user-caller-id" => {
                    let v = value()?;
                    let (user, n) = v.split_once('=').ok_or_else(|| bad(&v))?;
                    let (n, user) =
                        number_and_user(&format!("{n}={user}")).ok_or_else(|| bad(&v))?;
                    c.pstn_user_caller_ids.push((user, n));
                }
                "--rest-rate-limit" => {
                    let v = value()?;
                    c.limits.rest_rate = rate(&v).ok_or_else(|| bad(&v))?;
                }
                "--rest-burst" => {
                    let v = value()?;
                    c.limits.rest_burst = rate(&v).ok_or_else(|| bad(&v))?;
                }
                "--signaling-rate-limit" => {
                    let v = value()?;
                    c.limits.signaling_rate = rate(&v).ok_or_else(|| bad(&v))?;
                }
                "--signaling-burst" => {
                    let v = value()?;
                    c.limits.signaling_burst = rate(&v).ok_or_else(|| bad(&v))?;
                }
                "--signaling-flood-close" => {
                    let v = value()?;
                    c.limits.flood_close = v.parse().map_err(|_| bad(&v))?;
                }
                "--signaling-max-message-bytes" => {
                    let v = value()?;
                    c.limits.max_message = v.parse().map_err(|_| bad(&v))?;
                }
                "--signaling-max-frame-bytes" => {
                    let v = value()?;
                    c.limits.max_frame = v.parse().map_err(|_| bad(&v))?;
                }
                other => return Err(format!("unknown argument '{other}'")),
            }
        }
        Ok(false)
    }
}

/// A rate or burst: a finite number in 0..=1e6.
fn rate(v: &str) -> Option<f64> {
    v.parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && (0.0..=1e6).contains(r))
}

/// `NUMBER=8:acs:USER` → (E.164 number, user id).
fn number_and_user(v: &str) -> Option<(String, String)> {
    let (n, user) = v.split_once('=')?;
    let n = crate::phone_numbers::normalize(n)?;
    let user = user.trim();
    (user.starts_with("8:acs:") && user.len() > 6).then(|| (n, user.to_string()))
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
        assert_eq!(c.database, DEFAULT_DATABASE);
        let Ok(Command::Run(c)) = Config::parse(args("--database :memory:"), None) else {
            panic!("parse")
        };
        assert_eq!(c.database, ":memory:");
        assert!(Config::parse(args("--database="), None).is_err());
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
        let Ok(Command::Run(c)) = Config::parse(args("--media-public 127.0.0.1:7000"), None) else {
            panic!()
        };
        assert_eq!(c.media_public, Some("127.0.0.1:7000".parse().unwrap()));
        assert!(Config::parse(args("--media-public 127.0.0.1"), None).is_err());
    }

    #[test]
    fn browser_flags() {
        let Ok(Command::Run(c)) = Config::parse(args(""), None) else {
            panic!("parse")
        };
        assert!(c.web_dir.is_none() && !c.dev_tokens);
        let Ok(Command::Run(c)) = Config::parse(args("--dev-tokens --web-dir web"), None) else {
            panic!("parse")
        };
        assert!(c.dev_tokens);
        assert_eq!(c.web_dir, Some(PathBuf::from("web")));
        let Ok(Command::Run(c)) = Config::parse(args("--dev-tokens=false"), None) else {
            panic!("parse")
        };
        assert!(!c.dev_tokens);
        assert!(Config::parse(args("--dev-tokens=yes"), None).is_err());
        assert!(Config::parse(args("--web-dir="), None).is_err());
        let flags = crate::config_file::flags_from_toml("dev_tokens = true\nweb_dir = \"web\"\n")
            .expect("toml");
        let mut c = Config::default();
        assert!(!c.apply(flags).expect("flags"));
        assert!(c.dev_tokens && c.web_dir.is_some());
    }

    #[test]
    fn limit_flags() {
        let Ok(Command::Run(c)) = Config::parse(args(""), None) else {
            panic!("parse")
        };
        assert_eq!(c.limits, crate::rate_limit::Limits::default());
        let Ok(Command::Run(c)) = Config::parse(
            args(
                "--rest-rate-limit 5 --rest-burst 10 --signaling-rate-limit 2.5 \
                 --signaling-burst 4 --signaling-flood-close 0 \
                 --signaling-max-message-bytes 8192 --signaling-max-frame-bytes 16384",
            ),
            None,
        ) else {
            panic!("parse")
        };
        let l = &c.limits;
        assert_eq!((l.rest_rate, l.rest_burst), (5.0, 10.0));
        assert_eq!((l.signaling_rate, l.signaling_burst), (2.5, 4.0));
        assert_eq!(
            (l.flood_close, l.max_message, l.max_frame),
            (0, 8192, 16384)
        );
        for bad in [
            "--rest-rate-limit -1",
            "--rest-rate-limit nan",
            "--signaling-burst x",
            "--rest-burst 0",
            "--signaling-max-message-bytes 100",
            "--signaling-max-frame-bytes 1000",
            "--signaling-flood-close -3",
        ] {
            assert!(Config::parse(args(bad), None).is_err(), "{bad}");
        }
        // No limit needs no burst.
        assert!(Config::parse(args("--rest-rate-limit 0 --rest-burst 0"), None).is_ok());
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
    fn config_file_then_command_line() {
        let dir = std::env::temp_dir().join(format!("acs-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("service.toml");
        std::fs::write(
            &file,
            r#"
listen = "127.0.0.1:9100"
echo_delay_ms = 20
[sip]
listen = "127.0.0.1:5070"
[[sip.trunks]]
name = "carrier"
host = "127.0.0.1"
port = 5080
transport = "tcp"
[pstn]
caller_ids = ["+15550000000"]
[pstn.numbers]
"+15551230001" = "8:acs:reception"
[pstn.user_caller_ids]
"8:acs:reception" = ["4:+15551230009"]
"#,
        )
        .unwrap();
        let f = file.display().to_string();
        let Ok(Command::Run(c)) = Config::parse(
            args(&format!(
                "--config {f} --listen 127.0.0.1:9200 --pstn-caller-id +15550000001"
            )),
            None,
        ) else {
            panic!("parse")
        };
        // Single values: the command line wins; lists add up.
        assert_eq!(c.listen.port(), 9200);
        assert_eq!(c.echo_delay, Duration::from_millis(20));
        assert_eq!(c.sip_listen.unwrap().port(), 5070);
        assert_eq!(c.sip_trunks, vec!["carrier=127.0.0.1:5080;transport=tcp"]);
        assert_eq!(c.pstn_caller_ids, vec!["+15550000000", "+15550000001"]);
        assert_eq!(
            c.pstn_numbers,
            vec![("+15551230001".to_string(), "8:acs:reception".to_string())]
        );
        assert_eq!(
            c.pstn_user_caller_ids,
            vec![("8:acs:reception".to_string(), "+15551230009".to_string())]
        );

        // A setting the flags do not know is refused, naming the file.
        std::fs::write(&file, "[sip]\nlisten_port = 5\n").unwrap();
        let e = Config::parse(args(&format!("--config={f}")), None).unwrap_err();
        assert!(
            e.contains("service.toml") && e.contains("--sip-listen-port"),
            "{e}"
        );
        std::fs::write(&file, "listen = \"nope\"\n").unwrap();
        let e = Config::parse(args(&format!("--config {f}")), None).unwrap_err();
        assert!(e.contains("invalid value for --listen"), "{e}");
        assert!(Config::parse(args("--config"), None).is_err());
        assert!(Config::parse(args("--config /nonexistent.toml"), None).is_err());
        assert!(Config::parse(args("--pstn-number +1555=alice"), None).is_err());
        assert!(Config::parse(args("--pstn-number bob=8:acs:x"), None).is_err());
        assert!(Config::parse(args("--pstn-user-caller-id 8:acs:x"), None).is_err());
        std::fs::remove_dir_all(&dir).ok();
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
