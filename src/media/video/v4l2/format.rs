//! Which of a camera's formats to capture in: the request ([`CameraConfig`]), what a camera
//! offers (pixel formats, frame sizes, frame intervals, as V4L2 enumerates them) and the
//! choice, as plain data so that it is tested without a device.
//!
//! The rule: the frame size first (the requested size, else the smallest that covers it,
//! else the largest there is), then at that size a raw format (YUYV, NV12, I420, YV12, UYVY,
//! in that order) that reaches the requested rate, else MJPEG if it reaches it, else
//! whichever format is fastest. A camera that only reaches 30 fps at 720p in MJPEG (most
//! USB webcams) is therefore captured in MJPEG at 720p30, not in YUYV at 720p10.

use super::sys;
use crate::media::video::frame::VideoFrame;
use crate::media::MediaError;

/// The pixel formats a camera can be captured in (each is converted to I420).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CameraFormat {
    /// Packed 4:2:2, Y0 U Y1 V (`YUYV`).
    Yuyv,
    /// Packed 4:2:2, U Y0 V Y1 (`UYVY`).
    Uyvy,
    /// Planar Y, interleaved UV, 4:2:0 (`NV12`).
    Nv12,
    /// Planar Y, U, V, 4:2:0 (`YU12`).
    I420,
    /// Planar Y, V, U, 4:2:0 (`YV12`).
    Yv12,
    /// Motion JPEG (`MJPG` or `JPEG`), decoded in software.
    Mjpeg,
}

impl CameraFormat {
    /// The format a V4L2 fourcc stands for, if it is one of ours.
    pub fn from_fourcc(fourcc: u32) -> Option<Self> {
        Some(match fourcc {
            sys::V4L2_PIX_FMT_YUYV => Self::Yuyv,
            sys::V4L2_PIX_FMT_UYVY => Self::Uyvy,
            sys::V4L2_PIX_FMT_NV12 => Self::Nv12,
            sys::V4L2_PIX_FMT_YUV420 => Self::I420,
            sys::V4L2_PIX_FMT_YVU420 => Self::Yv12,
            sys::V4L2_PIX_FMT_MJPEG | sys::V4L2_PIX_FMT_JPEG => Self::Mjpeg,
            _ => return None,
        })
    }

    /// Lower is preferred: raw formats need no decoding; MJPEG last.
    fn preference(self) -> u8 {
        match self {
            Self::Yuyv => 0,
            Self::Nv12 => 1,
            Self::I420 => 2,
            Self::Yv12 => 3,
            Self::Uyvy => 4,
            Self::Mjpeg => 5,
        }
    }
}

/// A fourcc as text (`YUYV`), for messages.
pub fn fourcc_name(fourcc: u32) -> String {
    fourcc
        .to_le_bytes()
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Largest frame rate a camera may be asked for.
pub const MAX_CAMERA_FPS: u32 = 240;

/// What to capture from a camera: the wanted size and rate (the nearest the camera offers
/// is used) and optionally a pixel format to insist on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CameraConfig {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Capture in this format (refused if the camera does not offer it); None: choose.
    pub format: Option<CameraFormat>,
}

impl Default for CameraConfig {
    /// 640x360 at 30 fps, format chosen (the virtual camera's default size).
    fn default() -> Self {
        Self {
            width: 640,
            height: 360,
            fps: 30,
            format: None,
        }
    }
}

impl CameraConfig {
    /// Checks the size (1..=8192 each way) and rate (1..=240).
    pub fn validate(&self) -> Result<(), MediaError> {
        VideoFrame::black(self.width, self.height)?;
        if self.fps == 0 || self.fps > MAX_CAMERA_FPS {
            return Err(MediaError::InvalidInput(format!(
                "fps {} is not within 1..={MAX_CAMERA_FPS}",
                self.fps
            )));
        }
        Ok(())
    }
}

/// A frame interval in seconds (numerator / denominator), as V4L2 gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub numerator: u32,
    pub denominator: u32,
}

impl Interval {
    /// One frame every 1/`fps` s.
    pub fn per_second(fps: u32) -> Self {
        Self {
            numerator: 1,
            denominator: fps,
        }
    }

    /// Frames per second (0 for a degenerate interval).
    pub fn fps(self) -> f64 {
        if self.numerator == 0 {
            0.0
        } else {
            f64::from(self.denominator) / f64::from(self.numerator)
        }
    }
}

