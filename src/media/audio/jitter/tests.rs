//! Jitter buffer tests on synthetic time.

use super::*;

const F: Duration = Duration::from_millis(20);
/// The longest a tick waits for a late frame in these tests.
const W: Duration = LATE_WAIT_MIXED;

fn payload(p: &Playout) -> Option<u8> {
    match p {
        Playout::Packet { payload, .. } => Some(payload[0]),
        _ => None,
    }
}

#[test]
fn starts_after_one_frame_and_plays_in_order() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    assert_eq!(jb.pop(t0, W), Playout::Silence);
    assert_eq!(jb.insert(10, 0, &[10], t0), InsertOutcome::Started);
    assert_eq!(payload(&jb.pop(t0 + INITIAL_MARGIN, W)), Some(10));
    assert_eq!(jb.insert(11, 960, &[11], t0 + F), InsertOutcome::Buffered);
    assert_eq!(payload(&jb.pop(t0 + F + INITIAL_MARGIN, W)), Some(11));
}

#[test]
fn reorders_and_drops_duplicates() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    jb.insert(1, 0, &[1], t0);
    jb.insert(3, 0, &[3], t0);
    jb.insert(2, 0, &[2], t0);
    assert_eq!(jb.insert(3, 0, &[3], t0), InsertOutcome::Duplicate);
    let got: Vec<_> = (0..3).map(|_| payload(&jb.pop(t0, W)).unwrap()).collect();
    assert_eq!(got, vec![1, 2, 3]);
    assert_eq!(jb.insert(2, 0, &[2], t0), InsertOutcome::Late);
    assert_eq!(jb.stats().duplicates, 1);
    assert_eq!(jb.stats().late, 1);
}

#[test]
fn loss_is_concealed_with_fec_from_the_next_packet() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    jb.insert(100, 0, &[100], t0);
    assert_eq!(payload(&jb.pop(t0, W)), Some(100));
    jb.insert(102, 0, &[102], t0 + 2 * F); // 101 lost
    assert_eq!(
        jb.pop(t0 + 2 * F, W),
        Playout::Conceal {
            fec: Some(vec![102])
        }
    );
    assert_eq!(payload(&jb.pop(t0 + 3 * F, W)), Some(102));
    assert_eq!(jb.stats().lost, 1);
    assert_eq!(jb.margin(), INITIAL_MARGIN, "loss must not add delay");
}

#[test]
fn sequence_wraps_around() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    let seqs = [65534u16, 65535, 0, 1];
    for s in seqs {
        jb.insert(s, 0, &[s as u8], t0);
    }
    let got: Vec<_> = (0..4).map(|_| payload(&jb.pop(t0, W)).unwrap()).collect();
    assert_eq!(got, vec![254, 255, 0, 1]);
}

#[test]
fn big_jump_is_a_new_stream() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    jb.insert(5000, 0, &[1], t0);
    assert_eq!(payload(&jb.pop(t0, W)), Some(1));
    assert_eq!(jb.insert(20, 0, &[2], t0 + F), InsertOutcome::Started);
    assert_eq!(payload(&jb.pop(t0 + F, W)), Some(2));
    assert_eq!(jb.stats().restarts, 1);
}

#[test]
fn a_late_frame_is_waited_for_not_concealed() {
    // The echo of a steady tone: one frame comes 3 ms after its tick (scheduling jitter).
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    let tick = |k: u32| t0 + F * k + INITIAL_MARGIN;
    for k in 0..3u16 {
        let at = t0 + F * u32::from(k);
        jb.insert(k, 960 * u32::from(k), &[k as u8], at);
        assert_eq!(payload(&jb.pop(tick(k.into()), W)), Some(k as u8));
    }
    let until = tick(3) + W;
    assert_eq!(jb.pop(tick(3), W), Playout::Wait { until });
    assert!(jb.is_playing() && jb.is_waiting());
    // A spurious wake-up before the frame: still waiting, same deadline.
    let early = tick(3) + Duration::from_millis(1);
    assert_eq!(jb.pop(early, W), Playout::Wait { until });
    let late = tick(3) + Duration::from_millis(3);
    assert_eq!(jb.insert(3, 3 * 960, &[3], late), InsertOutcome::Awaited);
    assert!(jb.margin() > INITIAL_MARGIN, "lateness is learnt");
    assert_eq!(payload(&jb.pop(late, W)), Some(3));
    assert!(!jb.is_waiting());
    // The following ticks align to the late arrival: frames on time play on.
    let margin = jb.margin();
    let tick = |k: u32| late + margin + F * (k - 3);
    for k in 4..8u16 {
        jb.insert(
            k,
            960 * u32::from(k),
            &[k as u8],
            late + F * u32::from(k - 3),
        );
        assert_eq!(payload(&jb.pop(tick(k.into()), W)), Some(k as u8));
    }
    let s = jb.stats();
    assert_eq!(
        (s.waited, s.underruns, s.lost, s.late),
        (1, 0, 0, 0),
        "{s:?}"
    );
}

