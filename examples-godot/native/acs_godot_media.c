/*
 * acs_godot_media.c — the plugin's audio and video: the engine's audio to the call's push
 * microphone and the call's pull speaker to the engine; the game's picture as pushed video;
 * the first remote camera rendered (RGBA, take-latest) into the PoolByteArray of an Image.
 */
#include <string.h>

#include "acs_godot.h"

/* ------------------------------------------------------------- remote video -------- */

void stop_remote_video(acs_godot *self) {
    /* Release order: the view stops delivering, then the renderer, then our stream ref. */
    acs_video_view_release(self->view);
    acs_video_renderer_release(self->renderer);
    acs_remote_video_stream_release(self->remote_stream);
    self->view = NULL;
    self->renderer = NULL;
    self->remote_stream = NULL;
}

/* Renders `stream` into an RGBA view that take_remote_frame reads. Stretch keeps the whole
 * picture (and the test pattern's counter row readable) whatever the view's aspect. */
acs_status start_remote_video(acs_godot *self, acs_remote_video_stream *stream) {
    acs_video_view_options opts;
    CHECK(self, ACS_VIDEO_VIEW_OPTIONS_INIT(&opts), "acs_video_view_options_init");
    opts.width = self->view_width;
    opts.height = self->view_height;
    opts.format = ACS_PIXEL_FORMAT_RGBA;
    opts.scaling_mode = ACS_SCALING_MODE_STRETCH;
    CHECK(self, acs_remote_video_stream_retain(stream), "acs_remote_video_stream_retain");
    self->remote_stream = stream;
    acs_status st = acs_video_renderer_create_for_remote_stream(stream, &self->renderer);
    if (st == ACS_OK) st = acs_video_renderer_create_view(self->renderer, &opts, &self->view);
    if (st != ACS_OK) {
        stop_remote_video(self);
        return fail(self, st, "render remote video");
    }
    return ACS_OK;
}

static int16_t to_pcm16(float x) {
    if (x > 1.0f) x = 1.0f;
    if (x < -1.0f) x = -1.0f;
    return (int16_t)(x * 32767.0f);
}

/* push_audio(frames: PoolVector2Array) -> int: the engine's 48 kHz stereo frames (as an
 * AudioStreamGenerator or AudioEffectCapture holds them) into the call's microphone.
 * Returns the frames the library queued (>= 0), or a status (< 0). */
METHOD_EXTERN(m_push_audio) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_POOL_VECTOR2_ARRAY))
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "push_audio(frames: PoolVector2Array)"));
    if (self->mic == NULL) return v_int(refuse(self, ACS_ERR_INVALID_STATE, "call start() first"));
    godot_pool_vector2_array frames = api->godot_variant_as_pool_vector2_array(args[0]);
    godot_int count = api->godot_pool_vector2_array_size(&frames);
    if (count > MAX_AUDIO_FRAMES) count = MAX_AUDIO_FRAMES; /* more than 1 s per frame: a stall; drop the rest */
    godot_pool_vector2_array_read_access *r = api->godot_pool_vector2_array_read(&frames);
    /* godot_vector2 is two floats (x = left, y = right). */
    const float *xy = (const float *)api->godot_pool_vector2_array_read_access_ptr(r);
    for (godot_int i = 0; i < count; i++) {
        self->pcm[2 * i] = to_pcm16(xy[2 * i]);
        self->pcm[2 * i + 1] = to_pcm16(xy[2 * i + 1]);
    }
    api->godot_pool_vector2_array_read_access_destroy(r);
    api->godot_pool_vector2_array_destroy(&frames);
    size_t accepted = 0;
    acs_status st = count > 0 ? acs_audio_device_push_pcm(self->mic, self->pcm, (size_t)count, 2, &accepted) : ACS_OK;
    return v_int(st == ACS_OK ? (int64_t)accepted : fail(self, st, "acs_audio_device_push_pcm"));
}

/* pull_audio(max_frames: int) -> PoolVector2Array: what the call played since the last
 * pull (mono, put on both channels), ready for AudioStreamGeneratorPlayback.push_buffer. */
