//! Captured buffers to I420: packed 4:2:2 (YUYV, UYVY: chroma of two rows averaged),
//! single-buffer planar 4:2:0 (NV12, YU12, YV12 with the driver's `bytesperline`), and
//! MJPEG (zune-jpeg, decoded straight to Y'CbCr, then full range JFIF to the limited range
//! the rest of the pipeline uses). Frames that are short or undecodable are errors (the
//! capture loop skips them), never panics.

use super::format::CameraFormat;
use crate::media::video::frame::{chroma_size, PixelFormat, VideoFrame};
use crate::media::video::source::PlaneFrame;
use crate::media::MediaError;
use std::borrow::Cow;

/// Converts one captured buffer of `format` (`width`x`height`, rows `stride` bytes apart;
/// MJPEG frames carry their own size) to I420.
pub fn to_i420(
    format: CameraFormat,
    data: &[u8],
    width: u32,
    height: u32,
    stride: usize,
) -> Result<VideoFrame, MediaError> {
    match format {
        CameraFormat::Yuyv => packed_422_to_i420(data, width, height, stride, [0, 1, 2, 3]),
        CameraFormat::Uyvy => packed_422_to_i420(data, width, height, stride, [1, 0, 3, 2]),
        CameraFormat::Nv12 | CameraFormat::I420 | CameraFormat::Yv12 => {
            planar_to_i420(format, data, width, height, stride)
        }
        CameraFormat::Mjpeg => mjpeg_to_i420(data),
    }
}

/// Packed 4:2:2 with the byte offsets of Y0, U, Y1, V in each 4-byte macropixel.
fn packed_422_to_i420(
    data: &[u8],
    width: u32,
    height: u32,
    stride: usize,
    [y0, u, y1, v]: [usize; 4],
) -> Result<VideoFrame, MediaError> {
    let mut f = VideoFrame::black(width, height)?;
    let (w, h) = (width as usize, height as usize);
    let cw = f.chroma_width() as usize;
    let row_min = 4 * cw;
    if stride < row_min || data.len() < stride * (h - 1) + row_min {
        return Err(MediaError::InvalidInput(format!(
            "a packed 4:2:2 {width}x{height} frame with rows {stride} bytes apart needs {} \
             bytes (stride ≥ {row_min}), got {}",
            stride * (h - 1) + row_min,
            data.len()
        )));
    }
    for (r, y_row) in f.y.chunks_exact_mut(w).enumerate() {
        let src = &data[r * stride..][..row_min];
        for (m, px) in src.chunks_exact(4).enumerate() {
            y_row[2 * m] = px[y0];
            if let Some(second) = y_row.get_mut(2 * m + 1) {
                *second = px[y1];
            }
        }
    }
    let chroma_rows = f.u.chunks_exact_mut(cw).zip(f.v.chunks_exact_mut(cw));
    for (cr, (u_row, v_row)) in chroma_rows.enumerate() {
        // 4:2:2 to 4:2:0: the average of the two rows (an odd last row stands alone).
        let top = &data[2 * cr * stride..][..row_min];
        let bottom = &data[(2 * cr + 1).min(h - 1) * stride..][..row_min];
        for (m, (t, b)) in top.chunks_exact(4).zip(bottom.chunks_exact(4)).enumerate() {
            u_row[m] = (u16::from(t[u]) + u16::from(b[u])).div_ceil(2) as u8;
            v_row[m] = (u16::from(t[v]) + u16::from(b[v])).div_ceil(2) as u8;
        }
    }
    Ok(f)
}

/// NV12, YU12 or YV12 in one buffer: the luma plane (`stride` apart) then the chroma
/// plane(s), whose rows are `stride` (NV12) or half of it (YU12, YV12) apart.
fn planar_to_i420(
    format: CameraFormat,
    data: &[u8],
    width: u32,
    height: u32,
    stride: usize,
) -> Result<VideoFrame, MediaError> {
    let h = height as usize;
    let ch = chroma_size(width, height).1 as usize;
    let plane = |offset: usize| data.get(offset..).unwrap_or(&[]);
    let luma = stride * h;
    let frame = match format {
        CameraFormat::Nv12 => PlaneFrame {
            format: PixelFormat::Nv12,
            width,
            height,
            planes: [data, plane(luma), &[]],
            strides: [stride, stride, 0],
        },
        _ => {
            let cs = stride.div_ceil(2);
            let (first, second) = (plane(luma), plane(luma + cs * ch));
            let (u, v) = if format == CameraFormat::Yv12 {
                (second, first)
            } else {
                (first, second)
            };
            PlaneFrame {
                format: PixelFormat::I420,
                width,
                height,
                planes: [data, u, v],
                strides: [stride, cs, cs],
            }
        }
    };
    frame.to_i420()
}

