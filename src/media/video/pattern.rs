//! The virtual camera's picture: moving colour bars with the frame number drawn as a row of
//! big black/white blocks, so a receiver can read the number back after H.264 and scaling
//! (the basis of frame-rate, loss and glass-to-glass measurements).

use super::frame::VideoFrame;
use crate::media::MediaError;

/// Bits of the frame number drawn in the picture.
const COUNTER_BITS: u32 = 24;
/// Bits of the check that follows it (the counter's bits inverted, 8 of them).
const CHECK_BITS: u32 = 8;
const BLOCKS: u32 = COUNTER_BITS + CHECK_BITS;
/// Luma of a set and a clear bit (limited range white/black).
const ONE: u8 = 235;
const ZERO: u8 = 16;

fn check_of(counter: u32) -> u32 {
    // A checksum that rejects all-black / all-white and torn frames.
    ((counter ^ (counter >> 8) ^ (counter >> 16)) & 0xff) ^ 0xa5
}

fn block_size(width: u32) -> u32 {
    (width / BLOCKS).max(1)
}

/// Draws frame `counter` of a `width`x`height` test pattern (at least 32x16).
pub fn test_pattern(counter: u32, width: u32, height: u32) -> Result<VideoFrame, MediaError> {
    if width < BLOCKS || height < 16 {
        return Err(MediaError::InvalidInput(format!(
            "a test pattern needs at least {BLOCKS}x16 pixels, not {width}x{height}"
        )));
    }
    let mut f = VideoFrame::black(width, height)?;
    let (w, h) = (width as usize, height as usize);
    let cw = f.chroma_width() as usize;
    let shift = (counter as usize * 4) % w;
    // Eight moving vertical bars of different colours.
    const BARS: [(u8, u8, u8); 8] = [
        (180, 128, 128),
        (168, 44, 136),
        (145, 147, 44),
        (133, 63, 52),
        (63, 193, 204),
        (51, 109, 212),
        (28, 212, 120),
        (16, 128, 128),
    ];
    for y in 0..h {
        for x in 0..w {
            let bar = ((x + shift) * 8 / w) % 8;
            f.y[y * w + x] = BARS[bar].0;
            if y % 2 == 0 && x % 2 == 0 {
                f.u[(y / 2) * cw + x / 2] = BARS[bar].1;
                f.v[(y / 2) * cw + x / 2] = BARS[bar].2;
            }
        }
    }
    // The counter row: BLOCKS squares across the top, grey chroma.
    let bs = block_size(width) as usize;
    let value = (u64::from(counter & ((1 << COUNTER_BITS) - 1)) << CHECK_BITS)
        | u64::from(check_of(counter & ((1 << COUNTER_BITS) - 1)));
    for b in 0..BLOCKS as usize {
        let bit = (value >> (BLOCKS as usize - 1 - b)) & 1 == 1;
        for y in 0..bs.min(h) {
            for x in b * bs..(b + 1) * bs {
                f.y[y * w + x] = if bit { ONE } else { ZERO };
                f.u[(y / 2) * cw + x / 2] = 128;
                f.v[(y / 2) * cw + x / 2] = 128;
            }
        }
    }
    Ok(f)
}

/// Reads the frame number back from a test-pattern frame (any size it was scaled to with
/// Stretch), or None when the picture carries no valid number.
pub fn read_counter(f: &VideoFrame) -> Option<u32> {
    if f.width < BLOCKS || f.height < 2 {
        return None;
    }
    let w = f.width as usize;
    let bs = block_size(f.width) as usize;
    let y = (bs / 2).min(f.height as usize - 1);
    let mut value = 0u64;
    for b in 0..BLOCKS as usize {
        // Average the middle half of the block's row: robust to ringing at the edges.
        let (x0, x1) = (b * bs + bs / 4, (b * bs + (3 * bs) / 4).max(b * bs + 1));
        let sum: u32 = f.y[y * w + x0..y * w + x1]
            .iter()
            .map(|v| u32::from(*v))
            .sum();
        let mean = sum / (x1 - x0) as u32;
        value = (value << 1) | u64::from(mean > 125);
    }
    let counter = (value >> CHECK_BITS) as u32;
    (check_of(counter) == (value & 0xff) as u32).then_some(counter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::scale::{scale, ScalingMode};

    #[test]
    fn counters_read_back_at_any_value() {
        for c in [0, 1, 2, 255, 256, 12_345, (1 << 24) - 1] {
            let f = test_pattern(c, 640, 360).unwrap();
            assert_eq!(read_counter(&f), Some(c), "counter {c}");
        }
    }

    #[test]
    fn counters_survive_scaling() {
        let f = test_pattern(4242, 1280, 720).unwrap();
        for (w, h) in [(640, 360), (320, 180), (1920, 1080)] {
            let s = scale(&f, w, h, ScalingMode::Stretch, false).unwrap();
            assert_eq!(read_counter(&s), Some(4242), "{w}x{h}");
        }
    }

    #[test]
    fn the_picture_moves_and_garbage_has_no_counter() {
        let a = test_pattern(1, 320, 180).unwrap();
        let b = test_pattern(2, 320, 180).unwrap();
        assert_ne!(a.y[100 * 320..101 * 320], b.y[100 * 320..101 * 320]);
        assert_eq!(read_counter(&VideoFrame::black(320, 180).unwrap()), None);
        let mut white = VideoFrame::black(320, 180).unwrap();
        white.y.fill(235);
        assert_eq!(read_counter(&white), None);
        assert!(test_pattern(0, 8, 8).is_err());
    }
}
