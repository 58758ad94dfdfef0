//! Command-line configuration of the service: clap flags, each also settable from the
//! environment (`ACS_<FLAG>`) and from a TOML file (`--config`, `config_file.rs`).

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
    /// A call transfer not answered (by the transferee, then the target) this long fails
    /// (`--transfer-timeout-secs`).
    pub transfer_timeout: Duration,
    /// Somebody waiting in a room's lobby this long leaves with 408/10019
    /// (`--lobby-timeout-secs`).
    pub lobby_timeout: Duration,
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
    /// Log lines as JSON objects (`--log-format json`).
    pub json_logs: bool,
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
            transfer_timeout: Duration::from_secs(crate::protocol::timeouts::TRANSFER_SECS),
            lobby_timeout: Duration::from_secs(crate::protocol::timeouts::LOBBY_SECS),
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
            json_logs: false,
        }
    }
}

/// Default of `--mix-above`: small calls keep forwarding (no decoding, no added delay).
pub const DEFAULT_MIX_ABOVE: usize = 100;
/// Default of `--batch-roster-above`.
pub const DEFAULT_BATCH_ROSTER_ABOVE: usize = 50;

/// The command line (clap), every flag optional: what is not given keeps the config file's
/// value, then the default of [`Config::default`]. Each flag can also come from the
/// environment as `ACS_` + its name in upper snake case (`--media-port` → `ACS_MEDIA_PORT`):
/// the command line wins over the environment, the environment over the config file.
#[derive(clap::Parser, Debug, Default)]
#[command(
    name = "acscalling-service",
    version,
    about = "The acscalling calling service: signaling (WebSocket), identities and tokens \
             (REST), the SFU (WebRTC over UDP), the echo bot and a SIP gateway to the phone network.",
    after_help = "Every flag can also be set in the environment as ACS_<FLAG_NAME> \
                  (--media-port: ACS_MEDIA_PORT) and in the TOML file of --config \
                  (see service/acscalling-service.example.toml). The command line wins over \
                  the environment, the environment over the file; list flags add up.",
    args_override_self = true
)]
struct Flags {
    /// A TOML file with the same settings (repeatable; later files win).
    #[arg(long, value_name = "FILE")]
    config: Vec<PathBuf>,
    /// The SQLite database of users, tokens and numbers (":memory:" for one that dies with
    /// the process). [default: acscalling-service.db]
    #[arg(long, value_name = "PATH", value_parser = non_empty)]
    database: Option<String>,
    /// HTTP/WebSocket listen address. [default: 127.0.0.1:0]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// IP of the SFU's UDP socket, also its host candidate. [default: 127.0.0.1]
    #[arg(long, value_name = "IP")]
    media_ip: Option<IpAddr>,
    /// UDP port of the SFU (0: any). [default: 0]
    #[arg(long, value_name = "PORT")]
    media_port: Option<u16>,
    /// Address announced to peers instead of the bound one (a NAT or load balancer).
    #[arg(long, value_name = "IP:PORT")]
    media_public: Option<SocketAddr>,
    /// HMAC key of tokens and of the REST API.
    #[arg(long, value_name = "KEY", value_parser = non_empty)]
    access_key: Option<String>,
    /// PEM certificate chain for wss/https (with --tls-key).
    #[arg(long, value_name = "PEM")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for wss/https (with --tls-cert).
    #[arg(long, value_name = "PEM")]
    tls_key: Option<PathBuf>,
    /// Ringing and media setup timeout. [default: 85]
    #[arg(long, value_name = "SECS")]
    setup_timeout_secs: Option<u64>,
    /// Ringing timeout of a participant added to a 1:1 call. [default: 115]
    #[arg(long, value_name = "SECS")]
    promote_timeout_secs: Option<u64>,
    /// A call transfer not answered this long fails. [default: 60]
    #[arg(long, value_name = "SECS")]
    transfer_timeout_secs: Option<u64>,
    /// Somebody waiting in a room's lobby this long, not admitted, leaves. [default: 900]
    #[arg(long, value_name = "SECS")]
    lobby_timeout_secs: Option<u64>,
    /// A participant without media and signaling this long is removed; also the reconnect
    /// window of a dropped signaling session. [default: 120]
    #[arg(long, value_name = "SECS")]
    inactivity_timeout_secs: Option<u64>,
    /// Most participants in one call (at least 2). [default: 350]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(2..))]
    max_participants: Option<u64>,
    /// Receive slots the SFU forwards the loudest speakers into (1..=4). [default: 3]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=crate::protocol::AUDIO_SLOTS as u64))]
    forwarded_speakers: Option<u64>,
    /// Calls with more participants are mixed by the SFU. [default: 100]
    #[arg(long, value_name = "N")]
    mix_above: Option<usize>,
    /// Calls with more participants get roster changes batched every 250 ms. [default: 50]
    #[arg(long, value_name = "N")]
    batch_roster_above: Option<usize>,
    /// Delay of the echo bot 8:echo123. [default: 1000]
    #[arg(long, value_name = "MS")]
    echo_delay_ms: Option<u64>,
    /// How long before a token expires the agent is warned. [default: 60]
    #[arg(long, value_name = "SECS")]
    token_warning_secs: Option<u64>,
    /// Drop this percentage of received media datagrams (fault injection; 0..=100). [default: 0]
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    simulate_loss_percent: Option<f64>,
    /// SIP listen address (UDP and TCP) of the PSTN gateway.
    #[arg(long, value_name = "ADDR")]
    sip_listen: Option<SocketAddr>,
    /// SIP-over-TLS listen address (with --tls-cert/--tls-key).
    #[arg(long, value_name = "ADDR")]
    sip_listen_tls: Option<SocketAddr>,
    /// A SIP trunk (repeatable): name=HOST[:PORT][;transport=udp|tcp|tls][;ca=PEM][;user=U]
    /// [;password=P][;register][;domain=D][;srtp=off|optional|mandatory].
    #[arg(long, value_name = "TRUNK", value_parser = trunk)]
    sip_trunk: Vec<String>,
    /// An address allowed to send INVITEs besides the trunks (repeatable).
    #[arg(long, value_name = "IP")]
    sip_allow: Vec<IpAddr>,
    /// A number any user may present as caller id (repeatable; the first is the default).
    #[arg(long, value_name = "+E164", value_parser = caller_id)]
    pstn_caller_id: Vec<String>,
    /// A phone that has not answered this long is cancelled. [default: 115]
    #[arg(long, value_name = "SECS")]
    pstn_setup_timeout_secs: Option<u64>,
    /// A number assigned to a user at start, +E164=8:acs:USER (repeatable).
    #[arg(long, value_name = "NUMBER=USER", value_parser = number_for_user)]
    pstn_number: Vec<(String, String)>,
    /// A further number a user may present, 8:acs:USER=+E164 (repeatable).
    #[arg(long, value_name = "USER=NUMBER", value_parser = user_for_number)]
    pstn_user_caller_id: Vec<(String, String)>,
    /// REST requests per client IP per second (0: no limit). [default: 200]
    #[arg(long, value_name = "RATE", value_parser = rate_flag)]
    rest_rate_limit: Option<f64>,
    /// REST burst. [default: 400]
    #[arg(long, value_name = "N", value_parser = rate_flag)]
    rest_burst: Option<f64>,
    /// Signaling messages per connection per second (0: no limit). [default: 20]
    #[arg(long, value_name = "RATE", value_parser = rate_flag)]
    signaling_rate_limit: Option<f64>,
    /// Signaling burst. [default: 100]
    #[arg(long, value_name = "N", value_parser = rate_flag)]
    signaling_burst: Option<f64>,
    /// Refusals within 10 s that close a connection (0: never). [default: 200]
    #[arg(long, value_name = "N")]
    signaling_flood_close: Option<u32>,
    /// Largest signaling message. [default: 262144]
    #[arg(long, value_name = "BYTES")]
    signaling_max_message_bytes: Option<usize>,
    /// Largest WebSocket frame. [default: 1048576]
    #[arg(long, value_name = "BYTES")]
    signaling_max_frame_bytes: Option<usize>,
    /// Serve the browser SDK bundle and the sample page from this directory (web/).
    #[arg(long, value_name = "DIR", value_parser = non_empty)]
    web_dir: Option<String>,
    /// POST /dev/token issues users and tokens to loopback clients without the access key
    /// (development only).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL",
          value_parser = clap::builder::BoolishValueParser::new(),
          require_equals = true)]
    dev_tokens: Option<bool>,
    /// Log lines as text or as JSON objects (one per line). [default: text]
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
}

