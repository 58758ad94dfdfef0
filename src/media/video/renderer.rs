//! Renderers: one stream (a [`FrameBus`]) rendered into any number of views, each with its
//! own size, pixel format, scaling mode and mirror flag (all updatable).
//!
//! The renderer subscribes to the bus once; its sink only parks the frame in each view's
//! one-frame slot (latest wins: a frame replaced before it was rendered counts as dropped)
//! and wakes the view. Frames are rendered (scaled, converted) either on the view's own
//! thread, which hands them to the view's callback — never on the producer's thread — or,
//! for a view without a callback, on the caller's thread by [`VideoView::take_latest`].
//! An I420 view at the source's size, not mirrored, shares the producer's frame (no copy).

use super::bus::{BusFrame, BusSubscription, FrameBus};
use super::frame::{PixelFormat, VideoFrame};
use super::scale::{scale, ScalingMode};
use super::source::{join_unless_current, plane_layout};
use crate::media::MediaError;
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// A view's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewConfig {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    pub scaling_mode: ScalingMode,
    pub mirrored: bool,
}

impl ViewConfig {
    /// Checks the size (1..=8192 each way).
    pub fn validate(&self) -> Result<(), MediaError> {
        VideoFrame::black(self.width, self.height).map(|_| ())
    }
}

enum Pixels {
    /// An I420 frame, shared (with the producer when it needed no scaling).
    I420(Arc<VideoFrame>),
    /// A converted picture: planes at `offsets` in `buf`, rows `strides` apart.
    Converted {
        buf: Vec<u8>,
        offsets: [usize; 3],
        strides: [usize; 3],
    },
}

/// A frame rendered for a view: its pixels in the view's format and size.
pub struct RenderedFrame {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    /// The producer's sequence number of the source frame.
    pub seq: u64,
    /// When the producer published the source frame.
    pub at: Instant,
    pixels: Pixels,
}

impl std::fmt::Debug for RenderedFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("seq", &self.seq)
            .field("shared", &self.shares_source())
            .finish()
    }
}

impl RenderedFrame {
    /// The planes (1 for packed formats, 2 for NV12, 3 for I420) and their strides.
    pub fn planes(&self) -> Vec<(&[u8], usize)> {
        match &self.pixels {
            Pixels::I420(f) => {
                let (w, cw) = (f.width as usize, f.chroma_width() as usize);
                vec![(&f.y[..], w), (&f.u[..], cw), (&f.v[..], cw)]
            }
            Pixels::Converted {
                buf,
                offsets,
                strides,
            } => plane_layout(self.format, self.width, self.height)
                .iter()
                .enumerate()
                .filter(|(_, (rows, _))| *rows > 0)
                .map(|(i, (rows, _))| (&buf[offsets[i]..][..rows * strides[i]], strides[i]))
                .collect(),
        }
    }

    /// Whether the pixels are the producer's frame itself (zero-copy).
    pub fn shares_source(&self) -> bool {
        matches!(self.pixels, Pixels::I420(_))
    }

    /// The picture as I420 (a copy when converted), e.g. to read a test-pattern counter.
    pub fn to_i420(&self) -> Result<Arc<VideoFrame>, MediaError> {
        match &self.pixels {
            Pixels::I420(f) => Ok(Arc::clone(f)),
            Pixels::Converted { buf, strides, .. } => Ok(Arc::new(VideoFrame::import(
                self.format,
                buf,
                self.width,
                self.height,
                strides[0],
            )?)),
        }
    }
}

