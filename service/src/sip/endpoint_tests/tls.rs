//! Calls on a TLS trunk: `SIP/2.0/TLS` Via, `;transport=tls` Contact (RFC 5630), the TLS
//! listener's port when there is one, no retransmissions, in-dialog requests on the
//! connection, transport errors failing the leg.

use super::*;

#[test]
fn tls_trunk_messages_name_tls_and_the_tls_port() {
    let mut h = harness_full("carrier=192.0.2.10:5061;transport=tls", false, Some(5071));
    let inv = h.dial(1);
    let via = inv.top_via().unwrap();
    assert_eq!(via.transport, "TLS");
    assert_eq!((via.host.as_str(), via.port), ("10.0.0.1", Some(5071)));
    let contact = inv.header("Contact").unwrap();
    assert_eq!(contact, "<sip:gateway@10.0.0.1:5071;transport=tls>");
    // Reliable transport: no retransmission.
    h.advance(Duration::from_secs(5));
    assert!(h.sent().is_empty());
    // The answer's Contact points elsewhere: the ACK still goes to the trunk (the
    // connection), over TLS.
    let ok = reply(
        &inv,
        200,
        Some("b"),
        &[("Contact", "<sip:phone@198.51.100.99:5099;transport=tls>")],
        "v=0\r\n",
    );
    h.ep.handle_message(&ok, addr(TRUNK), SipTransport::Tls, h.now);
    let sent = h.sent();
    let (t, ack) = &sent[0];
    assert_eq!(ack.method(), Some("ACK"));
    assert_eq!((t.transport, t.dest), (SipTransport::Tls, addr(TRUNK)));
}

#[test]
fn without_a_tls_listener_the_via_names_the_sip_port() {
    let mut h = harness_full("carrier=192.0.2.10;transport=tls", false, None);
    let inv = h.dial(1);
    assert_eq!(inv.top_via().unwrap().port, Some(5060));
    h.ep.handle_transport_error(addr(TRUNK), h.now);
    assert!(matches!(
        h.events()[..],
        [SipEvent::Failed {
            leg: 1,
            status: 503,
            ..
        }]
    ));
}
