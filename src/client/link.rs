//! An agent's link to the service as its calls see it: connecting, up (with the signaling
//! connection and the local address media should use) or down with a reason.

use crate::error::{Error, Result};
use crate::protocol::EndReason;
use crate::signaling::Signaling;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// State of an agent's connection, shared with waiting tasks.
#[derive(Clone)]
pub(crate) enum Link {
    Connecting,
    /// The link dropped; the agent is reconnecting to resume its session.
    Reconnecting,
    Up(Arc<Signaling>, IpAddr),
    Down(EndReason, String),
}

impl Link {
    /// The signaling connection while the link is up.
    pub(crate) fn signaling(&self) -> Option<Arc<Signaling>> {
        match self {
            Link::Up(sig, _) => Some(sig.clone()),
            _ => None,
        }
    }
}

/// Waits until the link is no longer connecting; the error says why it is not up.
pub(crate) async fn wait_up(link: &watch::Receiver<Link>) -> Result<(Arc<Signaling>, IpAddr)> {
    let mut rx = link.clone();
    let link = rx
        .wait_for(|l| !matches!(l, Link::Connecting | Link::Reconnecting))
        .await
        .map_err(|_| Error::Network("the call agent is gone".into()))?
        .clone();
    match link {
        Link::Up(sig, ip) => Ok((sig, ip)),
        Link::Down(reason, msg) => Err(Error::Service {
            reason,
            message: msg,
        }),
        Link::Connecting | Link::Reconnecting => {
            Err(Error::Internal("unreachable link state".into()))
        }
    }
}
