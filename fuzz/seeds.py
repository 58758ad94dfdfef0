#!/usr/bin/env python3
"""Writes the seed corpus (corpus/<target>/seed-*): a few valid inputs per target.

Multi-input targets read chunks: control byte, little-endian u16 length, bytes (see
service/src/fuzzing.rs). Run from fuzz/: python3 seeds.py
"""
import json
import os
import struct


def chunk(ctl, data):
    return bytes([ctl]) + struct.pack("<H", len(data)) + data


def write(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# Signaling: one message of each shape that nests something.
P = {"id": "8:acs:u1", "display_name": "Ann", "state": "Connected", "muted": False,
     "video": True, "end_reason": {"code": 0, "subcode": 4097}}
SIGNALING = {
    "hello": {"type": "hello", "protocol": 1, "token": "t", "display_name": "Ann"},
    "start_call": {"type": "start_call", "req": 1, "call_id": "c", "targets": ["8:acs:u2", "4:+15550100"],
                   "offer_sdp": "v=0\r\n", "caller_id": "+15550199"},
    "subscribe_video": {"type": "subscribe_video", "req": 2, "call_id": "c", "participant": "8:acs:u2",
                        "kind": "screen_share", "slot": 0},
    "hang_up": {"type": "hang_up", "req": 3, "call_id": "c", "for_everyone": True},
    "response": {"type": "response", "req": 1, "error": {"code": 403, "subcode": 10110, "message": "full"},
                 "answer_sdp": "v=0\r\n"},
    "call_state": {"type": "call_state", "call_id": "c", "state": "Disconnected",
                   "end_reason": {"code": 487, "subcode": 0}},
    "roster": {"type": "roster", "call_id": "c", "participants": [P]},
    "audio_slots": {"type": "audio_slots", "call_id": "c", "slots": ["8:acs:u1", None], "mixed": ["x"]},
    "incoming_call": {"type": "incoming_call", "call_id": "c", "caller": P, "others": []},
}
for name, msg in SIGNALING.items():
    write("signaling", name, json.dumps(msg).encode())

OFFER = ("v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n"
         "m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
         "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendonly\r\n")
HOLD = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\n"
V6 = ("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 96\r\n"
      "c=IN IP6 2001:db8::7\r\na=rtpmap:96 PCMU/8000\r\n")
write("sdp", "offer", OFFER.encode())
write("sdp", "hold", HOLD.encode())
write("sdp", "ipv6", V6.encode())


def invite(branch, call_id, body=OFFER):
    return ("INVITE sip:+15550100@10.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 198.51.100.7:5062;branch={branch};rport\r\n"
            "Max-Forwards: 70\r\nFrom: \"Bob\" <sip:+15550111@198.51.100.7>;tag=b1\r\n"
            "To: <sip:+15550100@10.0.0.1>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 10 INVITE\r\nContact: <sip:bob@198.51.100.7:5062>\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")


INVITE = invite("z9hG4bKf", "f-1")
ACK = ("ACK sip:+15550100@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKf\r\n"
       "From: <sip:+15550111@198.51.100.7>;tag=b1\r\nTo: <sip:+15550100@10.0.0.1>;tag=x\r\n"
       "Call-ID: f-1\r\nCSeq: 10 ACK\r\nContent-Length: 0\r\n\r\n")
BYE = ("BYE sip:x@10.0.0.1 SIP/2.0\r\nv: SIP/2.0/TCP [::1]:5060;branch=z9hG4bKq\r\nf: <sip:a@b>;tag=b1\r\n"
       "t: <sip:c@d>;tag=x\r\ni: f-1\r\nCSeq: 11 BYE\r\nl: 0\r\n\r\n")
OK = ("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK0000\r\n"
      "From: <sip:+15550199@10.0.0.1>;tag=a\r\nTo: <sip:+15550100@192.0.2.10>;tag=p\r\n"
      "Call-ID: c-1\r\nCSeq: 1 INVITE\r\nContact: <sip:p@192.0.2.10>\r\nRecord-Route: <sip:192.0.2.9;lr>\r\n"
      f"Content-Type: application/sdp\r\nContent-Length: {len(OFFER)}\r\n\r\n{OFFER}")
AUTH = ("SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK0000\r\n"
        "From: <sip:+15550199@10.0.0.1>;tag=a\r\nTo: <sip:+15550100@192.0.2.10>;tag=p\r\nCall-ID: c-1\r\n"
        "CSeq: 1 INVITE\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\", algorithm=MD5\r\n"
        "Content-Length: 0\r\n\r\n")
for name, m in {"invite": INVITE, "ack": ACK, "bye_compact": BYE, "ok": OK, "auth": AUTH}.items():
    write("sip_message", name, m.encode())
write("sip_message", "two_on_tcp", (BYE + BYE).encode())

# Endpoint: a phone calls (answered by the hub), ACKs, hangs up; the trunk answers our
# call with a challenge, then 200.
write("sip_endpoint", "inbound", chunk(0, INVITE.encode()) + chunk(8, b"") + chunk(0, ACK.encode())
      + chunk(4, BYE.replace("f-1", "f-1").encode()))
write("sip_endpoint", "outbound", chunk(1, AUTH.encode()) + chunk(5, OK.encode()) + chunk(9, b""))
write("sip_endpoint", "tcp", chunk(2, INVITE.encode()) + chunk(6, b"CANCEL sip:x@10.0.0.1 SIP/2.0\r\n"
      b"Via: SIP/2.0/TCP 198.51.100.7:5062;branch=z9hG4bKf\r\nFrom: <sip:a@b>;tag=b1\r\nTo: <sip:c@d>\r\n"
      b"Call-ID: f-1\r\nCSeq: 10 CANCEL\r\n\r\n"))


def rtp(pt, seq, ts, payload, marker=False, ssrc=0xCAFE):
    return struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | pt, seq, ts, ssrc) + payload


