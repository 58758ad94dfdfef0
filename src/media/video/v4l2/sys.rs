//! The part of `linux/videodev2.h` that single-planar mmap capture needs: structures with
//! the kernel's layout, ioctl request numbers and constants. Written out by hand (no
//! bindgen); the sizes and numbers are checked against the header's values below and in the
//! tests.

#![allow(non_camel_case_types)]

use std::mem::size_of;

// ioctl request encoding (asm-generic/ioctl.h, used by x86, arm, arm64, riscv, s390).
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((b'V' as u32) << 8) | nr
}
const fn ior<T>(nr: u32) -> u32 {
    ioc(IOC_READ, nr, size_of::<T>())
}
const fn iow<T>(nr: u32) -> u32 {
    ioc(IOC_WRITE, nr, size_of::<T>())
}
const fn iowr<T>(nr: u32) -> u32 {
    ioc(IOC_READ | IOC_WRITE, nr, size_of::<T>())
}

pub const VIDIOC_QUERYCAP: u32 = ior::<v4l2_capability>(0);
pub const VIDIOC_ENUM_FMT: u32 = iowr::<v4l2_fmtdesc>(2);
pub const VIDIOC_S_FMT: u32 = iowr::<v4l2_format>(5);
pub const VIDIOC_REQBUFS: u32 = iowr::<v4l2_requestbuffers>(8);
pub const VIDIOC_QUERYBUF: u32 = iowr::<v4l2_buffer>(9);
pub const VIDIOC_QBUF: u32 = iowr::<v4l2_buffer>(15);
pub const VIDIOC_DQBUF: u32 = iowr::<v4l2_buffer>(17);
pub const VIDIOC_STREAMON: u32 = iow::<libc::c_int>(18);
pub const VIDIOC_STREAMOFF: u32 = iow::<libc::c_int>(19);
pub const VIDIOC_G_PARM: u32 = iowr::<v4l2_streamparm>(21);
pub const VIDIOC_S_PARM: u32 = iowr::<v4l2_streamparm>(22);
pub const VIDIOC_ENUM_FRAMESIZES: u32 = iowr::<v4l2_frmsizeenum>(74);
pub const VIDIOC_ENUM_FRAMEINTERVALS: u32 = iowr::<v4l2_frmivalenum>(75);

pub const V4L2_CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
pub const V4L2_CAP_VIDEO_CAPTURE_MPLANE: u32 = 0x0000_1000;
pub const V4L2_CAP_STREAMING: u32 = 0x0400_0000;
pub const V4L2_CAP_DEVICE_CAPS: u32 = 0x8000_0000;
/// In `v4l2_captureparm::capability`: the frame rate can be set.
pub const V4L2_CAP_TIMEPERFRAME: u32 = 0x1000;

pub const V4L2_BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
pub const V4L2_MEMORY_MMAP: u32 = 1;
pub const V4L2_FIELD_NONE: u32 = 1;

pub const V4L2_FRMSIZE_TYPE_DISCRETE: u32 = 1;
pub const V4L2_FRMSIZE_TYPE_CONTINUOUS: u32 = 2;
pub const V4L2_FRMSIZE_TYPE_STEPWISE: u32 = 3;
pub const V4L2_FRMIVAL_TYPE_DISCRETE: u32 = 1;

pub const V4L2_BUF_FLAG_ERROR: u32 = 0x0040;
pub const V4L2_BUF_FLAG_TIMESTAMP_MASK: u32 = 0xe000;
pub const V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC: u32 = 0x2000;

/// `v4l2_fourcc(a, b, c, d)`.
pub const fn fourcc(code: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*code)
}

