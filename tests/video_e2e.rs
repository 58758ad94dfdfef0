//! End-to-end video through the real service and SFU: a participant sends the virtual
//! camera's test pattern (H.264 over WebRTC), others subscribe and read the frame counters
//! back from the decoded pictures; availability events, stop, source switch, three parties
//! rendering each other, the 6-stream limit, and the echo bot showing your own video.

mod common;

use acscalling::client::*;
use acscalling::protocol::{CallState, VideoStreamKind};
use common::party::Party;
use common::video::{CounterReader, PatternCamera};
use common::{wait_until, Service};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// A party whose calls join muted (a 440 Hz tone at 0.3 when unmuted, a 2 s speaker).
fn party(svc: &Service, name: &str) -> Party {
    common::video::video_party(svc, name)
}

/// The camera stream of participant `who` in `call`, once it is there.
fn stream_of(call: &Call, who: &str) -> RemoteVideoStream {
    common::video::stream_of(call, who, VideoStreamKind::Video)
}

/// Frames per second with strictly increasing counters over `window`.
fn measured_fps(r: &CounterReader, window: Duration) -> f64 {
    std::thread::sleep(window);
    let got = r.recent(window);
    assert!(
        got.windows(2).all(|w| w[1].0 > w[0].0),
        "counters increase: {got:?}"
    );
    got.len() as f64 / window.as_secs_f64()
}

fn group_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[test]
fn camera_frames_arrive_with_increasing_counters_and_follow_stop_and_switch() {
    let svc = Service::start();
    let (a, b) = (party(&svc, "A"), party(&svc, "B"));
    let g = group_id();
    let ca = a.join_muted(&g);
    let cb = b.join_muted(&g);

    let cam = PatternCamera::start(0, 640, 360, 30);
    ca.start_video_from(VideoStreamKind::Video, cam.bus.clone(), 30.0)
        .unwrap();
    assert!(ca.is_sending_video(VideoStreamKind::Video));
    assert!(wait_until(T, || b.saw_video(
        &a.id,
        VideoStreamKind::Video,
        true
    )));
    let stream = stream_of(&cb, &a.id);
    let reader = CounterReader::on(&stream.frames());
    stream.subscribe().unwrap();
    assert!(stream.is_subscribed());
    assert!(
        wait_until(T, || reader.count() >= 10),
        "first frames: {:?}",
        stream.stats()
    );
    let fps = measured_fps(&reader, Duration::from_secs(2));
    let recent = reader.recent(Duration::from_secs(1));
    assert!(recent.iter().all(|x| (x.1, x.2) == (640, 360)));
    assert!(fps >= 25.0, "640x360 at {fps:.1} fps: {:?}", stream.stats());
    let sent = ca.video_send_stats(VideoStreamKind::Video).unwrap();
    assert!(sent.keyframes >= 1 && sent.frames_encoded > 40, "{sent:?}");

    // Switch the source: the new pattern's counters start at 1,000,000 at 320x180.
    let cam2 = PatternCamera::start(1_000_000, 320, 180, 30);
    ca.start_video_from(VideoStreamKind::Video, cam2.bus.clone(), 30.0)
        .unwrap();
    drop(cam);
    assert!(
        wait_until(T, || reader
            .recent(Duration::from_millis(300))
            .iter()
            .any(|x| x.0 >= 1_000_000 && (x.1, x.2) == (320, 180))),
        "B sees the new source"
    );

    // Stop: B sees the stream become unavailable and loses its subscription.
    ca.stop_video(VideoStreamKind::Video).unwrap();
    assert!(wait_until(T, || b.saw_video(
        &a.id,
        VideoStreamKind::Video,
        false
    )));
    assert!(wait_until(T, || !stream.is_available() && !stream.is_subscribed()));
    let n = reader.count();
    std::thread::sleep(Duration::from_millis(500));
    assert!(reader.count() <= n + 1, "no frames after stop");
    // Subscribing to an unavailable stream is refused.
    assert!(stream.subscribe().is_err());
    ca.hang_up(false).unwrap();
    cb.hang_up(false).unwrap();
}

#[test]
fn three_parties_each_render_the_other_two() {
    let svc = Service::start();
    let parties: Vec<Party> = ["P0", "P1", "P2"].iter().map(|n| party(&svc, n)).collect();
    let g = group_id();
    let calls: Vec<Call> = parties.iter().map(|p| p.join_muted(&g)).collect();
    let cams: Vec<PatternCamera> = (0..3)
        .map(|i| PatternCamera::start(i * 100_000, 320, 180, 20))
        .collect();
    for (c, cam) in calls.iter().zip(&cams) {
        c.start_video_from(VideoStreamKind::Video, cam.bus.clone(), 20.0)
            .unwrap();
    }
    let mut readers = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        for (j, p) in parties.iter().enumerate() {
            if i == j {
                continue;
            }
            let s = stream_of(c, &p.id);
            let r = CounterReader::on(&s.frames());
            s.subscribe().unwrap();
            readers.push((i, j, r));
        }
    }
    for (i, j, r) in &readers {
        let base = *j as u32 * 100_000;
        assert!(
            wait_until(T, || r
                .recent(Duration::from_millis(500))
                .iter()
                .filter(|x| x.0 >= base && x.0 < base + 100_000)
                .count()
                >= 3),
            "P{i} renders P{j}"
        );
    }
    for c in &calls {
        c.hang_up(false).unwrap();
    }
}