METHOD_EXTERN(m_pull_audio) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    godot_pool_vector2_array frames;
    api->godot_pool_vector2_array_new(&frames);
    size_t got = 0;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_INT)) {
        refuse(self, ACS_ERR_INVALID_ARGUMENT, "pull_audio(max_frames: int)");
    } else if (self->speaker != NULL) {
        int64_t want = api->godot_variant_as_int(args[0]);
        if (want > MAX_AUDIO_FRAMES) want = MAX_AUDIO_FRAMES;
        if (want > 0) {
            acs_status st = acs_audio_device_pull_pcm(self->speaker, self->pcm, (size_t)want, &got);
            if (st != ACS_OK) {
                fail(self, st, "acs_audio_device_pull_pcm");
                got = 0;
            }
        }
    }
    if (got > 0) {
        api->godot_pool_vector2_array_resize(&frames, (godot_int)got);
        godot_pool_vector2_array_write_access *w = api->godot_pool_vector2_array_write(&frames);
        float *xy = (float *)api->godot_pool_vector2_array_write_access_ptr(w);
        for (size_t i = 0; i < got; i++) xy[2 * i] = xy[2 * i + 1] = (float)self->pcm[i] / 32768.0f;
        api->godot_pool_vector2_array_write_access_destroy(w);
    }
    godot_variant out;
    api->godot_variant_new_pool_vector2_array(&out, &frames);
    api->godot_pool_vector2_array_destroy(&frames);
    return out;
}

/* tone_power(frames: PoolVector2Array, hz: float) -> float: the power of `hz` in the left
 * channel (acs_audio_tone_power: a full-scale sine is about 0.5); -1 on bad input. */
METHOD_EXTERN(m_tone_power) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_POOL_VECTOR2_ARRAY) ||
        !(arg_is(args, n, 1, GODOT_VARIANT_TYPE_REAL) || arg_is(args, n, 1, GODOT_VARIANT_TYPE_INT)) || self->pcm == NULL) {
        refuse(self, ACS_ERR_INVALID_ARGUMENT, "tone_power(frames: PoolVector2Array, hz: float)");
        return v_real(-1.0);
    }
    double hz = api->godot_variant_as_real(args[1]);
    godot_pool_vector2_array frames = api->godot_variant_as_pool_vector2_array(args[0]);
    godot_int count = api->godot_pool_vector2_array_size(&frames);
    if (count > 2 * MAX_AUDIO_FRAMES) count = 2 * MAX_AUDIO_FRAMES; /* the scratch holds that many mono samples */
    godot_pool_vector2_array_read_access *r = api->godot_pool_vector2_array_read(&frames);
    const float *xy = (const float *)api->godot_pool_vector2_array_read_access_ptr(r);
    for (godot_int i = 0; i < count; i++) self->pcm[i] = to_pcm16(xy[2 * i]);
    api->godot_pool_vector2_array_read_access_destroy(r);
    api->godot_pool_vector2_array_destroy(&frames);
    float power = 0.0f;
    acs_status st = count > 0 ? acs_audio_tone_power(self->pcm, (size_t)count, (float)hz, &power) : ACS_OK;
    if (st != ACS_OK) {
        fail(self, st, "acs_audio_tone_power");
        return v_real(-1.0);
    }
    return v_real(power);
}

/* push_video(rgba: PoolByteArray, width: int, height: int) -> int: one RGBA8 picture (e.g.
 * Image.get_data() of the viewport's texture) as the call's next outgoing video frame.
 * The library converts it to I420 before returning; the array is only read. */
METHOD_EXTERN(m_push_video) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_POOL_BYTE_ARRAY) || !arg_is(args, n, 1, GODOT_VARIANT_TYPE_INT) ||
        !arg_is(args, n, 2, GODOT_VARIANT_TYPE_INT))
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "push_video(rgba: PoolByteArray, width: int, height: int)"));
    if (self->outgoing == NULL) return v_int(refuse(self, ACS_ERR_INVALID_STATE, "call start() first"));
    int64_t w = api->godot_variant_as_int(args[1]), h = api->godot_variant_as_int(args[2]);
    if (w < 1 || h < 1 || w > MAX_VIDEO_SIDE || h > MAX_VIDEO_SIDE)
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "push_video: width and height must be 1..8192"));
    godot_pool_byte_array data = api->godot_variant_as_pool_byte_array(args[0]);
    acs_status st;
    if (api->godot_pool_byte_array_size(&data) < w * h * 4) {
        st = refuse(self, ACS_ERR_INVALID_ARGUMENT, "push_video: the array holds less than width*height*4 bytes");
    } else {
        godot_pool_byte_array_read_access *r = api->godot_pool_byte_array_read(&data);
        acs_video_frame_buffer buf;
        st = ACS_VIDEO_FRAME_BUFFER_INIT(&buf);
        if (st == ACS_OK) {
            buf.format = ACS_PIXEL_FORMAT_RGBA;
            buf.width = (uint32_t)w;
            buf.height = (uint32_t)h;
            buf.planes[0] = api->godot_pool_byte_array_read_access_ptr(r);
            buf.strides[0] = (uint32_t)w * 4;
            st = acs_local_video_stream_push_frame(self->outgoing, &buf);
        }
        api->godot_pool_byte_array_read_access_destroy(r);
        if (st == ACS_OK)
            self->video_frames_pushed++;
        else
            fail(self, st, "acs_local_video_stream_push_frame");
    }
    api->godot_pool_byte_array_destroy(&data);
    return v_int(st);
}

