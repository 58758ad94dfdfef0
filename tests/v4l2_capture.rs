//! Capture from a real V4L2 camera through the public API. It needs the vivid test driver
//! (`modprobe vivid`), whose webcam input shows 75% colour bars, so it is `#[ignore]`d:
//! `scripts/v4l2-vm-test.sh` boots a Debian kernel in QEMU, loads vivid and runs it there
//! with `--ignored`. On a machine with vivid loaded it also runs as
//! `ACS_V4L2_DEVICE=/dev/videoN cargo test --test v4l2_capture -- --ignored --test-threads=1`.
//!
//! It checks that the camera is listed, captures at the requested size and about the
//! requested rate, that the pictures are vivid's colour bars in every raw format, that a
//! second opener is refused as busy, that switching to the virtual camera and back works,
//! that dropping the stream closes the device, and that a camera unplugged mid-stream
//! (vivid's "Disconnect" control) stops the frames without harming the stream.

use acscalling::client::{CallClient, CallClientOptions, LocalVideoStream, VideoSourceKind};
use acscalling::error::Error;
use acscalling::media::camera::{system_cameras, Camera};
use acscalling::media::video::{
    read_counter, BusFrame, CameraConfig, CameraFormat, VideoFrame, VirtualCameraConfig,
};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn device() -> PathBuf {
    std::env::var_os("ACS_V4L2_DEVICE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/dev/video0"))
}

fn vivid_camera() -> Camera {
    let path = device();
    let cams = system_cameras();
    cams.into_iter()
        .find(|c| c.path() == path)
        .unwrap_or_else(|| {
            panic!(
                "{} is not listed among the system's cameras",
                path.display()
            )
        })
}

/// Every frame a subscriber sees: (publish time, frame).
type Seen = Arc<Mutex<Vec<(Instant, Arc<VideoFrame>)>>>;

fn watch(stream: &LocalVideoStream) -> (Seen, acscalling::media::video::BusSubscription) {
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    let sub = stream.bus().subscribe(Arc::new(move |f: &BusFrame| {
        s.lock().push((f.at, Arc::clone(&f.frame)));
    }));
    (seen, sub)
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

/// 75% colour bars (white, yellow, cyan, green, magenta, red, blue, black) in BT.601
/// limited-range Y'CbCr, as vivid's test pattern generator draws them.
const BARS: [(u8, u8, u8); 8] = [
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
    (16, 128, 128),
];

/// The median (Y, U, V) in the middle of each of the 8 vertical bars, over rows 60..90% of
/// the height (vivid writes its text at the top).
fn bar_colours(f: &VideoFrame) -> Vec<(u8, u8, u8)> {
    let (w, h) = (f.width as usize, f.height as usize);
    let cw = f.chroma_width() as usize;
    (0..8)
        .map(|bar| {
            let x = bar * w / 8 + w / 16;
            let mut ys = Vec::new();
            let mut us = Vec::new();
            let mut vs = Vec::new();
            for y in (h * 6 / 10)..(h * 9 / 10) {
                for dx in 0..4 {
                    let x = x - 2 + dx;
                    ys.push(f.y[y * w + x]);
                    us.push(f.u[(y / 2) * cw + x / 2]);
                    vs.push(f.v[(y / 2) * cw + x / 2]);
                }
            }
            let median = |v: &mut Vec<u8>| {
                v.sort_unstable();
                v[v.len() / 2]
            };
            (median(&mut ys), median(&mut us), median(&mut vs))
        })
        .collect()
}

fn assert_colour_bars(f: &VideoFrame, what: &str) {
    let got = bar_colours(f);
    eprintln!("{what}: bars (Y, U, V) {got:?}");
    for (i, (g, want)) in got.iter().zip(BARS).enumerate() {
        let close = |a: u8, b: u8| a.abs_diff(b) <= 12;
        assert!(
            close(g.0, want.0) && close(g.1, want.1) && close(g.2, want.2),
            "{what}: bar {i} is {g:?}, expected about {want:?} (all: {got:?})"
        );
    }
}

/// The rate frames were captured at: from the time between consecutive frames, leaving out
/// the gaps of frames a busy machine made the driver drop (over 1.5 times the median); and
/// on average.
fn rates(frames: &[(Instant, Arc<VideoFrame>)]) -> (f64, f64) {
    let mut gaps: Vec<f64> = frames
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs_f64())
        .collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    let steady: Vec<f64> = gaps.into_iter().filter(|g| *g < 1.5 * median).collect();
    let interval = steady.iter().sum::<f64>() / steady.len() as f64;
    let span = frames[frames.len() - 1].0 - frames[0].0;
    (
        1.0 / interval,
        (frames.len() - 1) as f64 / span.as_secs_f64(),
    )
}

/// Frames of `stream` for `window` after the first one arrives.
fn capture(stream: &LocalVideoStream, window: Duration) -> Vec<(Instant, Arc<VideoFrame>)> {
    let (seen, sub) = watch(stream);
    wait_for("a first frame", Duration::from_secs(10), || {
        !seen.lock().is_empty()
    });
    std::thread::sleep(window);
    drop(sub);
    let frames = seen.lock().clone();
    frames
}

