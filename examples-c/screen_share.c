/*
 * screen_share.c — native screen sharing from C, through a running acscalling-service.
 *
 *   screen_share --service-url ws://127.0.0.1:8080 --token-a T1 --token-b T2
 *                [--window TITLE-PART] [--fps N] [--no-cursor] [--until-closed] [--group UUID]
 *   screen_share --list-only          # only list what can be shared
 *
 * Lists the monitors and windows of the X display (DISPLAY): id, kind, title, application,
 * geometry. Picks the first window whose title contains TITLE-PART, or the first monitor,
 * and captures it into a local video stream with acs_screen_capture_options (fps, pointer
 * shown or not). Alice and Bob join one group call; Alice shares the stream
 * (acs_call_start_screen_sharing) and prints each ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED
 * with its reason; Bob renders the share. Then either Alice stops sharing (STOPPED), or,
 * with --until-closed, the shared window is closed by someone else and the share FAILS
 * with 0/10012 "the window was closed" (Bob sees it become unavailable).
 * Each step is checked; exit code 0 when all hold. Built with -Wall -Wextra -Werror and run
 * under ASan/UBSan by run_c_tests.sh (through run_screen_share.sh, which starts Xvfb).
 */
#define _POSIX_C_SOURCE 200809L

#include "acscalling.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
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

/* What the events told each party. */
typedef struct {
    const char *name;
    pthread_mutex_t mu;
    /* Alice: her outgoing screen share. */
    int started, stopped, failed, paused;
    int32_t fail_code, fail_subcode;
    char fail_message[256];
    bool stream_matches; /* every event carried the stream shared */
    acs_local_video_stream *shared;
    /* Bob: Alice's screen share (retained in the callback). */
    acs_remote_video_stream *remote;
    int unavailable;
} watcher;

static const char *outgoing_state_name(int32_t s) {
    switch (s) {
    case ACS_OUTGOING_VIDEO_STATE_STARTED: return "STARTED";
    case ACS_OUTGOING_VIDEO_STATE_PAUSED: return "PAUSED";
    case ACS_OUTGOING_VIDEO_STATE_STOPPED: return "STOPPED";
    case ACS_OUTGOING_VIDEO_STATE_FAILED: return "FAILED";
    default: return "?";
    }
}