/* set_remote_view_size(width: int, height: int) -> int: the size remote video is rendered
 * at (default 320x180), applied to the view now if there is one. */
METHOD_EXTERN(m_set_remote_view_size) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_INT) || !arg_is(args, n, 1, GODOT_VARIANT_TYPE_INT))
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "set_remote_view_size(width: int, height: int)"));
    int64_t w = api->godot_variant_as_int(args[0]), h = api->godot_variant_as_int(args[1]);
    if (w < 1 || h < 1 || w > MAX_VIDEO_SIDE || h > MAX_VIDEO_SIDE)
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "set_remote_view_size: 1..8192"));
    self->view_width = (uint32_t)w;
    self->view_height = (uint32_t)h;
    if (self->view != NULL) {
        acs_status st = acs_video_view_set_size(self->view, (uint32_t)w, (uint32_t)h);
        if (st != ACS_OK) return v_int(fail(self, st, "acs_video_view_set_size"));
    }
    return v_int(ACS_OK);
}

/* take_remote_frame() -> PoolByteArray: the newest remote frame as RGBA8 (frame_info()
 * gives its size), or an empty array when no new frame arrived since the last take.
 * The frame's pixels are copied once, into the returned array, which the script hands to
 * Image.create_from_data (it shares the array, no copy) and then to the ImageTexture. */
METHOD_EXTERN(m_take_remote_frame) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    godot_pool_byte_array data;
    api->godot_pool_byte_array_new(&data);
    if (self->view != NULL) {
        acs_rendered_video_frame f;
        acs_status st = ACS_RENDERED_VIDEO_FRAME_INIT(&f);
        if (st == ACS_OK) st = acs_video_view_take_latest_rendered_frame(self->view, &f);
        if (st == ACS_OK) {
            size_t row = (size_t)f.width * 4;
            if (f.format == ACS_PIXEL_FORMAT_RGBA && f.planes[0] != NULL && f.strides[0] >= row &&
                f.plane_sizes[0] >= (size_t)f.strides[0] * (f.height - 1) + row) {
                api->godot_pool_byte_array_resize(&data, (godot_int)(row * f.height));
                godot_pool_byte_array_write_access *w = api->godot_pool_byte_array_write(&data);
                uint8_t *dst = api->godot_pool_byte_array_write_access_ptr(w);
                for (uint32_t y = 0; y < f.height; y++) memcpy(dst + y * row, f.planes[0] + (size_t)y * f.strides[0], row);
                api->godot_pool_byte_array_write_access_destroy(w);
                self->frame_width = f.width;
                self->frame_height = f.height;
                self->frame_sequence = f.sequence;
                self->frames_taken++;
                /* The library's own reading, for the script to compare with what it reads
                 * back out of the texture. */
                uint32_t counter = 0;
                self->library_counter =
                    acs_rendered_video_frame_read_test_pattern_counter(&f, &counter) == ACS_OK ? (int64_t)counter : -1;
            } else {
                refuse(self, ACS_ERR_INTERNAL, "unexpected frame layout");
            }
            st = acs_rendered_video_frame_release(&f);
            if (st != ACS_OK) fail(self, st, "acs_rendered_video_frame_release");
        } else if (st != ACS_ERR_NOT_FOUND) {
            fail(self, st, "acs_video_view_take_latest_rendered_frame");
        }
    }
    godot_variant out;
    api->godot_variant_new_pool_byte_array(&out, &data);
    api->godot_pool_byte_array_destroy(&data);
    return out;
}

/* frame_info() -> {width, height, sequence, frames_taken, library_counter, rendering} */
METHOD_EXTERN(m_frame_info) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    godot_dictionary d;
    api->godot_dictionary_new(&d);
    dict_set(&d, "width", v_int(self->frame_width));
    dict_set(&d, "height", v_int(self->frame_height));
    dict_set(&d, "sequence", v_int((int64_t)self->frame_sequence));
    dict_set(&d, "frames_taken", v_int((int64_t)self->frames_taken));
    dict_set(&d, "library_counter", v_int(self->library_counter));
    dict_set(&d, "rendering", v_bool(self->view != NULL));
    godot_variant out;
    api->godot_variant_new_dictionary(&out, &d);
    api->godot_dictionary_destroy(&d);
    return out;
}