def event(digit, end, duration):
    return struct.pack(">BBH", digit, (0x80 if end else 0) | 10, duration)


audio = b"".join(chunk(1, rtp(0, 100 + i, 160 * i, bytes([0xFF - i] * 160), i == 0)) for i in range(6))
digits = b"".join(chunk(1, rtp(101, 200 + i, 8000, event(5, i >= 2, 160 * (i + 1)), i == 0)) for i in range(4))
ext = struct.pack(">BBHII", 0x90, 8, 7, 1600, 0xCAFE) + struct.pack(">HH", 0xBEDE, 1) + b"\x10\x85\x00\x00"
write("phone_rtp", "pcmu", audio)
write("phone_rtp", "pcma_dtmf", chunk(3, rtp(8, 1, 0, bytes(160))) + digits)
write("phone_rtp", "extension_csrc", chunk(1, ext + bytes(160)) + chunk(1, rtp(0, 9, 1760, bytes(80)) ))

STUN = bytes.fromhex("000100082112a442") + os.urandom(0)[:0] + b"0123456789ab" + bytes.fromhex("80220004") + b"fuzz"
DTLS = bytes([22, 0xFE, 0xFD]) + bytes(8) + struct.pack(">H", 12) + bytes([1]) + bytes(11)
SRTP = rtp(111, 1, 960, b"\x78" + bytes(40))
RTCP = bytes([0x80, 200, 0, 6]) + bytes(24)
OPUS_SILENCE = bytes([0xF8, 0xFF, 0xFE])
write("sfu", "stun_dtls", chunk(1, STUN) + chunk(0, STUN) + chunk(9, DTLS))
write("sfu", "media", chunk(1, SRTP) + chunk(1, RTCP) + chunk(3, OPUS_SILENCE) + chunk(12, bytes([0xEC])) + chunk(8, b""))
