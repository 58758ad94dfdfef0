/*
 * test_abi.c — the C ABI keeps its promise to hosts compiled against older headers.
 *
 *   test_abi [--service-url URL --token-a TOKEN]
 *
 * It declares the OLDER, shorter layouts of option (input) and output structs as such hosts
 * saw them, puts guard bytes (0xA5) after them, and checks that:
 *  - an older input struct is accepted and read as its prefix (the guard bytes after it,
 *    which would be a garbage pointer if read, are never used);
 *  - an output is written up to struct_size and no further (guard bytes unchanged; the same
 *    calls on exact-size heap blocks let AddressSanitizer catch any write past them);
 *  - a struct_size below the first version, or absurdly large, is a clear error;
 *  - the sized init (ACS_<STRUCT>_INIT, <struct>_init_sized) of an older struct fills its
 *    prefix and writes nothing past it (guard bytes unchanged; exact-size heap blocks under
 *    ASan), where the unsized <struct>_init writes today's whole struct;
 *  - the frozen first versions (acs_call_audio_stats, acs_video_view_stats, acs_video_frame)
 *    keep their layout and keep working next to their sized successors;
 *  - the new read-only getters accept const handles.
 * Part 1 needs no service; part 2 (with --service-url and --token-a) calls the echo bot for
 * an older agent-options struct that connects and an older acs_video_send_stats.
 * Built with -Wall -Wextra -Werror under ASan/UBSan; run by run_c_tests.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <acscalling.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define GUARD 0xA5
#define TIMEOUT_MS 20000

/* ---- Older layouts, as hosts compiled against earlier headers declared them. ---- */

/* acs_video_send_stats before nacked_packets and last_loss_estimate were appended. */
typedef struct {
    uint32_t struct_size;
    uint64_t frames_encoded, frames_dropped, frames_skipped, keyframes, keyframe_requests, bytes;
    uint32_t bitrate_bps;
    uint64_t loss_reports;
    uint8_t last_fraction_lost;
    uint32_t width, height;
    uint64_t encode_micros;
} old_video_send_stats;

/* acs_call_agent_options before ca_certificate_path was appended. */
typedef struct {
    uint32_t struct_size;
    const char *service_url, *token, *display_name;
    acs_event_callback event_callback;
    void *event_user_data;
    acs_token_refresher token_refresher;
    void *token_refresher_user_data;
} old_call_agent_options;

/* acs_video_view_options before rendered_frame_callback was appended (the 0.1.0 header). */
typedef struct {
    uint32_t struct_size;
    uint32_t width, height;
    int32_t format, scaling_mode;
    bool mirrored;
    acs_video_frame_callback frame_callback;
    void *frame_callback_user_data;
} old_video_view_options;

/* acs_call_client_options of a host that stops after dispatch_mode (always allowed). */
typedef struct {
    uint32_t struct_size;
    int32_t dispatch_mode;
} short_call_client_options;

/* A host NEWER than the library: a field the library does not know yet. */
typedef struct {
    acs_video_view_statistics s;
    uint64_t frames_from_the_future;
} newer_video_view_statistics;

/* Each struct followed by guard bytes. */
#define GUARDED(T) struct { T s; unsigned char guard[64]; }

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether bytes [from, to) of `p` still hold the guard value. */
static bool untouched(const void *p, size_t from, size_t to) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = from; i < to; i++) {
        if (b[i] != GUARD) {
            return false;
        }
    }
    return true;
}

/* The last error message contains `what`. */
static bool message_says(const char *what) {
    char msg[512] = "";
    acs_last_error_message(msg, sizeof msg);
    return strstr(msg, what) != NULL;
}

