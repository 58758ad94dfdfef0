//! The signaling WebSocket (`GET /signaling`): authentication by `Hello`, token expiry and
//! refresh, and dispatch of requests to the [`Hub`](crate::calls::Hub).
//!
//! Each connection has one writer task fed by an unbounded channel (so messages reach the
//! client in the order they were produced) and one reader loop that handles requests in
//! order.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use crate::calls::{ConnId, Outbound};
use crate::identity::unix_now;
use crate::media_setup::MediaOffer;
use crate::protocol::{
    ClientMessage, EndReason, ErrorBody, NumberedRef, ServerMessage, PROTOCOL_VERSION,
};
use crate::rate_limit::Verdict;
use crate::sessions::{Outlet, Session};
use crate::AppState;

/// How long a new connection may take to send `Hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the service pings an agent (WebSocket Ping; agents answer with Pong).
const KEEPALIVE: Duration = Duration::from_secs(5);
/// An agent not heard from this long has lost its link: its session waits for a resume
/// (for the reconnect window, `--inactivity-timeout-secs`).
const SILENCE: Duration = Duration::from_secs(15);

/// Upgrades `GET /signaling` to a WebSocket.
pub async fn ws_handler(ws: WebSocketUpgrade, State(app): State<Arc<AppState>>) -> Response {
    let cap = app.config.limits.max_frame;
    ws.max_frame_size(cap)
        .max_message_size(cap)
        .on_upgrade(move |socket| connection(socket, app))
}

fn to_frame(msg: &ServerMessage) -> Message {
    // Serializing our own enum cannot fail; fall back to an empty object to stay panic-free.
    Message::Text(
        serde_json::to_string(msg)
            .unwrap_or_else(|_| "{}".into())
            .into(),
    )
}

/// The wire text of message number `seq` of a session.
fn numbered(seq: u64, msg: &ServerMessage) -> String {
    serde_json::to_string(&NumberedRef { seq, msg }).unwrap_or_else(|_| "{}".into())
}

fn error(reason: EndReason, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error {
        error: ErrorBody::new(reason, message),
    }
}

fn hello_too_large() -> ServerMessage {
    error(
        EndReason::MESSAGE_TOO_LARGE,
        "Hello over the message size limit",
    )
}

/// Instant at which a token with Unix expiry `exp` expires.
fn instant_of(exp: u64) -> Instant {
    // To the millisecond: whole seconds would close a session up to a second early.
    let at = std::time::UNIX_EPOCH + Duration::from_secs(exp);
    Instant::now()
        + at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
}

/// How the writer task of a connection ended.
enum WriterEnd {
    /// The hub closed the session (`Outbound::Close`): it is over.
    Closed,
    /// Writing failed: the link dropped.
    Broken,
}

/// How the reader loop of a connection ended.
enum LoopEnd {
    /// The agent closed the connection, or the hub closed the session: it is over.
    Over,
    /// The link dropped or went silent: the session waits for a resume.
    Dropped,
    /// Another connection resumed the session.
    Superseded,
}

/// What a valid `Hello` asked for.
struct Greeting {
    claims: crate::protocol::TokenClaims,
    display_name: String,
    resume: Option<crate::protocol::Resume>,
}

/// Reads and checks the first message, which must be a valid `Hello`.
async fn greet(
    app: &AppState,
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
) -> Result<Greeting, Option<ServerMessage>> {
    let text = match tokio::time::timeout(HELLO_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(Message::Text(t)))) if t.len() <= app.config.limits.max_message => t,
        Ok(Some(Ok(Message::Text(_)))) => return Err(Some(hello_too_large())),
        Ok(Some(Err(e))) if crate::rate_limit::too_large(&e) => {
            return Err(Some(hello_too_large()))
        }
        Ok(Some(Ok(_))) => {
            return Err(Some(error(
                EndReason::BAD_REQUEST,
                "expected a Hello text frame",
            )))
        }
        _ => return Err(None),
    };
    match serde_json::from_str::<ClientMessage>(&text) {
        Ok(ClientMessage::Hello {
            protocol,
            token,
            display_name,
            resume,
        }) => {
            if protocol != PROTOCOL_VERSION {
                return Err(Some(error(
                    EndReason::BAD_REQUEST,
                    format!(
                        "unsupported protocol {protocol}, this service speaks {PROTOCOL_VERSION}"
                    ),
                )));
            }
            let claims = app
                .identity
                .validate(&token)
                .map_err(|e| Some(error(e.reason(), e.to_string())))?;
            Ok(Greeting {
                claims,
                display_name,
                resume,
            })
        }
        Ok(_) => Err(Some(error(
            EndReason::BAD_REQUEST,
            "the first message must be Hello",
        ))),
        Err(e) => Err(Some(error(
            EndReason::BAD_REQUEST,
            format!("expected Hello: {e}"),
        ))),
    }
}

