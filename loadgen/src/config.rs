//! Command line of `acscalling-loadgen` (clap; flags also from the environment).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What muted participants send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutedMedia {
    /// Encoded silence with audio level -127 every 20 ms (what the SDK does when muted).
    Silence,
    /// Nothing at all.
    Nothing,
    /// DTX-style: one encoded silence frame every 400 ms (RTP time keeps running).
    Dtx,
}

impl MutedMedia {
    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            MutedMedia::Silence => "silence",
            MutedMedia::Nothing => "nothing",
            MutedMedia::Dtx => "dtx",
        }
    }
}

/// Which call the participants make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMode {
    /// Everyone joins one group call (`JoinGroupCall`).
    Group,
    /// Everyone calls the echo bot (`StartCall` to `8:echo123`): N independent 1:1 calls.
    Echo,
    /// Participants pair up: the even one waits for the call, the odd one calls it
    /// (`StartCall` to a user, `IncomingCall`, `Accept`): N/2 client-to-client 1:1 calls.
    /// The caller speaks, the callee sends what muted participants send.
    Pairs,
}

impl CallMode {
    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            CallMode::Group => "group",
            CallMode::Echo => "echo",
            CallMode::Pairs => "pairs",
        }
    }
}

/// Where the service comes from.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start this binary for every run and stop it afterwards.
    Spawn(PathBuf),
    /// Use a running service at this `host:port` (http address).
    Running(String),
}

/// Everything a sweep needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub access_key: String,
    /// PID of a running service, for CPU/RSS figures (`--service-pid`).
    pub service_pid: Option<u32>,
    /// Participant counts to run, in order (`-n` or `--sweep`).
    pub sizes: Vec<usize>,
    pub speakers: usize,
    /// Group id; a fresh UUID per run when unset.
    pub group_id: Option<String>,
    pub ramp_per_sec: f64,
    pub settle: Duration,
    pub hold: Duration,
    pub join_timeout: Duration,
    /// Media threads driving the `Rtc` sessions.
    pub threads: usize,
    /// Worker threads of the signaling runtime.
    pub signaling_threads: usize,
    pub muted: Vec<MutedMedia>,
    pub call: CallMode,
    pub local_ip: IpAddr,
    /// Extra arguments for a spawned service (`--service-arg`, repeatable).
    pub service_args: Vec<String>,
    /// Where a spawned service's stderr goes.
    pub service_log: PathBuf,
    /// Niceness for this tool and a spawned service (`--nice`, e.g. -10 on a machine busy
    /// with builds; negative values need root).
    pub nice: i32,
    /// Real SDK clients (`acscalling` agents) that join the call in the hold window and
    /// check what users hear (`--sdk-clients`, 0 = none).
    pub sdk_clients: usize,
    /// Where a sweep's HTML chart goes (`--chart PATH`, default
    /// `acscalling-loadgen-sweep.html`; `--chart none` for no chart).
    pub chart: Option<PathBuf>,
}

