/*
 * C tests of the video API: local video streams (virtual camera, pushed frames), renderers,
 * views (pull and callback), frame release, and bad input. No service needed. Frames are
 * taken as acs_rendered_video_frame (the sized successor of acs_video_frame, which
 * test_abi.c covers).
 *
 * Built with -Wall -Wextra -Werror under ASan/UBSan by the Makefile (run_c_tests.sh runs it).
 */
#define _POSIX_C_SOURCE 200809L
#include <acscalling.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits up to `timeout_s` for a new frame of a pull view. */
static acs_status take_frame(acs_video_view *view, acs_rendered_video_frame *frame, double timeout_s) {
    double end = now_s() + timeout_s;
    acs_status s;
    while ((s = acs_video_view_take_latest_rendered_frame(view, frame)) == ACS_ERR_NOT_FOUND && now_s() < end) {
        sleep_ms(2);
    }
    return s;
}

static acs_video_view *make_view(acs_video_renderer *r, uint32_t w, uint32_t h, int32_t format, int32_t mode) {
    acs_video_view_options o;
    acs_video_view *v = NULL;
    ACS_VIDEO_VIEW_OPTIONS_INIT(&o);
    o.width = w;
    o.height = h;
    o.format = format;
    o.scaling_mode = mode;
    if (acs_video_renderer_create_view(r, &o, &v) != ACS_OK) {
        return NULL;
    }
    return v;
}

static void test_virtual_camera_pull(void) {
    printf("virtual camera -> RGBA view (pull)\n");
    acs_local_video_stream *stream = NULL;
    acs_video_renderer *renderer = NULL;
    EXPECT_OK(acs_local_video_stream_create_virtual(0, 0, 0, &stream)); /* 640x360@30 */
    int32_t kind = -1;
    EXPECT_OK(acs_local_video_stream_get_source_kind(stream, &kind));
    report(kind == ACS_VIDEO_SOURCE_VIRTUAL, "source kind is virtual (%d)", kind);
    EXPECT_OK(acs_video_renderer_create_for_local_stream(stream, &renderer));
    acs_video_view *view = make_view(renderer, 320, 180, ACS_PIXEL_FORMAT_RGBA, ACS_SCALING_MODE_STRETCH);
    report(view != NULL, "RGBA view created");
    uint32_t last = 0, frames = 0;
    bool increasing = true, layout_ok = true;
    double end = now_s() + 1.0;
    while (now_s() < end) {
        acs_rendered_video_frame f;
        ACS_RENDERED_VIDEO_FRAME_INIT(&f);
        if (acs_video_view_take_latest_rendered_frame(view, &f) != ACS_OK) {
            sleep_ms(3);
            continue;
        }
        uint32_t counter = 0;
        if (acs_rendered_video_frame_read_test_pattern_counter(&f, &counter) != ACS_OK || (frames > 0 && counter <= last)) {
            increasing = false;
        }
        layout_ok = layout_ok && f.width == 320 && f.height == 180 && f.format == ACS_PIXEL_FORMAT_RGBA &&
                    f.strides[0] == 320 * 4 && f.plane_sizes[0] == 320 * 4 * 180 && f.planes[0] != NULL &&
                    f.planes[1] == NULL && f.planes[0][3] == 255;
        last = counter;
        frames++;
        EXPECT_OK(acs_rendered_video_frame_release(&f));
        report(f.internal == NULL && f.planes[0] == NULL, "release zeroes the frame");
    }
    report(frames >= 20, "%u frames in 1 s (last counter %u)", frames, last);
    report(increasing, "counters increase");
    report(layout_ok, "frames are 320x180 RGBA, stride 1280, alpha 255");
    acs_video_view_statistics stats;
    EXPECT_OK(ACS_VIDEO_VIEW_STATISTICS_INIT(&stats));
    EXPECT_OK(acs_video_view_get_statistics(view, &stats));
    report(stats.frames_rendered == frames, "stats: %llu rendered, %llu dropped",
           (unsigned long long)stats.frames_rendered, (unsigned long long)stats.frames_dropped);
    EXPECT_OK(acs_video_view_release(view));
    EXPECT_OK(acs_video_renderer_release(renderer));
    EXPECT_OK(acs_local_video_stream_release(stream));
}