#[test]
fn a_stall_of_several_frames_is_waited_out_by_a_stream_playing_alone() {
    // The sender's path stalls for 50 ms, then three frames arrive together.
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    jb.insert(0, 0, &[0], t0);
    assert_eq!(payload(&jb.pop(t0, LATE_WAIT_ALONE)), Some(0));
    let until = t0 + F + LATE_WAIT_ALONE;
    assert_eq!(jb.pop(t0 + F, LATE_WAIT_ALONE), Playout::Wait { until });
    let at = t0 + F + Duration::from_millis(50);
    assert_eq!(jb.insert(1, 960, &[1], at), InsertOutcome::Awaited);
    assert_eq!(jb.insert(2, 1920, &[2], at), InsertOutcome::Buffered);
    assert_eq!(jb.insert(3, 2880, &[3], at), InsertOutcome::Buffered);
    // The held tick plays the first, the ticks it held up catch up with the others.
    let played: Vec<_> = (0..3)
        .map(|_| payload(&jb.pop(at, LATE_WAIT_ALONE)))
        .collect();
    assert_eq!(played, vec![Some(1), Some(2), Some(3)]);
    let s = jb.stats();
    assert_eq!((s.waited, s.underruns, s.lost), (1, 0, 0), "{s:?}");
}

#[test]
fn a_frame_lost_while_waiting_is_concealed_from_the_next_ones_fec() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    jb.insert(1, 0, &[1], t0);
    assert_eq!(payload(&jb.pop(t0, W)), Some(1));
    let until = t0 + F + W;
    assert_eq!(jb.pop(t0 + F, W), Playout::Wait { until });
    // Packet 2 never comes; 3 does, within the wait: 2 was lost, not late.
    let at = t0 + F + Duration::from_millis(10);
    assert_eq!(jb.insert(3, 1920, &[3], at), InsertOutcome::Buffered);
    assert_eq!(jb.pop(at, W), Playout::Conceal { fec: Some(vec![3]) });
    assert_eq!(payload(&jb.pop(t0 + 2 * F, W)), Some(3));
    let s = jb.stats();
    assert_eq!((s.lost, s.waited, s.underruns), (1, 0, 0), "{s:?}");
    assert_eq!(jb.margin(), INITIAL_MARGIN, "loss must not add delay");
}

#[test]
fn underrun_conceals_a_few_frames_then_silence_and_late_packet_raises_margin() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    jb.insert(1, 0, &[1], t0);
    assert_eq!(payload(&jb.pop(t0, W)), Some(1));
    // Packet 2 misses its tick and the wait.
    let until = t0 + F + W;
    assert_eq!(jb.pop(t0 + F, W), Playout::Wait { until });
    assert_eq!(jb.pop(until, W), Playout::Conceal { fec: None });
    assert_eq!(
        jb.insert(2, 0, &[2], until + Duration::from_millis(1)),
        InsertOutcome::Started
    );
    assert!(jb.margin() > INITIAL_MARGIN);
    assert_eq!(payload(&jb.pop(t0 + 2 * F, W)), Some(2));
    // Stream stops: after the wait, a few concealed frames, then silence.
    let mut outs = Vec::new();
    for i in 0..6 {
        let tick = t0 + (3 + i) * F;
        match jb.pop(tick, W) {
            Playout::Wait { until } => outs.push(jb.pop(until, W)),
            p => outs.push(p),
        }
    }
    let concealed = outs
        .iter()
        .filter(|p| matches!(p, Playout::Conceal { .. }))
        .count();
    assert_eq!(concealed as u32, MAX_CONCEALED_FRAMES);
    assert_eq!(outs[5], Playout::Silence);
    assert_eq!(jb.stats().underruns, 2);
}

