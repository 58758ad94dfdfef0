//! I420 video frames (the internal format) and conversions to and from the pixel formats
//! hosts push and renderers ask for: NV12, RGBA, BGRA, BGRX, each with a stride.
//!
//! Colour conversion is BT.601 limited range (what camera pipelines and H.264 decoders use
//! by default), done by `yuvutils-rs` (SIMD: AVX2 / SSE4.1 chosen at run time, NEON on ARM;
//! about 20x faster than the scalar loops it replaced, see benches/convert_bench.rs). Its
//! chroma of a 2x2 block is the conversion of the block's average colour, as ours was.

use crate::media::MediaError;
use std::borrow::Cow;
use yuvutils_rs::{
    BufferStoreMut, YuvConversionMode, YuvPlanarImage, YuvPlanarImageMut, YuvRange,
    YuvStandardMatrix,
};

/// Pixel formats at the API boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum PixelFormat {
    /// Planar Y, U, V (4:2:0).
    I420 = 0,
    /// Planar Y, interleaved UV (4:2:0).
    Nv12 = 1,
    /// 8-bit R, G, B, A.
    Rgba = 2,
    /// 8-bit B, G, R, A.
    Bgra = 3,
    /// 8-bit B, G, R, unused (alpha ignored on input, 255 on output).
    Bgrx = 4,
}

impl PixelFormat {
    /// Bytes per pixel of the packed formats (None for the planar ones).
    pub fn packed_bytes(self) -> Option<usize> {
        match self {
            PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Bgrx => Some(4),
            PixelFormat::I420 | PixelFormat::Nv12 => None,
        }
    }
}

/// An I420 frame with tightly packed planes (Y stride = width, chroma stride = (width+1)/2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

/// Chroma plane size for a luma size.
pub fn chroma_size(width: u32, height: u32) -> (u32, u32) {
    (width.div_ceil(2), height.div_ceil(2))
}

/// Smallest row stride of `format` at `width`: the width (I420), the width rounded up to
/// even (NV12: a UV row holds a U,V pair per two pixels and shares the luma stride), or 4
/// bytes per pixel (packed formats).
pub fn min_stride(format: PixelFormat, width: u32) -> usize {
    let w = width as usize;
    match format {
        PixelFormat::I420 => w,
        PixelFormat::Nv12 => w.next_multiple_of(2),
        _ => format.packed_bytes().map_or(w, |b| b * w),
    }
}

fn check_size(width: u32, height: u32) -> Result<(), MediaError> {
    if width == 0 || height == 0 || width > 8192 || height > 8192 {
        return Err(MediaError::InvalidInput(format!(
            "frame size {width}x{height} is not within 1..=8192"
        )));
    }
    Ok(())
}

const RANGE: YuvRange = YuvRange::Limited;
const MATRIX: YuvStandardMatrix = YuvStandardMatrix::Bt601;

fn yuv_error(e: yuvutils_rs::YuvError) -> MediaError {
    MediaError::InvalidInput(format!("colour conversion: {e}"))
}

impl VideoFrame {
    /// A black frame.
    pub fn black(width: u32, height: u32) -> Result<Self, MediaError> {
        check_size(width, height)?;
        let (cw, ch) = chroma_size(width, height);
        Ok(Self {
            width,
            height,
            y: vec![16; (width * height) as usize],
            u: vec![128; (cw * ch) as usize],
            v: vec![128; (cw * ch) as usize],
        })
    }

    /// Chroma plane width.
    pub fn chroma_width(&self) -> u32 {
        chroma_size(self.width, self.height).0
    }

