use super::*;
use crate::media::video::pattern::{read_counter, test_pattern};
use crate::media::video::source::wait_for;
use std::time::Duration;

/// A frame whose left half is white and right half black.
fn halves(w: u32, h: u32) -> VideoFrame {
    let mut f = VideoFrame::black(w, h).unwrap();
    for row in f.y.chunks_exact_mut(w as usize) {
        row[..(w / 2) as usize].fill(235);
    }
    f
}

fn white(w: u32, h: u32) -> VideoFrame {
    let mut f = VideoFrame::black(w, h).unwrap();
    f.y.fill(235);
    f
}

fn cfg(width: u32, height: u32, format: PixelFormat, scaling_mode: ScalingMode) -> ViewConfig {
    ViewConfig {
        width,
        height,
        format,
        scaling_mode,
        mirrored: false,
    }
}

/// Luma of row `y` of an I420 rendered frame.
fn luma_row(f: &RenderedFrame, y: usize) -> Vec<u8> {
    let planes = f.planes();
    let (p, stride) = planes[0];
    p[y * stride..][..f.width as usize].to_vec()
}

#[test]
fn each_scaling_mode_has_its_geometry_through_a_view() {
    let bus = FrameBus::new();
    let r = VideoRenderer::new(Arc::clone(&bus));
    let fit = r
        .create_view(cfg(32, 32, PixelFormat::I420, ScalingMode::Fit), None)
        .unwrap();
    let crop = r
        .create_view(cfg(32, 32, PixelFormat::I420, ScalingMode::Crop), None)
        .unwrap();
    let stretch = r
        .create_view(cfg(32, 32, PixelFormat::I420, ScalingMode::Stretch), None)
        .unwrap();
    bus.publish(Arc::new(white(64, 36)));
    // Fit: 64x36 into 32x32 is 32x18 at y = 7; black bars above and below.
    let f = fit.take_latest().unwrap();
    assert_eq!((f.width, f.height), (32, 32));
    for y in 0..32 {
        let inside = (7..25).contains(&y);
        let row = luma_row(&f, y);
        assert!(
            row.iter().all(|v| if inside { *v > 200 } else { *v == 16 }),
            "fit row {y}: {row:?}"
        );
    }
    for v in [crop, stretch] {
        let f = v.take_latest().unwrap();
        assert!((0..32).all(|y| luma_row(&f, y).iter().all(|v| *v > 200)));
    }
    // Crop keeps the centre: a left-white/right-black frame into a narrow view shows both.
    let narrow = r
        .create_view(cfg(8, 36, PixelFormat::I420, ScalingMode::Crop), None)
        .unwrap();
    bus.publish(Arc::new(halves(64, 36)));
    let row = luma_row(&narrow.take_latest().unwrap(), 18);
    assert!(row[0] > 200 && row[7] < 40, "{row:?}");
}

#[test]
fn views_render_every_format_and_i420_at_the_source_size_is_zero_copy() {
    let bus = FrameBus::new();
    let r = VideoRenderer::new(Arc::clone(&bus));
    // A red frame, from RGBA.
    let red = [255u8, 0, 0, 255].repeat(16 * 8);
    let src = Arc::new(VideoFrame::import(PixelFormat::Rgba, &red, 16, 8, 64).unwrap());
    let views: Vec<(PixelFormat, VideoView)> = [
        PixelFormat::Rgba,
        PixelFormat::Bgra,
        PixelFormat::Nv12,
        PixelFormat::I420,
    ]
    .into_iter()
    .map(|fmt| {
        let v = r
            .create_view(cfg(16, 8, fmt, ScalingMode::Stretch), None)
            .unwrap();
        (fmt, v)
    })
    .collect();
    bus.publish(Arc::clone(&src));
    for (fmt, v) in &views {
        let f = v.take_latest().unwrap();
        let planes = f.planes();
        match fmt {
            PixelFormat::Rgba => {
                assert_eq!(planes.len(), 1);
                assert_eq!(planes[0].1, 64);
                let p = &planes[0].0[..4];
                assert!(p[0] > 240 && p[1] < 15 && p[2] < 15 && p[3] == 255, "{p:?}");
            }
            PixelFormat::Bgra => {
                let p = &planes[0].0[..4];
                assert!(p[2] > 240 && p[0] < 15, "{p:?}");
            }
            PixelFormat::Nv12 => {
                assert_eq!(planes.len(), 2);
                assert_eq!(planes[1].0.len(), 16 * 4);
                assert_eq!(planes[1].0[0], src.u[0]);
                assert_eq!(planes[1].0[1], src.v[0]);
                assert_eq!(planes[0].0, &src.y[..]);
            }
            _ => {
                assert_eq!(planes.len(), 3);
                assert!(f.shares_source(), "no copy");
                assert_eq!(planes[0].0.as_ptr(), src.y.as_ptr());
            }
        }
        // Every format reads back as the same picture.
        let back = f.to_i420().unwrap();
        assert!(back.y.iter().zip(&src.y).all(|(a, b)| a.abs_diff(*b) <= 2));
    }
}