static void test_layouts(void) {
    printf("# layouts: frozen first versions unchanged, older layouts are prefixes of today's\n");
    report(sizeof(acs_call_audio_stats) == 32 && offsetof(acs_call_audio_stats, frames_concealed) == 24,
           "acs_call_audio_stats is its first version (32 bytes, no struct_size)");
    report(sizeof(acs_video_view_stats) == 16 && offsetof(acs_video_view_stats, frames_dropped) == 8,
           "acs_video_view_stats is its first version (16 bytes, no struct_size)");
    report(offsetof(acs_video_frame, width) == 0 && offsetof(acs_video_frame, format) == 8 &&
               offsetof(acs_video_frame, planes) == 16 && offsetof(acs_video_frame, strides) == 16 + 3 * sizeof(void *) &&
               offsetof(acs_video_frame, internal) + sizeof(void *) == sizeof(acs_video_frame),
           "acs_video_frame is its first version (width first, internal last)");
    report(offsetof(acs_call_audio_statistics, frames_sent) == 8 &&
               offsetof(acs_video_view_statistics, frames_rendered) == 8 &&
               offsetof(acs_rendered_video_frame, width) == 4 && offsetof(acs_rendered_video_frame, struct_size) == 0,
           "the sized successors start with struct_size");
    report(offsetof(acs_video_send_stats, encode_micros) == offsetof(old_video_send_stats, encode_micros) &&
               offsetof(acs_video_send_stats, width) == offsetof(old_video_send_stats, width) &&
               sizeof(old_video_send_stats) < sizeof(acs_video_send_stats),
           "old acs_video_send_stats (%zu bytes) is a prefix of today's (%zu)", sizeof(old_video_send_stats),
           sizeof(acs_video_send_stats));
    report(offsetof(acs_call_agent_options, token_refresher_user_data) ==
                   offsetof(old_call_agent_options, token_refresher_user_data) &&
               sizeof(old_call_agent_options) < sizeof(acs_call_agent_options),
           "old acs_call_agent_options is a prefix of today's");
    report(offsetof(acs_video_view_options, frame_callback_user_data) ==
                   offsetof(old_video_view_options, frame_callback_user_data) &&
               sizeof(old_video_view_options) < sizeof(acs_video_view_options),
           "old acs_video_view_options is a prefix of today's");
}

/* What ACS_<STRUCT>_INIT(p) expands to in a host whose header declared the struct as
 * `p`'s type (an older, shorter one or a newer, longer one): that sizeof is passed. */
#define AS_DECLARED_INIT(fn, p) fn((void *)(p), sizeof(*(p)))

