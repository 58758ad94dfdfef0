use super::super::test_util::{db, mean_square, power_at, tone};
use super::*;

const EVENT_PT: u8 = 101;

fn leg(codec: G711, ssrc: u32, t0: Instant) -> PhoneLegMedia {
    PhoneLegMedia::new(LegConfig::new(codec, Some(EVENT_PT), ssrc), t0).unwrap()
}

fn slot(t0: Instant, k: u32) -> Instant {
    t0 + PTIME * k
}

/// G.711 RTP datagrams of `pcm` (8 kHz), as a phone would send them.
fn phone_packets(codec: G711, pcm: &[i16], seq0: u16, ts0: u32) -> Vec<Vec<u8>> {
    pcm.chunks_exact(FRAME_8K)
        .enumerate()
        .map(|(i, f)| {
            let mut payload = vec![0u8; FRAME_8K];
            codec.encode(f, &mut payload);
            RtpHeader {
                marker: i == 0,
                payload_type: codec.static_payload_type(),
                sequence: seq0.wrapping_add(i as u16),
                timestamp: ts0.wrapping_add(160 * i as u32),
                ssrc: 0xCAFE,
            }
            .to_datagram(&payload)
        })
        .collect()
}

#[test]
fn config_is_checked() {
    let t0 = Instant::now();
    let mut cfg = LegConfig::new(G711::Pcma, None, 1);
    assert_eq!(cfg.payload_type, 8);
    cfg.ptime = Duration::from_millis(30);
    assert!(matches!(
        PhoneLegMedia::new(cfg.clone(), t0),
        Err(LegError::UnsupportedPtime(_))
    ));
    cfg.ptime = PTIME;
    cfg.telephone_event_pt = Some(72);
    assert!(matches!(
        PhoneLegMedia::new(cfg.clone(), t0),
        Err(LegError::PayloadType(72))
    ));
    cfg.telephone_event_pt = None;
    let mut l = PhoneLegMedia::new(cfg, t0).unwrap();
    assert_eq!(l.send_dtmf('1', t0), Err(DtmfError::NotNegotiated));
}

#[test]
fn pushed_tone_reaches_the_phone_as_g711() {
    for codec in [G711::Pcmu, G711::Pcma] {
        let t0 = Instant::now();
        let mut l = leg(codec, 42, t0);
        let pcm = tone(440.0, 48_000.0, 10_000.0, FRAME_48K * 50);
        let mut heard = Vec::new();
        for (k, f) in pcm.chunks_exact(FRAME_48K).enumerate() {
            l.push_call_audio(f.try_into().unwrap());
            let d = l.poll_transmit(slot(t0, k as u32)).unwrap();
            assert!(l.poll_transmit(slot(t0, k as u32)).is_none());
            let p = rtp::parse(&d).unwrap();
            assert_eq!(p.header.payload_type, codec.static_payload_type());
            assert_eq!(p.header.ssrc, 42);
            assert_eq!(p.payload.len(), FRAME_8K);
            let mut dec = [0i16; FRAME_8K];
            codec.decode(p.payload, &mut dec);
            heard.extend_from_slice(&dec);
        }
        let settled = &heard[FRAME_8K * 5..];
        let p = power_at(settled, 440.0, 8_000.0);
        let expect = 10_000.0f64.powi(2) / 2.0;
        assert!(
            db(p / expect).abs() < 1.0,
            "{codec:?}: {} dB",
            db(p / expect)
        );
        // Nearly all of the power is the tone (G.711 noise is ~38 dB down).
        assert!(db(p / mean_square(settled)) > -0.2, "{codec:?}");
    }
}

#[test]
fn silence_is_sent_when_nothing_is_pushed_and_timestamps_advance() {
    let t0 = Instant::now();
    let mut l = leg(G711::Pcmu, 7, t0);
    let cfg = l.config().clone();
    let mut pkts = Vec::new();
    for k in 0..10 {
        while let Some(d) = l.poll_transmit(slot(t0, k)) {
            pkts.push(d);
        }
    }
    assert_eq!(pkts.len(), 10);
    for (i, d) in pkts.iter().enumerate() {
        let p = rtp::parse(d).unwrap();
        assert_eq!(p.header.marker, i == 0);
        assert_eq!(
            p.header.sequence,
            cfg.initial_sequence.wrapping_add(i as u16)
        );
        assert_eq!(
            p.header.timestamp,
            cfg.initial_timestamp.wrapping_add(160 * i as u32)
        );
        assert!(p.payload.iter().all(|b| *b == 0xFF));
    }
    // A caller late by 3 slots gets the 3 packets at once; a stalled one skips ahead.
    let burst = std::iter::from_fn(|| l.poll_transmit(slot(t0, 12))).count();
    assert_eq!(burst, 3);
    let after_stall = l.poll_transmit(slot(t0, 100)).unwrap();
    let p = rtp::parse(&after_stall).unwrap();
    assert!(p.header.marker);
    assert_eq!(
        p.header.timestamp,
        cfg.initial_timestamp.wrapping_add(160 * 100)
    );
    assert!(l.poll_transmit(slot(t0, 100)).is_none());
}

