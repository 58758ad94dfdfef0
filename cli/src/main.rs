//! `acscalling`: the tool to reach for before writing code. Lists devices, tests the
//! microphone and speaker against the echo bot `8:echo123`, places and joins calls and prints
//! their state, roster and live media statistics. Built on the library's Rust API.

mod devices;
mod rest;
mod session;
mod stats;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// An error for the user: one line, then a non-zero exit.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

pub type CliResult<T> = Result<T, CliError>;

/// Returns early with a one-line error.
macro_rules! fail {
    ($($t:tt)*) => { return Err($crate::CliError(format!($($t)*))) };
}
pub(crate) use fail;

#[derive(Parser, Debug)]
#[command(
    name = "acscalling",
    version,
    about = "Lists devices, tests audio against the echo bot, places and joins calls with live statistics",
    after_help = "Connection settings come from --service-url/ACS_SERVICE_URL and --token/ACS_TOKEN.\n\
                  Against a local development service (started with --dev-tokens), --dev-token\n\
                  fetches a user and a token by itself."
)]
pub struct Cli {
    /// Signaling URL of the calling service, e.g. ws://127.0.0.1:8080.
    #[arg(long, env = "ACS_SERVICE_URL", global = true, value_name = "URL")]
    pub service_url: Option<String>,
    /// Access token (JWT) of the user to sign in as.
    #[arg(
        long,
        env = "ACS_TOKEN",
        global = true,
        hide_env_values = true,
        value_name = "JWT"
    )]
    pub token: Option<String>,
    /// Without a token: get a new user and token from the service's POST /dev/token
    /// (a local service started with --dev-tokens).
    #[arg(long, global = true)]
    pub dev_token: bool,
    /// PEM file of the CA that signed a wss:// service's private certificate.
    #[arg(long, env = "ACS_CA_CERT", global = true, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Name the other participants see.
    #[arg(
        long = "display-name",
        env = "ACS_DISPLAY_NAME",
        global = true,
        default_value = "acscalling"
    )]
    pub display_name: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Lists microphones, speakers and cameras (system and virtual); '*' marks the defaults.
    Devices,
    /// Calls the echo bot 8:echo123 and checks that the audio comes back.
    EchoTest(EchoArgs),
    /// Calls one or more users (8:acs:…) or phone numbers (4:+…).
    Call(CallArgs),
    /// Joins a group call (its UUID; the first to join creates it).
    Join(JoinArgs),
    /// Prints a user and an access token from the service.
    Token(TokenArgs),
}

/// Devices of a call.
#[derive(Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Microphone: a name (or part of one) or id from `acscalling devices`, `tone[:HZ]`
    /// (virtual tone) or `wav:PATH` (virtual, plays the file in a loop). Default: the
    /// system's default, or the tone when --tone is given.
    #[arg(long, value_name = "NAME")]
    pub mic: Option<String>,
    /// Speaker: a name (or part of one) or id from `acscalling devices`, `record` (virtual,
    /// what is played is analysed and dropped) or `wav:PATH` (virtual, writes a WAV file).
    /// Default: the system's default, or `record` when --tone is given.
    #[arg(long, value_name = "NAME")]
    pub speaker: Option<String>,
    /// Use a virtual tone microphone of HZ and, unless --speaker says otherwise, the virtual
    /// recording speaker: works on a machine without a sound card.
    #[arg(long, value_name = "HZ")]
    pub tone: Option<f32>,
}

#[derive(Args, Debug)]
pub struct EchoArgs {
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// How long to stay in the call once it is connected (the echo comes back ~1 s late).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub seconds: u64,
    /// Also print a statistics line every MS milliseconds (0: only at the end).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub stats_interval_ms: u64,
}

#[derive(Args, Debug)]
pub struct CallSettings {
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Hang up after N seconds in the call (default: stay until Ctrl-C or the call ends).
    #[arg(long, value_name = "N")]
    pub seconds: Option<u64>,
    /// Print a statistics line every MS milliseconds (0: none).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub stats_interval_ms: u64,
    /// Start muted.
    #[arg(long)]
    pub muted: bool,
}

#[derive(Args, Debug)]
pub struct CallArgs {
    /// Raw ids of the people to call: 8:acs:… (users), 4:+… (phone numbers), 8:echo123.
    #[arg(required = true, value_name = "ID")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub settings: CallSettings,
}

#[derive(Args, Debug)]
pub struct JoinArgs {
    /// The group call's id (a UUID).
    #[arg(value_name = "GROUP-UUID")]
    pub group: String,
    #[command(flatten)]
    pub settings: CallSettings,
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// Use the development endpoint POST /dev/token (a service started with --dev-tokens;
    /// loopback clients only).
    #[arg(long)]
    pub dev: bool,
    /// Use the identity API with the service's access key (creates a user unless --user;
    /// --dev wins when both are given).
    #[arg(
        long,
        env = "ACS_ACCESS_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub access_key: Option<String>,
    /// The user to issue the token for (default: a new user).
    #[arg(long, value_name = "8:acs:ID")]
    pub user: Option<String>,
    /// Print shell `export` lines (ACS_USER, ACS_TOKEN).
    #[arg(long)]
    pub export: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    session::install_ctrl_c();
    let result = match &cli.command {
        Command::Devices => devices::list(),
        Command::EchoTest(a) => session::echo_test(&cli, a),
        Command::Call(a) => session::call(&cli, a),
        Command::Join(a) => session::join(&cli, a),
        Command::Token(a) => rest::token_command(&cli, a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(msg)) => {
            eprintln!("acscalling: error: {msg}");
            ExitCode::FAILURE
        }
    }
}