static void test_sized_init(void) {
    printf("# sized init: an older, shorter struct is initialised up to its own size\n");
    /* Input structs of an older layout: the defaults up to their size, guard bytes after. */
    GUARDED(old_video_view_options) vo;
    memset(&vo, GUARD, sizeof vo);
    EXPECT_OK(AS_DECLARED_INIT(acs_video_view_options_init_sized, &vo.s));
    report(vo.s.struct_size == sizeof vo.s && vo.s.width == 640 && vo.s.height == 360 &&
               vo.s.format == ACS_PIXEL_FORMAT_RGBA && vo.s.scaling_mode == ACS_SCALING_MODE_FIT &&
               !vo.s.mirrored && vo.s.frame_callback == NULL && vo.s.frame_callback_user_data == NULL,
           "old view options: struct_size %u (the old sizeof) and the defaults", vo.s.struct_size);
    report(untouched(&vo, sizeof vo.s, sizeof vo), "nothing written after the old view options");
    GUARDED(old_call_agent_options) ao;
    memset(&ao, GUARD, sizeof ao);
    EXPECT_OK(AS_DECLARED_INIT(acs_call_agent_options_init_sized, &ao.s));
    report(ao.s.struct_size == sizeof ao.s && ao.s.service_url == NULL && ao.s.event_callback == NULL &&
               ao.s.token_refresher_user_data == NULL && untouched(&ao, sizeof ao.s, sizeof ao),
           "old agent options: the defaults, nothing written after them");
    /* An output struct of an older layout. */
    GUARDED(old_video_send_stats) ss;
    memset(&ss, GUARD, sizeof ss);
    EXPECT_OK(AS_DECLARED_INIT(acs_video_send_stats_init_sized, &ss.s));
    report(ss.s.struct_size == sizeof ss.s && ss.s.frames_encoded == 0 && ss.s.encode_micros == 0 &&
               untouched(&ss, sizeof ss.s, sizeof ss),
           "old send stats: zeroed with struct_size %u, nothing written after them", ss.s.struct_size);
    /* The unsized init writes today's whole struct: past the old one (hence the sized init). */
    memset(&vo, GUARD, sizeof vo);
    EXPECT_OK(acs_video_view_options_init((acs_video_view_options *)(void *)&vo.s));
    report(vo.s.struct_size == sizeof(acs_video_view_options) && !untouched(&vo, sizeof vo.s, sizeof vo),
           "acs_video_view_options_init writes today's %zu bytes, past the old %zu",
           sizeof(acs_video_view_options), sizeof vo.s);

    /* Exact-size heap blocks of the old layouts: AddressSanitizer catches any write past them. */
    old_video_view_options *hvo = (old_video_view_options *)malloc(sizeof *hvo);
    EXPECT_OK(AS_DECLARED_INIT(acs_video_view_options_init_sized, hvo));
    report(hvo->struct_size == sizeof *hvo, "old view options in an exact-size heap block");
    free(hvo);
    old_call_agent_options *hao = (old_call_agent_options *)malloc(sizeof *hao);
    EXPECT_OK(AS_DECLARED_INIT(acs_call_agent_options_init_sized, hao));
    free(hao);
    old_video_send_stats *hss = (old_video_send_stats *)malloc(sizeof *hss);
    EXPECT_OK(AS_DECLARED_INIT(acs_video_send_stats_init_sized, hss));
    free(hss);

    /* Today's header: the macro gives the whole struct; a newer host's larger struct gets the
     * library's fields (struct_size says how many), its unknown bytes zeroed, none after. */
    acs_video_view_options today;
    EXPECT_OK(ACS_VIDEO_VIEW_OPTIONS_INIT(&today));
    report(today.struct_size == sizeof today && today.rendered_frame_callback == NULL,
           "ACS_VIDEO_VIEW_OPTIONS_INIT: struct_size %u, the whole struct", today.struct_size);
    GUARDED(newer_video_view_statistics) newer;
    memset(&newer, GUARD, sizeof newer);
    EXPECT_OK(AS_DECLARED_INIT(acs_video_view_statistics_init_sized, &newer.s));
    report(newer.s.s.struct_size == sizeof(acs_video_view_statistics) && newer.s.frames_from_the_future == 0 &&
               untouched(&newer, sizeof newer.s, sizeof newer),
           "a newer host's larger struct: the library's size, the unknown field zeroed, nothing after");
    /* Shorter than the first version, or absurd: refused, nothing written. */
    memset(&vo, GUARD, sizeof vo);
    EXPECT(acs_video_view_options_init_sized((acs_video_view_options *)(void *)&vo.s, 12), ACS_ERR_INVALID_ARGUMENT);
    report(message_says("less than the 40 bytes of the first acs_video_view_options") && untouched(&vo, 0, sizeof vo),
           "too short: refused, nothing written");
    EXPECT(acs_video_view_options_init_sized((acs_video_view_options *)(void *)&vo.s, 1u << 20), ACS_ERR_INVALID_ARGUMENT);
    report(untouched(&vo, 0, sizeof vo), "absurdly large: refused, nothing written");
}