/// The Huffman tables of JPEG Annex K.3 (luminance and chrominance, DC and AC) as one DHT
/// segment. USB cameras leave them out of their MJPEG frames (the AVI MJPEG convention);
/// a decoder needs them in the stream.
const STANDARD_DHT: [u8; 420] = {
    const DC_BITS_LUMA: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    const DC_BITS_CHROMA: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
    const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const AC_BITS_LUMA: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
    const AC_BITS_CHROMA: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
    const AC_VALUES_LUMA: [u8; 162] = [
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
        0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
        0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
        0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
        0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
        0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
        0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
        0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
        0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
        0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
        0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ];
    const AC_VALUES_CHROMA: [u8; 162] = [
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
        0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
        0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
        0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
        0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
        0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
        0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
        0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
        0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
        0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
        0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ];
    let mut out = [0u8; 420];
    // Marker, length (everything after the marker: 418 bytes).
    out[0] = 0xff;
    out[1] = 0xc4;
    out[2] = 0x01;
    out[3] = 0xa2;
    let mut at = 4;
    // (class << 4 | id, code-length counts, values); const-evaluated, so plain loops.
    macro_rules! table {
        ($class_id:expr, $bits:expr, $values:expr) => {{
            out[at] = $class_id;
            at += 1;
            let mut i = 0;
            while i < 16 {
                out[at + i] = $bits[i];
                i += 1;
            }
            at += 16;
            let mut i = 0;
            while i < $values.len() {
                out[at + i] = $values[i];
                i += 1;
            }
            at += $values.len();
        }};
    }
    table!(0x00, DC_BITS_LUMA, DC_VALUES);
    table!(0x01, DC_BITS_CHROMA, DC_VALUES);
    table!(0x10, AC_BITS_LUMA, AC_VALUES_LUMA);
    table!(0x11, AC_BITS_CHROMA, AC_VALUES_CHROMA);
    assert!(at == 420);
    out
};

/// `jpeg`, with the standard Huffman tables inserted before its first scan when it has
/// none. A stream that does not parse is returned as it is (the decoder says what is wrong).
fn with_huffman_tables(jpeg: &[u8]) -> Cow<'_, [u8]> {
    if jpeg.len() < 4 || jpeg[0] != 0xff || jpeg[1] != 0xd8 {
        return Cow::Borrowed(jpeg);
    }
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        if jpeg[at] != 0xff {
            return Cow::Borrowed(jpeg);
        }
        match jpeg[at + 1] {
            0xff => at += 1, // fill byte
            0xc4 => return Cow::Borrowed(jpeg),
            0xda => {
                let mut out = Vec::with_capacity(jpeg.len() + STANDARD_DHT.len());
                out.extend_from_slice(&jpeg[..at]);
                out.extend_from_slice(&STANDARD_DHT);
                out.extend_from_slice(&jpeg[at..]);
                return Cow::Owned(out);
            }
            _ => {
                let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
                at += 2 + len;
            }
        }
    }
    Cow::Borrowed(jpeg)
}