fn config(width: u32, height: u32, fps: u32, format: Option<CameraFormat>) -> CameraConfig {
    CameraConfig {
        width,
        height,
        fps,
        format,
    }
}

#[test]
#[ignore = "needs a vivid V4L2 device: run by scripts/v4l2-vm-test.sh"]
fn vivid_camera_is_listed_captured_switched_and_released() {
    let cam = vivid_camera();
    eprintln!("camera {} '{}'", cam.id(), cam.name());
    assert_eq!(cam.id(), format!("v4l2:{}", device().display()));
    assert!(cam.name().contains("vivid"), "{}", cam.name());
    // The device manager lists it first (then the virtual camera) and selects it.
    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let dm = client.device_manager();
    let listed: Vec<String> = dm.cameras().iter().map(Camera::id).collect();
    assert_eq!(listed.first(), Some(&cam.id()), "{listed:?}");
    assert_eq!(dm.selected_camera().map(|c| c.id()), Some(cam.id()));

    // 640x360 at 30 fps: YUYV, vivid's first format.
    let cfg = config(640, 360, 30, None);
    let stream = LocalVideoStream::from_camera_with(&cam, cfg).unwrap();
    assert_eq!(stream.source(), VideoSourceKind::Camera(cam.id()));
    let window = Duration::from_secs(4);
    let frames = capture(&stream, window);
    assert!(
        frames
            .iter()
            .all(|(_, f)| (f.width, f.height) == (640, 360)),
        "every frame is 640x360"
    );
    // Capture timestamps never go backwards.
    assert!(frames.windows(2).all(|w| w[1].0 >= w[0].0));
    let (fps, average) = rates(&frames);
    eprintln!(
        "RESULT captured {} frames of 640x360 in {:?}: {fps:.1} fps (steady), \
         {average:.1} on average (requested 30)",
        frames.len(),
        frames[frames.len() - 1].0 - frames[0].0
    );
    assert!(frames.len() >= 60, "{} frames in {window:?}", frames.len());
    assert!(
        (27.0..=33.0).contains(&fps),
        "{fps:.1} fps for 30 requested"
    );
    let picture = &frames[frames.len() - 1].1;
    let luma_range = picture.y.iter().max().unwrap() - picture.y.iter().min().unwrap();
    assert!(
        luma_range > 120,
        "not a flat picture: luma range {luma_range}"
    );
    assert_colour_bars(picture, "YUYV 640x360");

    // A second opener while it streams is refused, saying the camera is busy.
    match LocalVideoStream::from_camera(&cam) {
        Err(Error::Device(m)) => assert!(m.contains("busy"), "{m}"),
        other => panic!("a second opener: {other:?}"),
    }
    // The same camera and config again changes nothing; another config reopens it.
    let switches = stream.source_switches();
    stream.switch_to_camera_with(&cam, cfg).unwrap();
    assert_eq!(stream.source_switches(), switches);
    // (640x480 at 15 fps: vivid's text lines cover most of smaller pictures.)
    stream
        .switch_to_camera_with(&cam, config(640, 480, 15, None))
        .unwrap();
    assert_eq!(stream.source_switches(), switches + 1);
    let slow: Vec<_> = capture(&stream, Duration::from_secs(2))
        .into_iter()
        .filter(|(_, f)| (f.width, f.height) == (640, 480))
        .collect();
    let (fps, average) = rates(&slow);
    eprintln!(
        "RESULT reopened at 640x480: {} frames, {fps:.1} fps (steady), {average:.1} \
         on average (requested 15)",
        slow.len()
    );
    assert!(
        (13.5..=16.5).contains(&fps),
        "{fps:.1} fps for 15 requested"
    );
    assert_colour_bars(&slow[slow.len() - 1].1, "YUYV 640x480");

    // To the virtual camera: its pattern arrives on the same bus, and the device is free.
    let virt = VirtualCameraConfig {
        width: 320,
        height: 180,
        fps: 30,
    };
    stream.switch_to_virtual(virt).unwrap();
    let v = capture(&stream, Duration::from_millis(300));
    assert!(
        read_counter(&v[v.len() - 1].1).is_some(),
        "the test pattern"
    );
    {
        let other = LocalVideoStream::from_camera_with(&cam, cfg).unwrap();
        let f = capture(&other, Duration::from_millis(300));
        assert_colour_bars(&f[f.len() - 1].1, "a second stream once the first let go");
    }
    // And back to the camera (the other stream's drop closed it).
    stream.switch_to_camera_with(&cam, cfg).unwrap();
    let back = capture(&stream, Duration::from_millis(500));
    let last = &back[back.len() - 1].1;
    assert_eq!((last.width, last.height), (640, 360));
    assert!(read_counter(last).is_none());
    assert_colour_bars(last, "back to the camera");

    // Dropping the stream stops the thread at once and closes the device.
    let bus = stream.bus();
    let t = Instant::now();
    drop(stream);
    let stop = t.elapsed();
    eprintln!("RESULT dropping the capturing stream took {stop:?}");
    assert!(stop < Duration::from_millis(500), "{stop:?}");
    let n = bus.frames_published();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(bus.frames_published(), n, "no frame after the drop");
    let again = LocalVideoStream::from_camera_with(&cam, cfg).unwrap();
    let f = capture(&again, Duration::from_millis(300));
    assert!(!f.is_empty());
    drop(again);
    client.shutdown();
}