static void test_input_structs(acs_local_video_stream *stream) {
    printf("# inputs: an older, shorter struct is read as its prefix\n");
    acs_video_renderer *renderer = NULL;
    acs_video_view *view = NULL;
    EXPECT_OK(acs_video_renderer_create_for_local_stream(stream, &renderer));

    /* Old view options, with guard bytes where today's rendered_frame_callback would be: if
     * the library read them it would call a garbage pointer or refuse two callbacks. */
    GUARDED(old_video_view_options) vo;
    memset(&vo, GUARD, sizeof vo);
    vo.s.struct_size = sizeof vo.s;
    vo.s.width = 64;
    vo.s.height = 36;
    vo.s.format = ACS_PIXEL_FORMAT_I420;
    vo.s.scaling_mode = ACS_SCALING_MODE_FIT;
    vo.s.mirrored = false;
    vo.s.frame_callback = NULL;
    vo.s.frame_callback_user_data = NULL;
    EXPECT_OK(acs_video_renderer_create_view(renderer, (const acs_video_view_options *)(const void *)&vo.s, &view));
    report(untouched(&vo, sizeof vo.s, sizeof vo), "the guard bytes after the old view options are untouched");
    acs_rendered_video_frame f;
    ACS_RENDERED_VIDEO_FRAME_INIT(&f);
    acs_status s = ACS_ERR_NOT_FOUND;
    for (int64_t end = now_ms() + 5000; s == ACS_ERR_NOT_FOUND && now_ms() < end; sleep_ms(5)) {
        s = acs_video_view_take_latest_rendered_frame(view, &f);
    }
    report(s == ACS_OK && f.width == 64 && f.height == 36 && f.format == ACS_PIXEL_FORMAT_I420,
           "a view made from the old options renders 64x36 I420 frames");
    acs_rendered_video_frame_release(&f);
    acs_video_view_release(view);
    view = NULL;

    /* The same on an exact-size heap block (ASan: no read past it). */
    old_video_view_options *heap = (old_video_view_options *)malloc(sizeof *heap);
    memset(heap, 0, sizeof *heap);
    heap->struct_size = sizeof *heap;
    heap->width = 32;
    heap->height = 32;
    heap->format = ACS_PIXEL_FORMAT_RGBA;
    heap->scaling_mode = ACS_SCALING_MODE_CROP;
    EXPECT_OK(acs_video_renderer_create_view(renderer, (const acs_video_view_options *)(const void *)heap, &view));
    free(heap);
    acs_video_view_release(view);
    view = NULL;

    /* Too short, unset, absurd: clear errors. */
    acs_video_view_options o;
    ACS_VIDEO_VIEW_OPTIONS_INIT(&o);
    o.struct_size = 0;
    EXPECT(acs_video_renderer_create_view(renderer, &o, &view), ACS_ERR_INVALID_ARGUMENT);
    report(message_says("struct_size is not set: call acs_video_view_options_init"), "0: 'not set' message");
    o.struct_size = 12;
    EXPECT(acs_video_renderer_create_view(renderer, &o, &view), ACS_ERR_INVALID_ARGUMENT);
    report(message_says("less than the 40 bytes of the first acs_video_view_options"),
           "shorter than the first version: the message says so");
    o.struct_size = 1u << 20;
    EXPECT(acs_video_renderer_create_view(renderer, &o, &view), ACS_ERR_INVALID_ARGUMENT);
    report(message_says("more than any acs_video_view_options can be"), "absurdly large: the message says so");
    report(view == NULL, "no view written on failure");
    acs_video_renderer_release(renderer);

    /* Client options that stop after dispatch_mode, garbage after them (a log callback if
     * read): manual dispatch is taken, nothing else read. */
    GUARDED(short_call_client_options) co;
    memset(&co, GUARD, sizeof co);
    co.s.struct_size = sizeof co.s;
    co.s.dispatch_mode = ACS_DISPATCH_MANUAL;
    acs_call_client *client = NULL;
    uint32_t n = 99;
    if (EXPECT_OK(acs_call_client_create((const acs_call_client_options *)(const void *)&co.s, &client))) {
        EXPECT_OK(acs_call_client_dispatch_events(client, 0, &n));
        report(n == 0, "the short client options gave manual dispatch");
        acs_call_client_release(client);
    }
}

