/*
 * C tests of the device API: cameras, permission, device events, audio processing switches.
 *
 *   test_devices            contracts with no sound server (bad input, virtual-device events)
 *   test_devices --sound    also real devices: needs the sound server of
 *                           scripts/sound-server.sh with PULSE_SERVER set (run_c_tests.sh
 *                           starts it); lists its devices, asks permission, hot-plugs a sink.
 *
 * Built with -Wall -Wextra -Werror under ASan/UBSan by the Makefile.
 */
#define _POSIX_C_SOURCE 200809L
#include <acscalling.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* Device events, by kind and device id. */
#define MAX_EVENTS 256
typedef struct {
    pthread_mutex_t mu;
    int count;
    int32_t kinds[MAX_EVENTS];
    int32_t states[MAX_EVENTS];
    char ids[MAX_EVENTS][128];
    int bad;  /* events whose fields were not what the kind promises */
} device_log;

static void on_device_event(void *user_data, const acs_event *e) {
    device_log *l = (device_log *)user_data;
    char id[128] = "";
    size_t needed = 0;
    bool audio = e->kind == ACS_EVENT_AUDIO_DEVICE_ADDED || e->kind == ACS_EVENT_AUDIO_DEVICE_REMOVED;
    bool ok = e->struct_size >= sizeof(acs_event) && e->agent == NULL && e->device_manager != NULL;
    if (audio) {
        ok = ok && e->audio_device != NULL &&
             acs_audio_device_get_id(e->audio_device, id, sizeof id, &needed) == ACS_OK;
    } else {
        ok = ok && e->camera != NULL && acs_camera_get_id(e->camera, id, sizeof id, &needed) == ACS_OK;
    }
    pthread_mutex_lock(&l->mu);
    if (!ok) {
        l->bad++;
    }
    if (l->count < MAX_EVENTS) {
        l->kinds[l->count] = e->kind;
        l->states[l->count] = e->state;
        snprintf(l->ids[l->count], sizeof l->ids[0], "%s", id);
        l->count++;
    }
    pthread_mutex_unlock(&l->mu);
}

/* Waits up to 10 s for an event of `kind` whose device id ends with `suffix`. */
static bool wait_device_event(device_log *l, int32_t kind, const char *suffix, int32_t *state) {
    int tries, i;
    size_t n = strlen(suffix);
    for (tries = 0; tries < 200; tries++) {
        pthread_mutex_lock(&l->mu);
        for (i = 0; i < l->count; i++) {
            size_t m = strlen(l->ids[i]);
            if (l->kinds[i] == kind && m >= n && strcmp(l->ids[i] + m - n, suffix) == 0) {
                if (state) {
                    *state = l->states[i];
                }
                pthread_mutex_unlock(&l->mu);
                return true;
            }
        }
        pthread_mutex_unlock(&l->mu);
        sleep_ms(50);
    }
    return false;
}