fn non_empty(v: &str) -> Result<String, String> {
    if v.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(v.to_string())
    }
}

fn percent(v: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|p| (0.0..=100.0).contains(p))
        .ok_or_else(|| "expected a percentage in 0..=100".into())
}

fn rate_flag(v: &str) -> Result<f64, String> {
    rate(v).ok_or_else(|| "expected a number in 0..=1000000".into())
}

fn trunk(v: &str) -> Result<String, String> {
    crate::sip::TrunkConfig::parse(v).map_err(|e| e.to_string())?;
    Ok(v.to_string())
}

fn caller_id(v: &str) -> Result<String, String> {
    crate::phone_numbers::normalize(v).ok_or_else(|| "expected a phone number (+E164)".into())
}

fn number_for_user(v: &str) -> Result<(String, String), String> {
    number_and_user(v).ok_or_else(|| "expected +E164=8:acs:USER".into())
}

fn user_for_number(v: &str) -> Result<(String, String), String> {
    let (user, n) = v.split_once('=').ok_or("expected 8:acs:USER=+E164")?;
    let (n, user) = number_and_user(&format!("{n}={user}")).ok_or("expected 8:acs:USER=+E164")?;
    Ok((user, n))
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Command {
    /// Run the service.
    Run(Box<Config>),
    /// Print this (help or version) and exit.
    Help(String),
}

/// The environment variable of a flag: `--media-port` → `ACS_MEDIA_PORT`.
fn env_name(long: &str) -> String {
    format!("ACS_{}", long.to_ascii_uppercase().replace('-', "_"))
}

impl Config {
    /// Parses `args` (without the program name), reading the environment with `env`.
    pub fn parse_with_env<I: IntoIterator<Item = String>>(
        args: I,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Command, String> {
        use clap::{CommandFactory, FromArgMatches};
        let args: Vec<String> = args.into_iter().collect();
        let command = Flags::command();
        let program = || "acscalling-service".to_string();
        // The files named by --config, first: each must parse on its own (its errors name it).
        let cli = match command
            .clone()
            .try_get_matches_from(std::iter::once(program()).chain(args.iter().cloned()))
        {
            Ok(m) => m,
            Err(e) => return help_or_error(e),
        };
        let files: Vec<PathBuf> = cli
            .get_many::<PathBuf>("config")
            .map(|v| v.cloned().collect())
            .unwrap_or_default();
        let mut combined = vec![program()];
        for f in &files {
            let flags = crate::config_file::flags_from_file(f)?;
            let name = f.display();
            if flags.iter().any(|a| a.starts_with("--config")) {
                return Err(format!("config file {name}: a file cannot name another"));
            }
            command
                .clone()
                .try_get_matches_from(std::iter::once(program()).chain(flags.iter().cloned()))
                .map_err(|e| format!("config file {name}: {}", clap_message(&e)))?;
            combined.extend(flags);
        }
        // The environment, over the files.
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long == "config" {
                continue;
            }
            if let Some(v) = env(&env_name(long)).filter(|v| !v.is_empty()) {
                combined.push(format!("--{long}={v}"));
            }
        }
        combined.extend(args);
        let matches = command
            .try_get_matches_from(combined)
            .map_err(|e| clap_message(&e))?;
        let f = Flags::from_arg_matches(&matches).map_err(|e| clap_message(&e))?;
        let c = Config::from_flags(f);
        if c.tls_cert.is_some() != c.tls_key.is_some() {
            return Err("--tls-cert and --tls-key go together".into());
        }
        if c.sip_listen_tls.is_some() && c.tls_cert.is_none() {
            return Err("--sip-listen-tls needs --tls-cert and --tls-key".into());
        }
        c.limits.check()?;
        Ok(Command::Run(Box::new(c)))
    }

    /// [`Config::parse_with_env`] with an environment that holds only `ACS_ACCESS_KEY`
    /// (`env_key`).
    pub fn parse<I: IntoIterator<Item = String>>(
        args: I,
        env_key: Option<String>,
    ) -> Result<Command, String> {
        Self::parse_with_env(args, &|name| {
            (name == "ACS_ACCESS_KEY")
                .then(|| env_key.clone())
                .flatten()
        })
    }

    /// The defaults with what the flags set.
    fn from_flags(f: Flags) -> Config {
        let d = Config::default();
        let secs = |v: Option<u64>, d: Duration| v.map_or(d, |s| Duration::from_secs(s.max(1)));
        let limits = crate::rate_limit::Limits {
            rest_rate: f.rest_rate_limit.unwrap_or(d.limits.rest_rate),
            rest_burst: f.rest_burst.unwrap_or(d.limits.rest_burst),
            signaling_rate: f.signaling_rate_limit.unwrap_or(d.limits.signaling_rate),
            signaling_burst: f.signaling_burst.unwrap_or(d.limits.signaling_burst),
            flood_close: f.signaling_flood_close.unwrap_or(d.limits.flood_close),
            max_message: f
                .signaling_max_message_bytes
                .unwrap_or(d.limits.max_message),
            max_frame: f.signaling_max_frame_bytes.unwrap_or(d.limits.max_frame),
        };
        Config {
            listen: f.listen.unwrap_or(d.listen),
            media_ip: f.media_ip.unwrap_or(d.media_ip),
            media_port: f.media_port.unwrap_or(d.media_port),
            media_public: f.media_public.or(d.media_public),
            access_key: f.access_key.or(d.access_key),
            tls_cert: f.tls_cert,
            tls_key: f.tls_key,
            setup_timeout: secs(f.setup_timeout_secs, d.setup_timeout),
            max_participants: f
                .max_participants
                .map_or(d.max_participants, |n| n as usize),
            echo_delay: f.echo_delay_ms.map_or(d.echo_delay, Duration::from_millis),
            token_warning: f
                .token_warning_secs
                .map_or(d.token_warning, Duration::from_secs),
            promote_timeout: secs(f.promote_timeout_secs, d.promote_timeout),
            transfer_timeout: secs(f.transfer_timeout_secs, d.transfer_timeout),
            lobby_timeout: secs(f.lobby_timeout_secs, d.lobby_timeout),
            inactivity_timeout: secs(f.inactivity_timeout_secs, d.inactivity_timeout),
            forwarded_speakers: f
                .forwarded_speakers
                .map_or(d.forwarded_speakers, |n| n as usize),
            simulate_loss_percent: f.simulate_loss_percent.unwrap_or(d.simulate_loss_percent),
            mix_above: f.mix_above.unwrap_or(d.mix_above),
            batch_roster_above: f.batch_roster_above.unwrap_or(d.batch_roster_above),
            sip_listen: f.sip_listen,
            sip_listen_tls: f.sip_listen_tls,
            sip_trunks: f.sip_trunk,
            sip_allow: f.sip_allow,
            pstn_caller_ids: f.pstn_caller_id,
            pstn_setup_timeout: secs(f.pstn_setup_timeout_secs, d.pstn_setup_timeout),
            pstn_numbers: f.pstn_number,
            pstn_user_caller_ids: f.pstn_user_caller_id,
            database: f.database.unwrap_or(d.database),
            limits,
            web_dir: f.web_dir.map(PathBuf::from),
            dev_tokens: f.dev_tokens.unwrap_or(d.dev_tokens),
            json_logs: f.log_format.as_deref() == Some("json"),
        }
    }
}

/// Help and version are not errors: they are printed and the service exits 0.
fn help_or_error(e: clap::Error) -> Result<Command, String> {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(Command::Help(e.to_string())),
        _ => Err(clap_message(&e)),
    }
}