pub const V4L2_PIX_FMT_YUYV: u32 = fourcc(b"YUYV");
pub const V4L2_PIX_FMT_UYVY: u32 = fourcc(b"UYVY");
pub const V4L2_PIX_FMT_NV12: u32 = fourcc(b"NV12");
pub const V4L2_PIX_FMT_YUV420: u32 = fourcc(b"YU12");
pub const V4L2_PIX_FMT_YVU420: u32 = fourcc(b"YV12");
pub const V4L2_PIX_FMT_MJPEG: u32 = fourcc(b"MJPG");
pub const V4L2_PIX_FMT_JPEG: u32 = fourcc(b"JPEG");

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct v4l2_capability {
    pub driver: [u8; 16],
    pub card: [u8; 32],
    pub bus_info: [u8; 32],
    pub version: u32,
    pub capabilities: u32,
    pub device_caps: u32,
    pub reserved: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct v4l2_fmtdesc {
    pub index: u32,
    pub type_: u32,
    pub flags: u32,
    pub description: [u8; 32],
    pub pixelformat: u32,
    pub mbus_code: u32,
    pub reserved: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct v4l2_fract {
    pub numerator: u32,
    pub denominator: u32,
}

/// `v4l2_frmsize_stepwise`; a discrete size is its first two fields (width, height).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct v4l2_frmsize_stepwise {
    pub min_width: u32,
    pub max_width: u32,
    pub step_width: u32,
    pub min_height: u32,
    pub max_height: u32,
    pub step_height: u32,
}

/// `v4l2_frmsizeenum`. The union of a discrete size and a stepwise range is held as the
/// larger (stepwise) member: for `V4L2_FRMSIZE_TYPE_DISCRETE`, width is `min_width` and
/// height is `max_width` (the union's first two words).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct v4l2_frmsizeenum {
    pub index: u32,
    pub pixel_format: u32,
    pub type_: u32,
    pub size: v4l2_frmsize_stepwise,
    pub reserved: [u32; 2],
}