static void test_contracts(acs_call_client *client, acs_device_manager *dm) {
    acs_camera *cams[8];
    acs_camera *cam = NULL;
    size_t count = 99, needed = 0, changes = 99;
    int32_t perm = -1;
    char reason[512];
    acs_audio_processing_options apo, got;
    acs_device_manager *bogus = (acs_device_manager *)client;
    size_t i;

    printf("# contracts\n");
    /* Cameras: the list API works; on a machine without /dev/video* it is empty. */
    EXPECT(acs_device_manager_get_cameras(NULL, cams, 8, &count), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_device_manager_get_cameras(bogus, cams, 8, &count), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_device_manager_get_cameras(dm, cams, 8, NULL), ACS_ERR_NULL_POINTER);
    if (EXPECT_OK(acs_device_manager_get_cameras(dm, cams, 8, &count))) {
        for (i = 0; i < count && i < 8; i++) {
            acs_camera_release(cams[i]);
        }
    }
    report(count < 8, "%zu cameras", count);
    EXPECT(acs_device_manager_get_selected_camera(dm, NULL), ACS_ERR_NULL_POINTER);
    EXPECT(acs_device_manager_set_camera(dm, NULL), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_device_manager_set_camera(dm, (acs_camera *)dm), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_camera_get_id(NULL, reason, sizeof reason, &needed), ACS_ERR_INVALID_HANDLE);
    EXPECT_OK(acs_camera_release(NULL));
    if (count == 0) {
        EXPECT(acs_device_manager_get_selected_camera(dm, &cam), ACS_ERR_NOT_FOUND);
        report(cam == NULL, "no camera written on failure");
    }

    /* Permission: bad input, then video (no camera here: NO_DEVICE, with the reason). */
    EXPECT(acs_device_manager_ask_device_permission(NULL, ACS_MEDIA_KIND_AUDIO, &perm, NULL, 0, NULL),
           ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_device_manager_ask_device_permission(dm, 7, &perm, NULL, 0, NULL), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_device_manager_ask_device_permission(dm, ACS_MEDIA_KIND_VIDEO, NULL, NULL, 0, NULL),
           ACS_ERR_NULL_POINTER);
    report(perm == -1, "no permission written on failure");
    EXPECT(acs_device_manager_ask_device_permission(dm, ACS_MEDIA_KIND_VIDEO, &perm, reason, 4, &needed),
           ACS_ERR_BUFFER_TOO_SMALL);
    report(perm == -1 && needed > 4, "a short reason buffer: nothing written but the size (%zu)", needed);
    if (EXPECT_OK(acs_device_manager_ask_device_permission(dm, ACS_MEDIA_KIND_VIDEO, &perm, reason,
                                                           sizeof reason, &needed))) {
        report(count > 0 || perm == ACS_PERMISSION_NO_DEVICE, "video permission %d: %s", (int)perm, reason);
    }

    /* Audio processing options. */
    EXPECT(acs_audio_processing_options_init(NULL), ACS_ERR_NULL_POINTER);
    EXPECT_OK(ACS_AUDIO_PROCESSING_OPTIONS_INIT(&apo));
    report(apo.struct_size == sizeof apo && apo.echo_cancellation && apo.noise_suppression && apo.auto_gain,
           "audio processing is all on by default");
    EXPECT_OK(ACS_AUDIO_PROCESSING_OPTIONS_INIT(&got)); /* an output: struct_size set */
    EXPECT_OK(acs_device_manager_get_audio_processing(dm, &got));
    report(got.echo_cancellation && got.noise_suppression && got.auto_gain, "new calls get it all on");
    apo.noise_suppression = false;
    EXPECT_OK(acs_device_manager_set_audio_processing(dm, &apo));
    EXPECT_OK(acs_device_manager_get_audio_processing(dm, &got));
    report(got.echo_cancellation && !got.noise_suppression && got.auto_gain, "the switch is kept");
    EXPECT(acs_device_manager_set_audio_processing(dm, NULL), ACS_ERR_NULL_POINTER);
    got.struct_size = 0;
    EXPECT(acs_device_manager_set_audio_processing(dm, &got), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_call_set_audio_processing(NULL, &apo), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_get_audio_processing(NULL, &got, NULL), ACS_ERR_INVALID_HANDLE);

    /* Refresh without a callback reports nothing. */
    EXPECT(acs_device_manager_refresh_devices(NULL, &changes), ACS_ERR_INVALID_HANDLE);
    EXPECT_OK(acs_device_manager_refresh_devices(dm, &changes));
    report(changes == 0, "no callback: refresh reports 0 changes (%zu)", changes);
    EXPECT(acs_device_manager_set_event_callback(NULL, on_device_event, NULL), ACS_ERR_INVALID_HANDLE);
}

