extends Reference
# Reads the frame counter that libacscalling's virtual camera draws into its test pattern
# (src/media/video/pattern.rs): 32 black/white blocks across the top of the picture, a
# 24-bit frame number then an 8-bit check. Read here from an RGBA Image, i.e. from the
# pixels a texture holds, independently of the library's own reader.

const BLOCKS = 32
const CHECK_BITS = 8


# The counter, or -1 when the picture carries none (not a test pattern, torn, too small).
static func read_counter(img: Image) -> int:
	if img == null or img.get_width() < BLOCKS or img.get_height() < 2:
		return -1
	var w := img.get_width()
	var bs := int(max(w / BLOCKS, 1))
	var y := int(min(bs / 2, img.get_height() - 1))
	var value := 0
	img.lock()
	for b in range(BLOCKS):
		# The middle half of each block's row: robust to ringing at the block edges.
		var x0 := b * bs + bs / 4
		var x1 := int(max(b * bs + (3 * bs) / 4, b * bs + 1))
		var sum := 0.0
		for x in range(x0, x1):
			var c := img.get_pixel(x, y)
			# Limited-range luma (16 black .. 235 white), as the sender drew it.
			sum += 16.0 + 65.738 * c.r + 129.057 * c.g + 25.064 * c.b
		value = (value << 1) | (1 if sum / (x1 - x0) > 125.0 else 0)
	img.unlock()
	var counter := value >> CHECK_BITS
	var check := ((counter ^ (counter >> 8) ^ (counter >> 16)) & 0xff) ^ 0xa5
	return counter if check == (value & 0xff) else -1
