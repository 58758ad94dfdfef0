//! acscalling-service: identity REST, signaling WebSocket, SFU and echo bot.
//!
//! Prints `acscalling-service listening http=IP:PORT media=IP:PORT` on stdout once bound;
//! logs go to stderr (`RUST_LOG`).

use acscalling_protocol as protocol;
// The media and telephony core is the library target (shared with the fuzz targets).
use acscalling_service::{echo_bot, pstn, sfu, sip};

mod authz;
mod call_events;
mod call_requests;
mod calls;
mod config;
mod config_file;
mod dashboard;
mod group_requests;
mod identity;
mod lobby;
mod media_setup;
mod metrics;
mod phone_calls;
mod phone_calls_in;
mod phone_number_routes;
mod phone_numbers;
mod push;
mod rate_limit;
mod refusals;
mod rooms;
mod sessions;
mod shutdown;
mod signaling;
mod store;
mod transfer;
mod video_requests;
mod web;

use axum::serve::ListenerExt;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::calls::{Hub, HubConfig};
use crate::config::{Command, Config};
use crate::identity::IdentityStore;

/// State shared by every HTTP handler.
pub struct AppState {
    pub identity: Arc<IdentityStore>,
    pub hub: Arc<Hub>,
    pub config: Config,
    /// Resumable signaling sessions.
    pub sessions: sessions::Sessions,
    /// The history behind `/dashboard`'s charts.
    pub dashboard: dashboard::Dashboard,
}

/// Log lines on stderr: text, or one JSON object per line (`--log-format json`) with the
/// time (RFC 3339, ms), level, target and message, for log collectors.
fn init_logging(json: bool) {
    let mut b = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if json {
        b.format(|buf, record| {
            use std::io::Write;
            let line = serde_json::json!({
                "ts": buf.timestamp_millis().to_string(),
                "level": record.level().as_str(),
                "target": record.target(),
                "msg": record.args().to_string(),
            });
            writeln!(buf, "{line}")
        });
    } else {
        b.format_timestamp_millis();
    }
    b.init();
}

fn main() {
    let args = std::env::args().skip(1);
    let config = match Config::parse_with_env(args, &|name| std::env::var(name).ok()) {
        Ok(Command::Run(c)) => *c,
        Ok(Command::Help(text)) => {
            print!("{text}");
            return;
        }
        Err(e) => {
            eprintln!("error: {e}\nFor more information, try '--help'.");
            std::process::exit(2);
        }
    };
    init_logging(config.json_logs);
    if let Err(e) = shutdown::install() {
        eprintln!("cannot watch for SIGINT/SIGTERM: {e}");
        std::process::exit(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(run(config));
    // Don't wait for idle blocking threads: exit promptly on SIGTERM.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    if let Err(e) = result {
        eprintln!("acscalling-service: {e}");
        std::process::exit(1);
    }
}

async fn run(mut config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(
        store::Store::open(&config.database)
            .map_err(|e| format!("--database {}: {e}", config.database))?,
    );
    let persistent = store.path() != ":memory:";
    let access_key = match config.access_key.clone() {
        Some(k) => k,
        // A key generated earlier and kept in the database: tokens outlive restarts.
        None => match store.setting("access_key")? {
            Some(k) => {
                eprintln!(
                    "acscalling-service: using the access key kept in {}",
                    config.database
                );
                config.access_key = Some(k.clone());
                k
            }
            None => {
                let k = format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                );
                eprintln!("acscalling-service: generated access key: {k}");
                if persistent {
                    store.set_setting("access_key", &k)?;
                }
                config.access_key = Some(k.clone());
                k
            }
        },
    };
    let identity = Arc::new(
        IdentityStore::with_store(&access_key, Arc::clone(&store))
            .map_err(|e| format!("--database {}: {e}", config.database))?,
    );
    log::info!(
        "database {}: {} users",
        config.database,
        identity.user_count()
    );
    let (sfu, sfu_events) = sfu::start_advertising(
        SocketAddr::new(config.media_ip, config.media_port),
        config.media_public,
        config.echo_delay,
        config.forwarded_speakers,
        config.mix_above,
    )
    .await?;
    if config.simulate_loss_percent > 0.0 {
        log::warn!(
            "simulating {}% media loss (--simulate-loss-percent)",
            config.simulate_loss_percent
        );
        sfu.simulate_loss(config.simulate_loss_percent);
    }
    if config.dev_tokens {
        log::warn!(
            "--dev-tokens: POST /dev/token issues users and tokens to any loopback client \
             without the access key (development only)"
        );
    }
    let media_addr = sfu.local_addr();
    let numbers = Arc::new(
        phone_numbers::NumberPlan::with_store(&config.pstn_caller_ids, Arc::clone(&store))
            .map_err(|e| format!("--pstn-caller-id: {e}"))?,
    );
    for (number, user) in &config.pstn_numbers {
        identity
            .ensure_user(user)
            .map_err(|e| format!("--pstn-number {number}={user}: {e}"))?;
        numbers
            .assign(user, number)
            .map_err(|e| format!("--pstn-number {number}={user}: {e}"))?;
    }
    for (user, number) in &config.pstn_user_caller_ids {
        numbers.allow_caller_id(user, number);
    }
    let hub = Hub::with_numbers(
        sfu,
        HubConfig {
            setup_timeout: config.setup_timeout,
            promote_timeout: config.promote_timeout,
            transfer_timeout: config.transfer_timeout,
            lobby_timeout: config.lobby_timeout,
            inactivity_timeout: config.inactivity_timeout,
            max_participants: config.max_participants,
            batch_roster_above: config.batch_roster_above,
        },
        Arc::clone(&identity),
        numbers,
    );
    hub.push
        .attach_store(Arc::clone(&store))
        .map_err(|e| format!("push targets: {e}"))?;
    let rooms = hub
        .rooms
        .attach_store(Arc::clone(&store))
        .map_err(|e| format!("rooms: {e}"))?;
    log::info!("database {}: {rooms} rooms", config.database);
    hub.spawn_sfu_events(sfu_events);
    let sip_addr = start_sip(&config, &hub).await?;
    hub.spawn_roster_batches();
    let state = Arc::new(AppState {
        identity,
        hub,
        config: config.clone(),
        sessions: sessions::Sessions::default(),
        dashboard: dashboard::Dashboard::default(),
    });
    dashboard::Dashboard::spawn_sampler(&state);
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/signaling", get(signaling::ws_handler))
        .merge(identity::routes())
        .merge(phone_number_routes::routes())
        .merge(rooms::routes())
        .merge(metrics::routes())
        .merge(dashboard::routes())
        .merge(web::routes(config.web_dir.as_deref(), config.dev_tokens))
        .with_state(Arc::clone(&state))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(rate_limit::RestLimiter::new(
                config.limits.rest_rate,
                config.limits.rest_burst,
            )),
            rate_limit::rest,
        ));
    // The client's address reaches the rate limiter as `ConnectInfo`.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();

    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let http_addr = listener.local_addr()?;
    // Load the certificate before announcing the address, so a bad PEM fails at startup.
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| format!("cannot load --tls-cert/--tls-key: {e}"))?,
        ),
        _ => None,
    };
    {
        let mut out = std::io::stdout().lock();
        let sip = match sip_addr {
            Some((a, Some(t))) => format!(" sip={a} sip-tls={t}"),
            Some((a, None)) => format!(" sip={a}"),
            None => String::new(),
        };
        writeln!(
            out,
            "acscalling-service listening http={http_addr} media={media_addr}{sip}"
        )?;
        out.flush()?;
    }
    match tls {
        Some(tls) => {
            log::info!("serving https/wss on {http_addr}");
            let server = axum_server::from_tcp_rustls(listener.into_std()?, tls)?;
            tokio::select! {
                r = server.serve(app) => r?,
                _ = shutdown::requested() => shut_down(&state).await,
            }
        }
        None => {
            log::info!("serving http/ws on {http_addr}");
            tokio::select! {
                // TCP_NODELAY: replies carrying an SDP answer must not wait for delayed ACKs.
                r = axum::serve(listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                }), app) => r?,
                _ = shutdown::requested() => shut_down(&state).await,
            }
        }
    }
    Ok(())
}