static void test_output_structs(acs_device_manager *dm, acs_local_video_stream *stream) {
    printf("# outputs: written up to struct_size, never past it\n");
    /* Audio processing options (an input and an output struct). */
    GUARDED(acs_audio_processing_options) apo;
    memset(&apo, GUARD, sizeof apo);
    apo.s.struct_size = sizeof apo.s;
    EXPECT_OK(acs_device_manager_get_audio_processing(dm, &apo.s));
    report(apo.s.struct_size == sizeof apo.s && apo.s.echo_cancellation && untouched(&apo, sizeof apo.s, sizeof apo),
           "audio processing options: filled, guard bytes untouched");
    memset(&apo, GUARD, sizeof apo);
    apo.s.struct_size = 0; /* a host that never set it: the first version's fields */
    EXPECT_OK(acs_device_manager_get_audio_processing(dm, &apo.s));
    size_t first = offsetof(acs_audio_processing_options, auto_gain) + sizeof(bool);
    report(apo.s.struct_size == first && apo.s.auto_gain && untouched(&apo, first, sizeof apo),
           "struct_size 0 counts as the first version (%u bytes written)", apo.s.struct_size);
    memset(&apo, GUARD, sizeof apo);
    apo.s.struct_size = 2;
    EXPECT(acs_device_manager_get_audio_processing(dm, &apo.s), ACS_ERR_INVALID_ARGUMENT);
    report(apo.s.struct_size == 2 && untouched(&apo, 4, sizeof apo), "too short: refused, nothing written");

    /* View statistics: exact, heap-exact, and a newer host's larger struct. */
    acs_video_renderer *renderer = NULL;
    acs_video_view *view = NULL;
    acs_video_view_options vo;
    ACS_VIDEO_VIEW_OPTIONS_INIT(&vo);
    vo.width = 32;
    vo.height = 18;
    EXPECT_OK(acs_video_renderer_create_for_local_stream(stream, &renderer));
    EXPECT_OK(acs_video_renderer_create_view(renderer, &vo, &view));
    const acs_video_view *cview = view; /* read-only getters take const handles */
    GUARDED(acs_video_view_statistics) st;
    memset(&st, GUARD, sizeof st);
    st.s.struct_size = sizeof st.s;
    EXPECT_OK(acs_video_view_get_statistics(cview, &st.s));
    report(st.s.struct_size == sizeof st.s && untouched(&st, sizeof st.s, sizeof st),
           "view statistics: guard bytes untouched");
    GUARDED(newer_video_view_statistics) newer;
    memset(&newer, GUARD, sizeof newer);
    newer.s.s.struct_size = sizeof newer.s;
    EXPECT_OK(acs_video_view_get_statistics(cview, &newer.s.s));
    report(newer.s.s.struct_size == sizeof(acs_video_view_statistics) &&
               untouched(&newer, sizeof(acs_video_view_statistics), sizeof newer),
           "a newer host's larger struct: the library's fields, struct_size says how many");
    acs_video_view_statistics *hst = (acs_video_view_statistics *)malloc(sizeof *hst);
    ACS_VIDEO_VIEW_STATISTICS_INIT(hst);
    EXPECT_OK(acs_video_view_get_statistics(cview, hst));
    free(hst);

    /* Rendered frames: a take refused for its struct_size loses no frame. */
    GUARDED(acs_rendered_video_frame) fr;
    memset(&fr, GUARD, sizeof fr);
    fr.s.struct_size = 8;
    EXPECT(acs_video_view_take_latest_rendered_frame(view, &fr.s), ACS_ERR_INVALID_ARGUMENT);
    report(untouched(&fr, 4, sizeof fr), "a too-short frame struct is refused untouched");
    fr.s.struct_size = sizeof fr.s;
    acs_status s = ACS_ERR_NOT_FOUND;
    for (int64_t end = now_ms() + 5000; s == ACS_ERR_NOT_FOUND && now_ms() < end; sleep_ms(5)) {
        s = acs_video_view_take_latest_rendered_frame(view, &fr.s);
    }
    report(s == ACS_OK && fr.s.width == 32 && untouched(&fr, sizeof fr.s, sizeof fr),
           "rendered frame: filled, guard bytes untouched");
    uint32_t counter = 0;
    EXPECT_OK(acs_rendered_video_frame_read_test_pattern_counter(&fr.s, &counter));
    EXPECT_OK(acs_rendered_video_frame_release(&fr.s));
    report(fr.s.internal == NULL && untouched(&fr, sizeof fr.s, sizeof fr), "release zeroes only the struct");
    acs_rendered_video_frame *hf = (acs_rendered_video_frame *)malloc(sizeof *hf);
    ACS_RENDERED_VIDEO_FRAME_INIT(hf);
    s = ACS_ERR_NOT_FOUND;
    for (int64_t end = now_ms() + 5000; s == ACS_ERR_NOT_FOUND && now_ms() < end; sleep_ms(5)) {
        s = acs_video_view_take_latest_rendered_frame(view, hf);
    }
    report(s == ACS_OK, "rendered frame into an exact-size heap block");
    acs_rendered_video_frame_release(hf);
    free(hf);

    /* The frozen first versions keep working (exact-size heap blocks). */
    acs_video_frame *old_frame = (acs_video_frame *)malloc(sizeof *old_frame);
    s = ACS_ERR_NOT_FOUND;
    for (int64_t end = now_ms() + 5000; s == ACS_ERR_NOT_FOUND && now_ms() < end; sleep_ms(5)) {
        s = acs_video_view_take_latest_frame(view, old_frame);
    }
    if (expect_status(s, ACS_OK, "acs_video_view_take_latest_frame into an exact-size acs_video_frame")) {
        report(old_frame->width == 32 && old_frame->height == 18 && old_frame->planes[0] != NULL,
               "acs_video_view_take_latest_frame still fills acs_video_frame");
        EXPECT_OK(acs_video_frame_read_test_pattern_counter(old_frame, &counter));
        EXPECT_OK(acs_video_frame_release(old_frame));
    }
    free(old_frame);
    acs_video_view_stats *old_stats = (acs_video_view_stats *)malloc(sizeof *old_stats);
    EXPECT_OK(acs_video_view_get_stats(view, old_stats));
    report(old_stats->frames_rendered >= 3, "acs_video_view_get_stats still fills acs_video_view_stats (%llu)",
           (unsigned long long)old_stats->frames_rendered);
    free(old_stats);
    acs_video_view_release(view);
    acs_video_renderer_release(renderer);
}

