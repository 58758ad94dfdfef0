//! An open V4L2 capture node: capability check, format enumeration and negotiation, mmap
//! buffers and streaming. Dropping it stops streaming, unmaps the buffers and closes the
//! node, whatever state setup reached.

use super::format::{
    choose_format, fit_range, fourcc_name, CameraConfig, CameraFormat, FormatOffer, FrameIntervals,
    Interval, SizeOffer,
};
use super::sys::*;
use crate::media::MediaError;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Buffers asked for: enough to ride out a slow conversion without the driver dropping.
const BUFFERS: u32 = 4;

/// What was negotiated with the driver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureFormat {
    pub format: CameraFormat,
    pub fourcc: u32,
    pub width: u32,
    pub height: u32,
    /// Bytes between rows of the (first) plane.
    pub stride: usize,
    /// The driver's frame rate, when it says.
    pub fps: Option<f64>,
}

struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

/// One dequeued buffer.
pub struct Dequeued {
    pub index: u32,
    pub bytes_used: usize,
    pub flags: u32,
    pub timestamp: libc::timeval,
    pub sequence: u32,
}

pub struct Device {
    fd: OwnedFd,
    /// How messages name the camera (its id).
    label: String,
    buffers: Vec<Mapping>,
    streaming: bool,
}

// SAFETY: the mappings are owned by this struct alone (nothing else holds their pointers)
// and are only read through `&self`/`&mut self`; the fd is an OwnedFd. Moving the device to
// the capture thread moves sole ownership.
unsafe impl Send for Device {}

/// A device error with the camera's label and, for the errors a user can act on, what
/// they mean.
pub fn device_error(label: &str, what: &str, e: &io::Error) -> MediaError {
    let meaning = match e.raw_os_error() {
        Some(libc::EBUSY) => " (the camera is busy: another program is capturing from it)",
        Some(libc::ENODEV) | Some(libc::ENXIO) => " (the camera was disconnected)",
        Some(libc::EACCES) | Some(libc::EPERM) => {
            " (permission denied: is the user in the 'video' group?)"
        }
        Some(libc::ENOENT) => " (no such device node)",
        _ => "",
    };
    MediaError::Device(format!("camera {label}: {what}: {e}{meaning}"))
}