/// The frame intervals a camera offers at one size.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameIntervals {
    /// A list.
    Discrete(Vec<Interval>),
    /// Any rate between the two (stepwise or continuous ranges).
    Range {
        fastest: Interval,
        slowest: Interval,
    },
    /// The driver does not enumerate intervals.
    Unknown,
}

/// One frame size a camera offers for a format, with its rates.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeOffer {
    pub width: u32,
    pub height: u32,
    pub intervals: FrameIntervals,
}

/// One pixel format a camera offers, with its sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatOffer {
    pub fourcc: u32,
    pub sizes: Vec<SizeOffer>,
}

/// The format, size and interval to ask the driver for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FormatChoice {
    pub format: CameraFormat,
    pub fourcc: u32,
    pub width: u32,
    pub height: u32,
    /// None: the rate is left to the driver (it enumerates none and is asked for the
    /// requested rate anyway).
    pub interval: Option<Interval>,
}

/// The value in `min..=max` on the `step` grid nearest above `want` (the largest if none
/// is above), for stepwise and continuous frame sizes.
pub fn fit_range(want: u32, min: u32, max: u32, step: u32) -> u32 {
    let max = max.max(min);
    let v = want.clamp(min, max);
    if step <= 1 {
        return v;
    }
    let on_grid = min.saturating_add((v - min).div_ceil(step).saturating_mul(step));
    if on_grid > max {
        on_grid.saturating_sub(step).max(min)
    } else {
        on_grid
    }
}

/// How well a size fits a request: lower is better. Sizes covering the request come
/// first, smallest area first (the exact size is the smallest); then the others, largest
/// first.
fn size_rank(w: u32, h: u32, req: &CameraConfig) -> (bool, u64) {
    let area = u64::from(w) * u64::from(h);
    if w >= req.width && h >= req.height {
        (false, area)
    } else {
        (true, u64::MAX - area)
    }
}

/// The interval to ask for at one size, its rate, and whether it reaches `fps`.
fn pick_interval(intervals: &FrameIntervals, fps: u32) -> (Option<Interval>, f64, bool) {
    let want = f64::from(fps) * 0.999;
    match intervals {
        FrameIntervals::Unknown => (Some(Interval::per_second(fps)), f64::from(fps), true),
        FrameIntervals::Range { fastest, slowest } => {
            if fastest.fps() < want {
                (Some(*fastest), fastest.fps(), false)
            } else if slowest.fps() >= want {
                (Some(*slowest), slowest.fps(), true)
            } else {
                (Some(Interval::per_second(fps)), f64::from(fps), true)
            }
        }
        FrameIntervals::Discrete(list) => {
            let usable = list.iter().filter(|i| i.fps() > 0.0);
            // The slowest rate that reaches the request, else the fastest there is.
            let reaching = usable.clone().filter(|i| i.fps() >= want);
            if let Some(i) = reaching.min_by(|a, b| a.fps().total_cmp(&b.fps())) {
                (Some(*i), i.fps(), true)
            } else if let Some(i) = usable.max_by(|a, b| a.fps().total_cmp(&b.fps())) {
                (Some(*i), i.fps(), false)
            } else {
                (None, 0.0, false)
            }
        }
    }
}