typedef struct {
    pthread_mutex_t mu;
    pthread_t main_thread;
    int frames;
    int on_main_thread;
    int bad_counters;
    uint32_t last_counter;
} callback_log;

static void on_frame(void *user_data, acs_rendered_video_frame *frame) {
    callback_log *l = (callback_log *)user_data;
    uint32_t c = 0;
    bool ok = acs_rendered_video_frame_read_test_pattern_counter(frame, &c) == ACS_OK && frame->format == ACS_PIXEL_FORMAT_BGRA;
    pthread_mutex_lock(&l->mu);
    if (pthread_equal(pthread_self(), l->main_thread)) {
        l->on_main_thread++;
    }
    if (!ok || (l->frames > 0 && c <= l->last_counter)) {
        l->bad_counters++;
    }
    l->last_counter = c;
    l->frames++;
    pthread_mutex_unlock(&l->mu);
    acs_rendered_video_frame_release(frame);
}

static void test_callback_view(void) {
    printf("virtual camera -> BGRA view (callback)\n");
    callback_log log;
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    log.main_thread = pthread_self();
    acs_local_video_stream *stream = NULL;
    acs_video_renderer *renderer = NULL;
    acs_video_view *view = NULL;
    EXPECT_OK(acs_local_video_stream_create_virtual(320, 180, 50, &stream));
    EXPECT_OK(acs_video_renderer_create_for_local_stream(stream, &renderer));
    acs_video_view_options o;
    EXPECT_OK(ACS_VIDEO_VIEW_OPTIONS_INIT(&o));
    report(o.struct_size == sizeof o && o.width == 640 && o.height == 360 && o.format == ACS_PIXEL_FORMAT_RGBA &&
               o.scaling_mode == ACS_SCALING_MODE_FIT && !o.mirrored && o.frame_callback == NULL &&
               o.rendered_frame_callback == NULL,
           "view options defaults");
    o.width = 160;
    o.height = 90;
    o.format = ACS_PIXEL_FORMAT_BGRA;
    o.scaling_mode = ACS_SCALING_MODE_STRETCH;
    o.rendered_frame_callback = on_frame;
    o.frame_callback_user_data = &log;
    EXPECT_OK(acs_video_renderer_create_view(renderer, &o, &view));
    acs_rendered_video_frame f;
    ACS_RENDERED_VIDEO_FRAME_INIT(&f);
    EXPECT(acs_video_view_take_latest_rendered_frame(view, &f), ACS_ERR_INVALID_STATE);
    double end = now_s() + 5;
    int n = 0;
    while (now_s() < end) {
        pthread_mutex_lock(&log.mu);
        n = log.frames;
        pthread_mutex_unlock(&log.mu);
        if (n >= 15) {
            break;
        }
        sleep_ms(10);
    }
    report(n >= 15, "%d frames by callback", n);
    EXPECT_OK(acs_video_view_release(view));
    pthread_mutex_lock(&log.mu);
    n = log.frames;
    pthread_mutex_unlock(&log.mu);
    sleep_ms(100);
    pthread_mutex_lock(&log.mu);
    report(log.frames == n, "no callback after the view's release");
    report(log.on_main_thread == 0, "callbacks never run on the producer's or caller's thread");
    report(log.bad_counters == 0, "BGRA frames with increasing counters");
    pthread_mutex_unlock(&log.mu);
    EXPECT_OK(acs_video_renderer_release(renderer));
    EXPECT_OK(acs_local_video_stream_release(stream));
    pthread_mutex_destroy(&log.mu);
}