/// Decodes one MJPEG frame to I420 (at the size the frame says).
pub fn mjpeg_to_i420(jpeg: &[u8]) -> Result<VideoFrame, MediaError> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let bad = |what: String| MediaError::InvalidInput(format!("MJPEG frame: {what}"));
    let stream = with_huffman_tables(jpeg);
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::YCbCr)
        .set_max_width(8192)
        .set_max_height(8192);
    // Camera data is outside input: a decoder panic on a corrupt frame costs the frame,
    // not the capture thread.
    let decoded = std::panic::catch_unwind(|| {
        let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(&*stream), options);
        let pixels = decoder.decode().map_err(|e| bad(format!("{e:?}")))?;
        let info = decoder.info().ok_or_else(|| bad("no header".into()))?;
        let components = decoder
            .output_colorspace()
            .map_or(0, |c| c.num_components());
        Ok::<_, MediaError>((
            pixels,
            u32::from(info.width),
            u32::from(info.height),
            components,
        ))
    })
    .map_err(|_| bad("the decoder failed".into()))??;
    let (pixels, width, height, components) = decoded;
    let mut f = VideoFrame::black(width, height)?;
    let (w, h) = (width as usize, height as usize);
    if !matches!(components, 1 | 3) || pixels.len() < w * h * components {
        return Err(bad(format!(
            "{} bytes of {components} components for {width}x{height}",
            pixels.len()
        )));
    }
    // JFIF is full range (0..=255); I420 here is limited range (Y 16..=235, C 16..=240).
    let luma: [u8; 256] = std::array::from_fn(|y| (16 + (y * 219 + 127) / 255) as u8);
    let chroma = |sum: u32, n: u32| {
        let c = (sum + n / 2) / n; // the block's average, 0..=255
        (128 + ((c as i32 - 128) * 224 + if c >= 128 { 127 } else { -127 }) / 255) as u8
    };
    for (dst, px) in f.y.iter_mut().zip(pixels.chunks_exact(components)) {
        *dst = luma[usize::from(px[0])];
    }
    if components == 3 {
        let cw = f.chroma_width() as usize;
        for (i, (u, v)) in f.u.iter_mut().zip(f.v.iter_mut()).enumerate() {
            let (cx, cy) = (i % cw, i / cw);
            let (mut cb, mut cr, mut n) = (0u32, 0u32, 0u32);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (x, y) = (2 * cx + dx, 2 * cy + dy);
                if x < w && y < h {
                    let p = &pixels[(y * w + x) * 3..][..3];
                    cb += u32::from(p[1]);
                    cr += u32::from(p[2]);
                    n += 1;
                }
            }
            *u = chroma(cb, n);
            *v = chroma(cr, n);
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An I420 frame whose chroma is constant on each 2x2 block, so that a 4:2:2 or 4:2:0
    /// packing of it converts back exactly.
    fn reference(w: u32, h: u32) -> VideoFrame {
        let mut f = VideoFrame::black(w, h).unwrap();
        for (i, y) in f.y.iter_mut().enumerate() {
            *y = (16 + (i * 7) % 220) as u8;
        }
        for (i, (u, v)) in f.u.iter_mut().zip(f.v.iter_mut()).enumerate() {
            *u = (20 + (i * 13) % 200) as u8;
            *v = (240 - (i * 5) % 200) as u8;
        }
        f
    }

    /// `f` as YUYV (or UYVY) rows `stride` apart, padding filled with 0xee.
    fn pack_422(f: &VideoFrame, stride: usize, uyvy: bool) -> Vec<u8> {
        let (w, h, cw) = (
            f.width as usize,
            f.height as usize,
            f.chroma_width() as usize,
        );
        let mut out = vec![0xee; stride * h];
        for r in 0..h {
            for m in 0..cw {
                let y0 = f.y[r * w + 2 * m];
                let y1 = f.y.get(r * w + 2 * m + 1).copied().unwrap_or(0);
                let (u, v) = (f.u[(r / 2) * cw + m], f.v[(r / 2) * cw + m]);
                let px = if uyvy { [u, y0, v, y1] } else { [y0, u, y1, v] };
                out[r * stride + 4 * m..][..4].copy_from_slice(&px);
            }
        }
        out
    }

    #[test]
    fn yuyv_and_uyvy_convert_exactly_with_padded_rows() {
        for (w, h) in [(16u32, 8u32), (6, 5)] {
            let f = reference(w, h);
            let stride = 2 * w as usize + 12;
            let yuyv = pack_422(&f, stride, false);
            assert_eq!(to_i420(CameraFormat::Yuyv, &yuyv, w, h, stride).unwrap(), f);
            let uyvy = pack_422(&f, stride, true);
            assert_eq!(to_i420(CameraFormat::Uyvy, &uyvy, w, h, stride).unwrap(), f);
        }
    }

    #[test]
    fn packed_chroma_of_two_rows_is_averaged_and_short_buffers_are_refused() {
        // Two rows: U 100 then 201 (average 150.5 → 151), V 50 then 60.
        let data = [16, 100, 17, 50, 18, 201, 19, 60];
        let f = to_i420(CameraFormat::Yuyv, &data, 2, 2, 4).unwrap();
        assert_eq!(f.y, [16, 17, 18, 19]);
        assert_eq!((f.u[0], f.v[0]), (151, 55));
        assert!(to_i420(CameraFormat::Yuyv, &data[..7], 2, 2, 4).is_err());
        assert!(to_i420(CameraFormat::Yuyv, &data, 2, 2, 3).is_err());
        assert!(to_i420(CameraFormat::Yuyv, &data, 0, 2, 4).is_err());
    }

    #[test]
    fn nv12_i420_and_yv12_buffers_convert_exactly() {
        let (w, h) = (10u32, 6u32);
        let f = reference(w, h);
        let (wu, hu, cw, ch) = (w as usize, h as usize, 5usize, 3usize);
        let stride = 16usize;
        let mut luma = vec![0xee; stride * hu];
        for r in 0..hu {
            luma[r * stride..][..wu].copy_from_slice(&f.y[r * wu..][..wu]);
        }
        // NV12: UV rows `stride` apart.
        let mut nv12 = luma.clone();
        let mut uv = vec![0xee; stride * ch];
        for r in 0..ch {
            for c in 0..cw {
                uv[r * stride + 2 * c] = f.u[r * cw + c];
                uv[r * stride + 2 * c + 1] = f.v[r * cw + c];
            }
        }
        nv12.extend_from_slice(&uv);
        assert_eq!(to_i420(CameraFormat::Nv12, &nv12, w, h, stride).unwrap(), f);
        // YU12 / YV12: chroma rows stride / 2 apart.
        let plane = |p: &[u8]| {
            let mut out = vec![0xee; (stride / 2) * ch];
            for r in 0..ch {
                out[r * stride / 2..][..cw].copy_from_slice(&p[r * cw..][..cw]);
            }
            out
        };
        let (u, v) = (plane(&f.u), plane(&f.v));
        let yu12 = [luma.as_slice(), &u, &v].concat();
        let yv12 = [luma.as_slice(), &v, &u].concat();
        assert_eq!(to_i420(CameraFormat::I420, &yu12, w, h, stride).unwrap(), f);
        assert_eq!(to_i420(CameraFormat::Yv12, &yv12, w, h, stride).unwrap(), f);
        // A buffer cut short in the chroma (the last row's padding may go, not a pixel),
        // or holding only luma, is refused.
        let last_pixel = yu12.len() - (stride / 2 - cw);
        assert!(to_i420(CameraFormat::I420, &yu12[..last_pixel], w, h, stride).is_ok());
        assert!(to_i420(CameraFormat::I420, &yu12[..last_pixel - 1], w, h, stride).is_err());
        assert!(to_i420(CameraFormat::Nv12, &luma, w, h, stride).is_err());
    }

    /// 75% colour bars (white, yellow, cyan, green, magenta, red, blue, black) as RGB.
    const BARS: [[u8; 3]; 8] = [
        [191, 191, 191],
        [191, 191, 0],
        [0, 191, 191],
        [0, 191, 0],
        [191, 0, 191],
        [191, 0, 0],
        [0, 0, 191],
        [0, 0, 0],
    ];

    fn bars_rgb(w: usize, h: usize) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(w * h * 3);
        for _ in 0..h {
            for x in 0..w {
                rgb.extend_from_slice(&BARS[x * 8 / w]);
            }
        }
        rgb
    }

    fn encode_jpeg(rgb: &[u8], w: u16, h: u16, sampling: jpeg_encoder::SamplingFactor) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
        enc.set_sampling_factor(sampling);
        enc.encode(rgb, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
        out
    }

    /// The Huffman tables in DHT segment payloads (class/id, counts, values each), sorted.
    fn huffman_tables(payloads: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut tables = Vec::new();
        for p in payloads {
            let mut at = 0;
            while at < p.len() {
                let n: usize = p[at + 1..at + 17].iter().map(|&c| usize::from(c)).sum();
                tables.push(p[at..at + 17 + n].to_vec());
                at += 17 + n;
            }
        }
        tables.sort();
        tables
    }

    /// The DHT segments of a JPEG stream, and the stream without them.
    fn split_dht(jpeg: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let (mut tables, mut rest) = (Vec::new(), jpeg[..2].to_vec());
        let mut at = 2;
        loop {
            let marker = jpeg[at + 1];
            if marker == 0xda {
                rest.extend_from_slice(&jpeg[at..]);
                return (tables, rest);
            }
            let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            let segment = &jpeg[at..at + 2 + len];
            if marker == 0xc4 {
                tables.push(segment[4..].to_vec());
            } else {
                rest.extend_from_slice(segment);
            }
            at += 2 + len;
        }
    }

    #[test]
    fn mjpeg_colour_bars_decode_to_their_colours() {
        let (w, h) = (128usize, 48usize);
        let rgb = bars_rgb(w, h);
        let rgba: Vec<u8> = rgb
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        let expected = PlaneFrame {
            format: PixelFormat::Rgba,
            width: w as u32,
            height: h as u32,
            planes: [&rgba, &[], &[]],
            strides: [4 * w, 0, 0],
        }
        .to_i420()
        .unwrap();
        use jpeg_encoder::SamplingFactor::*;
        for sampling in [R_4_2_0, R_4_2_2, R_4_4_4] {
            let jpeg = encode_jpeg(&rgb, w as u16, h as u16, sampling);
            let f = to_i420(CameraFormat::Mjpeg, &jpeg, 0, 0, 0).unwrap();
            assert_eq!((f.width, f.height), (w as u32, h as u32));
            // The middle of each bar, away from the edges JPEG blurs.
            for bar in 0..8 {
                let x = bar * w / 8 + w / 16;
                let y = h / 2;
                let (cx, cy) = (x / 2, y / 2);
                let cw = w / 2;
                let got = (f.y[y * w + x], f.u[cy * cw + cx], f.v[cy * cw + cx]);
                let want = (
                    expected.y[y * w + x],
                    expected.u[cy * cw + cx],
                    expected.v[cy * cw + cx],
                );
                let close = |a: u8, b: u8| a.abs_diff(b) <= 4;
                assert!(
                    close(got.0, want.0) && close(got.1, want.1) && close(got.2, want.2),
                    "{sampling:?} bar {bar}: got {got:?}, want {want:?}"
                );
            }
        }
    }

    #[test]
    fn mjpeg_without_huffman_tables_decodes_with_the_standard_ones() {
        let (w, h) = (64usize, 32usize);
        let jpeg = encode_jpeg(
            &bars_rgb(w, h),
            w as u16,
            h as u16,
            jpeg_encoder::SamplingFactor::R_4_2_2,
        );
        let (tables, stripped) = split_dht(&jpeg);
        // The encoder's tables are Annex K's: the same four as ours.
        let theirs: Vec<&[u8]> = tables.iter().map(Vec::as_slice).collect();
        let ours = huffman_tables(&[&STANDARD_DHT[4..]]);
        assert_eq!(ours.len(), 4);
        assert_eq!(huffman_tables(&theirs), ours);
        let full = to_i420(CameraFormat::Mjpeg, &jpeg, 0, 0, 0).unwrap();
        assert!(matches!(with_huffman_tables(&stripped), Cow::Owned(_)));
        assert!(matches!(with_huffman_tables(&jpeg), Cow::Borrowed(_)));
        assert_eq!(
            to_i420(CameraFormat::Mjpeg, &stripped, 0, 0, 0).unwrap(),
            full
        );
    }

    #[test]
    fn broken_mjpeg_frames_are_errors() {
        let jpeg = encode_jpeg(
            &bars_rgb(64, 32),
            64,
            32,
            jpeg_encoder::SamplingFactor::R_4_2_0,
        );
        for bad in [
            &[][..],
            &[0xff, 0xd8][..],
            &jpeg[..jpeg.len() / 3],
            &b"not a jpeg at all"[..],
        ] {
            assert!(mjpeg_to_i420(bad).is_err(), "{} bytes", bad.len());
        }
        // Garbage after the first scan's header.
        let mut scrambled = jpeg.clone();
        let sos = scrambled
            .windows(2)
            .position(|w| w == [0xff, 0xda])
            .unwrap();
        for b in &mut scrambled[sos + 20..] {
            *b = 0xff;
        }
        let _ = mjpeg_to_i420(&scrambled); // an error or a garbled picture, never a panic
    }
}
