//! Prints what one frame's colour conversion costs (ns per frame), through the library's
//! paths (`VideoFrame::export` / `import`, SIMD via yuvutils-rs) and through the scalar loops
//! they replaced (kept here only as the before figure). Not a pass/fail test.
//!
//!     cargo bench --profile dev --bench convert_bench          # 200 iterations
//!     cargo bench --profile dev --bench convert_bench -- 500

use acscalling::media::video::{PixelFormat, VideoFrame};
use std::hint::black_box;
use std::time::Instant;

/// The scalar I420 -> RGBA loop this replaced (BT.601 limited range, coefficients x 256).
fn scalar_i420_to_rgba(f: &VideoFrame, out: &mut [u8], stride: usize) {
    let (w, h) = (f.width as usize, f.height as usize);
    let cw = f.chroma_width() as usize;
    for y in 0..h {
        let row = &mut out[y * stride..][..4 * w];
        for x in 0..w {
            let ci = (y / 2) * cw + x / 2;
            let c = 298 * (i32::from(f.y[y * w + x]) - 16);
            let d = i32::from(f.u[ci]) - 128;
            let e = i32::from(f.v[ci]) - 128;
            let k = |v: i32| (v >> 8).clamp(0, 255) as u8;
            row[4 * x..][..4].copy_from_slice(&[
                k(c + 409 * e + 128),
                k(c - 100 * d - 208 * e + 128),
                k(c + 516 * d + 128),
                255,
            ]);
        }
    }
}

/// The scalar RGBA -> I420 loop this replaced (chroma from the 2x2 block's average colour).
fn scalar_rgba_to_i420(data: &[u8], f: &mut VideoFrame, stride: usize) {
    let (w, h) = (f.width as usize, f.height as usize);
    let cw = f.chroma_width() as usize;
    let c = |x: i32| x.clamp(0, 255) as u8;
    let px = |x: usize, y: usize| {
        let p = &data[y * stride + 4 * x..][..3];
        (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]))
    };
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = px(x, y);
            f.y[y * w + x] = c(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
        }
    }
    for cy in 0..h.div_ceil(2) {
        for cx in 0..cw {
            let (mut r, mut g, mut b, mut n) = (0, 0, 0, 0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (x, y) = (2 * cx + dx, 2 * cy + dy);
                if x < w && y < h {
                    let p = px(x, y);
                    (r, g, b, n) = (r + p.0, g + p.1, b + p.2, n + 1);
                }
            }
            let (r, g, b) = (r / n, g / n, b / n);
            f.u[cy * cw + cx] = c(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128);
            f.v[cy * cw + cx] = c(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128);
        }
    }
}

fn ns_per(iters: u32, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn main() {
    let iters: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    println!("convert_bench: ns per frame, {iters} iterations (SIMD = yuvutils-rs)");
    for (w, h) in [(640u32, 360u32), (1280, 720)] {
        let (wu, hu) = (w as usize, h as usize);
        let stride = 4 * wu;
        let mut rgba = vec![0u8; stride * hu];
        for (i, p) in rgba.chunks_exact_mut(4).enumerate() {
            let (x, y) = (i % wu, i / wu);
            p.copy_from_slice(&[
                (x * 255 / wu) as u8,
                (y * 255 / hu) as u8,
                (x ^ y) as u8,
                255,
            ]);
        }
        let frame = VideoFrame::import(PixelFormat::Rgba, &rgba, w, h, stride).unwrap();
        let mut out = vec![0u8; stride * hu];
        let mut back = VideoFrame::black(w, h).unwrap();
        let simd_out = ns_per(iters, || {
            black_box(&frame)
                .export(PixelFormat::Rgba, &mut out, stride)
                .unwrap()
        });
        let scalar_out = ns_per(iters, || {
            scalar_i420_to_rgba(black_box(&frame), &mut out, stride)
        });
        let simd_in = ns_per(iters, || {
            black_box(
                VideoFrame::import(PixelFormat::Rgba, black_box(&rgba), w, h, stride).unwrap(),
            );
        });
        let scalar_in = ns_per(iters, || {
            scalar_rgba_to_i420(black_box(&rgba), &mut back, stride)
        });
        println!(
            "  {w}x{h} I420 -> RGBA: SIMD {simd_out:>10.0} ns, scalar {scalar_out:>10.0} ns ({:.1}x)",
            scalar_out / simd_out
        );
        println!(
            "  {w}x{h} RGBA -> I420: SIMD {simd_in:>10.0} ns, scalar {scalar_in:>10.0} ns ({:.1}x)",
            scalar_in / simd_in
        );
    }
}