/// Feeds `packets` (index = send slot) to a fresh leg and returns its 48 kHz output.
fn play(packets: &[Option<Vec<u8>>], slots: u32) -> (Vec<i16>, PhoneLegMedia) {
    let t0 = Instant::now();
    let mut l = leg(G711::Pcmu, 1, t0);
    let mut out = Vec::new();
    for k in 0..slots {
        let now = slot(t0, k);
        if let Some(Some(d)) = packets.get(k as usize) {
            l.on_rtp(d, now);
        }
        while let Some(f) = l.poll_phone_audio(now) {
            out.extend_from_slice(&f[..]);
        }
    }
    (out, l)
}

#[test]
fn phone_tone_comes_out_at_48k_with_its_power() {
    let pcm = tone(1000.0, 8_000.0, 8_000.0, FRAME_8K * 50);
    let pkts: Vec<Option<Vec<u8>>> = phone_packets(G711::Pcmu, &pcm, 65_500, u32::MAX - 500)
        .into_iter()
        .map(Some)
        .collect();
    let (out, l) = play(&pkts, 50);
    // Playout starts once 40 ms are buffered: one frame per slot from the second slot on.
    assert_eq!(out.len(), FRAME_48K * 49);
    let settled = &out[FRAME_48K * 5..];
    let p = power_at(settled, 1000.0, 48_000.0);
    let expect = 8_000.0f64.powi(2) / 2.0;
    assert!(db(p / expect).abs() < 1.0, "{} dB", db(p / expect));
    assert!(db(p / mean_square(settled)) > -0.2);
    let s = l.rx_stats();
    assert_eq!((s.packets, s.jitter.concealed, s.jitter.late), (50, 0, 0));
}

#[test]
fn reordered_and_lost_packets() {
    let pcm = tone(1000.0, 8_000.0, 8_000.0, FRAME_8K * 60);
    let mut pkts: Vec<Option<Vec<u8>>> = phone_packets(G711::Pcmu, &pcm, 100, 0)
        .into_iter()
        .map(Some)
        .collect();
    // Swap neighbours (arrive 20 ms late / early) and lose two packets.
    for i in [10, 20, 30] {
        pkts.swap(i, i + 1);
    }
    pkts[40] = None;
    pkts[50] = None;
    let (out, l) = play(&pkts, 60);
    let s = l.rx_stats();
    assert_eq!(s.jitter.late, 0, "{s:?}");
    assert_eq!(s.jitter.concealed, 2, "{s:?}");
    assert_eq!(out.len(), FRAME_48K * 59);
    // The tone is still there at nearly full power (two faded frames out of 55).
    let p = power_at(&out[FRAME_48K * 5..], 1000.0, 48_000.0);
    assert!(db(p / (8_000.0f64.powi(2) / 2.0)) > -1.0);
}

#[test]
fn dtmf_both_ways_between_two_legs() {
    let t0 = Instant::now();
    let mut a = leg(G711::Pcma, 0xA, t0);
    let mut b = leg(G711::Pcma, 0xB, t0);
    for d in "12#".chars() {
        a.send_dtmf(d, t0).unwrap();
    }
    b.send_dtmf('*', t0).unwrap();
    b.send_dtmf('D', t0).unwrap();
    assert_eq!(a.send_dtmf('x', t0), Err(DtmfError::InvalidDigit('x')));
    let (mut got_a, mut got_b) = (String::new(), String::new());
    let mut lost_first = false;
    for k in 0..50 {
        let now = slot(t0, k);
        while let Some(d) = a.poll_transmit(now) {
            // Lose the very first event packet of the '1': the digit must still arrive once.
            let p = rtp::parse(&d).unwrap();
            if p.header.payload_type == EVENT_PT && !lost_first {
                lost_first = true;
                continue;
            }
            b.on_rtp(&d, now);
        }
        while let Some(d) = b.poll_transmit(now) {
            a.on_rtp(&d, now);
        }
        for (leg, got) in [(&mut a, &mut got_a), (&mut b, &mut got_b)] {
            while let Some(e) = leg.poll_event() {
                match e {
                    LegEvent::Dtmf(c) => got.push(c),
                    LegEvent::MediaTimeout => panic!("unexpected timeout"),
                }
            }
        }
    }
    assert_eq!(got_b, "12#");
    assert_eq!(got_a, "*D");
}