/// SIGTERM/SIGINT: ends every call and tells every agent why, then lets the messages
/// (and phones' BYEs) go out before the process exits.
async fn shut_down(state: &AppState) {
    state.hub.shut_down("the service is shutting down");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

/// Starts the PSTN gateway when SIP is configured; returns its addresses (UDP/TCP, TLS).
async fn start_sip(
    config: &Config,
    hub: &Arc<Hub>,
) -> Result<Option<(SocketAddr, Option<SocketAddr>)>, Box<dyn std::error::Error>> {
    if config.sip_listen.is_none()
        && config.sip_listen_tls.is_none()
        && config.sip_trunks.is_empty()
    {
        return Ok(None);
    }
    let mut trunks = Vec::new();
    for t in &config.sip_trunks {
        trunks.push(sip::TrunkConfig::parse(t).map_err(|e| format!("--sip-trunk: {e}"))?);
    }
    let listen = config
        .sip_listen
        .unwrap_or_else(|| SocketAddr::new(config.media_ip, 0));
    let listen_tls = match config.sip_listen_tls {
        None => None,
        Some(addr) => match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(sip::TlsListen {
                addr,
                cert: cert.into(),
                key: key.into(),
            }),
            _ => return Err("--sip-listen-tls needs --tls-cert and --tls-key".into()),
        },
    };
    let cfg = sip::SipConfig {
        listen,
        listen_tls,
        trunks,
        allow: config.sip_allow.iter().map(|a| (*a).into()).collect(),
        user_agent: format!("acscalling-service/{}", env!("CARGO_PKG_VERSION")),
    };
    let (gateway, events) = sip::SipGateway::start(cfg)
        .await
        .map_err(|e| format!("cannot start SIP on {listen}: {e}"))?;
    let addr = gateway.local_addr();
    log::info!("PSTN gateway: SIP on {addr} (UDP and TCP)");
    let tls_addr = gateway.tls_addr();
    if let Some(a) = tls_addr {
        log::info!("PSTN gateway: SIP over TLS on {a}");
    }
    hub.enable_pstn(gateway, events, config.media_ip, config.pstn_setup_timeout);
    Ok(Some((addr, tls_addr)))
}