#[test]
fn a_seventh_video_subscription_is_refused() {
    let svc = Service::start();
    let g = group_id();
    let viewer = party(&svc, "viewer");
    let cv = viewer.join_muted(&g);
    let senders: Vec<Party> = (0..7).map(|i| party(&svc, &format!("S{i}"))).collect();
    let calls: Vec<Call> = senders.iter().map(|p| p.join_muted(&g)).collect();
    let cams: Vec<PatternCamera> = (0..7)
        .map(|i| PatternCamera::start(i * 1000, 160, 96, 5))
        .collect();
    for (c, cam) in calls.iter().zip(&cams) {
        c.start_video_from(VideoStreamKind::Video, cam.bus.clone(), 5.0)
            .unwrap();
    }
    let streams: Vec<RemoteVideoStream> = senders.iter().map(|p| stream_of(&cv, &p.id)).collect();
    for s in &streams[..6] {
        s.subscribe().unwrap();
    }
    match streams[6].subscribe() {
        Err(acscalling::error::Error::LimitReached(m)) => {
            assert!(m.contains("6"), "{m}")
        }
        other => panic!("7th subscription: {other:?}"),
    }
    assert!(!streams[6].is_subscribed());
    // Freeing a slot lets it in, and its frames arrive.
    streams[0].unsubscribe().unwrap();
    let r = CounterReader::on(&streams[6].frames());
    streams[6].subscribe().unwrap();
    assert!(wait_until(T, || r.count() >= 2), "{:?}", streams[6].stats());
    for c in calls.iter().chain([&cv]) {
        c.hang_up(false).unwrap();
    }
}

#[test]
fn the_echo_bot_shows_your_own_video_back() {
    let svc = Service::start();
    let a = party(&svc, "A");
    let call = a
        .agent
        .start_call(
            &["8:echo123".to_string()],
            CallOptions {
                microphone: Some(a.mic.clone()),
                speaker: Some(a.speaker.clone()),
                start_muted: false,
            },
        )
        .unwrap();
    assert!(wait_until(T, || call.state() == CallState::Connected));
    let cam = PatternCamera::start(5_000, 320, 180, 15);
    call.start_video_from(VideoStreamKind::Video, cam.bus.clone(), 15.0)
        .unwrap();
    let s = stream_of(&call, "8:echo123");
    let r = CounterReader::on(&s.frames());
    s.subscribe().unwrap();
    assert!(
        wait_until(T, || r
            .recent(Duration::from_secs(1))
            .iter()
            .filter(|x| x.0 >= 5_000)
            .count()
            >= 5),
        "own video echoed: {:?}",
        s.stats()
    );
    call.hang_up(false).unwrap();
}

#[test]
fn the_sdk_virtual_camera_renders_at_the_receiver_and_follows_a_switch_to_pushed_frames() {
    use acscalling::media::video::{
        read_counter, PixelFormat, PlaneFrame, ScalingMode, VideoRenderer, ViewConfig,
        VirtualCameraConfig,
    };
    let svc = Service::start();
    let (a, b) = (party(&svc, "A"), party(&svc, "B"));
    let g = group_id();
    let ca = a.join_muted(&g);
    let cb = b.join_muted(&g);
    let local = LocalVideoStream::virtual_camera(VirtualCameraConfig {
        width: 640,
        height: 360,
        fps: 30,
    })
    .unwrap();
    ca.start_video(&local).unwrap();
    assert!(ca.local_video_stream(VideoStreamKind::Video).is_some());
    let remote = stream_of(&cb, &a.id);
    remote.subscribe().unwrap();
    // B renders A's camera into a 320x180 RGBA view and pulls frames like a render loop.
    let renderer = VideoRenderer::new(remote.frames());
    let view = renderer
        .create_view(
            ViewConfig {
                width: 320,
                height: 180,
                format: PixelFormat::Rgba,
                scaling_mode: ScalingMode::Fit,
                mirrored: false,
            },
            None,
        )
        .unwrap();
    let mut counters = Vec::new();
    assert!(
        wait_until(T, || {
            if let Some(f) = view.take_latest() {
                assert_eq!((f.width, f.height), (320, 180));
                counters.extend(read_counter(&f.to_i420().unwrap()));
            }
            counters.len() >= 20
        }),
        "rendered counters: {counters:?} {:?}",
        remote.stats()
    );
    assert!(counters.windows(2).all(|w| w[1] > w[0]), "{counters:?}");

    // Switch A's stream to pushed frames (a game engine's render): B sees those.
    local.switch_to_pushed();
    let pushed = std::thread::spawn(move || {
        for n in 0..90u32 {
            let f = acscalling::media::video::test_pattern(777_000 + n, 480, 270).unwrap();
            let mut rgba = vec![0u8; 480 * 270 * 4];
            f.export(PixelFormat::Rgba, &mut rgba, 480 * 4).unwrap();
            local
                .push_frame(&PlaneFrame {
                    format: PixelFormat::Rgba,
                    width: 480,
                    height: 270,
                    planes: [&rgba, &[], &[]],
                    strides: [480 * 4, 0, 0],
                })
                .unwrap();
            std::thread::sleep(Duration::from_millis(33));
        }
    });
    assert!(
        wait_until(T, || view
            .take_latest()
            .and_then(|f| read_counter(&f.to_i420().unwrap()))
            .is_some_and(|c| c >= 777_000)),
        "B renders the pushed frames"
    );
    pushed.join().unwrap();
    ca.hang_up(false).unwrap();
    cb.hang_up(false).unwrap();
}