#[test]
fn dtmf_replaces_media_and_keeps_the_clock() {
    let t0 = Instant::now();
    let mut l = leg(G711::Pcmu, 3, t0);
    let ts0 = l.config().initial_timestamp;
    let seq0 = l.config().initial_sequence;
    let frame = [1000i16; FRAME_48K];
    l.poll_transmit(t0).unwrap(); // slot 0: media
    l.send_dtmf('9', t0).unwrap();
    let mut pkts = Vec::new();
    for k in 1..14 {
        l.push_call_audio(&frame);
        pkts.push(l.poll_transmit(slot(t0, k)).unwrap());
    }
    let parsed: Vec<_> = pkts.iter().map(|d| rtp::parse(d).unwrap()).collect();
    for (i, p) in parsed.iter().enumerate() {
        assert_eq!(p.header.sequence, seq0.wrapping_add(i as u16 + 1));
    }
    // Slots 1-7: the digit (5 tone packets + 2 repeated ends), all at slot 1's timestamp.
    for p in &parsed[..7] {
        assert_eq!(p.header.payload_type, EVENT_PT);
        assert_eq!(p.header.timestamp, ts0 + 160);
        assert_eq!(TelephoneEvent::parse(p.payload).unwrap().event, 9);
    }
    assert!(parsed[0].header.marker);
    // Then media again, at the timestamps of its slots, without marker.
    for (i, p) in parsed.iter().enumerate().skip(7) {
        assert_eq!(p.header.payload_type, 0);
        assert_eq!(p.header.timestamp, ts0 + 160 * (i as u32 + 1));
        assert!(!p.header.marker);
    }
    // The pushed audio during the digit was dropped, not queued behind it.
    assert!(l.tx_queue.len() <= 1);
}

#[test]
fn media_timeout_is_reported_once_and_rearmed() {
    let t0 = Instant::now();
    let mut cfg = LegConfig::new(G711::Pcmu, None, 9);
    cfg.media_timeout = Duration::from_secs(2);
    let mut l = PhoneLegMedia::new(cfg, t0).unwrap();
    assert_eq!(l.poll_timeout(), t0);
    let _ = l.poll_transmit(t0);
    let _ = l.poll_phone_audio(t0);
    assert_eq!(l.poll_timeout(), t0 + PTIME);
    let pkts = phone_packets(G711::Pcmu, &[0; FRAME_8K * 2], 0, 0);
    l.on_rtp(&pkts[0], t0 + Duration::from_secs(1));
    let _ = l.poll_transmit(t0 + Duration::from_millis(2900));
    assert_eq!(l.poll_event(), None);
    let _ = l.poll_transmit(t0 + Duration::from_secs(3));
    assert_eq!(l.poll_event(), Some(LegEvent::MediaTimeout));
    let _ = l.poll_phone_audio(t0 + Duration::from_secs(10));
    assert_eq!(l.poll_event(), None);
    // Garbage does not count as media; RTP re-arms the timeout.
    l.on_rtp(&[1, 2, 3], t0 + Duration::from_secs(11));
    l.on_rtp(&pkts[1], t0 + Duration::from_secs(11));
    assert_eq!(l.rx_stats().invalid, 1);
    let _ = l.poll_transmit(t0 + Duration::from_secs(13));
    assert_eq!(l.poll_event(), Some(LegEvent::MediaTimeout));
}