/// The command line (clap). Every flag can also come from the environment
/// (`ACS_LOADGEN_<FLAG>`, and the access key from `ACS_ACCESS_KEY`); the command line wins.
#[derive(clap::Parser, Debug)]
#[command(
    name = "acscalling-loadgen",
    version,
    about = "Load generator of acscalling-service: N participants (signaling, ICE, DTLS, SRTP, \
             Opus) in one group call, echo calls or pairs of 1:1 calls, with loss, join times \
             and the service's CPU measured; real SDK clients check what users hear.",
    after_help = "Every flag can also be set in the environment as ACS_LOADGEN_<FLAG> \
                  (--hold-secs: ACS_LOADGEN_HOLD_SECS); the access key as ACS_ACCESS_KEY."
)]
struct Flags {
    /// Start this service binary for every run (and stop it after).
    #[arg(
        long,
        value_name = "PATH",
        env = "ACS_LOADGEN_SERVICE_BIN",
        required_unless_present = "service",
        conflicts_with = "service"
    )]
    service_bin: Option<PathBuf>,
    /// Use a running service at this address (needs --access-key).
    #[arg(long, value_name = "http://HOST:PORT", env = "ACS_LOADGEN_SERVICE")]
    service: Option<String>,
    /// PID of a running service, for its CPU and memory figures.
    #[arg(
        long,
        value_name = "PID",
        env = "ACS_LOADGEN_SERVICE_PID",
        requires = "service"
    )]
    service_pid: Option<u32>,
    /// Access key of the service's REST API (a spawned service gets a fresh one).
    #[arg(
        long,
        value_name = "KEY",
        env = "ACS_ACCESS_KEY",
        hide_env_values = true
    )]
    access_key: Option<String>,
    /// Participants (one run).
    #[arg(short = 'n', value_name = "N", env = "ACS_LOADGEN_N", value_parser = size,
          conflicts_with = "sweep")]
    n: Option<usize>,
    /// Participant counts of a sweep, in order. [default: 100]
    #[arg(long, value_name = "N,N,...", env = "ACS_LOADGEN_SWEEP", value_delimiter = ',',
          value_parser = size)]
    sweep: Vec<usize>,
    /// Participants who speak; the others are muted.
    #[arg(
        long,
        value_name = "N",
        env = "ACS_LOADGEN_SPEAKERS",
        default_value_t = 3
    )]
    speakers: usize,
    /// Group id (a fresh UUID per run when unset).
    #[arg(long, value_name = "UUID", env = "ACS_LOADGEN_GROUP_ID")]
    group_id: Option<String>,
    /// Joins started per second.
    #[arg(long, value_name = "RATE", env = "ACS_LOADGEN_RAMP_PER_SEC", default_value = "50",
          value_parser = positive)]
    ramp_per_sec: f64,
    /// Wait after everyone joined before measuring.
    #[arg(long, value_name = "SECS", env = "ACS_LOADGEN_SETTLE_SECS", default_value = "3",
          value_parser = secs_flag)]
    settle_secs: Duration,
    /// Measuring window.
    #[arg(long, value_name = "SECS", env = "ACS_LOADGEN_HOLD_SECS", default_value = "20",
          value_parser = secs_flag)]
    hold_secs: Duration,
    /// A join not connected by then counts as failed.
    #[arg(long, value_name = "SECS", env = "ACS_LOADGEN_JOIN_TIMEOUT_SECS", default_value = "20",
          value_parser = secs_flag)]
    join_timeout_secs: Duration,
    /// Media threads driving the sessions.
    #[arg(long, value_name = "N", env = "ACS_LOADGEN_THREADS", default_value = "1",
          value_parser = size)]
    threads: usize,
    /// Worker threads of the signaling runtime.
    #[arg(long, value_name = "N", env = "ACS_LOADGEN_SIGNALING_THREADS", default_value = "1",
          value_parser = size)]
    signaling_threads: usize,
    /// What muted participants send (both: one run with silence, one with nothing).
    #[arg(long, value_name = "WHAT", env = "ACS_LOADGEN_MUTED", default_value = "silence",
          value_parser = ["silence", "nothing", "none", "dtx", "both"])]
    muted: String,
    /// Which calls: one group call, calls to the echo bot, or pairs of 1:1 calls.
    #[arg(long, value_name = "MODE", env = "ACS_LOADGEN_CALL", default_value = "group",
          value_parser = ["group", "echo", "pairs"])]
    call: String,
    /// Local address of the participants' sockets.
    #[arg(
        long,
        value_name = "IP",
        env = "ACS_LOADGEN_LOCAL_IP",
        default_value = "127.0.0.1"
    )]
    local_ip: IpAddr,
    /// An argument for a spawned service (repeatable: --service-arg --mix-above
    /// --service-arg 50).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    service_arg: Vec<String>,
    /// Where a spawned service's log goes. [default: $TMPDIR/acscalling-loadgen-service.log]
    #[arg(long, value_name = "PATH", env = "ACS_LOADGEN_SERVICE_LOG")]
    service_log: Option<PathBuf>,
    /// Niceness of this tool and a spawned service (-20..=19; negative needs root).
    #[arg(long, value_name = "N", env = "ACS_LOADGEN_NICE", default_value_t = 0,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i32).range(-20..=19))]
    nice: i32,
    /// Real SDK clients that join in the measuring window and check what users hear.
    #[arg(
        long,
        value_name = "N",
        env = "ACS_LOADGEN_SDK_CLIENTS",
        default_value_t = 3
    )]
    sdk_clients: usize,
    /// The sweep's HTML chart ("none": no chart).
    #[arg(
        long,
        value_name = "PATH",
        env = "ACS_LOADGEN_CHART",
        default_value = "acscalling-loadgen-sweep.html"
    )]
    chart: String,
}

fn size(v: &str) -> Result<usize, String> {
    parse_size(v).ok_or_else(|| "expected a whole number above 0".into())
}

fn positive(v: &str) -> Result<f64, String> {
    v.parse()
        .ok()
        .filter(|r: &f64| r.is_finite() && *r > 0.0)
        .ok_or_else(|| "expected a number above 0".into())
}

fn secs_flag(v: &str) -> Result<Duration, String> {
    secs(v).ok_or_else(|| "expected seconds (0 or more)".into())
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Config>),
    /// Help or version text to print.
    Help(String),
}

