/*
 * video_call.c — video in a call from C, through a running acscalling-service.
 *
 *   video_call --service-url ws://127.0.0.1:8080 --token-a T1 --token-b T2
 *
 * Alice and Bob join one group call. Alice sends the SDK's virtual camera (640x360 at 30 fps,
 * a moving test pattern that carries a frame counter). Bob gets
 * ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED, renders Alice's stream into a 320x180
 * RGBA view and pulls frames like a render loop, reading the counters back (they must
 * increase, ~30 per second). Alice stops her video: Bob sees the stream become unavailable.
 * Each step is checked; exit code 0 when all hold. Built with -Wall -Wextra -Werror and run
 * under ASan/UBSan by run_c_tests.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include "acscalling.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMEOUT_MS 20000

/* report(), expect_status() and sleep_ms() are shared with the C tests. */
#include "check.h"

static void check(bool ok, const char *what) { report(ok, "%s", what); }
static bool ok_or_report(acs_status s, const char *what) { return expect_status(s, ACS_OK, what); }

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What Bob's events told him about Alice's camera. */
typedef struct {
    pthread_mutex_t mu;
    acs_remote_video_stream *stream; /* retained in the callback */
    int available_events, unavailable_events;
} watcher;

static void on_event(void *user_data, const acs_event *e) {
    watcher *w = (watcher *)user_data;
    if (w == NULL || e->kind != ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    if (e->flag) {
        w->available_events++;
        if (w->stream == NULL && e->state == ACS_VIDEO_STREAM_KIND_VIDEO &&
            acs_remote_video_stream_retain(e->remote_video_stream) == ACS_OK) {
            w->stream = e->remote_video_stream;
        }
    } else {
        w->unavailable_events++;
    }
    pthread_mutex_unlock(&w->mu);
}

static acs_call_agent *connect_agent(acs_call_client *client, const char *url, const char *token,
                                     const char *name, watcher *w) {
    acs_call_agent_options o;
    acs_call_agent *agent = NULL;
    int32_t st = -1;
    int64_t end = now_ms() + TIMEOUT_MS;
    ACS_CALL_AGENT_OPTIONS_INIT(&o);
    o.service_url = url;
    o.token = token;
    o.display_name = name;
    o.event_callback = on_event;
    o.event_user_data = w;
    if (!ok_or_report(acs_call_client_create_call_agent(client, &o, &agent), "create agent")) {
        return NULL;
    }
    while (now_ms() < end && (acs_call_agent_get_connection_state(agent, &st), st) !=
                                 ACS_AGENT_CONNECTION_CONNECTED) {
        sleep_ms(20);
    }
    check(st == ACS_AGENT_CONNECTION_CONNECTED, name);
    return agent;
}

static acs_call *join(acs_call_agent *agent, acs_device_manager *dm, const char *group,
                      const char *name) {
    acs_call_options o;
    acs_audio_device *mic = NULL, *spk = NULL;
    acs_call *call = NULL;
    char label[64];
    int32_t st = -1;
    int64_t end = now_ms() + TIMEOUT_MS;
    snprintf(label, sizeof label, "%s mic", name);
    acs_device_manager_create_tone_microphone(dm, label, 440.0f, 0.2f, &mic);
    snprintf(label, sizeof label, "%s speaker", name);
    acs_device_manager_create_pull_speaker(dm, label, 1000, &spk);
    ACS_CALL_OPTIONS_INIT(&o);
    o.microphone = mic;
    o.speaker = spk;
    o.start_muted = true;
    ok_or_report(acs_call_agent_join(agent, group, &o, &call), "join");
    acs_audio_device_release(mic);
    acs_audio_device_release(spk);
    while (call != NULL && now_ms() < end && (acs_call_get_state(call, &st), st) != ACS_CALL_STATE_CONNECTED) {
        sleep_ms(20);
    }
    snprintf(label, sizeof label, "%s is connected", name);
    check(st == ACS_CALL_STATE_CONNECTED, label);
    return call;
}

int main(int argc, char **argv) {
    const char *url = NULL, *token_a = NULL, *token_b = NULL;
    const char *group = "4f0e7a52-1c2d-4e55-9d6b-7a1c0de0f1a2";
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    watcher w;
    int i;
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--service-url") == 0) url = argv[i + 1];
        else if (strcmp(argv[i], "--token-a") == 0) token_a = argv[i + 1];
        else if (strcmp(argv[i], "--token-b") == 0) token_b = argv[i + 1];
        else if (strcmp(argv[i], "--group") == 0) group = argv[i + 1];
    }
    if (url == NULL || token_a == NULL || token_b == NULL) {
        fprintf(stderr, "usage: %s --service-url URL --token-a T1 --token-b T2 [--group UUID]\n", argv[0]);
        return 2;
    }
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    if (!ok_or_report(acs_call_client_create(NULL, &client), "client") ||
        !ok_or_report(acs_call_client_get_device_manager(client, &dm), "device manager")) {
        return 1;
    }
    acs_call_agent *alice = connect_agent(client, url, token_a, "Alice", NULL);
    acs_call_agent *bob = connect_agent(client, url, token_b, "Bob", &w);
    if (alice == NULL || bob == NULL) {
        return 1;
    }
    acs_call *ca = join(alice, dm, group, "Alice");
    acs_call *cb = join(bob, dm, group, "Bob");

    /* Alice sends the virtual camera. */
    acs_local_video_stream *cam = NULL;
    ok_or_report(acs_local_video_stream_create_virtual(640, 360, 30, &cam), "virtual camera");
    ok_or_report(acs_call_start_video(ca, cam), "acs_call_start_video");
    bool sending = false;
    acs_call_is_sending_video(ca, ACS_VIDEO_STREAM_KIND_VIDEO, &sending);
    check(sending, "Alice sends video");

    /* Bob learns that Alice's camera is available and renders it. */
    int64_t end = now_ms() + TIMEOUT_MS;
    acs_remote_video_stream *stream = NULL;
    while (now_ms() < end && stream == NULL) {
        pthread_mutex_lock(&w.mu);
        stream = w.stream;
        pthread_mutex_unlock(&w.mu);
        sleep_ms(20);
    }
    check(stream != NULL, "Bob gets ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED for Alice's camera");
    if (stream == NULL) {
        return 1;
    }
    acs_video_renderer *renderer = NULL;
    acs_video_view *view = NULL;
    acs_video_view_options vo;
    ok_or_report(acs_video_renderer_create_for_remote_stream(stream, &renderer), "renderer for the remote stream");
    ACS_VIDEO_VIEW_OPTIONS_INIT(&vo);
    vo.width = 320;
    vo.height = 180;
    vo.format = ACS_PIXEL_FORMAT_RGBA;
    vo.scaling_mode = ACS_SCALING_MODE_FIT;
    ok_or_report(acs_video_renderer_create_view(renderer, &vo, &view), "view 320x180 RGBA");
    bool subscribed = false;
    acs_remote_video_stream_is_subscribed(stream, &subscribed);
    check(subscribed, "rendering subscribes");

    uint32_t counters[64];
    int n = 0, sized = 0;
    int64_t started = now_ms();
    end = started + TIMEOUT_MS;
    while (n < 30 && now_ms() < end) {
        acs_rendered_video_frame f;
        ACS_RENDERED_VIDEO_FRAME_INIT(&f);
        if (acs_video_view_take_latest_rendered_frame(view, &f) != ACS_OK) {
            sleep_ms(5);
            continue;
        }
        uint32_t c = 0;
        if (acs_rendered_video_frame_read_test_pattern_counter(&f, &c) == ACS_OK) {
            counters[n++] = c;
        }
        sized += (f.width == 320 && f.height == 180 && f.planes[0] != NULL) ? 1 : 0;
        acs_rendered_video_frame_release(&f);
    }
    bool increasing = n >= 30;
    for (i = 1; i < n; i++) {
        increasing = increasing && counters[i] > counters[i - 1];
    }
    char what[160];
    snprintf(what, sizeof what, "Bob renders %d frames of Alice's camera with increasing counters (%u..%u)", n,
             n ? counters[0] : 0, n ? counters[n - 1] : 0);
    check(increasing, what);
    check(sized == n, "every rendered frame is 320x180 RGBA");

    acs_video_receive_stats rs;
    ACS_VIDEO_RECEIVE_STATS_INIT(&rs);
    ok_or_report(acs_remote_video_stream_get_stats(stream, &rs), "receive stats");
    check(rs.frames_decoded >= 30, "Bob decoded Alice's frames");
    acs_video_send_stats ss;
    ACS_VIDEO_SEND_STATS_INIT(&ss);
    ok_or_report(acs_call_get_video_send_stats(ca, ACS_VIDEO_STREAM_KIND_VIDEO, &ss), "send stats");
    check(ss.frames_encoded >= 30 && ss.width == 640 && ss.height == 360 && ss.keyframes >= 1,
          "Alice encoded 640x360 frames, a keyframe first");

    /* Alice stops: Bob sees the stream become unavailable. */
    ok_or_report(acs_call_stop_video(ca, ACS_VIDEO_STREAM_KIND_VIDEO), "acs_call_stop_video");
    bool available = true;
    end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && available) {
        acs_remote_video_stream_is_available(stream, &available);
        sleep_ms(20);
    }
    check(!available, "Bob sees Alice's camera become unavailable");
    check(acs_remote_video_stream_subscribe(stream) == ACS_ERR_INVALID_STATE,
          "subscribing to an unavailable stream is ACS_ERR_INVALID_STATE");
    check(acs_call_stop_video(ca, 7) == ACS_ERR_INVALID_ARGUMENT, "a bad stream kind is ACS_ERR_INVALID_ARGUMENT");
    check(acs_remote_video_stream_subscribe(NULL) == ACS_ERR_INVALID_HANDLE, "NULL stream is ACS_ERR_INVALID_HANDLE");

    acs_call_hang_up(ca, false);
    acs_call_hang_up(cb, false);
    acs_video_view_release(view);
    acs_video_renderer_release(renderer);
    acs_remote_video_stream_release(stream);
    acs_local_video_stream_release(cam);
    acs_call_release(ca);
    acs_call_release(cb);
    acs_call_agent_release(alice);
    acs_call_agent_release(bob);
    acs_device_manager_release(dm);
    acs_call_client_release(client);
    pthread_mutex_destroy(&w.mu);
    printf("%s\n", g_failures == 0 ? "video_call: all checks passed" : "video_call: FAILED");
    return g_failures == 0 ? 0 : 1;
}