static void on_event(void *user_data, const acs_event *e) {
    watcher *w = (watcher *)user_data;
    /* video_stream_kind and local_video_stream were appended to acs_event: read them only
       when the library's event is that long. */
    bool has_video_fields =
        e->struct_size >= offsetof(acs_event, local_video_stream) + sizeof e->local_video_stream;
    if (w == NULL || !has_video_fields) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    if (e->kind == ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED) {
        printf("[%s] outgoing %s: %s", w->name,
               e->video_stream_kind == ACS_VIDEO_STREAM_KIND_SCREEN_SHARE ? "screen share" : "video",
               outgoing_state_name(e->state));
        if (e->state == ACS_OUTGOING_VIDEO_STATE_PAUSED || e->state == ACS_OUTGOING_VIDEO_STATE_FAILED) {
            printf(" (%d/%d: %s)", e->code, e->subcode, e->message ? e->message : "");
        }
        printf("\n");
        fflush(stdout);
        if (e->video_stream_kind == ACS_VIDEO_STREAM_KIND_SCREEN_SHARE) {
            /* The stream shared; after acs_call_stop_video the call no longer holds it
               (STOPPED carries NULL). */
            w->stream_matches = w->stream_matches &&
                                (e->local_video_stream == w->shared ||
                                 (e->state == ACS_OUTGOING_VIDEO_STATE_STOPPED && e->local_video_stream == NULL));
            switch (e->state) {
            case ACS_OUTGOING_VIDEO_STATE_STARTED: w->started++; break;
            case ACS_OUTGOING_VIDEO_STATE_PAUSED: w->paused++; break;
            case ACS_OUTGOING_VIDEO_STATE_STOPPED: w->stopped++; break;
            case ACS_OUTGOING_VIDEO_STATE_FAILED:
                w->failed++;
                w->fail_code = e->code;
                w->fail_subcode = e->subcode;
                snprintf(w->fail_message, sizeof w->fail_message, "%s", e->message ? e->message : "");
                break;
            default: break;
            }
        }
    } else if (e->kind == ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED &&
               e->video_stream_kind == ACS_VIDEO_STREAM_KIND_SCREEN_SHARE) {
        if (e->flag && w->remote == NULL && acs_remote_video_stream_retain(e->remote_video_stream) == ACS_OK) {
            w->remote = e->remote_video_stream;
        } else if (!e->flag) {
            w->unavailable++;
        }
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

/* A string getter into a fixed buffer (truncated if longer). */
static const char *get_str(acs_status (*fn)(acs_screen_source *, char *, size_t, size_t *),
                           acs_screen_source *s, char *buf, size_t cap) {
    size_t needed = 0;
    buf[0] = '\0';
    if (fn(s, buf, cap, &needed) != ACS_OK) {
        snprintf(buf, cap, "(too long: %zu bytes)", needed);
    }
    return buf;
}

/* Lists the sources (printed) and copies the id of the one picked into `id`. */
static bool pick_source(const char *window, char *id, size_t id_cap) {
    acs_screen_source **src = NULL;
    size_t count = 0, cap = 0;
    acs_status s;
    /* Size query, then the list; retry if a window appeared in between. */
    for (int tries = 0; tries < 8; tries++) {
        s = acs_screen_sources_get(0, 0, src, cap, &count);
        if (s != ACS_ERR_BUFFER_TOO_SMALL) {
            break;
        }
        free(src);
        cap = count + 4;
        src = (acs_screen_source **)calloc(cap, sizeof *src);
        if (src == NULL) {
            return false;
        }
    }
    if (!ok_or_report(s, "acs_screen_sources_get")) {
        free(src);
        return false;
    }
    bool found = false;
    for (size_t i = 0; i < count; i++) {
        char sid[128], title[256], app[128];
        int32_t kind = -1, x = 0, y = 0;
        uint32_t w = 0, h = 0;
        bool minimized = false;
        acs_screen_source_get_kind(src[i], &kind);
        acs_screen_source_get_geometry(src[i], &x, &y, &w, &h, &minimized);
        get_str(acs_screen_source_get_id, src[i], sid, sizeof sid);
        get_str(acs_screen_source_get_title, src[i], title, sizeof title);
        get_str(acs_screen_source_get_application, src[i], app, sizeof app);
        printf("%-24s %-7s %-30s %-14s %ux%u%+d%+d%s\n", sid, kind == ACS_SCREEN_SOURCE_MONITOR ? "monitor" : "window",
               title, app, w, h, x, y, minimized ? " (minimised)" : "");
        bool wanted = window ? (kind == ACS_SCREEN_SOURCE_WINDOW && strstr(title, window) != NULL)
                             : kind == ACS_SCREEN_SOURCE_MONITOR;
        if (wanted && !found) {
            snprintf(id, id_cap, "%s", sid);
            found = true;
        }
        acs_screen_source_release(src[i]);
    }
    free(src);
    return found;
}

int main(int argc, char **argv) {
    const char *url = NULL, *token_a = NULL, *token_b = NULL, *window = NULL;
    const char *group = "6b1f3c0e-2d4a-4f6b-8c9d-0e1f2a3b4c5d";
    uint32_t fps = 10;
    bool show_cursor = true, until_closed = false, list_only = false;
    int i;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-cursor") == 0) show_cursor = false;
        else if (strcmp(argv[i], "--until-closed") == 0) until_closed = true;
        else if (strcmp(argv[i], "--list-only") == 0) list_only = true;
        else if (i + 1 >= argc) break;
        else if (strcmp(argv[i], "--service-url") == 0) url = argv[++i];
        else if (strcmp(argv[i], "--token-a") == 0) token_a = argv[++i];
        else if (strcmp(argv[i], "--token-b") == 0) token_b = argv[++i];
        else if (strcmp(argv[i], "--group") == 0) group = argv[++i];
        else if (strcmp(argv[i], "--window") == 0) window = argv[++i];
        else if (strcmp(argv[i], "--fps") == 0) fps = (uint32_t)strtoul(argv[++i], NULL, 10);
    }
    char id[128];
    if (list_only) {
        pick_source(window, id, sizeof id);
        return g_failures == 0 ? 0 : 1;
    }
    if (url == NULL || token_a == NULL || token_b == NULL) {
        fprintf(stderr,
                "usage: %s --service-url URL --token-a T1 --token-b T2 [--window TITLE-PART] [--fps N]"
                " [--no-cursor] [--until-closed] [--group UUID]\n"
                "       %s --list-only\n",
                argv[0], argv[0]);
        return 2;
    }

    if (!pick_source(window, id, sizeof id)) {
        fprintf(stderr, "no %s%s%s to share\n", window ? "window titled *" : "monitor", window ? window : "",
                window ? "*" : "");
        return 1;
    }
    printf("sharing %s at up to %u fps, pointer %s\n", id, fps, show_cursor ? "shown" : "hidden");

    acs_screen_capture_options so;
    ACS_SCREEN_CAPTURE_OPTIONS_INIT(&so);
    check(so.fps == 15 && so.show_cursor, "the defaults: 15 fps, pointer shown");
    so.fps = fps;
    so.show_cursor = show_cursor;
    acs_local_video_stream *share = NULL;
    if (!ok_or_report(acs_local_video_stream_create_from_screen_with_options(id, &so, &share),
                      "acs_local_video_stream_create_from_screen_with_options")) {
        return 1;
    }

    watcher wa, wb;
    memset(&wa, 0, sizeof wa);
    memset(&wb, 0, sizeof wb);
    wa.name = "Alice";
    wb.name = "Bob";
    wa.stream_matches = wb.stream_matches = true;
    wa.shared = share;
    pthread_mutex_init(&wa.mu, NULL);
    pthread_mutex_init(&wb.mu, NULL);
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    if (!ok_or_report(acs_call_client_create(NULL, &client), "client") ||
        !ok_or_report(acs_call_client_get_device_manager(client, &dm), "device manager")) {
        return 1;
    }
    acs_call_agent *alice = connect_agent(client, url, token_a, "Alice", &wa);
    acs_call_agent *bob = connect_agent(client, url, token_b, "Bob", &wb);
    if (alice == NULL || bob == NULL) {
        return 1;
    }
    acs_call *ca = join(alice, dm, group, "Alice");
    acs_call *cb = join(bob, dm, group, "Bob");

    ok_or_report(acs_call_start_screen_sharing(ca, share), "acs_call_start_screen_sharing");
    int64_t end = now_ms() + TIMEOUT_MS;
    int started = 0;
    while (now_ms() < end && started == 0) {
        pthread_mutex_lock(&wa.mu);
        started = wa.started;
        pthread_mutex_unlock(&wa.mu);
        sleep_ms(20);
    }
    check(started == 1, "Alice gets ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED STARTED for her screen share");

    /* Bob renders the share. */
    acs_remote_video_stream *remote = NULL;
    end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && remote == NULL) {
        pthread_mutex_lock(&wb.mu);
        remote = wb.remote;
        pthread_mutex_unlock(&wb.mu);
        sleep_ms(20);
    }
    check(remote != NULL, "Bob sees Alice's screen share available");
    acs_video_renderer *renderer = NULL;
    acs_video_view *view = NULL;
    int frames = 0;
    if (remote != NULL) {
        acs_video_view_options vo;
        ok_or_report(acs_video_renderer_create_for_remote_stream(remote, &renderer), "renderer for the share");
        ACS_VIDEO_VIEW_OPTIONS_INIT(&vo);
        vo.width = 320;
        vo.height = 180;
        vo.format = ACS_PIXEL_FORMAT_RGBA;
        vo.scaling_mode = ACS_SCALING_MODE_FIT;
        ok_or_report(acs_video_renderer_create_view(renderer, &vo, &view), "view 320x180 RGBA");
        end = now_ms() + TIMEOUT_MS;
        while (view != NULL && frames < 3 && now_ms() < end) {
            acs_rendered_video_frame f;
            ACS_RENDERED_VIDEO_FRAME_INIT(&f);
            if (acs_video_view_take_latest_rendered_frame(view, &f) != ACS_OK) {
                sleep_ms(20);
                continue;
            }
            frames += (f.width == 320 && f.height == 180 && f.planes[0] != NULL) ? 1 : 0;
            acs_rendered_video_frame_release(&f);
        }
    }
    printf("Bob rendered %d frames of the share\n", frames);
    check(frames >= 3, "Bob renders frames of Alice's screen share");

    if (until_closed) {
        /* Someone closes the shared window: the share fails with its reason. */
        int failed = 0;
        end = now_ms() + 3 * TIMEOUT_MS;
        while (now_ms() < end && failed == 0) {
            pthread_mutex_lock(&wa.mu);
            failed = wa.failed;
            pthread_mutex_unlock(&wa.mu);
            sleep_ms(20);
        }
        check(failed == 1, "the share FAILED when the window was closed");
        check(wa.fail_code == 0 && wa.fail_subcode == 10012 && strcmp(wa.fail_message, "the window was closed") == 0,
              "its reason is 0/10012 \"the window was closed\"");
        int32_t state = -1;
        char why[128];
        size_t needed = 0;
        ok_or_report(acs_local_video_stream_get_share_state(share, &state, why, sizeof why, &needed), "share state");
        check(state == ACS_SHARE_STATE_ENDED, "the stream's share state is ENDED");
    } else {
        ok_or_report(acs_call_stop_video(ca, ACS_VIDEO_STREAM_KIND_SCREEN_SHARE), "acs_call_stop_video(SCREEN_SHARE)");
        int stopped = 0;
        end = now_ms() + TIMEOUT_MS;
        while (now_ms() < end && stopped == 0) {
            pthread_mutex_lock(&wa.mu);
            stopped = wa.stopped;
            pthread_mutex_unlock(&wa.mu);
            sleep_ms(20);
        }
        check(stopped == 1, "the share STOPPED when Alice stopped it");
    }
    bool available = true;
    end = now_ms() + TIMEOUT_MS;
    while (remote != NULL && now_ms() < end && available) {
        acs_remote_video_stream_is_available(remote, &available);
        sleep_ms(20);
    }
    check(remote != NULL && !available, "Bob sees Alice's screen share become unavailable");
    pthread_mutex_lock(&wa.mu);
    check(wa.stream_matches, "each event's local_video_stream is the stream shared");
    check(wa.paused == 0, "the share never paused");
    pthread_mutex_unlock(&wa.mu);

    acs_call_hang_up(ca, false);
    acs_call_hang_up(cb, false);
    acs_video_view_release(view);
    acs_video_renderer_release(renderer);
    acs_remote_video_stream_release(remote);
    acs_call_release(ca);
    acs_call_release(cb);
    acs_call_agent_release(alice);
    acs_call_agent_release(bob);
    acs_local_video_stream_release(share);
    acs_device_manager_release(dm);
    acs_call_client_release(client);
    pthread_mutex_lock(&wb.mu);
    acs_remote_video_stream *late = wb.remote == remote ? NULL : wb.remote;
    pthread_mutex_unlock(&wb.mu);
    acs_remote_video_stream_release(late);
    pthread_mutex_destroy(&wa.mu);
    pthread_mutex_destroy(&wb.mu);
    printf("%s\n", g_failures == 0 ? "screen_share: all checks passed" : "screen_share: FAILED");
    return g_failures == 0 ? 0 : 1;
}