static void test_pushed_frames(void) {
    printf("pushed frames -> I420 / NV12 / RGBA views, Fit geometry, mirror, switch\n");
    enum { W = 64, H = 36 };
    static uint8_t rgba[W * H * 4];
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgba + (y * W + x) * 4;
            uint8_t v = x < W / 2 ? 255 : 0; /* left white, right black */
            p[0] = p[1] = p[2] = v;
            p[3] = 255;
        }
    }
    acs_local_video_stream *stream = NULL;
    acs_video_renderer *renderer = NULL;
    EXPECT_OK(acs_local_video_stream_create_pushed(&stream));
    EXPECT_OK(acs_video_renderer_create_for_local_stream(stream, &renderer));
    acs_video_view *i420 = make_view(renderer, 32, 32, ACS_PIXEL_FORMAT_I420, ACS_SCALING_MODE_FIT);
    acs_video_view *nv12 = make_view(renderer, W, H, ACS_PIXEL_FORMAT_NV12, ACS_SCALING_MODE_STRETCH);
    acs_video_view *same = make_view(renderer, W, H, ACS_PIXEL_FORMAT_RGBA, ACS_SCALING_MODE_CROP);
    acs_rendered_video_frame f;
    EXPECT_OK(ACS_RENDERED_VIDEO_FRAME_INIT(&f));
    report(f.struct_size == sizeof f && f.internal == NULL, "frame struct_size");
    EXPECT(acs_video_view_take_latest_rendered_frame(i420, &f), ACS_ERR_NOT_FOUND);

    acs_video_frame_buffer b;
    EXPECT_OK(ACS_VIDEO_FRAME_BUFFER_INIT(&b));
    report(b.struct_size == sizeof b, "buffer struct_size");
    b.format = ACS_PIXEL_FORMAT_RGBA;
    b.width = W;
    b.height = H;
    b.planes[0] = rgba;
    b.strides[0] = W * 4;
    EXPECT_OK(acs_local_video_stream_push_frame(stream, &b));

    if (EXPECT_OK(acs_video_view_take_latest_rendered_frame(i420, &f))) {
        /* 64x36 fitted into 32x32: the picture is rows 7..24, black bars around it. */
        bool ok = f.width == 32 && f.height == 32 && f.strides[0] == 32 && f.strides[1] == 16 &&
                  f.strides[2] == 16 && f.plane_sizes[0] == 32 * 32 && f.plane_sizes[1] == 16 * 16;
        const uint8_t *y = f.planes[0];
        ok = ok && y[0] == 16 && y[31 * 32] == 16 && y[16 * 32 + 2] > 200 && y[16 * 32 + 29] < 40;
        report(ok, "I420 Fit: geometry, bars and content");
        EXPECT_OK(acs_rendered_video_frame_release(&f));
    }
    if (EXPECT_OK(acs_video_view_take_latest_rendered_frame(nv12, &f))) {
        report(f.planes[2] == NULL && f.plane_sizes[1] == (size_t)W * (H / 2) && f.strides[1] == W,
               "NV12 has two planes, UV interleaved");
        EXPECT_OK(acs_rendered_video_frame_release(&f));
    }
    if (EXPECT_OK(acs_video_view_take_latest_rendered_frame(same, &f))) {
        int worst = 0;
        for (size_t i = 0; i < sizeof rgba; i++) {
            int d = abs((int)f.planes[0][i] - (int)rgba[i]);
            worst = d > worst ? d : worst;
        }
        report(worst <= 12, "RGBA at the source size round-trips (worst difference %d)", worst);
        /* The frame stays valid after its view is gone, until released. */
        EXPECT_OK(acs_video_view_release(same));
        report(f.planes[0][0] > 200, "a frame outlives its view");
        EXPECT_OK(acs_rendered_video_frame_release(&f));
    }
    EXPECT_OK(acs_video_view_set_mirrored(i420, true));
    EXPECT_OK(acs_video_view_set_scaling_mode(i420, ACS_SCALING_MODE_STRETCH));
    EXPECT_OK(acs_video_view_set_size(i420, 16, 8));
    EXPECT_OK(acs_local_video_stream_push_frame(stream, &b));
    if (EXPECT_OK(acs_video_view_take_latest_rendered_frame(i420, &f))) {
        const uint8_t *y = f.planes[0];
        report(f.width == 16 && f.height == 8 && y[4 * 16 + 1] < 40 && y[4 * 16 + 14] > 200,
               "updated view: 16x8, stretched, mirrored");
        uint32_t c = 0;
        EXPECT(acs_rendered_video_frame_read_test_pattern_counter(&f, &c), ACS_ERR_NOT_FOUND);
        acs_rendered_video_frame copy = f;
        EXPECT_OK(acs_rendered_video_frame_release(&f));
        EXPECT_OK(acs_rendered_video_frame_release(&f)); /* zeroed: no-op */
        EXPECT(acs_rendered_video_frame_release(&copy), ACS_ERR_INVALID_HANDLE);
    }
    /* Switch to the virtual camera: the same view now shows the test pattern. */
    EXPECT_OK(acs_local_video_stream_switch_source_virtual(stream, 320, 180, 30));
    EXPECT(acs_local_video_stream_push_frame(stream, &b), ACS_ERR_INVALID_STATE);
    EXPECT_OK(acs_video_view_set_size(i420, 160, 90));
    uint32_t counter = 0;
    bool got = false;
    double end = now_s() + 5;
    while (!got && now_s() < end && take_frame(i420, &f, 5) == ACS_OK) {
        got = acs_rendered_video_frame_read_test_pattern_counter(&f, &counter) == ACS_OK;
        acs_rendered_video_frame_release(&f);
    }
    report(got, "after switching to the virtual camera the view shows counters (%u)", counter);
    EXPECT_OK(acs_local_video_stream_switch_source_pushed(stream));
    EXPECT_OK(acs_video_view_release(i420));
    EXPECT_OK(acs_video_view_release(nv12));
    EXPECT_OK(acs_video_renderer_release(renderer));
    EXPECT_OK(acs_local_video_stream_release(stream));
}