/// Chooses what to capture for `req` among `offers` (see the module's rule). An error
/// names what the camera offers when none of it can be used.
pub fn choose_format(offers: &[FormatOffer], req: &CameraConfig) -> Result<FormatChoice, String> {
    let usable: Vec<(CameraFormat, u32, &SizeOffer)> = offers
        .iter()
        .filter_map(|o| Some((CameraFormat::from_fourcc(o.fourcc)?, o)))
        .filter(|(f, _)| req.format.is_none_or(|want| want == *f))
        .flat_map(|(f, o)| o.sizes.iter().map(move |s| (f, o.fourcc, s)))
        .filter(|(_, _, s)| VideoFrame::black(s.width, s.height).is_ok())
        .collect();
    let Some(best_size) = usable
        .iter()
        .map(|(_, _, s)| size_rank(s.width, s.height, req))
        .min()
    else {
        let offered: Vec<String> = offers.iter().map(|o| fourcc_name(o.fourcc)).collect();
        let wanted = match req.format {
            Some(f) => format!("{f:?}"),
            None => "YUYV, UYVY, NV12, YU12, YV12 or MJPEG".to_string(),
        };
        return Err(format!(
            "it offers no format that can be captured (offers: {}; supported: {wanted})",
            if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(", ")
            }
        ));
    };
    usable
        .iter()
        .filter(|(_, _, s)| size_rank(s.width, s.height, req) == best_size)
        .map(|(f, fourcc, s)| {
            let (interval, fps, reaches) = pick_interval(&s.intervals, req.fps);
            // Formats reaching the rate by preference, then the others fastest first.
            let rank = (
                !reaches,
                if reaches {
                    0
                } else {
                    u64::MAX - (fps * 1000.0) as u64
                },
                f.preference(),
            );
            let choice = FormatChoice {
                format: *f,
                fourcc: *fourcc,
                width: s.width,
                height: s.height,
                interval,
            };
            (rank, choice)
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, c)| c)
        .ok_or_else(|| "no size fits".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sys::*;

    fn discrete(fps: &[u32]) -> FrameIntervals {
        FrameIntervals::Discrete(fps.iter().map(|&f| Interval::per_second(f)).collect())
    }

    fn offer(fourcc: u32, sizes: &[(u32, u32, &[u32])]) -> FormatOffer {
        FormatOffer {
            fourcc,
            sizes: sizes
                .iter()
                .map(|&(width, height, fps)| SizeOffer {
                    width,
                    height,
                    intervals: discrete(fps),
                })
                .collect(),
        }
    }

    fn req(width: u32, height: u32, fps: u32) -> CameraConfig {
        CameraConfig {
            width,
            height,
            fps,
            format: None,
        }
    }

    /// A typical USB webcam: YUYV is slow at large sizes, MJPEG is fast at all sizes.
    fn webcam() -> Vec<FormatOffer> {
        vec![
            offer(
                V4L2_PIX_FMT_MJPEG,
                &[
                    (640, 480, &[30, 15]),
                    (1280, 720, &[30, 15]),
                    (1920, 1080, &[30]),
                ],
            ),
            offer(
                V4L2_PIX_FMT_YUYV,
                &[
                    (640, 480, &[30, 15]),
                    (640, 360, &[30, 15]),
                    (1280, 720, &[10, 5]),
                ],
            ),
            offer(fourcc(b"GREY"), &[(320, 240, &[30])]),
        ]
    }

    fn pick(offers: &[FormatOffer], r: CameraConfig) -> (CameraFormat, u32, u32, f64) {
        let c = choose_format(offers, &r).unwrap();
        (
            c.format,
            c.width,
            c.height,
            c.interval.map_or(0.0, |i| i.fps()),
        )
    }

    #[test]
    fn raw_formats_are_preferred_and_mjpeg_taken_when_only_it_reaches_size_and_rate() {
        let cam = webcam();
        use CameraFormat::*;
        assert_eq!(pick(&cam, req(640, 360, 30)), (Yuyv, 640, 360, 30.0));
        assert_eq!(pick(&cam, req(640, 480, 15)), (Yuyv, 640, 480, 15.0));
        // 720p30: YUYV reaches only 10 fps there, MJPEG 30.
        assert_eq!(pick(&cam, req(1280, 720, 30)), (Mjpeg, 1280, 720, 30.0));
        // 720p10: YUYV reaches it.
        assert_eq!(pick(&cam, req(1280, 720, 10)), (Yuyv, 1280, 720, 10.0));
        // 1080p: only MJPEG has it.
        assert_eq!(pick(&cam, req(1920, 1080, 30)), (Mjpeg, 1920, 1080, 30.0));
        // Nothing reaches 60: the fastest at the size, raw on a tie.
        assert_eq!(pick(&cam, req(640, 480, 60)), (Yuyv, 640, 480, 30.0));
        assert_eq!(pick(&cam, req(1280, 720, 60)), (Mjpeg, 1280, 720, 30.0));
        // A format insisted on.
        let mjpeg_only = CameraConfig {
            format: Some(Mjpeg),
            ..req(640, 360, 30)
        };
        assert_eq!(pick(&cam, mjpeg_only), (Mjpeg, 640, 480, 30.0));
    }

    #[test]
    fn the_nearest_size_covering_the_request_wins_else_the_largest() {
        let cam = webcam();
        use CameraFormat::*;
        // Between sizes: the smallest covering one.
        assert_eq!(pick(&cam, req(800, 450, 30)), (Mjpeg, 1280, 720, 30.0));
        assert_eq!(pick(&cam, req(320, 180, 30)), (Yuyv, 640, 360, 30.0));
        // Larger than everything: the largest.
        assert_eq!(pick(&cam, req(3840, 2160, 30)), (Mjpeg, 1920, 1080, 30.0));
        // The slowest rate that reaches the request.
        assert_eq!(pick(&cam, req(640, 360, 12)), (Yuyv, 640, 360, 15.0));
    }

    #[test]
    fn planar_preference_ranges_and_unknown_intervals() {
        use CameraFormat::*;
        let cam = vec![
            offer(V4L2_PIX_FMT_YVU420, &[(640, 360, &[30])]),
            offer(V4L2_PIX_FMT_UYVY, &[(640, 360, &[30])]),
            offer(V4L2_PIX_FMT_YUV420, &[(640, 360, &[30])]),
            offer(V4L2_PIX_FMT_NV12, &[(640, 360, &[30])]),
        ];
        assert_eq!(pick(&cam, req(640, 360, 30)), (Nv12, 640, 360, 30.0));
        assert_eq!(pick(&cam[..3], req(640, 360, 30)), (I420, 640, 360, 30.0));
        assert_eq!(pick(&cam[..2], req(640, 360, 30)), (Yv12, 640, 360, 30.0));
        // A continuous range of rates: the requested one, clamped to the range.
        let ranged = |fastest: u32, slowest: u32| {
            vec![FormatOffer {
                fourcc: V4L2_PIX_FMT_YUYV,
                sizes: vec![SizeOffer {
                    width: 640,
                    height: 480,
                    intervals: FrameIntervals::Range {
                        fastest: Interval::per_second(fastest),
                        slowest: Interval::per_second(slowest),
                    },
                }],
            }]
        };
        assert_eq!(pick(&ranged(60, 1), req(640, 480, 25)).3, 25.0);
        assert_eq!(pick(&ranged(20, 1), req(640, 480, 25)).3, 20.0);
        assert_eq!(pick(&ranged(60, 50), req(640, 480, 25)).3, 50.0);
        let unknown = vec![FormatOffer {
            fourcc: V4L2_PIX_FMT_YUYV,
            sizes: vec![SizeOffer {
                width: 640,
                height: 480,
                intervals: FrameIntervals::Unknown,
            }],
        }];
        assert_eq!(
            choose_format(&unknown, &req(640, 480, 24))
                .unwrap()
                .interval,
            Some(Interval::per_second(24))
        );
    }

    #[test]
    fn unusable_cameras_say_what_they_offer() {
        let grey = vec![offer(fourcc(b"GREY"), &[(640, 480, &[30])])];
        let e = choose_format(&grey, &req(640, 480, 30)).unwrap_err();
        assert!(e.contains("offers: GREY"), "{e}");
        assert!(choose_format(&[], &req(640, 480, 30))
            .unwrap_err()
            .contains("offers: none"));
        let no_nv12 = CameraConfig {
            format: Some(CameraFormat::Nv12),
            ..req(640, 360, 30)
        };
        let e = choose_format(&webcam(), &no_nv12).unwrap_err();
        assert!(e.contains("MJPG, YUYV, GREY") && e.contains("Nv12"), "{e}");
    }

    #[test]
    fn stepwise_sizes_fit_on_their_grid() {
        assert_eq!(fit_range(640, 16, 1920, 16), 640);
        assert_eq!(fit_range(641, 16, 1920, 16), 656);
        assert_eq!(fit_range(5000, 16, 1920, 16), 1920);
        assert_eq!(fit_range(8, 16, 1920, 16), 16);
        // A max off the grid: the last grid value below it.
        assert_eq!(fit_range(1919, 16, 1919, 16), 1904);
        assert_eq!(fit_range(333, 2, 4000, 1), 333);
        assert_eq!(fit_range(333, 2, 4000, 0), 333);
    }

    #[test]
    fn configs_are_checked_and_fourccs_named() {
        assert!(CameraConfig::default().validate().is_ok());
        for (w, h, fps) in [
            (0, 360, 30),
            (640, 9000, 30),
            (640, 360, 0),
            (640, 360, 241),
        ] {
            assert!(req(w, h, fps).validate().is_err(), "{w}x{h}@{fps}");
        }
        assert_eq!(fourcc_name(V4L2_PIX_FMT_MJPEG), "MJPG");
        assert_eq!(fourcc_name(fourcc(b"Y8  ")), "Y8");
        assert_eq!(fourcc_name(0x0001_4141), "AA??");
        assert_eq!(
            CameraFormat::from_fourcc(V4L2_PIX_FMT_JPEG),
            Some(CameraFormat::Mjpeg)
        );
    }
}