#[test]
#[ignore = "needs a vivid V4L2 device: run by scripts/v4l2-vm-test.sh"]
fn vivid_colour_bars_arrive_the_same_in_every_raw_format() {
    let cam = vivid_camera();
    for format in [
        CameraFormat::Yuyv,
        CameraFormat::Uyvy,
        CameraFormat::Nv12,
        CameraFormat::I420,
        CameraFormat::Yv12,
    ] {
        let s = LocalVideoStream::from_camera_with(&cam, config(640, 360, 30, Some(format)))
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        let frames = capture(&s, Duration::from_millis(300));
        let f = &frames[frames.len() - 1].1;
        assert_eq!((f.width, f.height), (640, 360), "{format:?}");
        assert_colour_bars(f, &format!("{format:?}"));
    }
    // vivid makes no MJPEG: insisting on it is a clear device error naming what it offers.
    match LocalVideoStream::from_camera_with(&cam, config(640, 360, 30, Some(CameraFormat::Mjpeg)))
    {
        Err(Error::Device(m)) => assert!(m.contains("offers: YUYV"), "{m}"),
        other => panic!("MJPEG from vivid: {other:?}"),
    }
}

/// Presses vivid's "Disconnect" button control (VIVID_CID_DISCONNECT): the node acts as an
/// unplugged USB camera (ioctls and opens fail with ENODEV) until every open handle is
/// closed, the returned one included.
fn vivid_disconnect() -> std::fs::File {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct V4l2Control {
        id: u32,
        value: i32,
    }
    const VIDIOC_S_CTRL: u32 = 0xc008_561c; // _IOWR('V', 28, struct v4l2_control)
    const VIVID_CID_DISCONNECT: u32 = 0x00f0_f000 + 65;
    let node = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(device())
        .unwrap();
    let mut ctrl = V4l2Control {
        id: VIVID_CID_DISCONNECT,
        value: 0,
    };
    // SAFETY: VIDIOC_S_CTRL reads and writes a struct v4l2_control, which `ctrl` is (two
    // 32-bit fields), alive across the call.
    let r = unsafe { libc::ioctl(node.as_raw_fd(), VIDIOC_S_CTRL as _, &mut ctrl) };
    assert_eq!(r, 0, "VIDIOC_S_CTRL: {}", std::io::Error::last_os_error());
    node
}

#[test]
#[ignore = "needs a vivid V4L2 device: run by scripts/v4l2-vm-test.sh"]
fn an_unplugged_camera_stops_sending_and_the_stream_lives_on() {
    let cam = vivid_camera();
    let stream = LocalVideoStream::from_camera_with(&cam, config(640, 360, 30, None)).unwrap();
    let (seen, _sub) = watch(&stream);
    wait_for("frames", Duration::from_secs(10), || seen.lock().len() >= 5);
    assert_eq!(stream.source_error(), None, "a working camera has no error");
    let unplugged = vivid_disconnect();
    // The capture thread sees ENODEV and ends (closing its handle); no frame comes after.
    std::thread::sleep(Duration::from_millis(300));
    let bus = stream.bus();
    let n = bus.frames_published();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(bus.frames_published(), n, "frames after the disconnect");
    assert_eq!(stream.source(), VideoSourceKind::Camera(cam.id()));
    // The stream tells its owner why (the C API: acs_local_video_stream_get_source_error).
    let why = stream
        .source_error()
        .expect("an unplugged camera is a source error");
    assert!(why.contains("disconnected"), "{why}");
    // While unplugged, opening it is a device error saying so.
    match LocalVideoStream::from_camera(&cam) {
        Err(Error::Device(m)) => assert!(m.contains("disconnected"), "{m}"),
        other => panic!("opening an unplugged camera: {other:?}"),
    }
    drop(unplugged);
    // With every handle closed vivid "reconnects". Asking for the same camera again reopens
    // it: a capture that failed does not count as the one in use.
    let switches = stream.source_switches();
    stream.switch_to_camera(&cam).unwrap();
    assert_eq!(stream.source_switches(), switches + 1);
    assert_eq!(stream.source_error(), None, "reopened");
    let frames = capture(&stream, Duration::from_millis(300));
    assert_colour_bars(&frames[frames.len() - 1].1, "after reconnecting");
    // And the stream carries on with another source.
    stream
        .switch_to_virtual(VirtualCameraConfig::default())
        .unwrap();
    let v = capture(&stream, Duration::from_millis(300));
    assert!(
        read_counter(&v[v.len() - 1].1).is_some(),
        "the test pattern"
    );
}