    /// Imports a frame in `format` from `data` whose rows are `stride` bytes apart (for
    /// the planar formats, `stride` is the luma stride and chroma rows follow the formats'
    /// usual layout: I420 chroma stride = (stride+1)/2, NV12 UV stride = stride).
    pub fn import(
        format: PixelFormat,
        data: &[u8],
        width: u32,
        height: u32,
        stride: usize,
    ) -> Result<Self, MediaError> {
        check_size(width, height)?;
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = chroma_size(width, height);
        let (cw, ch) = (cw as usize, ch as usize);
        let need = |n: usize| {
            if data.len() < n {
                Err(MediaError::InvalidInput(format!(
                    "{format:?} {width}x{height} stride {stride} needs {n} bytes, got {}",
                    data.len()
                )))
            } else {
                Ok(())
            }
        };
        let mut f = Self::black(width, height)?;
        match format {
            PixelFormat::I420 | PixelFormat::Nv12 => {
                let min = min_stride(format, width);
                if stride < min {
                    return Err(MediaError::InvalidInput(format!(
                        "stride {stride} < {min} for {format:?} width {w}"
                    )));
                }
                let y_len = stride * h;
                let c_stride = if format == PixelFormat::I420 {
                    stride.div_ceil(2)
                } else {
                    stride
                };
                let c_len = c_stride * ch;
                need(
                    y_len
                        + if format == PixelFormat::I420 {
                            2 * c_len
                        } else {
                            c_len
                        },
                )?;
                for r in 0..h {
                    f.y[r * w..][..w].copy_from_slice(&data[r * stride..][..w]);
                }
                for r in 0..ch {
                    if format == PixelFormat::I420 {
                        let u0 = y_len + r * c_stride;
                        let v0 = y_len + c_len + r * c_stride;
                        f.u[r * cw..][..cw].copy_from_slice(&data[u0..][..cw]);
                        f.v[r * cw..][..cw].copy_from_slice(&data[v0..][..cw]);
                    } else {
                        let row = &data[y_len + r * c_stride..][..2 * cw];
                        for c in 0..cw {
                            f.u[r * cw + c] = row[2 * c];
                            f.v[r * cw + c] = row[2 * c + 1];
                        }
                    }
                }
            }
            PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Bgrx => {
                if stride < 4 * w {
                    return Err(MediaError::InvalidInput(format!(
                        "stride {stride} < 4 x width {w}"
                    )));
                }
                need(stride * (h - 1) + 4 * w)?;
                // The library walks rows in pairs of `stride`: give a last row without its
                // padding the padding (a copy, only in that case).
                let data = if data.len() < stride * h {
                    let mut padded = data[..stride * (h - 1) + 4 * w].to_vec();
                    padded.resize(stride * h, 0);
                    Cow::Owned(padded)
                } else {
                    Cow::Borrowed(data)
                };
                let stride32 = u32::try_from(stride)
                    .map_err(|_| MediaError::InvalidInput(format!("stride {stride} too large")))?;
                let mut planes = YuvPlanarImageMut {
                    y_plane: BufferStoreMut::Borrowed(&mut f.y),
                    y_stride: width,
                    u_plane: BufferStoreMut::Borrowed(&mut f.u),
                    u_stride: cw as u32,
                    v_plane: BufferStoreMut::Borrowed(&mut f.v),
                    v_stride: cw as u32,
                    width,
                    height,
                };
                let convert = match format {
                    PixelFormat::Rgba => yuvutils_rs::rgba_to_yuv420,
                    _ => yuvutils_rs::bgra_to_yuv420,
                };
                convert(
                    &mut planes,
                    &data,
                    stride32,
                    RANGE,
                    MATRIX,
                    YuvConversionMode::Balanced,
                )
                .map_err(yuv_error)?;
            }
        }
        Ok(f)
    }

    /// Bytes `export` writes for `format` with rows `stride` apart.
    pub fn export_size(&self, format: PixelFormat, stride: usize) -> usize {
        let h = self.height as usize;
        let ch = chroma_size(self.width, self.height).1 as usize;
        match format {
            PixelFormat::I420 => stride * h + 2 * stride.div_ceil(2) * ch,
            PixelFormat::Nv12 => stride * h + stride * ch,
            _ => stride * h,
        }
    }