async fn connection(socket: WebSocket, app: Arc<AppState>) {
    let (mut sink, mut stream) = socket.split();
    let hello = match greet(&app, &mut stream).await {
        Ok(h) => h,
        Err(refusal) => {
            if let Some(msg) = refusal {
                let _ = sink.send(to_frame(&msg)).await;
            }
            let _ = sink.close().await;
            return;
        }
    };
    let user = hello.claims.sub.clone();
    let generation = app.sessions.next_generation();

    // The session this connection carries: the one it resumes, or a new one.
    let mut resumed = None;
    if let Some(r) = &hello.resume {
        match app.sessions.find(&r.session, &user) {
            Some(s) if app.hub.conn_user(s.conn).is_some() => resumed = Some((s, r.last_seq)),
            _ => log::info!("{user}: session to resume is unknown or over"),
        }
    }
    let (key, session, missed) = match resumed {
        Some((session, last_seq)) => {
            let key = hello.resume.as_ref().map(|r| r.session.clone());
            // Take the outlet over from the superseded connection (kicked by `carry`).
            let kicked = session.carry(generation);
            let outlet = Arc::clone(&session.outlet).lock_owned().await;
            match (kicked, outlet.missed_since(last_seq), key) {
                (Some(kick), Some(missed), Some(key)) => {
                    log::info!(
                        "connection {} of {user} resumed, {} messages replayed",
                        session.conn.0,
                        missed.len()
                    );
                    (key, session, Some((kick, outlet, missed)))
                }
                _ => {
                    // Too much was missed: the old session's calls are left, a new one begins.
                    log::info!("{user}: session {} cannot be resumed", session.conn.0);
                    drop(outlet);
                    app.sessions
                        .remove(hello.resume.as_ref().map_or("", |r| r.session.as_str()));
                    app.hub.unregister(session.conn, EndReason::INACTIVE);
                    open_session(&app, &user, &hello.display_name, generation)
                }
            }
        }
        None => open_session(&app, &user, &hello.display_name, generation),
    };
    let (kick, outlet, missed) = match missed {
        Some((kick, outlet, missed)) => (kick, outlet, Some(missed)),
        None => match (
            session.carry(generation),
            Arc::clone(&session.outlet).lock_owned().await,
        ) {
            (Some(kick), outlet) => (kick, outlet, None),
            (None, _) => return,
        },
    };
    let conn = session.conn;
    app.hub.set_conn_live(conn, true);
    let tx = session.tx.clone();
    let welcome = ServerMessage::Welcome {
        user_id: user.clone(),
        server_version: env!("CARGO_PKG_VERSION").to_string(),
        protocol: PROTOCOL_VERSION,
        session: Some(key.clone()),
        resumed: missed.is_some(),
        resume_secs: app.hub.config.inactivity_timeout.as_secs(),
    };
    let mut greeting = vec![to_frame(&welcome)];
    greeting.extend(
        missed
            .into_iter()
            .flatten()
            .map(|t| Message::Text(t.into())),
    );
    let writer = tokio::spawn(write(sink, outlet, greeting));
    log::info!("connection {} authenticated as {user}", conn.0);

    let end = read(
        &app,
        conn,
        &user,
        &tx,
        &mut stream,
        hello.claims.exp,
        kick,
        writer,
    )
    .await;
    match end {
        LoopEnd::Superseded => {}
        LoopEnd::Over => {
            // Unless a resume took the session over meanwhile (a superseded link's late
            // close frame must not end the calls the new one carries).
            if session.end_if_carried_by(generation) {
                app.sessions.remove(&key);
                app.hub.unregister(conn, EndReason::UNAVAILABLE);
            }
        }
        LoopEnd::Dropped => {
            if session.drop_carrier(generation) {
                app.hub.set_conn_live(conn, false);
                let window = app.hub.config.inactivity_timeout;
                log::info!(
                    "connection {} of {user} dropped; its session waits {window:?} for a resume",
                    conn.0
                );
                let app = Arc::clone(&app);
                tokio::spawn(async move {
                    tokio::time::sleep(window).await;
                    if session.end_if_carried_by(0) {
                        log::info!("connection {}: not resumed in {window:?}", conn.0);
                        app.sessions.remove(&key);
                        app.hub.unregister(conn, EndReason::INACTIVE);
                    }
                });
            }
        }
    }
    log::info!("connection {} closed", conn.0);
}

