extends Control
# The "game" of the demo: what its viewport shows behind the UI, and so what the call sends
# as video when the engine renders (main.gd pushes the viewport's picture). Redrawn every
# frame:
#  - the sky (SKY);
#  - four coloured tiles (TILES) at fixed places, as fractions of the viewport, where no UI
#    covers them: a receiver checks their colours;
#  - a white square moving left to right;
#  - the frame number across the top, as 32 black/white blocks of (width / 32) pixels: the
#    encoding of libacscalling's virtual camera (src/media/video/pattern.rs), so a receiver
#    reads it back with acs_rendered_video_frame_read_test_pattern_counter (or
#    test_pattern.gd) and sees the pictures change.
# tests/python/test_godot.py (test_godot_pushes_its_rendered_viewport_as_video) keeps the same
# tile list: change both together.

const SKY = Color(0.2, 0.6, 0.9)
# Rect2(x, y, width, height) as fractions of the viewport, and the colour.
const TILES = [
	[Rect2(0.72, 0.46, 0.12, 0.18), Color(0.9, 0.1, 0.1)],  # red
	[Rect2(0.86, 0.46, 0.12, 0.18), Color(0.1, 0.8, 0.1)],  # green
	[Rect2(0.72, 0.68, 0.12, 0.18), Color(0.1, 0.1, 0.9)],  # blue
	[Rect2(0.86, 0.68, 0.12, 0.18), Color(0.95, 0.85, 0.1)],  # yellow
]
const BLOCKS = 32
const CHECK_BITS = 8

# The number drawn in the last frame (the frames drawn so far, mod 2^24).
var counter := 0


func _process(_delta):
	update()  # redraw every frame: the counter and the square move


func _draw():
	var size := get_viewport_rect().size
	draw_rect(Rect2(Vector2.ZERO, size), SKY)
	for t in TILES:
		var r: Rect2 = t[0]
		draw_rect(Rect2(r.position * size, r.size * size), t[1])
	counter = Engine.get_frames_drawn() & 0xffffff
	var side := size.y / 8
	var x := fmod(counter * 4.0, size.x - side)
	draw_rect(Rect2(x, size.y * 0.30, side, side), Color(1, 1, 1))
	draw_counter(counter, size.x)


# The counter's 24 bits, then an 8-bit check, most significant first; limited-range white
# (235) for a one, black (16) for a zero, as the virtual camera draws them.
func draw_counter(value: int, width: float):
	var check := ((value ^ (value >> 8) ^ (value >> 16)) & 0xff) ^ 0xa5
	var bits := (value << CHECK_BITS) | check
	var bs := floor(max(width / BLOCKS, 1))
	var one := Color8(235, 235, 235)
	var zero := Color8(16, 16, 16)
	for b in range(BLOCKS):
		var bit := (bits >> (BLOCKS - 1 - b)) & 1
		draw_rect(Rect2(b * bs, 0, bs, bs), one if bit == 1 else zero)