/// Renders `src` for a view configured as `cfg`.
pub fn render(src: &BusFrame, cfg: &ViewConfig) -> Result<RenderedFrame, MediaError> {
    let f = &src.frame;
    let same = f.width == cfg.width && f.height == cfg.height && !cfg.mirrored;
    let i420 = if same {
        Arc::clone(f)
    } else {
        Arc::new(scale(
            f,
            cfg.width,
            cfg.height,
            cfg.scaling_mode,
            cfg.mirrored,
        )?)
    };
    let pixels = match cfg.format {
        PixelFormat::I420 => Pixels::I420(i420),
        format => {
            // Tightly packed (NV12 rows hold whole UV pairs: an odd width gets one byte).
            let stride = crate::media::video::frame::min_stride(format, cfg.width);
            let mut buf = vec![0u8; i420.export_size(format, stride)];
            i420.export(format, &mut buf, stride)?;
            let y_len = stride * cfg.height as usize;
            Pixels::Converted {
                buf,
                offsets: [0, y_len, 0],
                strides: [
                    stride,
                    if format == PixelFormat::Nv12 {
                        stride
                    } else {
                        0
                    },
                    0,
                ],
            }
        }
    };
    Ok(RenderedFrame {
        width: cfg.width,
        height: cfg.height,
        format: cfg.format,
        seq: src.seq,
        at: src.at,
        pixels,
    })
}

/// Receives a view's frames on the view's thread; it owns the frame.
pub type ViewCallback = Arc<dyn Fn(Arc<RenderedFrame>) + Send + Sync>;

/// Frames a view rendered and lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewStats {
    /// Frames rendered (delivered to the callback, or returned by take_latest).
    pub frames_rendered: u64,
    /// Frames replaced by a newer one before they were rendered (slow consumer).
    pub frames_dropped: u64,
}

struct ViewShared {
    config: Mutex<ViewConfig>,
    slot: Mutex<Option<BusFrame>>,
    wake: Condvar,
    closed: AtomicBool,
    rendered: AtomicU64,
    dropped: AtomicU64,
}

impl ViewShared {
    /// Parks a frame (on the producer's thread: quick).
    fn offer(&self, f: &BusFrame) {
        if self.slot.lock().replace(f.clone()).is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.wake.notify_one();
    }

    fn render_next(&self, f: &BusFrame) -> Option<Arc<RenderedFrame>> {
        let cfg = *self.config.lock();
        let r = render(f, &cfg).ok()?;
        self.rendered.fetch_add(1, Ordering::Relaxed);
        Some(Arc::new(r))
    }

    fn run(&self, callback: &ViewCallback) {
        loop {
            let next = {
                let mut slot = self.slot.lock();
                loop {
                    if self.closed.load(Ordering::Acquire) {
                        return;
                    }
                    if let Some(f) = slot.take() {
                        break f;
                    }
                    self.wake.wait(&mut slot);
                }
            };
            if let Some(r) = self.render_next(&next) {
                callback(r);
            }
        }
    }
}

type ViewList = Mutex<Vec<Arc<ViewShared>>>;

struct RendererInner {
    id: u64,
    bus: Arc<FrameBus>,
    views: Arc<ViewList>,
    _subscription: BusSubscription,
}

/// Renders one stream into views. Cheap to clone; the last clone (and last view) dropped
/// unsubscribes from the bus.
#[derive(Clone)]
pub struct VideoRenderer {
    inner: Arc<RendererInner>,
}

impl std::fmt::Debug for VideoRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoRenderer")
            .field("views", &self.inner.views.lock().len())
            .finish()
    }
}