static void test_bad_input(void) {
    printf("bad input\n");
    acs_local_video_stream *stream = NULL;
    acs_video_renderer *renderer = NULL;
    acs_video_view *view = NULL;
    acs_rendered_video_frame f;
    memset(&f, 0, sizeof f); /* struct_size 0 in an output: the first version's size */
    EXPECT(acs_local_video_stream_create_virtual(8, 8, 30, &stream), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_local_video_stream_create_virtual(640, 360, 500, &stream), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_local_video_stream_create_virtual(0, 0, 0, NULL), ACS_ERR_NULL_POINTER);
    EXPECT(acs_local_video_stream_create_pushed(NULL), ACS_ERR_NULL_POINTER);
    EXPECT(acs_local_video_stream_create_from_camera(NULL, &stream), ACS_ERR_INVALID_HANDLE);
    report(stream == NULL, "outputs are written only on success");
    EXPECT(acs_video_renderer_create_for_local_stream(NULL, &renderer), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_local_video_stream_push_frame(NULL, NULL), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_video_view_take_latest_rendered_frame(NULL, &f), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_video_view_set_size(NULL, 1, 1), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_local_video_stream_release(NULL), ACS_OK);
    EXPECT(acs_rendered_video_frame_release(NULL), ACS_OK);
    EXPECT(acs_rendered_video_frame_read_test_pattern_counter(NULL, NULL), ACS_ERR_NULL_POINTER);

    EXPECT_OK(acs_local_video_stream_create_pushed(&stream));
    /* A stream handle is not a renderer handle. */
    EXPECT(acs_video_renderer_create_view((acs_video_renderer *)(void *)stream, NULL, &view), ACS_ERR_INVALID_HANDLE);
    acs_video_frame_buffer b;
    memset(&b, 0, sizeof b);
    EXPECT(acs_local_video_stream_push_frame(stream, &b), ACS_ERR_INVALID_ARGUMENT); /* no struct_size */
    ACS_VIDEO_FRAME_BUFFER_INIT(&b);
    b.width = 4;
    b.height = 4;
    b.strides[0] = 16;
    EXPECT(acs_local_video_stream_push_frame(stream, &b), ACS_ERR_NULL_POINTER); /* planes[0] */
    uint8_t px[4 * 4 * 4] = {0};
    b.planes[0] = px;
    b.strides[0] = 8;
    EXPECT(acs_local_video_stream_push_frame(stream, &b), ACS_ERR_INVALID_ARGUMENT); /* stride < row */
    b.strides[0] = 16;
    b.format = 42;
    EXPECT(acs_local_video_stream_push_frame(stream, &b), ACS_ERR_INVALID_ARGUMENT);
    b.format = ACS_PIXEL_FORMAT_I420;
    b.strides[1] = b.strides[2] = 2;
    EXPECT(acs_local_video_stream_push_frame(stream, &b), ACS_ERR_NULL_POINTER); /* planes[1] */
    b.format = ACS_PIXEL_FORMAT_RGBA;
    b.width = 0;
    EXPECT(acs_local_video_stream_push_frame(stream, &b), ACS_ERR_INVALID_ARGUMENT);
    b.width = 4;
    EXPECT_OK(acs_local_video_stream_push_frame(stream, &b));
    uint64_t count = 0;
    EXPECT_OK(acs_local_video_stream_get_frame_count(stream, &count));
    report(count == 1, "only the good frame was published (%llu)", (unsigned long long)count);

    EXPECT_OK(acs_video_renderer_create_for_local_stream(stream, &renderer));
    acs_video_view_options o;
    memset(&o, 0, sizeof o);
    EXPECT(acs_video_renderer_create_view(renderer, &o, &view), ACS_ERR_INVALID_ARGUMENT);
    ACS_VIDEO_VIEW_OPTIONS_INIT(&o);
    o.format = 17;
    EXPECT(acs_video_renderer_create_view(renderer, &o, &view), ACS_ERR_INVALID_ARGUMENT);
    o.format = ACS_PIXEL_FORMAT_I420;
    o.scaling_mode = -1;
    EXPECT(acs_video_renderer_create_view(renderer, &o, &view), ACS_ERR_INVALID_ARGUMENT);
    o.scaling_mode = ACS_SCALING_MODE_CROP;
    o.height = 0;
    EXPECT(acs_video_renderer_create_view(renderer, &o, &view), ACS_ERR_INVALID_ARGUMENT);
    o.height = 4;
    o.width = 4;
    EXPECT(acs_video_renderer_create_view(renderer, &o, NULL), ACS_ERR_NULL_POINTER);
    report(view == NULL, "no view written on failure");
    EXPECT_OK(acs_video_renderer_create_view(renderer, &o, &view));
    EXPECT(acs_video_view_set_size(view, 0, 10), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_video_view_set_scaling_mode(view, 3), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_video_view_set_format(view, 5), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_video_view_take_latest_rendered_frame(view, NULL), ACS_ERR_NULL_POINTER);
    EXPECT_OK(acs_video_view_take_latest_rendered_frame(view, &f)); /* the bus's latest frame */
    report(f.width == 4 && f.format == ACS_PIXEL_FORMAT_I420, "a new view starts with the latest frame");
    EXPECT_OK(acs_rendered_video_frame_release(&f));
    EXPECT(acs_video_view_take_latest_rendered_frame(view, &f), ACS_ERR_NOT_FOUND);
    EXPECT_OK(acs_video_view_release(view));
    EXPECT(acs_video_view_release(view), ACS_ERR_INVALID_HANDLE);
    EXPECT_OK(acs_video_renderer_release(renderer));
    EXPECT_OK(acs_local_video_stream_release(stream));
    EXPECT(acs_local_video_stream_push_frame(stream, &b), ACS_ERR_INVALID_HANDLE);
}

int main(void) {
    size_t handles_at_start = acs_debug_live_handle_count();
    test_virtual_camera_pull();
    test_callback_view();
    test_pushed_frames();
    test_bad_input();
    size_t handles_at_end = acs_debug_live_handle_count();
    report(handles_at_end == handles_at_start, "no handle (or frame) leaked: %zu -> %zu", handles_at_start,
           handles_at_end);
    printf("\n%d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