impl Device {
    /// Opens `path` and checks that it is a single-planar capture device that streams.
    pub fn open(path: &Path, label: &str) -> Result<Self, MediaError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| device_error(label, &format!("cannot open {}", path.display()), &e))?;
        let dev = Self {
            fd: file.into(),
            label: label.to_string(),
            buffers: Vec::new(),
            streaming: false,
        };
        let mut cap = v4l2_capability::default();
        if let Err(e) = dev.ioctl(VIDIOC_QUERYCAP, &mut cap) {
            return Err(if e.raw_os_error() == Some(libc::ENOTTY) {
                MediaError::Device(format!(
                    "camera {label}: {} is not a V4L2 device",
                    path.display()
                ))
            } else {
                device_error(label, "VIDIOC_QUERYCAP", &e)
            });
        }
        let caps = if cap.capabilities & V4L2_CAP_DEVICE_CAPS != 0 {
            cap.device_caps
        } else {
            cap.capabilities
        };
        let card = String::from_utf8_lossy(&cap.card);
        let card = card.trim_end_matches('\0');
        if caps & V4L2_CAP_VIDEO_CAPTURE == 0 {
            let why = if caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE != 0 {
                "multi-planar capture is not supported"
            } else {
                "it is not a video capture device"
            };
            return Err(MediaError::Device(format!(
                "camera {label} ('{card}'): {why} (capabilities {caps:#x})"
            )));
        }
        if caps & V4L2_CAP_STREAMING == 0 {
            return Err(MediaError::Device(format!(
                "camera {label} ('{card}'): it cannot stream (no V4L2_CAP_STREAMING)"
            )));
        }
        Ok(dev)
    }

    /// One ioctl on the node, retried when a signal interrupts it.
    fn ioctl<T>(&self, request: u32, arg: &mut T) -> io::Result<()> {
        loop {
            // SAFETY: `request` is one of the VIDIOC_* numbers, each encoding the size of
            // the structure it reads and writes; callers pass that structure (`T` matches,
            // see sys.rs's size checks), valid for the call as a `&mut`.
            let r = unsafe {
                libc::ioctl(
                    self.fd.as_raw_fd(),
                    request as _,
                    arg as *mut T as *mut libc::c_void,
                )
            };
            if r != -1 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// What the camera offers, sized for `req`: every discrete size (with its intervals),
    /// or the request fitted into a stepwise/continuous range, or the request itself when
    /// the driver does not enumerate sizes. Formats we cannot convert are listed without
    /// sizes (for messages).
    pub fn offers(&self, req: &CameraConfig) -> Vec<FormatOffer> {
        let mut offers = Vec::new();
        for index in 0..64 {
            let mut desc = v4l2_fmtdesc {
                index,
                type_: V4L2_BUF_TYPE_VIDEO_CAPTURE,
                ..Default::default()
            };
            if self.ioctl(VIDIOC_ENUM_FMT, &mut desc).is_err() {
                break; // EINVAL: the end of the list
            }
            let sizes = if CameraFormat::from_fourcc(desc.pixelformat).is_some() {
                self.sizes(desc.pixelformat, req)
            } else {
                Vec::new()
            };
            offers.push(FormatOffer {
                fourcc: desc.pixelformat,
                sizes,
            });
        }
        offers
    }

    fn sizes(&self, fourcc: u32, req: &CameraConfig) -> Vec<SizeOffer> {
        let mut sizes = Vec::new();
        for index in 0..256 {
            let mut e = v4l2_frmsizeenum {
                index,
                pixel_format: fourcc,
                ..Default::default()
            };
            if self.ioctl(VIDIOC_ENUM_FRAMESIZES, &mut e).is_err() {
                break;
            }
            let s = e.size;
            let (width, height) = match e.type_ {
                // The discrete member overlays the first two words.
                V4L2_FRMSIZE_TYPE_DISCRETE => (s.min_width, s.max_width),
                V4L2_FRMSIZE_TYPE_STEPWISE | V4L2_FRMSIZE_TYPE_CONTINUOUS => {
                    let w = fit_range(req.width, s.min_width, s.max_width, s.step_width);
                    let h = fit_range(req.height, s.min_height, s.max_height, s.step_height);
                    sizes.push(self.size_offer(fourcc, w, h));
                    break; // a range is the only entry
                }
                _ => break,
            };
            sizes.push(self.size_offer(fourcc, width, height));
        }
        if sizes.is_empty() {
            // No enumeration: offer the request; S_FMT says what the driver makes of it.
            sizes.push(SizeOffer {
                width: req.width,
                height: req.height,
                intervals: FrameIntervals::Unknown,
            });
        }
        sizes
    }

    fn size_offer(&self, fourcc: u32, width: u32, height: u32) -> SizeOffer {
        let mut list = Vec::new();
        let mut intervals = FrameIntervals::Unknown;
        for index in 0..64 {
            let mut e = v4l2_frmivalenum {
                index,
                pixel_format: fourcc,
                width,
                height,
                ..Default::default()
            };
            if self.ioctl(VIDIOC_ENUM_FRAMEINTERVALS, &mut e).is_err() {
                break;
            }
            let fract = |f: v4l2_fract| Interval {
                numerator: f.numerator,
                denominator: f.denominator,
            };
            if e.type_ == V4L2_FRMIVAL_TYPE_DISCRETE {
                list.push(fract(e.interval.min));
            } else {
                intervals = FrameIntervals::Range {
                    fastest: fract(e.interval.min),
                    slowest: fract(e.interval.max),
                };
                break;
            }
        }
        if !list.is_empty() {
            intervals = FrameIntervals::Discrete(list);
        }
        SizeOffer {
            width,
            height,
            intervals,
        }
    }

    /// Chooses a format for `req` and sets it (format, then frame rate).
    pub fn negotiate(&mut self, req: &CameraConfig) -> Result<CaptureFormat, MediaError> {
        let offers = self.offers(req);
        let choice = choose_format(&offers, req)
            .map_err(|why| MediaError::Device(format!("camera {}: {why}", self.label)))?;
        let mut fmt = v4l2_format {
            type_: V4L2_BUF_TYPE_VIDEO_CAPTURE,
            ..Default::default()
        };
        fmt.fmt.pix = v4l2_pix_format {
            width: choice.width,
            height: choice.height,
            pixelformat: choice.fourcc,
            field: V4L2_FIELD_NONE,
            ..Default::default()
        };
        self.ioctl(VIDIOC_S_FMT, &mut fmt)
            .map_err(|e| device_error(&self.label, "VIDIOC_S_FMT", &e))?;
        // SAFETY: `pix` is the member of the union for VIDEO_CAPTURE buffers, which the
        // driver filled in (and every bit pattern is a valid set of u32s).
        let pix = unsafe { fmt.fmt.pix };
        let format = CameraFormat::from_fourcc(pix.pixelformat).ok_or_else(|| {
            MediaError::Device(format!(
                "camera {}: asked for {} {}x{}, the driver set {}",
                self.label,
                fourcc_name(choice.fourcc),
                choice.width,
                choice.height,
                fourcc_name(pix.pixelformat)
            ))
        })?;
        let min_stride = match format {
            CameraFormat::Yuyv | CameraFormat::Uyvy => 2 * pix.width.div_ceil(2) * 2,
            _ => pix.width,
        };
        let stride = if pix.bytesperline == 0 {
            min_stride
        } else {
            pix.bytesperline
        };
        Ok(CaptureFormat {
            format,
            fourcc: pix.pixelformat,
            width: pix.width,
            height: pix.height,
            stride: stride as usize,
            fps: self.set_rate(choice.interval),
        })
    }

    /// Asks for `interval` where the driver lets the rate be set; the rate in force.
    fn set_rate(&self, interval: Option<Interval>) -> Option<f64> {
        let mut parm = v4l2_streamparm {
            type_: V4L2_BUF_TYPE_VIDEO_CAPTURE,
            ..Default::default()
        };
        self.ioctl(VIDIOC_G_PARM, &mut parm).ok()?;
        // SAFETY: `capture` is the member for VIDEO_CAPTURE streams (plain u32s).
        let mut capture = unsafe { parm.parm.capture };
        if let Some(i) = interval.filter(|_| capture.capability & V4L2_CAP_TIMEPERFRAME != 0) {
            capture.timeperframe = v4l2_fract {
                numerator: i.numerator,
                denominator: i.denominator,
            };
            parm.parm.capture = capture;
            if let Err(e) = self.ioctl(VIDIOC_S_PARM, &mut parm) {
                log::warn!("camera {}: cannot set the frame rate: {e}", self.label);
            }
            // SAFETY: as above; S_PARM wrote back the rate it set.
            capture = unsafe { parm.parm.capture };
        }
        let t = capture.timeperframe;
        let fps = Interval {
            numerator: t.numerator,
            denominator: t.denominator,
        }
        .fps();
        (fps > 0.0).then_some(fps)
    }

    /// Allocates and maps the buffers, queues them and starts streaming.
    pub fn start_streaming(&mut self) -> Result<(), MediaError> {
        let label = self.label.clone();
        let err = |what: &str, e: io::Error| device_error(&label, what, &e);
        let mut req = v4l2_requestbuffers {
            count: BUFFERS,
            type_: V4L2_BUF_TYPE_VIDEO_CAPTURE,
            memory: V4L2_MEMORY_MMAP,
            ..Default::default()
        };
        self.ioctl(VIDIOC_REQBUFS, &mut req)
            .map_err(|e| err("VIDIOC_REQBUFS", e))?;
        if req.count < 2 {
            return Err(MediaError::Device(format!(
                "camera {label}: the driver gave {} buffers, at least 2 are needed",
                req.count
            )));
        }
        for index in 0..req.count {
            let mut buf = self.buffer(index);
            self.ioctl(VIDIOC_QUERYBUF, &mut buf)
                .map_err(|e| err("VIDIOC_QUERYBUF", e))?;
            // SAFETY: for MMAP buffers the driver set `offset`, the union's member for them.
            let offset = unsafe { buf.m.offset };
            // SAFETY: maps `length` bytes of the driver's buffer at the offset it gave for
            // this fd; the result is checked, and unmapped in Drop.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    buf.length as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    self.fd.as_raw_fd(),
                    offset as libc::off_t,
                )
            };
            if ptr == libc::MAP_FAILED {
                return Err(err("mmap", io::Error::last_os_error()));
            }
            self.buffers.push(Mapping {
                ptr,
                len: buf.length as usize,
            });
        }
        for index in 0..req.count {
            self.requeue(index).map_err(|e| err("VIDIOC_QBUF", e))?;
        }
        let mut kind = V4L2_BUF_TYPE_VIDEO_CAPTURE as libc::c_int;
        self.ioctl(VIDIOC_STREAMON, &mut kind)
            .map_err(|e| err("VIDIOC_STREAMON", e))?;
        self.streaming = true;
        Ok(())
    }

    fn buffer(&self, index: u32) -> v4l2_buffer {
        v4l2_buffer {
            index,
            type_: V4L2_BUF_TYPE_VIDEO_CAPTURE,
            memory: V4L2_MEMORY_MMAP,
            ..Default::default()
        }
    }

    /// Hands buffer `index` back to the driver (`&mut`: no slice from [`data`](Self::data)
    /// may outlive it).
    pub fn requeue(&mut self, index: u32) -> io::Result<()> {
        let mut buf = self.buffer(index);
        self.ioctl(VIDIOC_QBUF, &mut buf)
    }

    /// Takes a filled buffer; Ok(None) when none is ready yet.
    pub fn dequeue(&self) -> io::Result<Option<Dequeued>> {
        let mut buf = self.buffer(0);
        match self.ioctl(VIDIOC_DQBUF, &mut buf) {
            Ok(()) => Ok(Some(Dequeued {
                index: buf.index,
                bytes_used: buf.bytesused as usize,
                flags: buf.flags,
                timestamp: buf.timestamp,
                sequence: buf.sequence,
            })),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The bytes of a dequeued buffer (`bytes_used` of them; all of it when the driver
    /// leaves that 0).
    pub fn data(&self, d: &Dequeued) -> &[u8] {
        let Some(m) = self.buffers.get(d.index as usize) else {
            return &[];
        };
        let len = if d.bytes_used == 0 {
            m.len
        } else {
            d.bytes_used.min(m.len)
        };
        // SAFETY: the mapping is `m.len` bytes, live until Drop; `len` ≤ that. The buffer
        // is dequeued, so the driver does not write it until it is requeued, which takes
        // `&mut self` and so cannot happen while the returned slice lives.
        unsafe { std::slice::from_raw_parts(m.ptr as *const u8, len) }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if self.streaming {
            let mut kind = V4L2_BUF_TYPE_VIDEO_CAPTURE as libc::c_int;
            if let Err(e) = self.ioctl(VIDIOC_STREAMOFF, &mut kind) {
                log::debug!("camera {}: VIDIOC_STREAMOFF: {e}", self.label);
            }
        }
        for m in self.buffers.drain(..) {
            // SAFETY: `ptr`/`len` come from a successful mmap of this device and are
            // unmapped once, here; no slice of them outlives `&self`.
            unsafe { libc::munmap(m.ptr, m.len) };
        }
        // The fd (an OwnedFd) closes after this, freeing the driver's buffers.
    }
}