#[test]
fn a_lasting_spare_frame_is_trimmed_and_margin_decays_when_calm() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    // Make it adapt once: a late packet.
    jb.insert(0, 0, &[0], t0);
    jb.pop(t0, W);
    jb.pop(t0 + F, W);
    jb.insert(1, 0, &[1], t0 + F);
    let raised = jb.margin();
    assert!(raised > INITIAL_MARGIN);
    // A burst leaves one spare frame: played in order, then trimmed after a while.
    let mut seq = 1u16;
    jb.insert(2, 0, &[2], t0 + F);
    let mut played = Vec::new();
    // What the decoder sees: each played frame, then the one trimmed after it.
    let mut decoded = Vec::new();
    for i in 0..(CALM_TICKS_BEFORE_DECAY as u16 + 5) {
        let now = t0 + F * u32::from(i + 2);
        if let Playout::Packet {
            payload, skipped, ..
        } = jb.pop(now, W)
        {
            played.push(payload[0]);
            decoded.push(payload[0]);
            decoded.extend(skipped.map(|s| s[0]));
        }
        seq += 1;
        jb.insert(seq + 1, 0, &[(seq + 1) as u8], now);
    }
    assert_eq!(&played[..3], &[1, 2, 3]);
    assert_eq!(jb.stats().overflow_dropped, 1, "one spare frame trimmed");
    assert_eq!(decoded.len(), played.len() + 1);
    assert!(
        decoded.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "the trimmed frame still reaches the decoder: {decoded:?}"
    );
    assert_eq!(jb.margin(), raised - MARGIN_DECAY_STEP);
    assert_eq!(jb.take_phase_advance(), MARGIN_DECAY_STEP);
    assert_eq!(jb.take_phase_advance(), Duration::ZERO);
}

#[test]
fn a_burst_is_trimmed_at_once_but_every_frame_reaches_the_decoder() {
    // After a hiccup, six frames arrive together: latency is cut at once.
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    jb.insert(1, 0, &[1], t0);
    assert_eq!(payload(&jb.pop(t0, W)), Some(1));
    for s in 2..8u16 {
        jb.insert(s, 960 * u32::from(s - 1), &[s as u8], t0 + 5 * F);
    }
    assert_eq!(
        jb.pop(t0 + 5 * F, W),
        Playout::Packet {
            payload: vec![2],
            arrival: t0 + 5 * F,
            skipped: Some(vec![3])
        }
    );
    assert_eq!(payload(&jb.pop(t0 + 6 * F, W)), Some(4));
    assert_eq!(jb.stats().overflow_dropped, 1);
}

#[test]
fn a_dtx_pause_is_neither_loss_nor_lateness() {
    // A muted sender: one packet per 400 ms, numbered on, its RTP clock running.
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new();
    let at = |k: u32| t0 + F * k;
    assert_eq!(jb.insert(1, 0, &[1], at(0)), InsertOutcome::Started);
    assert_eq!(payload(&jb.pop(at(0), W)), Some(1));
    for n in 1..10u16 {
        let k = u32::from(n) * 20;
        // The ticks in between run dry: concealment, then silence.
        for i in k - 19..k {
            assert!(!matches!(jb.pop(at(i), W), Playout::Packet { .. }));
        }
        let ts = 960 * k;
        assert_eq!(
            jb.insert(1 + n, ts, &[n as u8], at(k) + Duration::from_millis(1)),
            InsertOutcome::Started,
            "each comfort packet restarts playout"
        );
        assert_eq!(payload(&jb.pop(at(k) + INITIAL_MARGIN, W)), Some(n as u8));
    }
    let s = jb.stats();
    assert_eq!((s.lost, s.late), (0, 0), "{s:?}");
    assert_eq!(s.pauses, 9);
    assert_eq!(jb.margin(), INITIAL_MARGIN, "pauses must not add delay");
    // Unmuted: contiguous frames play on; a truly late one still raises the margin.
    let k0 = 200;
    let ts0 = 960 * k0;
    assert_eq!(jb.insert(11, ts0, &[11], at(k0)), InsertOutcome::Started);
    assert_eq!(payload(&jb.pop(at(k0), W)), Some(11));
    assert!(matches!(jb.pop(at(k0 + 1), W), Playout::Wait { .. }));
    assert_eq!(
        jb.insert(12, ts0 + 960, &[12], at(k0 + 1) + Duration::from_millis(3)),
        InsertOutcome::Awaited
    );
    assert!(jb.margin() > INITIAL_MARGIN, "late packet adapts");
}

#[test]
fn depth_is_capped_by_dropping_the_oldest() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::with_max_frames(4);
    for s in 0..8u16 {
        jb.insert(s, 0, &[s as u8], t0);
    }
    assert_eq!(jb.len(), 4);
    assert_eq!(payload(&jb.pop(t0, W)), Some(4));
    assert!(jb.stats().overflow_dropped >= 4);
}