/// clap's message without its usage lines and colours.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    text.lines()
        .take_while(|l| !l.trim_start().starts_with("Usage:"))
        .filter(|l| !l.trim().is_empty() && !l.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim_start_matches("error: ")
        .to_string()
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
        assert!(Config::parse(args("--dev-tokens=maybe"), None).is_err());
        assert!(Config::parse(args("--web-dir="), None).is_err());
        let flags = crate::config_file::flags_from_toml("dev_tokens = true\nweb_dir = \"web\"\n")
            .expect("toml");
        let Ok(Command::Run(c)) = Config::parse(flags, None) else {
            panic!("parse")
        };
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
        assert!(e.contains("invalid value 'nope' for '--listen"), "{e}");
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
        let Ok(Command::Help(help)) = Config::parse(args("--help"), None) else {
            panic!("help")
        };
        assert!(
            help.contains("--sip-listen-tls") && help.contains("srtp=off|optional|mandatory"),
            "{help}"
        );
        let e = Config::parse(args("--sip-listen-tls 127.0.0.1:5061"), None).unwrap_err();
        assert!(e.contains("--tls-cert"), "{e}");
        assert!(Config::parse(args("--sip-listen-tls nope"), None).is_err());
        assert!(Config::parse(args("--sip-trunk p=h;srtp=always"), None).is_err());
        assert!(Config::parse(args("--sip-trunk p=h;transport=tls;ca="), None).is_err());
    }

    #[test]
    fn the_environment_sits_between_the_file_and_the_command_line() {
        let dir = std::env::temp_dir().join(format!("acs-config-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("service.toml");
        std::fs::write(
            &file,
            "echo_delay_ms = 20\nmax_participants = 10\nmix_above = 7\n",
        )
        .unwrap();
        let env = |name: &str| match name {
            "ACS_ECHO_DELAY_MS" => Some("30".to_string()),
            "ACS_MAX_PARTICIPANTS" => Some("40".to_string()),
            "ACS_LOG_FORMAT" => Some("json".to_string()),
            "ACS_PSTN_CALLER_ID" => Some("+15550000002".to_string()),
            _ => None,
        };
        let f = file.display().to_string();
        let Ok(Command::Run(c)) =
            Config::parse_with_env(args(&format!("--config {f} --max-participants 50")), &env)
        else {
            panic!("parse")
        };
        assert_eq!(c.mix_above, 7, "the file");
        assert_eq!(
            c.echo_delay,
            Duration::from_millis(30),
            "the environment over the file"
        );
        assert_eq!(
            c.max_participants, 50,
            "the command line over the environment"
        );
        assert!(c.json_logs);
        assert_eq!(c.pstn_caller_ids, vec!["+15550000002"]);
        // A bad value in the environment is refused, naming the flag.
        let bad = |name: &str| (name == "ACS_MEDIA_PORT").then(|| "nope".to_string());
        let e = Config::parse_with_env(args(""), &bad).unwrap_err();
        assert!(e.contains("--media-port"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn help_version_and_log_format() {
        let Ok(Command::Help(help)) = Config::parse(args("-h"), None) else {
            panic!("help")
        };
        assert!(
            help.contains("--media-port") && help.contains("ACS_"),
            "{help}"
        );
        let Ok(Command::Help(v)) = Config::parse(args("--version"), None) else {
            panic!("version")
        };
        assert!(v.contains(env!("CARGO_PKG_VERSION")), "{v}");
        let Ok(Command::Run(c)) = Config::parse(args("--log-format json"), None) else {
            panic!("parse")
        };
        assert!(c.json_logs);
        let e = Config::parse(args("--log-format xml"), None).unwrap_err();
        assert!(e.contains("xml") && e.contains("json"), "{e}");
    }

    #[test]
    fn the_example_configuration_file_parses_to_the_defaults() {
        let f = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/acscalling-service.example.toml"
        );
        let Ok(Command::Run(c)) = Config::parse(args(&format!("--config {f}")), None) else {
            panic!("the example file does not parse")
        };
        let d = Config::default();
        assert_eq!(c.listen, d.listen);
        assert_eq!(c.database, d.database);
        assert_eq!(c.limits, d.limits);
        assert_eq!(
            (c.setup_timeout, c.promote_timeout, c.inactivity_timeout),
            (d.setup_timeout, d.promote_timeout, d.inactivity_timeout)
        );
        assert_eq!(c.max_participants, d.max_participants);
        assert_eq!(
            (c.mix_above, c.batch_roster_above),
            (d.mix_above, d.batch_roster_above)
        );
        assert_eq!(c.pstn_setup_timeout, d.pstn_setup_timeout);
        assert!(!c.json_logs && !c.dev_tokens);
    }
}