#[test]
fn other_payload_types_and_odd_sizes_are_tolerated() {
    let t0 = Instant::now();
    let mut l = leg(G711::Pcmu, 1, t0);
    let cn = RtpHeader {
        marker: false,
        payload_type: 13,
        sequence: 1,
        timestamp: 0,
        ssrc: 5,
    };
    l.on_rtp(&cn.to_datagram(&[40]), t0);
    let short = RtpHeader {
        payload_type: 0,
        ..cn
    };
    l.on_rtp(&short.to_datagram(&[0xFF; 80]), t0);
    l.on_rtp(&short.to_datagram(&[0xFF; 4000]), t0);
    let s = l.rx_stats();
    assert_eq!((s.ignored, s.odd_size, s.packets), (1, 2, 3));
}

#[test]
fn the_8k_paths_skip_the_resamplers() {
    let t0 = Instant::now();
    let mut l = leg(G711::Pcmu, 5, t0);
    let pcm = tone(1000.0, 8_000.0, 8_000.0, FRAME_8K * 10);
    let pkts = phone_packets(G711::Pcmu, &pcm, 0, 0);
    let mut heard = Vec::new();
    for (k, d) in pkts.iter().enumerate() {
        let now = slot(t0, k as u32);
        l.on_rtp(d, now);
        heard.extend(l.poll_phone_audio_8k(now));
        // What the phone hears is what was pushed, G.711-coded, without resampler delay.
        let f: &Frame8k = pcm[k * FRAME_8K..(k + 1) * FRAME_8K].try_into().unwrap();
        l.push_call_audio_8k(f);
        let d = l.poll_transmit(now).unwrap();
        let p = rtp::parse(&d).unwrap();
        let mut expect = vec![0u8; FRAME_8K];
        G711::Pcmu.encode(f, &mut expect);
        assert_eq!(p.payload, &expect[..]);
    }
    // Playout starts at the jitter target; each frame is the G.711-decoded input.
    assert_eq!(heard.len(), 9);
    for (i, f) in heard.iter().enumerate() {
        let mut expect = [0i16; FRAME_8K];
        let mut codes = [0u8; FRAME_8K];
        G711::Pcmu.encode(&pcm[i * FRAME_8K..(i + 1) * FRAME_8K], &mut codes);
        G711::Pcmu.decode(&codes, &mut expect);
        assert_eq!(f, &expect);
    }
}

#[test]
fn srtp_leg_encrypts_what_it_sends_and_refuses_plain_rtp() {
    use super::super::srtp::{SrtpKey, SrtpKeys, SrtpSession, SrtpSuite};
    let (ours, theirs) = (SrtpKey::generate().unwrap(), SrtpKey::generate().unwrap());
    let suite = SrtpSuite::AesCm128HmacSha1_80;
    let t0 = Instant::now();
    let mut cfg = LegConfig::new(G711::Pcmu, Some(EVENT_PT), 7);
    cfg.srtp = Some(SrtpKeys {
        suite,
        local: ours,
        remote: theirs,
    });
    let mut l = PhoneLegMedia::new(cfg, t0).unwrap();
    let mut phone = SrtpSession::new(&SrtpKeys {
        suite,
        local: theirs,
        remote: ours,
    })
    .unwrap();
    // Towards the phone: SRTP (10-byte tag), which the phone's context opens.
    let pcm = tone(440.0, 48_000.0, 10_000.0, FRAME_48K);
    l.push_call_audio(pcm[..].try_into().unwrap());
    let sealed = l.poll_transmit(t0).unwrap();
    assert_eq!(sealed.len(), 12 + FRAME_8K + 10);
    let clear = phone
        .unprotect(&sealed)
        .expect("the phone authenticates our packet");
    assert_eq!(rtp::parse(&clear).unwrap().header.ssrc, 7);
    // From the phone: SRTP is decoded, plain RTP is dropped and counted.
    let tone8k = tone(440.0, 8_000.0, 10_000.0, FRAME_8K * 10);
    let packets = phone_packets(G711::Pcmu, &tone8k, 100, 0);
    for (k, p) in packets.iter().enumerate() {
        let sealed = phone.protect(p).unwrap();
        l.on_rtp(&sealed, slot(t0, k as u32));
        l.on_rtp(p, slot(t0, k as u32));
        l.on_rtp(&sealed, slot(t0, k as u32)); // a replay
    }
    let rx = l.rx_stats();
    assert_eq!(rx.packets, 10);
    assert_eq!(rx.unauthenticated, 20);
    let mut got = 0;
    for k in 0..20 {
        if l.poll_phone_audio_8k(slot(t0, k)).is_some() {
            got += 1;
        }
    }
    assert!(got >= 8, "{got} frames played");
}
