//! One participant's signaling: identity, WebSocket `Hello`, the join (`JoinGroupCall`,
//! `StartCall` to the echo bot, or a 1:1 call between two participants: `StartCall` to the
//! other's user id on one side, `IncomingCall` + `Accept` on the other), the hand-over of its media session to a media thread,
//! `AudioSlots` bookkeeping while the call holds, and `HangUp`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use str0m::config::DtlsCert;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::config::{CallMode, MutedMedia};
use crate::identity;
use crate::media::{MediaCmd, MediaEvent, MediaLink, NewSession};
use crate::protocol::{
    CallState, ClientMessage, Numbered, ServerMessage, AUDIO_SLOTS, ECHO_BOT_ID, PROTOCOL_VERSION,
};
use crate::session::{self, Role, Setup, SlotTag};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one signaling step (Welcome, the join's Response) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Signaling messages received, by kind, over all participants.
#[derive(Debug, Default)]
pub struct SignalingStats {
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    pub roster: AtomicU64,
    pub audio_slots: AtomicU64,
    pub dominant_speakers: AtomicU64,
    pub call_state: AtomicU64,
    pub errors: AtomicU64,
    pub undecodable: AtomicU64,
    /// Numbered messages a participant never got (a jump in `seq`): lost signaling.
    pub lost: AtomicU64,
}

impl SignalingStats {
    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// What every participant of a run shares.
pub struct RunCtx {
    pub http: String,
    pub key: String,
    pub call: CallMode,
    pub group_id: String,
    pub speakers: usize,
    pub muted: MutedMedia,
    pub local_ip: IpAddr,
    pub cert: DtlsCert,
    pub media: Vec<MediaLink>,
    /// Raw id → speaker index, filled as speakers get their identities.
    pub speaker_ids: Mutex<HashMap<String, usize>>,
    pub stats: SignalingStats,
    /// The last `seq` each participant received (messages are numbered per session).
    pub last_seq: Vec<AtomicU64>,
    /// Pairs mode: the callee's user id for each pair (set once it is connected).
    pub callees: Vec<OnceLock<String>>,
    /// The SFU's address, learnt from the first answer.
    pub media_addr: OnceLock<SocketAddr>,
    pub events: mpsc::UnboundedSender<MediaEvent>,
}

impl RunCtx {
    /// The role of participant `idx`: the first `speakers` speak (in pairs mode every
    /// caller speaks as speaker 0 and every callee is muted).
    pub fn role(&self, idx: usize) -> Role {
        let speaks = match self.call {
            CallMode::Pairs => !idx.is_multiple_of(2),
            _ => idx < self.speakers,
        };
        if speaks && self.call == CallMode::Pairs {
            Role::Speaker(0)
        } else if speaks {
            Role::Speaker(idx)
        } else {
            Role::Muted {
                send: self.muted != MutedMedia::Nothing,
                dtx: self.muted == MutedMedia::Dtx,
            }
        }
    }

    fn link(&self, idx: usize) -> Option<&MediaLink> {
        self.media.get(idx % self.media.len().max(1))
    }
}

/// Runs participant `idx` from its start time until `stop`, then leaves.
pub async fn participant(
    ctx: Arc<RunCtx>,
    idx: usize,
    start_at: tokio::time::Instant,
    mut stop: watch::Receiver<bool>,
) {
    tokio::time::sleep_until(start_at).await;
    let joined = tokio::select! {
        r = join(&ctx, idx) => r,
        _ = stop.wait_for(|s| *s) => return,
    };
    let (mut ws, call_id) = match joined {
        Ok(x) => x,
        Err(reason) => {
            let _ = ctx.events.send(MediaEvent::Failed { idx, reason });
            return;
        }
    };
    // Hold: follow AudioSlots and count the rest until told to leave.
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => { on_message(&ctx, idx, &t); }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    let _ = ctx.events.send(MediaEvent::Failed {
                        idx,
                        reason: "signaling connection closed".into(),
                    });
                    break;
                }
            },
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    if ctx.call == CallMode::Pairs && idx.is_multiple_of(2) {
        // The callee: its caller hangs up (a second hang-up would be refused as "not in
        // the call"); wait for the call to end, then leave.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    if matches!(
                        on_message(&ctx, idx, &t),
                        Some(ServerMessage::CallState {
                            state: CallState::Disconnected,
                            ..
                        })
                    ) {
                        break;
                    }
                }
            }
        })
        .await;
    } else if send(
        &mut ws,
        &ClientMessage::HangUp {
            req: 2,
            call_id,
            for_everyone: false,
        },
    )
    .await
    .is_ok()
    {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    if matches!(
                        on_message(&ctx, idx, &t),
                        Some(ServerMessage::Response { req: 2, .. })
                    ) {
                        break;
                    }
                }
            }
        })
        .await;
    }
    let _ = ws.close(None).await;
    if let Some(link) = ctx.link(idx) {
        link.send(MediaCmd::Remove { idx });
    }
}