/* Part 2: a real agent and call. */
static void test_with_service(acs_call_client *client, acs_device_manager *dm, const char *url, const char *token) {
    printf("# with the service: older agent options connect; older send stats\n");
    GUARDED(old_call_agent_options) ao;
    memset(&ao, GUARD, sizeof ao); /* a garbage ca_certificate_path after it, if read */
    ao.s.struct_size = sizeof ao.s;
    ao.s.service_url = url;
    ao.s.token = token;
    ao.s.display_name = "old host";
    ao.s.event_callback = NULL;
    ao.s.event_user_data = NULL;
    ao.s.token_refresher = NULL;
    ao.s.token_refresher_user_data = NULL;
    acs_call_agent *agent = NULL;
    if (!EXPECT_OK(acs_call_client_create_call_agent(client, (const acs_call_agent_options *)(const void *)&ao.s,
                                                     &agent))) {
        return;
    }
    int32_t st = -1;
    for (int64_t end = now_ms() + TIMEOUT_MS; now_ms() < end; sleep_ms(20)) {
        if (acs_call_agent_get_connection_state(agent, &st) == ACS_OK && st == ACS_AGENT_CONNECTION_CONNECTED) {
            break;
        }
    }
    report(st == ACS_AGENT_CONNECTION_CONNECTED, "an agent made from the old options connects");

    acs_audio_device *mic = NULL, *spk = NULL;
    acs_call *call = NULL;
    acs_call_options co;
    acs_device_manager_create_tone_microphone(dm, "abi mic", 440.0f, 0.2f, &mic);
    acs_device_manager_create_pull_speaker(dm, "abi speaker", 1000, &spk);
    ACS_CALL_OPTIONS_INIT(&co);
    co.microphone = mic;
    co.speaker = spk;
    const char *callee[] = {"8:echo123"};
    acs_local_video_stream *stream = NULL;
    EXPECT_OK(acs_local_video_stream_create_virtual(320, 180, 30, &stream));
    if (EXPECT_OK(acs_call_agent_start_call(agent, callee, 1, &co, &call))) {
        EXPECT_OK(acs_call_start_video(call, stream));
        GUARDED(old_video_send_stats) ss;
        acs_status s = ACS_ERR_INVALID_STATE;
        for (int64_t end = now_ms() + TIMEOUT_MS; now_ms() < end; sleep_ms(50)) {
            memset(&ss, GUARD, sizeof ss);
            ss.s.struct_size = sizeof ss.s;
            s = acs_call_get_video_send_stats(call, ACS_VIDEO_STREAM_KIND_VIDEO,
                                              (acs_video_send_stats *)(void *)&ss.s);
            if (s == ACS_OK && ss.s.frames_encoded >= 5) {
                break;
            }
        }
        expect_status(s, ACS_OK, "send stats into the old layout");
        report(ss.s.struct_size == sizeof ss.s && ss.s.width == 320 && ss.s.height == 180 && ss.s.frames_encoded >= 5,
               "old send stats: %llu frames of %ux%u, struct_size %u", (unsigned long long)ss.s.frames_encoded,
               ss.s.width, ss.s.height, ss.s.struct_size);
        report(untouched(&ss, sizeof ss.s, sizeof ss),
               "nothing written past the old struct (where nacked_packets would be)");
        memset(&ss, 0, sizeof ss.s); /* a host that never set struct_size */
        memset(ss.guard, GUARD, sizeof ss.guard);
        EXPECT_OK(acs_call_get_video_send_stats(call, ACS_VIDEO_STREAM_KIND_VIDEO, (acs_video_send_stats *)(void *)&ss.s));
        report(ss.s.struct_size == sizeof ss.s && untouched(&ss, sizeof ss.s, sizeof ss),
               "struct_size 0: the fields before nacked_packets only");
        old_video_send_stats *heap = (old_video_send_stats *)malloc(sizeof *heap);
        heap->struct_size = sizeof *heap;
        EXPECT_OK(acs_call_get_video_send_stats(call, ACS_VIDEO_STREAM_KIND_VIDEO, (acs_video_send_stats *)(void *)heap));
        free(heap);
        acs_video_send_stats now;
        ACS_VIDEO_SEND_STATS_INIT(&now);
        EXPECT_OK(acs_call_get_video_send_stats(call, ACS_VIDEO_STREAM_KIND_VIDEO, &now));
        report(now.struct_size == sizeof now, "today's send stats are filled whole");

        GUARDED(acs_call_audio_statistics) as;
        memset(&as, GUARD, sizeof as);
        as.s.struct_size = sizeof as.s;
        const acs_call *ccall = call; /* the new getters take const handles */
        EXPECT_OK(acs_call_get_audio_statistics(ccall, &as.s));
        report(untouched(&as, sizeof as.s, sizeof as), "audio statistics: guard bytes untouched");
        acs_call_audio_stats *old_audio = (acs_call_audio_stats *)malloc(sizeof *old_audio);
        EXPECT_OK(acs_call_get_audio_stats(call, old_audio));
        free(old_audio);
        acs_call_hang_up(call, false);
        acs_call_release(call);
    }
    acs_local_video_stream_release(stream);
    acs_audio_device_release(mic);
    acs_audio_device_release(spk);
    acs_call_agent_release(agent);
}