/// Registers a new session of `user` in the hub.
fn open_session(
    app: &AppState,
    user: &str,
    display_name: &str,
    generation: u64,
) -> (String, Arc<Session>, Option<Resumed>) {
    let (tx, rx) = mpsc::unbounded_channel::<Outbound>();
    let conn = app.hub.register(user, display_name, tx.clone());
    let (key, session) = app.sessions.open(conn, user, tx, rx, generation);
    (key, session, None)
}

type OwnedOutlet = tokio::sync::OwnedMutexGuard<Outlet>;

/// A resumed session: the superseded link's kick, the outlet taken over, the frames it missed.
type Resumed = (Arc<Notify>, OwnedOutlet, Vec<String>);

/// Writes `greeting` (sent as is), then the session's messages, numbered and kept for replay.
async fn write(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut outlet: OwnedOutlet,
    greeting: Vec<Message>,
) -> WriterEnd {
    for m in greeting {
        if sink.send(m).await.is_err() {
            return WriterEnd::Broken;
        }
    }
    while let Some(out) = outlet.rx.recv().await {
        match out {
            Outbound::Message(m) => {
                let text = outlet.record(|seq| numbered(seq, &m));
                if sink.send(Message::Text(text.into())).await.is_err() {
                    return WriterEnd::Broken;
                }
            }
            Outbound::Ping => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return WriterEnd::Broken;
                }
            }
            Outbound::Close(e) => {
                let _ = sink
                    .send(to_frame(&ServerMessage::Error { error: e }))
                    .await;
                let _ = sink.close().await;
                return WriterEnd::Closed;
            }
        }
    }
    WriterEnd::Closed
}