async fn send(ws: &mut Ws, msg: &ClientMessage) -> Result<(), String> {
    let text = serde_json::to_string(msg).map_err(|e| e.to_string())?;
    ws.send(Message::Text(text.into()))
        .await
        .map_err(|e| format!("signaling send: {e}"))
}

/// Identity, Hello, offer, join; hands the session to its media thread. Returns the socket
/// and the call id.
async fn join(ctx: &Arc<RunCtx>, idx: usize) -> Result<(Ws, String), String> {
    let (user, token) = identity::create_user(&ctx.http, &ctx.key).await?;
    let role = ctx.role(idx);
    if let Role::Speaker(k) = role {
        if let Ok(mut m) = ctx.speaker_ids.lock() {
            m.insert(user.clone(), k);
        }
    }
    let url = format!("ws://{}/signaling", ctx.http);
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .map_err(|e| format!("websocket: {e}"))?;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token,
        display_name: format!("loadgen-{idx}"),
        resume: None,
    };
    send(&mut ws, &hello).await?;
    wait_for(ctx, idx, &mut ws, |m| match m {
        ServerMessage::Welcome { .. } => Some(Ok(())),
        ServerMessage::Error { error } => Some(Err(format!("hello: {}", error.message))),
        _ => None,
    })
    .await?;
    // Pairs: the callee is reachable from here on; the caller needs its id.
    let pair = ctx.callees.get(idx / 2);
    let callee = match (ctx.call, pair) {
        (CallMode::Pairs, Some(slot)) if idx.is_multiple_of(2) => {
            let _ = slot.set(user.clone());
            None
        }
        (CallMode::Pairs, Some(slot)) => Some(wait_for_callee(slot).await?),
        (CallMode::Pairs, None) => return Err("no pair for this participant".into()),
        _ => None,
    };
    let incoming = if ctx.call == CallMode::Pairs && callee.is_none() {
        let call_id = wait_for(ctx, idx, &mut ws, |m| match m {
            ServerMessage::IncomingCall { call_id, .. } => Some(Ok(call_id.clone())),
            _ => None,
        })
        .await?;
        Some(call_id)
    } else {
        None
    };

    let (socket, local) =
        crate::media::bind_socket(ctx.local_ip).map_err(|e| format!("udp bind: {e}"))?;
    let offer = session::make_offer(local, &ctx.cert, Instant::now())?;
    let req = 1;
    let (msg, call_id) = match ctx.call {
        CallMode::Group => (
            ClientMessage::JoinGroupCall {
                req,
                group_id: ctx.group_id.clone(),
                offer_sdp: offer.sdp.clone(),
                media: None,
                state: None,
                room: false,
            },
            ctx.group_id.clone(),
        ),
        CallMode::Echo | CallMode::Pairs => match incoming {
            Some(call_id) => (
                ClientMessage::Accept {
                    req,
                    call_id: call_id.clone(),
                    offer_sdp: offer.sdp.clone(),
                    media: None,
                },
                call_id,
            ),
            None => {
                let call_id = uuid::Uuid::new_v4().to_string();
                let target = callee.unwrap_or_else(|| ECHO_BOT_ID.to_string());
                (
                    ClientMessage::StartCall {
                        req,
                        call_id: call_id.clone(),
                        targets: vec![target],
                        offer_sdp: offer.sdp.clone(),
                        media: None,
                        caller_id: None,
                    },
                    call_id,
                )
            }
        },
    };
    let join_sent = Instant::now();
    send(&mut ws, &msg).await?;
    let answer = wait_for(ctx, idx, &mut ws, |m| match m {
        ServerMessage::Response {
            req: r,
            error,
            answer_sdp,
            ..
        } if *r == req => Some(match (error, answer_sdp) {
            (Some(e), _) => Err(format!("join: {} ({}/{})", e.message, e.code, e.subcode)),
            (None, Some(a)) => Ok(a.clone()),
            (None, None) => Err("join: response without an answer".into()),
        }),
        ServerMessage::Error { error } => Some(Err(format!("join: {}", error.message))),
        _ => None,
    })
    .await?;
    let _ = ctx.events.send(MediaEvent::Answered {
        after: join_sent.elapsed(),
    });
    if let Some(addr) = session::host_candidate(&answer) {
        let _ = ctx.media_addr.set(addr);
    }
    let mut rtc = offer.rtc;
    session::apply_answer(&mut rtc, offer.pending, &answer)?;
    let link = ctx.link(idx).ok_or("no media thread")?;
    link.send(MediaCmd::Add(Box::new(NewSession {
        setup: Setup {
            idx,
            role,
            mids: offer.mids,
            join_sent,
            speakers: ctx.speakers,
        },
        rtc,
        socket,
    })));
    Ok((ws, call_id))
}