/// A sends 640x360 at 30 fps of its pattern camera to B, who subscribed, through a service
/// that drops `loss_percent` of the media it receives.
struct LossyVideoCall {
    ca: Call,
    cb: Call,
    stream: RemoteVideoStream,
    _cam: PatternCamera,
    _parties: (Party, Party),
    _svc: Service,
}

impl LossyVideoCall {
    fn start(loss_percent: u32) -> Self {
        let svc = Service::start_with(&["--simulate-loss-percent", &loss_percent.to_string()]);
        let (a, b) = (party(&svc, "A"), party(&svc, "B"));
        let g = group_id();
        let ca = a.join_muted(&g);
        let cb = b.join_muted(&g);
        let cam = PatternCamera::start(0, 640, 360, 30);
        ca.start_video_from(VideoStreamKind::Video, cam.bus.clone(), 30.0)
            .unwrap();
        let stream = stream_of(&cb, &a.id);
        stream.subscribe().unwrap();
        Self {
            ca,
            cb,
            stream,
            _cam: cam,
            _parties: (a, b),
            _svc: svc,
        }
    }

    fn hang_up(&self) {
        self.ca.hang_up(false).unwrap();
        self.cb.hang_up(false).unwrap();
    }
}

#[test]
fn under_packet_loss_nack_and_keyframes_keep_the_video_going_and_reports_reach_the_sender() {
    // The SFU drops 15% of what it receives. str0m NACKs the gaps, the sender retransmits on
    // RTX, the SFU asks for a keyframe when a frame stays broken, and the SFU's reception
    // reports (RTCP, the residual loss after repair) reach the sender's rate controller.
    let call = LossyVideoCall::start(15);
    let (ca, stream) = (&call.ca, &call.stream);
    let reader = CounterReader::on(&stream.frames());
    assert!(
        wait_until(T, || ca
            .video_send_stats(VideoStreamKind::Video)
            .is_some_and(|s| s.loss_reports >= 2)),
        "reception reports reach the sender: {:?}",
        ca.video_send_stats(VideoStreamKind::Video)
    );
    assert!(
        wait_until(T, || reader.count() >= 30),
        "{:?}",
        stream.stats()
    );
    let fps = measured_fps(&reader, Duration::from_secs(3));
    let sent = ca.video_send_stats(VideoStreamKind::Video).unwrap();
    eprintln!(
        "15% loss: {fps:.1} fps at B, sender {sent:?}, receiver {:?}",
        stream.stats()
    );
    // Without NACK/RTX and keyframe requests the picture freezes (0 fps) at this loss; the
    // rate itself swings with the machine's load (5–20 fps seen under a parallel suite, ~25
    // idle), so the test asserts that the video keeps going and video_bench has figures.
    assert!(fps >= 3.0, "{fps:.1} fps under 15% loss");
    // Without retransmission the residual loss would be ~15% (38/256); NACK/RTX repairs most.
    assert!(
        sent.last_fraction_lost < 26,
        "residual loss {}/256",
        sent.last_fraction_lost
    );
    call.hang_up();
}

#[test]
fn heavy_loss_lowers_the_senders_bitrate_from_the_receivers_feedback() {
    // 40% of the media reaching the SFU is dropped (retransmissions and NACKs too). The
    // sender counts the packets NACKed, reads the loss before repair from them, and its
    // rate controller cuts the target below the resolution's ceiling.
    let call = LossyVideoCall::start(40);
    let ca = &call.ca;
    let stats = || ca.video_send_stats(VideoStreamKind::Video);
    assert!(wait_until(T, || stats().is_some_and(|s| s.frames_encoded > 0)));
    let ceiling = stats().unwrap().bitrate_bps;
    let lowered = wait_until(Duration::from_secs(20), || {
        stats().is_some_and(|s| s.bitrate_bps < ceiling * 3 / 4)
    });
    let s = stats().unwrap();
    eprintln!("40% loss: ceiling {ceiling} bps, sender {s:?}");
    assert!(
        lowered,
        "target stayed at {} of {ceiling} bps: {s:?}",
        s.bitrate_bps
    );
    // The reports say little (NACK/RTX repairs most): the NACKed share drove the cut.
    assert!(s.nacked_packets > 0, "{s:?}");
    assert!(s.last_loss_estimate > 25, "{s:?}");
    call.hang_up();
}
