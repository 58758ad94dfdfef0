//! Command line of `acscalling-loadgen` (parsed by hand, like the service's, to keep the
//! build light).

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

/// Usage text.
pub const USAGE: &str = "usage: acscalling-loadgen (--service-bin PATH | --service http://HOST:PORT [--service-pid PID])
    [--access-key KEY] [-n N | --sweep 100,350,700,1000] [--speakers 3] [--group-id UUID]
    [--ramp-per-sec 50] [--settle-secs 3] [--hold-secs 20] [--join-timeout-secs 20]
    [--threads 1] [--signaling-threads 1] [--muted silence|nothing|dtx|both] [--call group|echo|pairs]
    [--local-ip 127.0.0.1] [--service-arg ARG]... [--service-log PATH] [--nice N]
    [--sdk-clients 3] [--chart acscalling-loadgen-sweep.html|none]";

impl Config {
    /// Parses the arguments (without the program name). `Ok(None)` means `--help`.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Config>, String> {
        let mut bin: Option<PathBuf> = None;
        let mut url: Option<String> = None;
        let mut c = Config {
            target: Target::Running(String::new()),
            access_key: String::new(),
            service_pid: None,
            sizes: vec![100],
            speakers: 3,
            group_id: None,
            ramp_per_sec: 50.0,
            settle: Duration::from_secs(3),
            hold: Duration::from_secs(20),
            join_timeout: Duration::from_secs(20),
            threads: 1,
            signaling_threads: 1,
            muted: vec![MutedMedia::Silence],
            call: CallMode::Group,
            local_ip: IpAddr::from([127, 0, 0, 1]),
            service_args: Vec::new(),
            service_log: std::env::temp_dir().join("acscalling-loadgen-service.log"),
            nice: 0,
            sdk_clients: 3,
            chart: Some(PathBuf::from("acscalling-loadgen-sweep.html")),
        };
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(None);
            }
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (flag.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            let bad = |v: &str| format!("invalid value for {name}: '{v}'");
            match name.as_str() {
                "--service-bin" => bin = Some(PathBuf::from(value()?)),
                "--service" => url = Some(value()?),
                "--service-pid" => {
                    let v = value()?;
                    c.service_pid = Some(v.parse().map_err(|_| bad(&v))?);
                }
                "--access-key" => c.access_key = value()?,
                "-n" => {
                    let v = value()?;
                    c.sizes = vec![parse_size(&v).ok_or_else(|| bad(&v))?];
                }
                "--sweep" => {
                    let v = value()?;
                    c.sizes = v
                        .split(',')
                        .map(|s| parse_size(s.trim()))
                        .collect::<Option<Vec<_>>>()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| bad(&v))?;
                }
                "--speakers" => {
                    let v = value()?;
                    c.speakers = v.parse().map_err(|_| bad(&v))?;
                }
                "--group-id" => c.group_id = Some(value()?),
                "--ramp-per-sec" => {
                    let v = value()?;
                    c.ramp_per_sec = v
                        .parse()
                        .ok()
                        .filter(|r: &f64| *r > 0.0)
                        .ok_or_else(|| bad(&v))?;
                }
                "--settle-secs" => c.settle = secs(&value()?).ok_or_else(|| bad("settle"))?,
                "--hold-secs" => c.hold = secs(&value()?).ok_or_else(|| bad("hold"))?,
                "--join-timeout-secs" => {
                    c.join_timeout = secs(&value()?).ok_or_else(|| bad("join timeout"))?
                }
                "--threads" => {
                    let v = value()?;
                    c.threads = parse_size(&v).ok_or_else(|| bad(&v))?;
                }
                "--signaling-threads" => {
                    let v = value()?;
                    c.signaling_threads = parse_size(&v).ok_or_else(|| bad(&v))?;
                }
                "--sdk-clients" => {
                    let v = value()?;
                    c.sdk_clients = v.parse().map_err(|_| bad(&v))?;
                }
                "--muted" => {
                    let v = value()?;
                    c.muted = match v.as_str() {
                        "silence" => vec![MutedMedia::Silence],
                        "nothing" | "none" => vec![MutedMedia::Nothing],
                        "dtx" => vec![MutedMedia::Dtx],
                        "both" => vec![MutedMedia::Silence, MutedMedia::Nothing],
                        _ => return Err(bad(&v)),
                    };
                }
                "--call" => {
                    let v = value()?;
                    c.call = match v.as_str() {
                        "group" => CallMode::Group,
                        "echo" => CallMode::Echo,
                        "pairs" => CallMode::Pairs,
                        _ => return Err(bad(&v)),
                    };
                }
                "--local-ip" => {
                    let v = value()?;
                    c.local_ip = v.parse().map_err(|_| bad(&v))?;
                }
                "--service-arg" => c.service_args.push(value()?),
                "--chart" => {
                    let v = value()?;
                    c.chart = (v != "none").then(|| PathBuf::from(v));
                }
                "--service-log" => c.service_log = PathBuf::from(value()?),
                "--nice" => {
                    let v = value()?;
                    c.nice = v
                        .parse()
                        .ok()
                        .filter(|n: &i32| (-20..=19).contains(n))
                        .ok_or_else(|| bad(&v))?;
                }
                other => return Err(format!("unknown argument '{other}'")),
            }
        }
        c.target = match (bin, url) {
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
        Ok(Some(c))
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
        let c = Config::parse(args(
            "--service-bin /x --sweep 100,350 --muted both --threads=2",
        ))
        .ok()
        .flatten()
        .expect("config");
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
        assert!(Config::parse(args("--service-bin /x -n 0")).is_err());
        assert!(Config::parse(args("--service-bin /x --call pairs -n 5")).is_err());
        let c = Config::parse(args("--service-bin /x --call pairs --sweep 100,400"))
            .unwrap()
            .unwrap();
        assert_eq!(c.call, CallMode::Pairs);
        let c = Config::parse(args("--service http://127.0.0.1:8080/ --access-key k -n 5"))
            .ok()
            .flatten()
            .expect("config");
        assert!(matches!(c.target, Target::Running(ref h) if h == "127.0.0.1:8080"));
    }
}
