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
use crate::protocol::{ClientMessage, EndReason, ErrorBody, ServerMessage, PROTOCOL_VERSION};
use crate::AppState;

/// How long a new connection may take to send `Hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the service pings an idle agent (WebSocket Ping; agents answer with Pong).
const KEEPALIVE: Duration = Duration::from_secs(20);

/// Upgrades `GET /signaling` to a WebSocket.
pub async fn ws_handler(ws: WebSocketUpgrade, State(app): State<Arc<AppState>>) -> Response {
    ws.on_upgrade(move |socket| connection(socket, app))
}

fn to_frame(msg: &ServerMessage) -> Message {
    // Serializing our own enum cannot fail; fall back to an empty object to stay panic-free.
    Message::Text(
        serde_json::to_string(msg)
            .unwrap_or_else(|_| "{}".into())
            .into(),
    )
}

fn error(reason: EndReason, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error {
        error: ErrorBody::new(reason, message),
    }
}

/// Instant at which a token with Unix expiry `exp` expires.
fn instant_of(exp: u64) -> Instant {
    Instant::now() + Duration::from_secs(exp.saturating_sub(unix_now()))
}

async fn connection(socket: WebSocket, app: Arc<AppState>) {
    let (mut sink, mut stream) = socket.split();

    // Authentication: the first message must be a valid Hello.
    let first = tokio::time::timeout(HELLO_TIMEOUT, stream.next()).await;
    let text = match first {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(_))) => {
            let _ = sink
                .send(to_frame(&error(
                    EndReason::BAD_REQUEST,
                    "expected a Hello text frame",
                )))
                .await;
            let _ = sink.close().await;
            return;
        }
        _ => return,
    };
    let claims = match serde_json::from_str::<ClientMessage>(&text) {
        Ok(ClientMessage::Hello {
            protocol,
            token,
            display_name,
        }) => {
            if protocol != PROTOCOL_VERSION {
                Err(error(
                    EndReason::BAD_REQUEST,
                    format!(
                        "unsupported protocol {protocol}, this service speaks {PROTOCOL_VERSION}"
                    ),
                ))
            } else {
                app.identity
                    .validate(&token)
                    .map(|c| (c, display_name))
                    .map_err(|e| error(e.reason(), e.to_string()))
            }
        }
        Ok(_) => Err(error(
            EndReason::BAD_REQUEST,
            "the first message must be Hello",
        )),
        Err(e) => Err(error(
            EndReason::BAD_REQUEST,
            format!("expected Hello: {e}"),
        )),
    };
    let (claims, display_name) = match claims {
        Ok(c) => c,
        Err(msg) => {
            let _ = sink.send(to_frame(&msg)).await;
            let _ = sink.close().await;
            return;
        }
    };
    let user = claims.sub.clone();

    // Writer task.
    let (tx, mut rx) = mpsc::unbounded_channel::<Outbound>();
    let closed = Arc::new(Notify::new());
    let writer_closed = Arc::clone(&closed);
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            match out {
                Outbound::Message(m) => {
                    if sink.send(to_frame(&m)).await.is_err() {
                        break;
                    }
                }
                Outbound::Ping => {
                    if sink.send(Message::Ping(Default::default())).await.is_err() {
                        break;
                    }
                }
                Outbound::Close(e) => {
                    let _ = sink
                        .send(to_frame(&ServerMessage::Error { error: e }))
                        .await;
                    let _ = sink.close().await;
                    break;
                }
            }
        }
        writer_closed.notify_one();
    });

    let _ = tx.send(Outbound::Message(ServerMessage::Welcome {
        user_id: user.clone(),
        server_version: env!("CARGO_PKG_VERSION").to_string(),
        protocol: PROTOCOL_VERSION,
    }));
    let conn = app.hub.register(&user, &display_name, tx.clone());
    log::info!("connection {} authenticated as {user}", conn.0);

    let warning = app.config.token_warning;
    let mut exp = claims.exp;
    let mut warned = false;
    // Any frame (a Pong to our pings included) proves the agent is alive; silence for the
    // inactivity timeout removes it from its calls.
    let inactivity = app.hub.config.inactivity_timeout;
    let mut last_heard = Instant::now();
    let mut ping = tokio::time::interval(KEEPALIVE.min(inactivity / 2));
    ping.tick().await;
    loop {
        let expires_at = instant_of(exp);
        let warn_at = expires_at.checked_sub(warning).unwrap_or_else(Instant::now);
        tokio::select! {
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                Some(Ok(Message::Text(t))) => {
                    if let Some(new_exp) = handle_text(&app, conn, &user, &tx, &t).await {
                        exp = new_exp;
                        warned = false;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let _ = tx.send(Outbound::Message(error(EndReason::BAD_REQUEST, "binary frames are not supported")));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }},
            _ = ping.tick() => {
                let _ = tx.send(Outbound::Ping);
            }
            _ = tokio::time::sleep_until(last_heard + inactivity) => {
                log::info!("connection {}: silent for {inactivity:?}", conn.0);
                app.hub.close_conn(conn, EndReason::INACTIVE, "no signaling for too long");
                break;
            }
            _ = closed.notified() => break,
            _ = tokio::time::sleep_until(warn_at), if !warned => {
                warned = true;
                let _ = tx.send(Outbound::Message(ServerMessage::TokenExpiring {
                    expires_in_secs: exp.saturating_sub(unix_now()),
                }));
            }
            _ = tokio::time::sleep_until(expires_at) => {
                log::info!("connection {}: token expired", conn.0);
                app.hub.close_conn(conn, EndReason::UNAUTHORIZED, "token expired");
                break;
            }
        }
    }
    app.hub.unregister(conn, EndReason::UNAVAILABLE);
    drop(tx);
    let _ = writer.await;
    log::info!("connection {} closed", conn.0);
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
        }));
    };
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
            caller_id,
        } => {
            hub.start_call(conn, req, call_id, targets, offer_sdp, caller_id)
                .await
        }
        ClientMessage::Accept {
            req,
            call_id,
            offer_sdp,
        } => hub.accept(conn, req, call_id, offer_sdp).await,
        ClientMessage::JoinGroupCall {
            req,
            group_id,
            offer_sdp,
        } => hub.join_group_call(conn, req, group_id, offer_sdp).await,
        ClientMessage::AddParticipant {
            req,
            call_id,
            target,
            caller_id,
        } => hub.add_participant(conn, req, &call_id, &target, caller_id),
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
    }
    None
}