static void test_virtual_device_events(acs_device_manager *dm, device_log *log) {
    acs_audio_device *mic = NULL;
    char id[128];
    size_t needed = 0;
    int32_t state = -1;

    printf("# device events (virtual devices)\n");
    if (!EXPECT_OK(acs_device_manager_create_push_microphone(dm, "c-events", &mic))) {
        return;
    }
    EXPECT_OK(acs_audio_device_get_id(mic, id, sizeof id, &needed));
    report(wait_device_event(log, ACS_EVENT_AUDIO_DEVICE_ADDED, id, &state), "AUDIO_DEVICE_ADDED for %s", id);
    report(state == ACS_DEVICE_KIND_MICROPHONE, "the event's state is its kind (%d)", (int)state);
    EXPECT_OK(acs_device_manager_remove_device(dm, mic));
    report(wait_device_event(log, ACS_EVENT_AUDIO_DEVICE_REMOVED, id, NULL), "AUDIO_DEVICE_REMOVED for %s", id);
    EXPECT(acs_device_manager_remove_device(dm, mic), ACS_ERR_NOT_FOUND);
    acs_audio_device_release(mic);
}

static bool run(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    if (p == NULL) {
        return false;
    }
    if (out != NULL && cap > 0) {
        n = fread(out, 1, cap - 1, p);
        out[n] = 0;
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ')) {
            out[--n] = 0;
        }
    }
    return pclose(p) == 0;
}

static void test_real_devices(acs_device_manager *dm, device_log *log) {
    acs_audio_device *list[64];
    size_t count = 0, i, needed;
    int32_t perm = -1, state = -1;
    char reason[512], module[32], id[128];
    bool room_default = false;

    printf("# real devices (sound server)\n");
    if (EXPECT_OK(acs_device_manager_get_microphones(dm, list, 64, &count))) {
        for (i = 0; i < count; i++) {
            bool def = false, virt = true;
            acs_audio_device_get_id(list[i], id, sizeof id, &needed);
            acs_audio_device_is_default(list[i], &def);
            acs_audio_device_is_virtual(list[i], &virt);
            if (strcmp(id, "cpal:in:pulseaudio:acs_room.monitor") == 0) {
                room_default = def && !virt;
            }
            acs_audio_device_release(list[i]);
        }
    }
    report(room_default, "acs_room.monitor is listed as the default real microphone (%zu listed)", count);
    if (EXPECT_OK(acs_device_manager_ask_device_permission(dm, ACS_MEDIA_KIND_AUDIO, &perm, reason,
                                                           sizeof reason, &needed))) {
        report(perm == ACS_PERMISSION_GRANTED, "audio permission %d: %s", (int)perm, reason);
    }
    /* Hot-plug: a sink appears (speaker + its monitor), then disappears. */
    if (!run("pactl load-module module-null-sink sink_name=acs_c_plug rate=48000", module, sizeof module)) {
        report(false, "pactl load-module");
        return;
    }
    report(wait_device_event(log, ACS_EVENT_AUDIO_DEVICE_ADDED, ":acs_c_plug", &state),
           "AUDIO_DEVICE_ADDED for the new sink (module %s)", module);
    report(state == ACS_DEVICE_KIND_SPEAKER, "it is a speaker (%d)", (int)state);
    report(wait_device_event(log, ACS_EVENT_AUDIO_DEVICE_ADDED, ":acs_c_plug.monitor", &state) &&
               state == ACS_DEVICE_KIND_MICROPHONE,
           "and its monitor, a microphone");
    snprintf(reason, sizeof reason, "pactl unload-module %s", module);
    report(run(reason, NULL, 0), "%s", reason);
    EXPECT_OK(acs_device_manager_refresh_devices(dm, NULL));
    report(wait_device_event(log, ACS_EVENT_AUDIO_DEVICE_REMOVED, ":acs_c_plug", NULL),
           "AUDIO_DEVICE_REMOVED once it is unloaded");
}

/* Camera options through the virtual camera (always listed last): the stream draws the size
 * asked for; bad options are refused before anything opens; a camera format is only known
 * for a V4L2 camera (the VM test, scripts/v4l2-vm-test.sh, checks a real one). */