#[test]
fn mirror_and_size_updates_apply_to_the_next_frame() {
    let bus = FrameBus::new();
    let r = VideoRenderer::new(Arc::clone(&bus));
    let v = r
        .create_view(cfg(32, 18, PixelFormat::I420, ScalingMode::Stretch), None)
        .unwrap();
    bus.publish(Arc::new(halves(64, 36)));
    let row = luma_row(&v.take_latest().unwrap(), 9);
    assert!(row[1] > 200 && row[30] < 40);
    v.update(|c| c.mirrored = true).unwrap();
    bus.publish(Arc::new(halves(64, 36)));
    let row = luma_row(&v.take_latest().unwrap(), 9);
    assert!(row[1] < 40 && row[30] > 200, "mirrored: {row:?}");
    v.update(|c| {
        c.width = 100;
        c.height = 50;
        c.scaling_mode = ScalingMode::Fit;
    })
    .unwrap();
    bus.publish(Arc::new(halves(64, 36)));
    let f = v.take_latest().unwrap();
    assert_eq!((f.width, f.height), (100, 50));
    assert!(v.update(|c| c.width = 0).is_err());
    assert_eq!(v.config().width, 100, "a refused update changes nothing");
}

#[test]
fn pull_returns_only_new_frames_and_counts_what_it_missed() {
    let bus = FrameBus::new();
    let r = VideoRenderer::new(Arc::clone(&bus));
    let v = r
        .create_view(cfg(64, 32, PixelFormat::I420, ScalingMode::Stretch), None)
        .unwrap();
    assert!(v.take_latest().is_none(), "nothing yet");
    for c in 0..3 {
        bus.publish(Arc::new(test_pattern(c, 64, 32).unwrap()));
    }
    let f = v.take_latest().unwrap();
    assert_eq!(f.seq, 2, "latest wins");
    assert_eq!(read_counter(&f.to_i420().unwrap()), Some(2));
    assert!(v.take_latest().is_none(), "no new frame");
    assert_eq!(
        v.stats(),
        ViewStats {
            frames_rendered: 1,
            frames_dropped: 2
        }
    );
    // A new view starts with the bus's latest frame.
    let late = r
        .create_view(cfg(32, 16, PixelFormat::Rgba, ScalingMode::Fit), None)
        .unwrap();
    assert_eq!(late.take_latest().map(|f| f.seq), Some(2));
    assert_eq!(r.view_count(), 2);
    drop(late);
    assert_eq!(r.view_count(), 1);
}

#[test]
fn callbacks_run_on_the_view_thread_and_a_slow_consumer_drops_frames() {
    let bus = FrameBus::new();
    let r = VideoRenderer::new(Arc::clone(&bus));
    let got: Arc<Mutex<Vec<(u64, std::thread::ThreadId)>>> = Arc::default();
    let g = Arc::clone(&got);
    let slow = r
        .create_view(
            cfg(32, 16, PixelFormat::Rgba, ScalingMode::Stretch),
            Some(Arc::new(move |f: Arc<RenderedFrame>| {
                g.lock().push((f.seq, std::thread::current().id()));
                std::thread::sleep(Duration::from_millis(30));
            })),
        )
        .unwrap();
    let fast_count = Arc::new(AtomicU64::new(0));
    let fc = Arc::clone(&fast_count);
    let fast = r
        .create_view(
            cfg(32, 16, PixelFormat::I420, ScalingMode::Stretch),
            Some(Arc::new(move |_f: Arc<RenderedFrame>| {
                fc.fetch_add(1, Ordering::SeqCst);
            })),
        )
        .unwrap();
    assert!(
        slow.take_latest().is_none(),
        "a callback view is not pulled"
    );
    let me = std::thread::current().id();
    for c in 0..20 {
        bus.publish(Arc::new(test_pattern(c, 64, 32).unwrap()));
        std::thread::sleep(Duration::from_millis(3));
    }
    assert!(wait_for(|| {
        let s = slow.stats();
        s.frames_rendered + s.frames_dropped == 20
            && fast.stats().frames_rendered + fast.stats().frames_dropped == 20
    }));
    let s = slow.stats();
    assert!(s.frames_dropped >= 5, "{s:?}");
    let got = got.lock().clone();
    assert!(
        got.iter().all(|(_, t)| *t != me),
        "not on the producer's thread"
    );
    assert!(got.windows(2).all(|w| w[1].0 > w[0].0), "in order");
    assert_eq!(
        got.last().map(|g| g.0),
        Some(19),
        "the latest frame is delivered"
    );
    assert!(fast_count.load(Ordering::SeqCst) >= 10);
    drop(slow);
    drop(fast);
    drop(r);
    assert_eq!(bus.subscriber_count(), 0, "the renderer unsubscribed");
}

#[test]
fn a_view_keeps_its_renderer_subscribed() {
    let bus = FrameBus::new();
    let r = VideoRenderer::new(Arc::clone(&bus));
    let v = r
        .create_view(cfg(32, 16, PixelFormat::I420, ScalingMode::Fit), None)
        .unwrap();
    drop(r);
    bus.publish(Arc::new(VideoFrame::black(32, 16).unwrap()));
    assert!(v.take_latest().is_some());
    drop(v);
    assert_eq!(bus.subscriber_count(), 0);
}