/// `v4l2_frmival_stepwise`; a discrete interval is its first member.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct v4l2_frmival_stepwise {
    pub min: v4l2_fract,
    pub max: v4l2_fract,
    pub step: v4l2_fract,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct v4l2_frmivalenum {
    pub index: u32,
    pub pixel_format: u32,
    pub width: u32,
    pub height: u32,
    pub type_: u32,
    pub interval: v4l2_frmival_stepwise,
    pub reserved: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct v4l2_pix_format {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
    pub colorspace: u32,
    pub priv_: u32,
    pub flags: u32,
    pub ycbcr_enc: u32,
    pub quantization: u32,
    pub xfer_func: u32,
}

/// The `fmt` union of `v4l2_format`: 200 bytes, pointer-aligned (its `v4l2_window` member
/// holds pointers), so on 64-bit targets it starts at offset 8.
#[repr(C)]
#[derive(Clone, Copy)]
pub union v4l2_format_fmt {
    pub pix: v4l2_pix_format,
    pub raw_data: [u8; 200],
    _align: [libc::c_ulong; 200 / size_of::<libc::c_ulong>()],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct v4l2_format {
    pub type_: u32,
    pub fmt: v4l2_format_fmt,
}

impl Default for v4l2_format {
    fn default() -> Self {
        Self {
            type_: 0,
            fmt: v4l2_format_fmt { raw_data: [0; 200] },
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct v4l2_requestbuffers {
    pub count: u32,
    pub type_: u32,
    pub memory: u32,
    pub capabilities: u32,
    pub flags: u8,
    pub reserved: [u8; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct v4l2_timecode {
    pub type_: u32,
    pub flags: u32,
    pub frames: u8,
    pub seconds: u8,
    pub minutes: u8,
    pub hours: u8,
    pub userbits: [u8; 4],
}

/// The `m` union of `v4l2_buffer` (offset / userptr / planes / fd), held as the
/// pointer-sized `userptr`; for mmap buffers the offset is its low 32 bits.
#[repr(C)]
#[derive(Clone, Copy)]
pub union v4l2_buffer_m {
    pub offset: u32,
    pub userptr: libc::c_ulong,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct v4l2_buffer {
    pub index: u32,
    pub type_: u32,
    pub bytesused: u32,
    pub flags: u32,
    pub field: u32,
    pub timestamp: libc::timeval,
    pub timecode: v4l2_timecode,
    pub sequence: u32,
    pub memory: u32,
    pub m: v4l2_buffer_m,
    pub length: u32,
    pub reserved2: u32,
    pub request_fd: i32,
}

impl Default for v4l2_buffer {
    fn default() -> Self {
        Self {
            index: 0,
            type_: 0,
            bytesused: 0,
            flags: 0,
            field: 0,
            timestamp: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            timecode: v4l2_timecode::default(),
            sequence: 0,
            memory: 0,
            m: v4l2_buffer_m { userptr: 0 },
            length: 0,
            reserved2: 0,
            request_fd: 0,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct v4l2_captureparm {
    pub capability: u32,
    pub capturemode: u32,
    pub timeperframe: v4l2_fract,
    pub extendedmode: u32,
    pub readbuffers: u32,
    pub reserved: [u32; 4],
}

/// The `parm` union of `v4l2_streamparm` (200 bytes, 4-byte aligned).
#[repr(C)]
#[derive(Clone, Copy)]
pub union v4l2_streamparm_parm {
    pub capture: v4l2_captureparm,
    pub raw_data: [u8; 200],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct v4l2_streamparm {
    pub type_: u32,
    pub parm: v4l2_streamparm_parm,
}

impl Default for v4l2_streamparm {
    fn default() -> Self {
        Self {
            type_: 0,
            parm: v4l2_streamparm_parm { raw_data: [0; 200] },
        }
    }
}

// The kernel's sizes (linux/videodev2.h); the ioctl numbers embed them, so a wrong layout
// would be refused by the driver (ENOTTY), not misread.
const _: () = assert!(size_of::<v4l2_capability>() == 104);
const _: () = assert!(size_of::<v4l2_fmtdesc>() == 64);
const _: () = assert!(size_of::<v4l2_frmsizeenum>() == 44);
const _: () = assert!(size_of::<v4l2_frmivalenum>() == 52);
const _: () = assert!(size_of::<v4l2_pix_format>() == 48);
const _: () = assert!(size_of::<v4l2_requestbuffers>() == 20);
const _: () = assert!(size_of::<v4l2_timecode>() == 16);
const _: () = assert!(size_of::<v4l2_captureparm>() == 40);
const _: () = assert!(size_of::<v4l2_streamparm>() == 204);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<v4l2_format>() == 208);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<v4l2_buffer>() == 88);

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn ioctl_numbers_and_fourccs_match_videodev2_h() {
        // Values printed by a C program including <linux/videodev2.h> on x86_64.
        #[cfg(target_pointer_width = "64")]
        for (ours, header) in [
            (VIDIOC_QUERYCAP, 0x8068_5600u32),
            (VIDIOC_ENUM_FMT, 0xc040_5602),
            (VIDIOC_S_FMT, 0xc0d0_5605),
            (VIDIOC_REQBUFS, 0xc014_5608),
            (VIDIOC_QUERYBUF, 0xc058_5609),
            (VIDIOC_QBUF, 0xc058_560f),
            (VIDIOC_DQBUF, 0xc058_5611),
            (VIDIOC_STREAMON, 0x4004_5612),
            (VIDIOC_STREAMOFF, 0x4004_5613),
            (VIDIOC_G_PARM, 0xc0cc_5615),
            (VIDIOC_S_PARM, 0xc0cc_5616),
            (VIDIOC_ENUM_FRAMESIZES, 0xc02c_564a),
            (VIDIOC_ENUM_FRAMEINTERVALS, 0xc034_564b),
        ] {
            assert_eq!(ours, header, "{ours:#x} != {header:#x}");
        }
        for (ours, header) in [
            (V4L2_PIX_FMT_YUYV, 0x5659_5559u32),
            (V4L2_PIX_FMT_UYVY, 0x5956_5955),
            (V4L2_PIX_FMT_NV12, 0x3231_564e),
            (V4L2_PIX_FMT_YUV420, 0x3231_5559),
            (V4L2_PIX_FMT_YVU420, 0x3231_5659),
            (V4L2_PIX_FMT_MJPEG, 0x4750_4a4d),
            (V4L2_PIX_FMT_JPEG, 0x4745_504a),
        ] {
            assert_eq!(ours, header);
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn union_members_sit_where_the_kernel_puts_them() {
        assert_eq!(offset_of!(v4l2_format, fmt), 8);
        assert_eq!(offset_of!(v4l2_buffer, timestamp), 24);
        assert_eq!(offset_of!(v4l2_buffer, m), 64);
        assert_eq!(offset_of!(v4l2_buffer, length), 72);
        assert_eq!(offset_of!(v4l2_frmsizeenum, size), 12);
        assert_eq!(offset_of!(v4l2_frmivalenum, interval), 20);
        assert_eq!(offset_of!(v4l2_streamparm, parm), 4);
    }
}