/// Waits until the callee of a pair is connected and returns its user id.
async fn wait_for_callee(slot: &OnceLock<String>) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        if let Some(id) = slot.get() {
            return Ok(id.clone());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err("the callee never connected".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads messages (handling each) until `pick` returns a result.
async fn wait_for<T>(
    ctx: &Arc<RunCtx>,
    idx: usize,
    ws: &mut Ws,
    mut pick: impl FnMut(&ServerMessage) -> Option<Result<T, String>>,
) -> Result<T, String> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let m = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| "signaling timeout".to_string())?;
        match m {
            Some(Ok(Message::Text(t))) => {
                if let Some(msg) = on_message(ctx, idx, &t) {
                    if let Some(r) = pick(&msg) {
                        return r;
                    }
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("signaling: {e}")),
            None => return Err("signaling closed".into()),
        }
    }
}

/// Counts a message and acts on `AudioSlots`; returns it decoded.
fn on_message(ctx: &RunCtx, idx: usize, text: &str) -> Option<ServerMessage> {
    let s = &ctx.stats;
    SignalingStats::bump(&s.messages);
    s.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
    let Ok(Numbered { seq, msg }) = serde_json::from_str::<Numbered>(text) else {
        SignalingStats::bump(&s.undecodable);
        return None;
    };
    if seq != 0 {
        if let Some(last) = ctx.last_seq.get(idx) {
            let before = last.swap(seq, Ordering::Relaxed);
            if seq > before + 1 {
                s.lost.fetch_add(seq - before - 1, Ordering::Relaxed);
            }
        }
    }
    match &msg {
        ServerMessage::Roster { .. }
        | ServerMessage::ParticipantUpdated { .. }
        | ServerMessage::ParticipantsUpdated { .. }
        | ServerMessage::ParticipantRemoved { .. }
        | ServerMessage::ParticipantsRemoved { .. } => SignalingStats::bump(&s.roster),
        ServerMessage::DominantSpeakers { .. } => SignalingStats::bump(&s.dominant_speakers),
        ServerMessage::CallState { .. } => SignalingStats::bump(&s.call_state),
        ServerMessage::Error { .. } | ServerMessage::Response { error: Some(_), .. } => {
            SignalingStats::bump(&s.errors)
        }
        ServerMessage::AudioSlots { slots, mixed, .. } => {
            SignalingStats::bump(&s.audio_slots);
            let mut tags = [SlotTag::Empty; AUDIO_SLOTS];
            if let Ok(ids) = ctx.speaker_ids.lock() {
                for (tag, who) in tags.iter_mut().zip(slots.iter()) {
                    *tag = match who.as_deref() {
                        None => SlotTag::Empty,
                        Some(ECHO_BOT_ID) => SlotTag::Echo,
                        Some(id) => ids.get(id).map_or(SlotTag::Other, |k| SlotTag::Speaker(*k)),
                    };
                }
                if !mixed.is_empty() {
                    let mask = mixed
                        .iter()
                        .filter_map(|id| ids.get(id.as_str()))
                        .filter(|k| **k < 64)
                        .fold(0u64, |m, k| m | (1 << k));
                    tags[0] = SlotTag::Mix(mask);
                }
            }
            if let Some(link) = ctx.link(idx) {
                link.send(MediaCmd::Slots { idx, slots: tags });
            }
        }
        _ => {}
    }
    Some(msg)
}