impl VideoRenderer {
    /// A renderer of the frames published on `bus` (a local stream's or a remote one's).
    pub fn new(bus: Arc<FrameBus>) -> Self {
        let views: Arc<ViewList> = Arc::default();
        let v = Arc::clone(&views);
        let subscription = bus.subscribe(Arc::new(move |f: &BusFrame| {
            let list: Vec<Arc<ViewShared>> = v.lock().clone();
            for view in list {
                view.offer(f);
            }
        }));
        Self {
            inner: Arc::new(RendererInner {
                id: crate::object_id::next_object_id(),
                bus,
                views,
                _subscription: subscription,
            }),
        }
    }

    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.inner.id
    }

    /// The bus this renderer reads.
    pub fn bus(&self) -> &Arc<FrameBus> {
        &self.inner.bus
    }

    /// Number of live views.
    pub fn view_count(&self) -> usize {
        self.inner.views.lock().len()
    }

    /// Adds a view. With a callback, frames are rendered on a thread of the view's own and
    /// handed to it; without, the host takes them with [`VideoView::take_latest`]. The
    /// bus's latest frame, if any, is the view's first.
    pub fn create_view(
        &self,
        config: ViewConfig,
        callback: Option<ViewCallback>,
    ) -> Result<VideoView, MediaError> {
        config.validate()?;
        let shared = Arc::new(ViewShared {
            config: Mutex::new(config),
            slot: Mutex::new(self.inner.bus.latest()),
            wake: Condvar::new(),
            closed: AtomicBool::new(false),
            rendered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let thread = match callback {
            Some(cb) => {
                let s = Arc::clone(&shared);
                Some(
                    std::thread::Builder::new()
                        .name("acs-video-view".into())
                        .spawn(move || s.run(&cb))
                        .map_err(|e| MediaError::Device(format!("cannot start a view: {e}")))?,
                )
            }
            None => None,
        };
        self.inner.views.lock().push(Arc::clone(&shared));
        Ok(VideoView {
            owner: Arc::new(ViewOwner {
                id: crate::object_id::next_object_id(),
                shared,
                renderer: self.clone(),
                thread: Mutex::new(thread),
            }),
        })
    }
}

struct ViewOwner {
    id: u64,
    shared: Arc<ViewShared>,
    renderer: VideoRenderer,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for ViewOwner {
    fn drop(&mut self) {
        self.renderer
            .inner
            .views
            .lock()
            .retain(|v| !Arc::ptr_eq(v, &self.shared));
        self.shared.closed.store(true, Ordering::Release);
        {
            let _slot = self.shared.slot.lock();
            self.shared.wake.notify_all();
        }
        if let Some(t) = self.thread.lock().take() {
            join_unless_current(t);
        }
    }
}

/// One view of a renderer. Cheap to clone; the last clone dropped stops its thread and
/// removes it from the renderer (it keeps the renderer alive meanwhile).
#[derive(Clone)]
pub struct VideoView {
    owner: Arc<ViewOwner>,
}

impl std::fmt::Debug for VideoView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoView")
            .field("id", &self.owner.id)
            .field("config", &self.config())
            .finish()
    }
}

impl VideoView {
    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.owner.id
    }

    /// The renderer the view belongs to.
    pub fn renderer(&self) -> &VideoRenderer {
        &self.owner.renderer
    }

    /// The current settings.
    pub fn config(&self) -> ViewConfig {
        *self.owner.shared.config.lock()
    }

    /// Changes the settings; frames rendered from now on follow them.
    pub fn update(&self, f: impl FnOnce(&mut ViewConfig)) -> Result<(), MediaError> {
        let mut cfg = self.owner.shared.config.lock();
        let mut next = *cfg;
        f(&mut next);
        next.validate()?;
        *cfg = next;
        Ok(())
    }

    /// The newest frame not yet taken, rendered now on this thread; None when nothing new
    /// arrived since the last take (or the view delivers by callback).
    pub fn take_latest(&self) -> Option<Arc<RenderedFrame>> {
        if self.has_callback() {
            return None;
        }
        let f = self.owner.shared.slot.lock().take()?;
        self.owner.shared.render_next(&f)
    }

    /// Frames rendered and dropped so far.
    pub fn stats(&self) -> ViewStats {
        ViewStats {
            frames_rendered: self.owner.shared.rendered.load(Ordering::Relaxed),
            frames_dropped: self.owner.shared.dropped.load(Ordering::Relaxed),
        }
    }

    /// Whether frames are delivered to a callback (else pulled with take_latest).
    pub fn has_callback(&self) -> bool {
        self.owner.thread.lock().is_some()
    }
}

#[cfg(test)]
#[path = "renderer_tests.rs"]
mod tests;