impl Config {
    /// Parses the arguments (without the program name).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Parsed, String> {
        use clap::error::ErrorKind;
        use clap::Parser;
        let f = match Flags::try_parse_from(
            std::iter::once("acscalling-loadgen".to_string()).chain(args),
        ) {
            Ok(f) => f,
            Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
                return Ok(Parsed::Help(e.to_string()))
            }
            Err(e) => {
                let text = e.render().to_string();
                return Err(text
                    .lines()
                    .take_while(|l| !l.trim_start().starts_with("Usage:"))
                    .filter(|l| !l.trim().is_empty() && !l.starts_with("For more information"))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .trim_start_matches("error: ")
                    .to_string());
            }
        };
        let mut c = Config {
            target: Target::Running(String::new()),
            access_key: f.access_key.unwrap_or_default(),
            service_pid: f.service_pid,
            sizes: match (f.n, f.sweep.is_empty()) {
                (Some(n), _) => vec![n],
                (None, false) => f.sweep,
                (None, true) => vec![100],
            },
            speakers: f.speakers,
            group_id: f.group_id,
            ramp_per_sec: f.ramp_per_sec,
            settle: f.settle_secs,
            hold: f.hold_secs,
            join_timeout: f.join_timeout_secs,
            threads: f.threads,
            signaling_threads: f.signaling_threads,
            muted: match f.muted.as_str() {
                "nothing" | "none" => vec![MutedMedia::Nothing],
                "dtx" => vec![MutedMedia::Dtx],
                "both" => vec![MutedMedia::Silence, MutedMedia::Nothing],
                _ => vec![MutedMedia::Silence],
            },
            call: match f.call.as_str() {
                "echo" => CallMode::Echo,
                "pairs" => CallMode::Pairs,
                _ => CallMode::Group,
            },
            local_ip: f.local_ip,
            service_args: f.service_arg,
            service_log: f
                .service_log
                .unwrap_or_else(|| std::env::temp_dir().join("acscalling-loadgen-service.log")),
            nice: f.nice,
            sdk_clients: f.sdk_clients,
            chart: (f.chart != "none").then(|| PathBuf::from(f.chart)),
        };
        c.target = match (f.service_bin, f.service) {
            (Some(b), None) => {
                if c.access_key.is_empty() {
                    c.access_key = format!("loadgen-{}", uuid::Uuid::new_v4().simple());
                }
                Target::Spawn(b)
            }
            (None, Some(u)) => {
                if c.access_key.is_empty() {
                    return Err("--service needs --access-key".into());
                }
                let host = u
                    .trim_start_matches("http://")
                    .trim_start_matches("ws://")
                    .trim_end_matches('/')
                    .to_string();
                if host.is_empty() || host.contains('/') {
                    return Err(format!(
                        "invalid --service '{u}' (expected http://HOST:PORT)"
                    ));
                }
                Target::Running(host)
            }
            _ => return Err("give exactly one of --service-bin and --service".into()),
        };
        if c.call == CallMode::Pairs && c.sizes.iter().any(|n| !n.is_multiple_of(2)) {
            return Err("--call pairs needs even participant counts (two per call)".into());
        }
        Ok(Parsed::Run(Box::new(c)))
    }
}

fn parse_size(s: &str) -> Option<usize> {
    s.parse().ok().filter(|n| *n > 0)
}

fn secs(s: &str) -> Option<Duration> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_a_sweep_against_a_spawned_service() {
        let Ok(Parsed::Run(c)) = Config::parse(args(
            "--service-bin /x --sweep 100,350 --muted both --threads=2 \
             --service-arg --mix-above --service-arg 50 --nice -5",
        )) else {
            panic!("config")
        };
        assert_eq!(c.service_args, vec!["--mix-above", "50"]);
        assert_eq!(c.nice, -5);
        assert_eq!(c.sizes, vec![100, 350]);
        assert_eq!(c.muted.len(), 2);
        assert_eq!(c.threads, 2);
        assert!(matches!(c.target, Target::Spawn(_)));
        assert!(!c.access_key.is_empty());
    }

    #[test]
    fn running_service_needs_a_key_and_one_target() {
        assert!(Config::parse(args("--service http://127.0.0.1:1")).is_err());
        assert!(Config::parse(args("--service-bin /x --service http://h:1")).is_err());
        assert!(Config::parse(args("--service-bin /x --call triples")).is_err());
        assert!(Config::parse(args("--service-bin /x --nice 30")).is_err());
        assert!(Config::parse(args("--service-bin /x --bogus")).is_err());
        assert!(
            matches!(Config::parse(args("--help")), Ok(Parsed::Help(h)) if h.contains("--sweep"))
        );
        assert!(Config::parse(args("--service-bin /x -n 0")).is_err());
        assert!(Config::parse(args("--service-bin /x --call pairs -n 5")).is_err());
        let Ok(Parsed::Run(c)) =
            Config::parse(args("--service-bin /x --call pairs --sweep 100,400"))
        else {
            panic!("config")
        };
        assert_eq!(c.call, CallMode::Pairs);
        let Ok(Parsed::Run(c)) =
            Config::parse(args("--service http://127.0.0.1:8080/ --access-key k -n 5"))
        else {
            panic!("config")
        };
        assert!(matches!(c.target, Target::Running(ref h) if h == "127.0.0.1:8080"));
    }
}