    /// Writes the frame in `format` into `out` with rows `stride` bytes apart (the
    /// minimum stride is the width, or 4 x width for the packed formats).
    pub fn export(
        &self,
        format: PixelFormat,
        out: &mut [u8],
        stride: usize,
    ) -> Result<(), MediaError> {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = chroma_size(self.width, self.height);
        let (cw, ch) = (cw as usize, ch as usize);
        let min = min_stride(format, self.width);
        if stride < min {
            return Err(MediaError::InvalidInput(format!(
                "stride {stride} < {min} for {format:?} width {w}"
            )));
        }
        let n = self.export_size(format, stride);
        if out.len() < n {
            return Err(MediaError::InvalidInput(format!(
                "{format:?} {w}x{h} stride {stride} needs {n} bytes, got {}",
                out.len()
            )));
        }
        match format {
            PixelFormat::I420 | PixelFormat::Nv12 => {
                for r in 0..h {
                    out[r * stride..][..w].copy_from_slice(&self.y[r * w..][..w]);
                }
                let y_len = stride * h;
                for r in 0..ch {
                    if format == PixelFormat::I420 {
                        let cs = stride.div_ceil(2);
                        out[y_len + r * cs..][..cw].copy_from_slice(&self.u[r * cw..][..cw]);
                        out[y_len + cs * ch + r * cs..][..cw]
                            .copy_from_slice(&self.v[r * cw..][..cw]);
                    } else {
                        let row = &mut out[y_len + r * stride..][..2 * cw];
                        for c in 0..cw {
                            row[2 * c] = self.u[r * cw + c];
                            row[2 * c + 1] = self.v[r * cw + c];
                        }
                    }
                }
            }
            PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Bgrx => {
                let stride32 = u32::try_from(stride)
                    .map_err(|_| MediaError::InvalidInput(format!("stride {stride} too large")))?;
                let planes = YuvPlanarImage {
                    y_plane: &self.y,
                    y_stride: self.width,
                    u_plane: &self.u,
                    u_stride: cw as u32,
                    v_plane: &self.v,
                    v_stride: cw as u32,
                    width: self.width,
                    height: self.height,
                };
                // BGRX is BGRA with alpha 255, which the conversion writes.
                let convert = match format {
                    PixelFormat::Rgba => yuvutils_rs::yuv420_to_rgba,
                    _ => yuvutils_rs::yuv420_to_bgra,
                };
                convert(&planes, &mut out[..n], stride32, RANGE, MATRIX).map_err(yuv_error)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth colourful frame (chroma subsampling loses little on it).
    fn gradient(w: u32, h: u32) -> Vec<u8> {
        let mut rgba = vec![0u8; (w * h * 4) as usize];
        for y in 0..h {
            for x in 0..w {
                let i = ((y * w + x) * 4) as usize;
                rgba[i] = (x * 255 / w.max(2)) as u8;
                rgba[i + 1] = (y * 255 / h.max(2)) as u8;
                rgba[i + 2] = 128;
                rgba[i + 3] = 255;
            }
        }
        rgba
    }

    fn max_diff(a: &[u8], b: &[u8]) -> u8 {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn rgba_round_trips_through_i420_within_rounding() {
        let (w, h) = (64, 48);
        let rgba = gradient(w, h);
        let f = VideoFrame::import(PixelFormat::Rgba, &rgba, w, h, 4 * w as usize).unwrap();
        let mut out = vec![0u8; f.export_size(PixelFormat::Rgba, 4 * w as usize)];
        f.export(PixelFormat::Rgba, &mut out, 4 * w as usize)
            .unwrap();
        assert!(
            max_diff(&rgba, &out) <= 8,
            "max diff {}",
            max_diff(&rgba, &out)
        );
    }

    #[test]
    fn bgra_and_bgrx_swap_channels() {
        let (w, h) = (2, 2);
        let red_bgra = [0u8, 0, 255, 255].repeat(4);
        let f = VideoFrame::import(PixelFormat::Bgrx, &red_bgra, w, h, 8).unwrap();
        let mut out = vec![0u8; 16];
        f.export(PixelFormat::Rgba, &mut out, 8).unwrap();
        assert!(
            out[0] > 240 && out[1] < 15 && out[2] < 15,
            "{:?}",
            &out[..4]
        );
        f.export(PixelFormat::Bgra, &mut out, 8).unwrap();
        assert!(out[2] > 240 && out[0] < 15, "{:?}", &out[..4]);
    }

    #[test]
    fn i420_and_nv12_round_trip_exactly_with_padding() {
        let (w, h) = (33, 17); // odd sizes: chroma rounds up
        let rgba = gradient(w, h);
        let f = VideoFrame::import(PixelFormat::Rgba, &rgba, w, h, 4 * w as usize).unwrap();
        for format in [PixelFormat::I420, PixelFormat::Nv12] {
            let stride = 40;
            let mut buf = vec![0u8; f.export_size(format, stride)];
            f.export(format, &mut buf, stride).unwrap();
            let back = VideoFrame::import(format, &buf, w, h, stride).unwrap();
            assert_eq!(back, f, "{format:?}");
        }
    }

    #[test]
    fn nv12_with_an_odd_width_needs_an_even_stride() {
        let src = VideoFrame::import(PixelFormat::Rgba, &gradient(5, 3), 5, 3, 20).unwrap();
        assert_eq!(min_stride(PixelFormat::Nv12, 5), 6);
        let mut out = vec![0u8; src.export_size(PixelFormat::Nv12, 6)];
        assert!(src.export(PixelFormat::Nv12, &mut out, 5).is_err());
        assert!(VideoFrame::import(PixelFormat::Nv12, &out, 5, 3, 5).is_err());
        src.export(PixelFormat::Nv12, &mut out, 6).unwrap();
        let back = VideoFrame::import(PixelFormat::Nv12, &out, 5, 3, 6).unwrap();
        assert_eq!(back, src);
    }

    // The straightforward BT.601 limited range conversions (8-bit fixed point, coefficients
    // x 256) that the SIMD library must agree with.
    fn ref_rgb_to_yuv(r: i32, g: i32, b: i32) -> [u8; 3] {
        let c = |x: i32| x.clamp(0, 255) as u8;
        [
            c(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16),
            c(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128),
            c(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128),
        ]
    }

    fn ref_yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
        let c = 298 * (i32::from(y) - 16);
        let (d, e) = (i32::from(u) - 128, i32::from(v) - 128);
        let k = |x: i32| (x >> 8).clamp(0, 255) as u8;
        [
            k(c + 409 * e + 128),
            k(c - 100 * d - 208 * e + 128),
            k(c + 516 * d + 128),
        ]
    }

    /// Saturated colours in blocks plus a ramp and some noise (a wrong matrix shows most on
    /// saturated colours).
    fn colourful(w: usize, h: usize, stride: usize) -> Vec<u8> {
        let mut out = vec![0u8; stride * h];
        let mut seed = 0x1234_5678u32;
        for y in 0..h {
            for x in 0..w {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 24) as u8 & 7;
                let block = (x / 6 + y / 5) % 6;
                let p = [
                    [255, 0, 0],
                    [0, 255, 0],
                    [0, 0, 255],
                    [255, 255, 0],
                    [(x * 255 / w) as u8, (y * 255 / h) as u8, 90],
                    [20, 200, 120],
                ][block];
                let px = &mut out[y * stride + 4 * x..][..4];
                px[0] = p[0].saturating_sub(noise);
                px[1] = p[1].saturating_add(noise);
                px[2] = p[2].saturating_sub(noise);
                px[3] = 255;
            }
        }
        out
    }

    #[test]
    fn conversions_agree_with_the_bt601_reference_at_odd_sizes_and_padded_strides() {
        // 135 and 333 wide: whole SIMD blocks, then a tail ending in an odd pixel.
        for (w, h, pad) in [
            (33usize, 17usize, 12usize),
            (64, 36, 0),
            (7, 5, 4),
            (1, 1, 0),
            (135, 7, 8),
            (333, 4, 0),
        ] {
            let stride = 4 * w + pad;
            let rgba = colourful(w, h, stride);
            // The last row without its padding, as a host may pass it.
            let data = &rgba[..stride * (h - 1) + 4 * w];
            let f =
                VideoFrame::import(PixelFormat::Rgba, data, w as u32, h as u32, stride).unwrap();
            let bgra: Vec<u8> = rgba
                .chunks_exact(4)
                .flat_map(|p| [p[2], p[1], p[0], 0])
                .collect();
            let g =
                VideoFrame::import(PixelFormat::Bgrx, &bgra, w as u32, h as u32, stride).unwrap();
            assert_eq!(f, g, "{w}x{h}: BGRX imports as RGBA does");
            let px = |x: usize, y: usize| {
                let p = &rgba[y * stride + 4 * x..][..3];
                [i32::from(p[0]), i32::from(p[1]), i32::from(p[2])]
            };
            let cw = w.div_ceil(2);
            for y in 0..h {
                for x in 0..w {
                    let [r, g, b] = px(x, y);
                    let want = ref_rgb_to_yuv(r, g, b)[0];
                    let got = f.y[y * w + x];
                    assert!(
                        got.abs_diff(want) <= 1,
                        "{w}x{h} Y({x},{y}) {got} vs {want}"
                    );
                }
            }
            for cy in 0..h.div_ceil(2) {
                for cx in 0..cw {
                    let (mut sum, mut n) = ([0i32; 3], 0);
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let (x, y) = (2 * cx + dx, 2 * cy + dy);
                        if x < w && y < h {
                            let p = px(x, y);
                            (0..3).for_each(|i| sum[i] += p[i]);
                            n += 1;
                        }
                    }
                    let want = ref_rgb_to_yuv(sum[0] / n, sum[1] / n, sum[2] / n);
                    let got = [f.u[cy * cw + cx], f.v[cy * cw + cx]];
                    assert!(
                        got[0].abs_diff(want[1]) <= 2 && got[1].abs_diff(want[2]) <= 2,
                        "{w}x{h} UV({cx},{cy}) {got:?} vs {:?}",
                        &want[1..]
                    );
                }
            }
            // Back to RGBA / BGRA / BGRX into padded rows: the padding is left alone.
            for format in [PixelFormat::Rgba, PixelFormat::Bgra, PixelFormat::Bgrx] {
                let mut out = vec![7u8; f.export_size(format, stride)];
                f.export(format, &mut out, stride).unwrap();
                for y in 0..h {
                    for x in 0..w {
                        let ci = (y / 2) * cw + x / 2;
                        let want = ref_yuv_to_rgb(f.y[y * w + x], f.u[ci], f.v[ci]);
                        let p = &out[y * stride + 4 * x..][..4];
                        let got = match format {
                            PixelFormat::Rgba => [p[0], p[1], p[2]],
                            _ => [p[2], p[1], p[0]],
                        };
                        let diff = (0..3).map(|i| got[i].abs_diff(want[i])).max().unwrap();
                        assert!(
                            diff <= 2 && p[3] == 255,
                            "{format:?} {w}x{h} ({x},{y}) {p:?} vs {want:?}"
                        );
                    }
                    assert!(out[y * stride + 4 * w..][..pad].iter().all(|b| *b == 7));
                }
            }
        }
    }

    #[test]
    fn bad_sizes_and_short_buffers_are_errors() {
        assert!(VideoFrame::black(0, 10).is_err());
        assert!(VideoFrame::import(PixelFormat::Rgba, &[0; 10], 4, 4, 16).is_err());
        assert!(VideoFrame::import(PixelFormat::Rgba, &[0; 64], 4, 4, 8).is_err());
        let f = VideoFrame::black(4, 4).unwrap();
        assert!(f.export(PixelFormat::I420, &mut [0; 8], 4).is_err());
        assert!(f.export(PixelFormat::Rgba, &mut [0; 64], 3).is_err());
    }
}