int main(int argc, char **argv) {
    const char *url = NULL, *token = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--service-url") == 0) {
            url = argv[i + 1];
        } else if (strcmp(argv[i], "--token-a") == 0) {
            token = argv[i + 1];
        }
    }
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    acs_local_video_stream *stream = NULL;
    if (!EXPECT_OK(acs_call_client_create(NULL, &client)) ||
        !EXPECT_OK(acs_call_client_get_device_manager(client, &dm)) ||
        !EXPECT_OK(acs_local_video_stream_create_virtual(64, 36, 30, &stream))) {
        return 1;
    }
    test_layouts();
    test_sized_init();
    test_input_structs(stream);
    test_output_structs(dm, stream);

    /* Older agent options without a service: accepted (the token is what is refused). */
    GUARDED(old_call_agent_options) ao;
    memset(&ao, GUARD, sizeof ao);
    memset(&ao.s, 0, sizeof ao.s);
    ao.s.struct_size = sizeof ao.s;
    ao.s.service_url = "ws://127.0.0.1:9";
    ao.s.token = "garbage";
    acs_call_agent *agent = NULL;
    EXPECT(acs_call_client_create_call_agent(client, (const acs_call_agent_options *)(const void *)&ao.s, &agent),
           ACS_ERR_UNAUTHORIZED);
    ao.s.struct_size = 4;
    EXPECT(acs_call_client_create_call_agent(client, (const acs_call_agent_options *)(const void *)&ao.s, &agent),
           ACS_ERR_INVALID_ARGUMENT);

    if (url != NULL && token != NULL) {
        test_with_service(client, dm, url, token);
    } else {
        printf("# part 2 skipped: needs --service-url and --token-a\n");
    }
    acs_local_video_stream_release(stream);
    acs_device_manager_release(dm);
    acs_call_client_release(client);
    printf("\n%d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