/// The reader loop of one connection: requests in order, keep-alive, token expiry.
#[allow(clippy::too_many_arguments)]
async fn read(
    app: &Arc<AppState>,
    conn: ConnId,
    user: &str,
    tx: &mpsc::UnboundedSender<Outbound>,
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    mut exp: u64,
    kick: Arc<Notify>,
    mut writer: tokio::task::JoinHandle<WriterEnd>,
) -> LoopEnd {
    let warning = app.config.token_warning;
    let mut warned = false;
    let mut gate = crate::rate_limit::SignalingGate::new(&app.config.limits, Instant::now());
    // Any frame (a Pong to our pings included) proves the agent is alive; silence drops the
    // link (the session then waits for a resume).
    let silence = SILENCE.min(app.hub.config.inactivity_timeout);
    let mut last_heard = Instant::now();
    let mut ping = tokio::time::interval(KEEPALIVE.min(silence / 3));
    ping.tick().await;
    let end = loop {
        let expires_at = instant_of(exp);
        let warn_at = expires_at.checked_sub(warning).unwrap_or_else(Instant::now);
        tokio::select! {
            frame = stream.next() => {
                last_heard = Instant::now();
                match gate.judge(frame.as_ref(), last_heard) {
                    Verdict::Pass => {}
                    Verdict::Refuse(m) => { let _ = tx.send(Outbound::Message(m)); continue; }
                    Verdict::Close(e) => {
                        log::info!("connection {}: {}", conn.0, e.message);
                        app.hub.close_conn(conn, e.reason(), &e.message);
                        let _ = tokio::time::timeout(Duration::from_secs(1), &mut writer).await;
                        break LoopEnd::Over;
                    }
                }
                match frame {
                    Some(Ok(Message::Text(t))) => {
                        if let Some(new_exp) = handle_text(app, conn, user, tx, &t).await {
                            exp = new_exp;
                            warned = false;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let _ = tx.send(Outbound::Message(error(EndReason::BAD_REQUEST, "binary frames are not supported")));
                    }
                    Some(Ok(Message::Close(_))) => break LoopEnd::Over,
                    None | Some(Err(_)) => break LoopEnd::Dropped,
                    Some(Ok(_)) => {}
                }
            },
            _ = ping.tick() => {
                let _ = tx.send(Outbound::Ping);
            }
            _ = tokio::time::sleep_until(last_heard + silence) => {
                log::info!("connection {}: silent for {silence:?}", conn.0);
                break LoopEnd::Dropped;
            }
            _ = kick.notified() => break LoopEnd::Superseded,
            end = &mut writer => break match end {
                Ok(WriterEnd::Broken) => LoopEnd::Dropped,
                _ => LoopEnd::Over,
            },
            _ = tokio::time::sleep_until(warn_at), if !warned => {
                warned = true;
                let _ = tx.send(Outbound::Message(ServerMessage::TokenExpiring {
                    expires_in_secs: exp.saturating_sub(unix_now()),
                }));
            }
            _ = tokio::time::sleep_until(expires_at) => {
                log::info!("connection {}: token expired", conn.0);
                app.hub.close_conn(conn, EndReason::UNAUTHORIZED, "token expired");
                // Let the writer send the reason before the connection goes.
                let _ = tokio::time::timeout(Duration::from_secs(1), &mut writer).await;
                break LoopEnd::Over;
            }
        }
    };
    // The writer lets go of the outlet (a resume may be waiting for it).
    if !writer.is_finished() {
        writer.abort();
        let _ = writer.await;
    }
    end
}

/// Handles one text frame after `Hello`. Returns the new expiry after a token refresh.
async fn handle_text(
    app: &Arc<AppState>,
    conn: ConnId,
    user: &str,
    tx: &mpsc::UnboundedSender<Outbound>,
    text: &str,
) -> Option<u64> {
    let msg = match serde_json::from_str::<ClientMessage>(text) {
        Ok(m) => m,
        Err(e) => {
            let _ = tx.send(Outbound::Message(error(
                EndReason::BAD_REQUEST,
                format!("malformed message: {e}"),
            )));
            return None;
        }
    };
    let hub = &app.hub;
    let respond = |req: u64, error: Option<ErrorBody>| {
        let _ = tx.send(Outbound::Message(ServerMessage::Response {
            req,
            error,
            answer_sdp: None,
            media_id: None,
        }));
    };
    if hub.is_draining() {
        if let ClientMessage::StartCall { req, .. }
        | ClientMessage::Accept { req, .. }
        | ClientMessage::JoinGroupCall { req, .. }
        | ClientMessage::PrepareMedia { req, .. }
        | ClientMessage::AddParticipant { req, .. } = msg
        {
            respond(
                req,
                Some(ErrorBody::new(
                    EndReason::SERVICE_SHUTDOWN,
                    "the service is shutting down",
                )),
            );
            return None;
        }
    }
    match msg {
        ClientMessage::Hello { .. } => {
            let _ = tx.send(Outbound::Message(error(
                EndReason::BAD_REQUEST,
                "already authenticated",
            )));
        }
        ClientMessage::StartCall {
            req,
            call_id,
            targets,
            offer_sdp,
            media,
            caller_id,
        } => {
            let media = MediaOffer::of(offer_sdp, media);
            hub.start_call(conn, req, call_id, targets, media, caller_id)
                .await
        }
        ClientMessage::Accept {
            req,
            call_id,
            offer_sdp,
            media,
        } => {
            hub.accept(conn, req, call_id, MediaOffer::of(offer_sdp, media))
                .await
        }
        ClientMessage::JoinGroupCall {
            req,
            group_id,
            offer_sdp,
            media,
            state,
            room,
        } => {
            let media = MediaOffer::of(offer_sdp, media);
            hub.join_group_call(conn, req, group_id, media, state.unwrap_or_default(), room)
                .await
        }
        ClientMessage::PrepareMedia { req, offer_sdp } => {
            hub.prepare_media(conn, req, offer_sdp).await
        }
        ClientMessage::AddParticipant {
            req,
            call_id,
            target,
            caller_id,
        } => hub.add_participant(conn, req, &call_id, &target, caller_id),
        ClientMessage::AdmitParticipants {
            req,
            call_id,
            participants,
            all,
        } => hub.admit(conn, req, &call_id, &participants, all).await,
        ClientMessage::RejectParticipant {
            req,
            call_id,
            participant,
        } => hub.reject_from_lobby(conn, req, &call_id, &participant),
        ClientMessage::MuteParticipants {
            req,
            call_id,
            participants,
        } => hub.mute_others(conn, req, &call_id, &participants),
        ClientMessage::SendDtmf {
            req,
            call_id,
            tones,
        } => hub.send_dtmf(conn, req, &call_id, &tones),
        ClientMessage::RemoveParticipant {
            req,
            call_id,
            target,
        } => hub.remove_other(conn, req, &call_id, &target),
        ClientMessage::Reject { req, call_id } => hub.reject(conn, req, &call_id),
        ClientMessage::HangUp {
            req,
            call_id,
            for_everyone,
        } => hub.hang_up(conn, req, &call_id, for_everyone),
        ClientMessage::SetMuted {
            req,
            call_id,
            muted,
        } => hub.set_muted(conn, req, &call_id, muted),
        ClientMessage::SetHold { req, call_id, hold } => hub.set_hold(conn, req, &call_id, hold),
        ClientMessage::SetVideo {
            req,
            call_id,
            kind,
            on,
        } => hub.set_video(conn, req, &call_id, kind, on),
        ClientMessage::SubscribeVideo {
            req,
            call_id,
            participant,
            kind,
            slot,
        } => hub.subscribe_video(conn, req, &call_id, &participant, kind, slot),
        ClientMessage::UnsubscribeVideo {
            req,
            call_id,
            kind,
            slot,
        } => hub.unsubscribe_video(conn, req, &call_id, kind, slot),
        ClientMessage::RefreshToken { req, token } => match app.identity.validate(&token) {
            Ok(c) if c.sub == user => {
                respond(req, None);
                return Some(c.exp);
            }
            Ok(_) => respond(
                req,
                Some(ErrorBody::new(
                    EndReason::FORBIDDEN,
                    "token is for another user",
                )),
            ),
            Err(e) => respond(req, Some(ErrorBody::new(e.reason(), e.to_string()))),
        },
        ClientMessage::Ping { req } => respond(req, None),
        ClientMessage::RestartIce {
            req,
            call_id,
            offer_sdp,
        } => hub.restart_ice(conn, req, &call_id, offer_sdp).await,
        ClientMessage::RegisterPush { req, url, secret } => {
            hub.register_push(conn, req, &url, &secret)
        }
        ClientMessage::UnregisterPush { req, url } => {
            hub.unregister_push(conn, req, url.as_deref())
        }
        ClientMessage::Transfer {
            req,
            call_id,
            target,
        } => hub.transfer(conn, req, &call_id, &target),
        ClientMessage::AnswerTransfer {
            req,
            call_id,
            accept,
        } => hub.answer_transfer(conn, req, &call_id, accept),
        ClientMessage::ClaimPush {
            req,
            call_id,
            nonce,
        } => hub.claim_push(conn, req, &call_id, &nonce),
    }
    None
}