static void test_camera_options(acs_device_manager *dm) {
    acs_camera *cams[8];
    acs_camera *virt = NULL;
    acs_local_video_stream *stream = NULL, *s2 = NULL;
    acs_camera_options o, bad;
    acs_camera_capture_format cf;
    size_t count = 0, i;
    char id[128];
    int32_t kind = -1;

    printf("# camera options\n");
    if (!EXPECT_OK(acs_device_manager_get_cameras(dm, cams, 8, &count))) {
        return;
    }
    for (i = 0; i < count && i < 8; i++) {
        if (acs_camera_get_id(cams[i], id, sizeof id, NULL) == ACS_OK && strcmp(id, "virtual:test-pattern") == 0) {
            virt = cams[i];
        } else {
            acs_camera_release(cams[i]);
        }
    }
    report(virt != NULL, "the virtual camera is listed");
    if (virt == NULL) {
        return;
    }
    EXPECT(acs_camera_options_init(NULL), ACS_ERR_NULL_POINTER);
    EXPECT_OK(ACS_CAMERA_OPTIONS_INIT(&o));
    report(o.struct_size == sizeof o && o.width == 640 && o.height == 360 && o.fps == 30 &&
               o.format == ACS_CAMERA_FORMAT_ANY,
           "options default to 640x360 at 30 fps, any format");

    memset(&bad, 0, sizeof bad);
    EXPECT(acs_local_video_stream_create_from_camera_with_options(virt, &bad, &stream), ACS_ERR_INVALID_ARGUMENT);
    bad = o;
    bad.fps = 0;
    EXPECT(acs_local_video_stream_create_from_camera_with_options(virt, &bad, &stream), ACS_ERR_INVALID_ARGUMENT);
    bad = o;
    bad.width = 9000;
    EXPECT(acs_local_video_stream_create_from_camera_with_options(virt, &bad, &stream), ACS_ERR_INVALID_ARGUMENT);
    bad = o;
    bad.format = 42;
    EXPECT(acs_local_video_stream_create_from_camera_with_options(virt, &bad, &stream), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_local_video_stream_create_from_camera_with_options(NULL, &o, &stream), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_local_video_stream_create_from_camera_with_options((acs_camera *)dm, &o, &stream),
           ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_local_video_stream_create_from_camera_with_options(virt, &o, NULL), ACS_ERR_NULL_POINTER);
    report(stream == NULL, "no stream written on failure");

    o.width = 320;
    o.height = 240;
    o.fps = 15;
    if (EXPECT_OK(acs_local_video_stream_create_from_camera_with_options(virt, &o, &stream))) {
        acs_video_renderer *r = NULL;
        acs_video_view *v = NULL;
        acs_video_view_options vo;
        acs_rendered_video_frame f;
        bool got = false;
        ACS_RENDERED_VIDEO_FRAME_INIT(&f);
        EXPECT_OK(acs_local_video_stream_get_source_kind(stream, &kind));
        report(kind == ACS_VIDEO_SOURCE_VIRTUAL, "the virtual camera gives its test pattern (%d)", (int)kind);
        /* The virtual camera draws at the rate asked for (15, not its default 30) while a
         * view consumes it: count what it publishes in one second. */
        ACS_VIDEO_VIEW_OPTIONS_INIT(&vo);
        vo.width = 320;
        vo.height = 240;
        if (EXPECT_OK(acs_video_renderer_create_for_local_stream(stream, &r)) &&
            EXPECT_OK(acs_video_renderer_create_view(r, &vo, &v))) {
            uint64_t n0 = 0, n1 = 0;
            for (i = 0; i < 200 && !got; i++) {
                got = acs_video_view_take_latest_rendered_frame(v, &f) == ACS_OK;
                if (got) {
                    report(f.width == 320 && f.height == 240, "frames reach the view (%ux%u)", f.width, f.height);
                    acs_rendered_video_frame_release(&f);
                } else {
                    sleep_ms(10);
                }
            }
            report(got, "the stream drew frames");
            /* The camera skips the slots it missed: a loaded machine gives fewer frames, never
             * more, so above 18 per second would be the default 30, not the 15 asked for. */
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            EXPECT_OK(acs_local_video_stream_get_frame_count(stream, &n0));
            sleep_ms(1000);
            EXPECT_OK(acs_local_video_stream_get_frame_count(stream, &n1));
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double rate = (double)(n1 - n0) / ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
            report(rate > 0 && rate <= 18, "15 fps asked, %.1f frames per second", rate);
        }
        acs_video_view_release(v);
        acs_video_renderer_release(r);

        EXPECT(acs_local_video_stream_get_source_error(stream, id, sizeof id, NULL), ACS_ERR_NOT_FOUND);
        EXPECT(acs_local_video_stream_get_source_error(NULL, id, sizeof id, NULL), ACS_ERR_INVALID_HANDLE);
        EXPECT(acs_local_video_stream_get_camera_format(stream, &cf), ACS_ERR_INVALID_STATE);
        EXPECT(acs_local_video_stream_get_camera_format(stream, NULL), ACS_ERR_NULL_POINTER);
        EXPECT(acs_local_video_stream_get_camera_format(NULL, &cf), ACS_ERR_INVALID_HANDLE);
        EXPECT(acs_local_video_stream_switch_source_camera_with_options(stream, virt, &bad), ACS_ERR_INVALID_ARGUMENT);
        EXPECT(acs_local_video_stream_switch_source_camera_with_options(NULL, virt, &o), ACS_ERR_INVALID_HANDLE);
        EXPECT(acs_local_video_stream_switch_source_camera_with_options(stream, NULL, &o), ACS_ERR_INVALID_HANDLE);
        EXPECT_OK(acs_local_video_stream_switch_source_pushed(stream));
        EXPECT_OK(acs_local_video_stream_switch_source_camera_with_options(stream, virt, NULL)); /* defaults */
        EXPECT_OK(acs_local_video_stream_get_source_kind(stream, &kind));
        report(kind == ACS_VIDEO_SOURCE_VIRTUAL, "switched back to the camera with NULL options (%d)", (int)kind);
        EXPECT_OK(acs_local_video_stream_release(stream));
    }
    if (EXPECT_OK(acs_local_video_stream_create_from_camera_with_options(virt, NULL, &s2))) {
        EXPECT_OK(acs_local_video_stream_release(s2));
    }
    acs_camera_release(virt);
}

int main(int argc, char **argv) {
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    device_log log;
    bool sound = argc > 1 && strcmp(argv[1], "--sound") == 0;
    size_t base = acs_debug_live_handle_count();

    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    printf("libacscalling %s device API tests%s\n", acs_calling_version(), sound ? " (with sound server)" : "");
    if (!EXPECT_OK(acs_call_client_create(NULL, &client)) ||
        !EXPECT_OK(acs_call_client_get_device_manager(client, &dm))) {
        return 1;
    }
    test_contracts(client, dm);
    test_camera_options(dm);
    if (EXPECT_OK(acs_device_manager_set_event_callback(dm, on_device_event, &log))) {
        test_virtual_device_events(dm, &log);
        if (sound) {
            test_real_devices(dm, &log);
        }
        EXPECT_OK(acs_device_manager_set_event_callback(dm, NULL, NULL));
    }
    report(log.bad == 0, "every event carried the manager and its device (%d bad)", log.bad);
    acs_device_manager_release(dm);
    EXPECT_OK(acs_call_client_release(client));
    report(acs_debug_live_handle_count() == base, "live handles back to %zu (now %zu)", base,
           acs_debug_live_handle_count());
    pthread_mutex_destroy(&log.mu);
    printf("# %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
