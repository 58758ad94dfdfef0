/*
 * test_badinput.c — every export of include/acscalling.h under bad input (ASan + UBSan, and
 * once under valgrind: examples-c/run_c_tests.sh, scripts/badinput_valgrind.sh).
 *
 * For each exported function, the sweep passes, one argument at a time (the others valid
 * where a valid value exists): NULL handles, released (stale) handles, live handles of every
 * other kind, "dangling" pointers (a freed heap block, a static object's address, small and
 * huge numbers, a live handle + 8), invalid UTF-8 and strings longer than 64 KiB, huge
 * counts and sizes, NULL out-pointers, option structs with a bad struct_size or bad fields,
 * and out-of-range enums and numbers. Every such call must return a known non-OK status
 * (never OK, never ACS_ERR_PANIC, never a crash), must not change the number of live
 * handles, and must leave handle out-parameters unwritten. The few calls the header
 * documents as OK on NULL (release(NULL), frame release of NULL or a zeroed frame) are
 * checked to be OK and counted apart.
 *
 * The sweep's list is checked against the header (every `acs_*(` declaration) and against
 * the library's dynamic symbol table (every defined `acs_*` function): an export missing from
 * the sweep, or a sweep entry for a function that is no longer exported, fails the test.
 *
 * With --service-url/--token-a/--token-b (tests/run_c_tests_with_service.py gives them),
 * live call, participant and remote-video-stream handles come from calls to the echo bot, so
 * the call functions are also swept with a live call and bad other arguments. Without them
 * those kinds get the bad-handle sweep only (printed as SKIP lines).
 *
 * Prints FAIL lines, one summary line per export, and the totals; exits 1 on any failure.
 */
#define _GNU_SOURCE

#include "acscalling.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef ACS_HEADER_PATH
#define ACS_HEADER_PATH "include/acscalling.h"
#endif

/* ------------------------------------------------------------------------------------ */
/* Counting and checking                                                                */
/* ------------------------------------------------------------------------------------ */

static int g_failures;
static long g_bad_calls;       /* bad calls made (each must fail) */
static long g_documented_ok;   /* calls the header documents as OK on NULL input */
static long g_fn_calls;        /* bad calls of the export being swept */
static long g_probes;          /* bad-input probes of the functions without a status */
static int g_skips;

static void fail(const char *fmt, ...) {
    va_list ap;
    g_failures++;
    printf("FAIL - ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static void skip(const char *fn, const char *why) {
    g_skips++;
    printf("SKIP - %s: %s\n", fn, why);
}

static const char *last_error(void) {
    static char buf[512];
    buf[0] = '\0';
    acs_last_error_message(buf, sizeof buf);
    return buf;
}

static bool known_status(acs_status st) {
    return (st <= 0 && st >= ACS_ERR_SERVICE) || st == ACS_ERR_INTERNAL || st == ACS_ERR_PANIC;
}

/* One bad call: a known non-OK status other than PANIC, and no live handle gained or lost. */
static void check_bad(const char *fn, const char *what, acs_status st, size_t handles_before) {
    size_t handles_after = acs_debug_live_handle_count();
    g_bad_calls++;
    g_fn_calls++;
    if (st == ACS_OK || st == ACS_ERR_PANIC || !known_status(st)) {
        fail("%s(%s) -> %s (%d); last error: %s", fn, what, acs_status_to_string(st), (int)st,
             last_error());
    }
    if (handles_after != handles_before) {
        fail("%s(%s): live handles %zu -> %zu on a refused call", fn, what, handles_before,
             handles_after);
    }
}

static void check_documented_ok(const char *fn, const char *what, acs_status st) {
    g_documented_ok++;
    if (st != ACS_OK) {
        fail("%s(%s) -> %s, documented as OK; last error: %s", fn, what, acs_status_to_string(st),
             last_error());
    }
}

static char g_what[256];
static const char *whatf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_what, sizeof g_what, fmt, ap);
    va_end(ap);
    return g_what;
}

/* BAD(what, call): `call` must fail. FN is the export being swept (set by SWEEP). */
#define BAD(what, call)                                                                     \
    do {                                                                                    \
        size_t hb_ = acs_debug_live_handle_count();                                         \
        acs_status st_ = (call);                                                            \
        check_bad(FN, (what), st_, hb_);                                                    \
    } while (0)

#define SWEEP(name) static void sweep_##name(const char *FN)

/* A value no library writes: handle out-parameters must still hold it after a refusal. */
#define SENTINEL ((void *)(uintptr_t)0x5e5e5e5e5e5e5e50ull)
#define CHECK_UNWRITTEN(out)                                                                \
    do {                                                                                    \
        if ((void *)(out) != SENTINEL) fail("%s: a handle out-parameter was written on a refused call", FN); \
    } while (0)

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------------------ */
/* Handles: a live and a released one of every kind                                     */
/* ------------------------------------------------------------------------------------ */

enum {
    K_CLIENT,
    K_AGENT,
    K_CALL,
    K_PART,
    K_DM,
    K_AUDIO,
    K_CAMERA,
    K_RVS,
    K_LVS,
    K_RENDERER,
    K_VIEW,
    K_SCREEN,
    NKINDS
};
static const char *const KIND_NAME[NKINDS] = {
    "client", "agent", "call", "participant", "device manager", "audio device", "camera",
    "remote video stream", "local video stream", "renderer", "view", "screen source"};

static void *g_live[NKINDS];
static void *g_stale[NKINDS];
static void *g_dangling;           /* a freed heap block */
static char g_not_a_handle[64];    /* a real object of the host's */

typedef struct {
    const char *desc;
    void *p;
} bad_handle;

/* The bad values for a handle of kind k: NULL, a released one, live ones of every other
   kind, and pointers that never were handles. */
static int bad_handles(int k, bad_handle *out, bool with_null) {
    static char descs[NKINDS + 8][64];
    int n = 0;
    if (with_null) out[n++] = (bad_handle){"NULL", NULL};
    if (g_stale[k]) {
        snprintf(descs[n], sizeof descs[n], "released %s", KIND_NAME[k]);
        out[n] = (bad_handle){descs[n], g_stale[k]};
        n++;
    }
    for (int j = 0; j < NKINDS; j++) {
        if (j != k && g_live[j]) {
            snprintf(descs[n], sizeof descs[n], "live %s", KIND_NAME[j]);
            out[n] = (bad_handle){descs[n], g_live[j]};
            n++;
        }
    }
    if (g_live[k]) out[n++] = (bad_handle){"live handle + 8", (char *)g_live[k] + 8};
    out[n++] = (bad_handle){"freed heap pointer", g_dangling};
    out[n++] = (bad_handle){"host object", g_not_a_handle};
    out[n++] = (bad_handle){"0x1", (void *)(uintptr_t)1};
    out[n++] = (bad_handle){"0xdeadbeef", (void *)(uintptr_t)0xdeadbeef};
    out[n++] = (bad_handle){"UINTPTR_MAX", (void *)UINTPTR_MAX};
    out[n++] = (bad_handle){"UINTPTR_MAX - 15", (void *)(UINTPTR_MAX - 15)};
    return n;
}

/* for each bad handle of kind K (NULL included): `h_` and `hd_` */
#define FOR_BAD_HANDLES(K)                                                                  \
    bad_handle bl_[NKINDS + 16];                                                            \
    int bn_ = bad_handles((K), bl_, true);                                                  \
    for (int bi_ = 0; bi_ < bn_; bi_++)                                                     \
        for (void *h_ = bl_[bi_].p, *once_ = (void *)1; once_; once_ = NULL)                \
            for (const char *hd_ = bl_[bi_].desc; once_; once_ = NULL)

#define LIVE(K) (g_live[K])

/* ------------------------------------------------------------------------------------ */
/* Bad strings and numbers                                                              */
/* ------------------------------------------------------------------------------------ */

#define HUGE_STRING_BYTES (70 * 1024)
static char *g_huge_string; /* 70 KiB of 'a', NUL-terminated */

typedef struct {
    const char *desc;
    const char *s;
} bad_string;

static int bad_strings(bad_string *out, bool with_null) {
    int n = 0;
    if (with_null) out[n++] = (bad_string){"NULL string", NULL};
    out[n++] = (bad_string){"invalid UTF-8 \\xff\\xfe", "\xff\xfe("};
    out[n++] = (bad_string){"overlong NUL \\xc0\\x80", "a\xc0\x80z"};
    out[n++] = (bad_string){"UTF-16 surrogate \\xed\\xa0\\x80", "8:acs:\xed\xa0\x80"};
    out[n++] = (bad_string){"truncated sequence \\xe2\\x82", "x\xe2\x82"};
    out[n++] = (bad_string){"70 KiB string", g_huge_string};
    return n;
}

#define FOR_BAD_STRINGS(WITH_NULL)                                                          \
    bad_string sl_[8];                                                                      \
    int sn_ = bad_strings(sl_, (WITH_NULL));                                                \
    for (int si_ = 0; si_ < sn_; si_++)                                                     \
        for (const char *s_ = sl_[si_].s, *sd_ = sl_[si_].desc; sd_; sd_ = NULL)

/* Sizes no buffer can have, and counts no caller means. */
static const size_t HUGE_SIZES[] = {SIZE_MAX, SIZE_MAX / 2 + 1, (size_t)1 << 40};
#define NHUGE (sizeof HUGE_SIZES / sizeof HUGE_SIZES[0])
static const int32_t BAD_ENUMS[] = {-1, 99, 1000, INT32_MIN, INT32_MAX};
#define NBADENUM (sizeof BAD_ENUMS / sizeof BAD_ENUMS[0])

/* ------------------------------------------------------------------------------------ */
/* Sweeps of the common shapes                                                          */
/* ------------------------------------------------------------------------------------ */

/* acs_x_retain(h): every bad handle, NULL included. */
#define RETAIN(fn, K)                                                                       \
    SWEEP(fn) {                                                                             \
        FOR_BAD_HANDLES(K) BAD(hd_, fn(h_));                                                \
    }

/* acs_x_release(h): NULL is documented OK; every other bad handle fails. */
#define RELEASE(fn, K)                                                                      \
    SWEEP(fn) {                                                                             \
        check_documented_ok(FN, "NULL", fn(NULL));                                          \
        bad_handle bl_[NKINDS + 16];                                                        \
        int bn_ = bad_handles((K), bl_, false);                                             \
        for (int i = 0; i < bn_; i++) BAD(bl_[i].desc, fn(bl_[i].p));                       \
    }

/* acs_x_get(h, T *out): bad handles with a valid out; a live handle with out NULL. */
#define GETTER(fn, K, T)                                                                    \
    SWEEP(fn) {                                                                             \
        T out_;                                                                             \
        memset(&out_, 0, sizeof out_);                                                      \
        FOR_BAD_HANDLES(K) BAD(hd_, fn(h_, &out_));                                         \
        if (LIVE(K)) BAD("out NULL", fn(LIVE(K), NULL));                                    \
    }

/* acs_x_get(h, char *buf, size_t capacity, size_t *needed): bad handles; with a live
   handle, no buffer, a zero capacity and capacities no buffer can have, leaving the buffer
   untouched. (A NULL buffer with capacity 0 and a `needed` pointer is a size query: OK.) */
static void check_untouched(const char *FN, const char *buf, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (buf[i] != 0x7f) {
            fail("%s: the buffer was written on a refused call", FN);
            return;
        }
    }
}
#define STRING_GETTER(fn, K)                                                                \
    SWEEP(fn) {                                                                             \
        char buf_[64];                                                                      \
        size_t needed_;                                                                     \
        {                                                                                   \
            FOR_BAD_HANDLES(K) BAD(hd_, fn(h_, buf_, sizeof buf_, &needed_));               \
        }                                                                                   \
        if (!LIVE(K)) return;                                                               \
        memset(buf_, 0x7f, sizeof buf_);                                                    \
        BAD("buf NULL, capacity 0, needed NULL", fn(LIVE(K), NULL, 0, NULL));               \
        BAD("buf NULL, capacity 64", fn(LIVE(K), NULL, 64, &needed_));                      \
        BAD("capacity 0", fn(LIVE(K), buf_, 0, &needed_));                                  \
        for (size_t i = 0; i < NHUGE; i++)                                                  \
            if (HUGE_SIZES[i] > (size_t)PTRDIFF_MAX)                                        \
                BAD(whatf("capacity %zu", HUGE_SIZES[i]), fn(LIVE(K), buf_, HUGE_SIZES[i], &needed_)); \
        check_untouched(FN, buf_, sizeof buf_);                                             \
    }

/* acs_x_init(T *): NULL. */
#define INIT(fn)                                                                            \
    SWEEP(fn) { BAD("NULL", fn(NULL)); }

/* acs_x_init_sized(T *, size): NULL, and sizes below the first version or above 4096,
   which must leave the buffer untouched. */
static unsigned char g_init_buf[8192];
#define INIT_SIZED(fn, T)                                                                   \
    SWEEP(fn) {                                                                             \
        static const size_t sizes[] = {0, 1, 3, 4097, 8192, SIZE_MAX, SIZE_MAX / 2 + 1};    \
        BAD("NULL", fn(NULL, sizeof(T)));                                                   \
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {                       \
            memset(g_init_buf, 0xab, sizeof g_init_buf);                                    \
            BAD(whatf("size %zu", sizes[i]), fn((T *)(void *)g_init_buf, sizes[i]));        \
            for (size_t j = 0; j < sizeof g_init_buf; j++) {                                \
                if (g_init_buf[j] != 0xab) {                                                \
                    fail("%s(size %zu) wrote the buffer", FN, sizes[i]);                    \
                    break;                                                                  \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }

/* acs_x_get_stats(h, T *out) with T starting with struct_size: bad handles; a live handle
   with NULL and with struct_size 1 (shorter than any first version). */
#define STRUCT_GETTER(fn, K, T, INITM)                                                      \
    SWEEP(fn) {                                                                             \
        T out_;                                                                             \
        INITM(&out_);                                                                       \
        FOR_BAD_HANDLES(K) BAD(hd_, fn(h_, &out_));                                         \
        if (LIVE(K)) {                                                                      \
            BAD("out NULL", fn(LIVE(K), NULL));                                             \
            out_.struct_size = 1;                                                           \
            BAD("out struct_size 1", fn(LIVE(K), &out_));                                   \
        }                                                                                   \
    }

/* Option structs passed in: NULL is handled by each sweep; these are the bad sizes. */
static const uint32_t BAD_STRUCT_SIZES[] = {0, 1, 3, 4097, UINT32_MAX};
#define NBADSIZE (sizeof BAD_STRUCT_SIZES / sizeof BAD_STRUCT_SIZES[0])

/* ------------------------------------------------------------------------------------ */
/* Fixtures                                                                             */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const char *service_url, *token_a, *token_b;
} service_args;

static acs_call_client *g_client;
static acs_device_manager *g_dm;
static acs_audio_device *g_tone_mic, *g_push_mic, *g_pull_speaker;
static acs_camera *g_camera;
static acs_local_video_stream *g_virtual_stream, *g_pushed_stream;
static acs_video_renderer *g_renderer;
static acs_video_view *g_view;
static acs_call_agent *g_agent;
static acs_call *g_call;
static acs_remote_participant *g_participant;
static acs_remote_video_stream *g_rvs;
static acs_video_frame g_stale_frame;              /* a copy of a released frame */
static acs_rendered_video_frame g_stale_rendered;  /* likewise */
static char g_wav_path[64], g_wav_out_path[64];

static bool ok_or_die(acs_status st, const char *what) {
    if (st != ACS_OK) {
        fail("fixture: %s -> %s: %s", what, acs_status_to_string(st), last_error());
        return false;
    }
    return true;
}
#define FIX(call) ok_or_die((call), #call)

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static void b64url(const char *in, char *out) {
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)in[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        if (i + 1 < n) out[o++] = B64[(v >> 6) & 63];
        if (i + 2 < n) out[o++] = B64[v & 63];
    }
    out[o] = '\0';
}

/* A well-formed token the library accepts (the service would not: the signature is fake). */
static void fake_token(char *out, size_t cap) {
    char claims[256], h[128], p[512];
    snprintf(claims, sizeof claims,
             "{\"sub\":\"8:acs:00000000-0000-4000-8000-00000000b4d1\",\"exp\":%lld,\"iat\":%lld,"
             "\"scope\":\"voip\",\"jti\":\"badinput-sweep\"}",
             (long long)time(NULL) + 3600, (long long)time(NULL) - 10);
    b64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", h);
    b64url(claims, p);
    snprintf(out, cap, "%s.%s.c2lnbmF0dXJl", h, p);
}

static void write_wav(const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    uint32_t samples = 4800, data = samples * 2, riff = 36 + data, fmt_len = 16, rate = 48000,
             byte_rate = 96000;
    uint16_t pcm = 1, ch = 1, align = 2, bits = 16;
    fwrite("RIFF", 1, 4, f);
    fwrite(&riff, 4, 1, f);
    fwrite("WAVEfmt ", 1, 8, f);
    fwrite(&fmt_len, 4, 1, f);
    fwrite(&pcm, 2, 1, f);
    fwrite(&ch, 2, 1, f);
    fwrite(&rate, 4, 1, f);
    fwrite(&byte_rate, 4, 1, f);
    fwrite(&align, 2, 1, f);
    fwrite(&bits, 2, 1, f);
    fwrite("data", 1, 4, f);
    fwrite(&data, 4, 1, f);
    for (uint32_t i = 0; i < samples; i++) {
        int16_t s = (int16_t)((i % 100) * 100);
        fwrite(&s, 2, 1, f);
    }
    fclose(f);
}

static acs_call_agent *make_agent(acs_call_client *client, const service_args *svc,
                                  const char *token) {
    char fake[1024];
    acs_call_agent_options o;
    acs_call_agent *agent = NULL;
    ACS_CALL_AGENT_OPTIONS_INIT(&o);
    if (svc) {
        o.service_url = svc->service_url;
        o.token = token;
    } else {
        fake_token(fake, sizeof fake);
        o.service_url = "ws://127.0.0.1:9";
        o.token = fake;
    }
    o.display_name = "sweep";
    if (!FIX(acs_call_client_create_call_agent(client, &o, &agent))) return NULL;
    if (svc) {
        int32_t st = 0;
        int64_t deadline = now_ms() + 15000;
        while (now_ms() < deadline && acs_call_agent_get_connection_state(agent, &st) == ACS_OK &&
               st != ACS_AGENT_CONNECTION_CONNECTED)
            sleep_ms(20);
        if (st != ACS_AGENT_CONNECTION_CONNECTED) fail("fixture: agent did not connect");
    }
    return agent;
}

/* Calls the echo bot and waits for it in the roster: the call, its participant and the
   participant's camera stream. */
static bool echo_call(acs_call_agent *agent, acs_audio_device *mic, acs_audio_device *spk,
                      acs_call **call, acs_remote_participant **part, acs_remote_video_stream **rvs) {
    const char *ids[] = {"8:echo123"};
    acs_call_options o;
    ACS_CALL_OPTIONS_INIT(&o);
    o.microphone = mic;
    o.speaker = spk;
    if (!FIX(acs_call_agent_start_call(agent, ids, 1, &o, call))) return false;
    int64_t deadline = now_ms() + 20000;
    int32_t state = 0;
    size_t count = 0;
    while (now_ms() < deadline) {
        acs_call_get_state(*call, &state);
        acs_call_get_remote_participant_count(*call, &count);
        if (state == ACS_CALL_STATE_CONNECTED && count > 0) break;
        sleep_ms(20);
    }
    if (state != ACS_CALL_STATE_CONNECTED || count == 0) {
        fail("fixture: the echo call did not connect (state %d, %zu participants)", (int)state, count);
        return false;
    }
    return FIX(acs_call_get_remote_participant(*call, 0, part)) &&
           FIX(acs_remote_participant_get_video_stream(*part, ACS_VIDEO_STREAM_KIND_VIDEO, rvs));
}

static void wait_ended(acs_call *call) {
    int32_t state = 0;
    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline && acs_call_get_state(call, &state) == ACS_OK &&
           state != ACS_CALL_STATE_DISCONNECTED)
        sleep_ms(20);
}

static bool take_frame(acs_video_view *view, acs_video_frame *f) {
    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        if (acs_video_view_take_latest_frame(view, f) == ACS_OK) return true;
        sleep_ms(10);
    }
    fail("fixture: no frame from the virtual camera's view");
    return false;
}

/* Released handles of every kind: a whole second client, with its own objects (and, with a
   service, its own echo call), released at once. Handles are never reused, so these stay
   stale while the live fixtures are made. */
static void make_stale(const service_args *svc) {
    acs_call_client *c = NULL;
    acs_device_manager *dm = NULL;
    acs_audio_device *mic = NULL, *spk = NULL;
    acs_camera *cams[16];
    size_t ncams = 0;
    acs_local_video_stream *lvs = NULL;
    acs_video_renderer *r = NULL;
    acs_video_view *v = NULL;
    acs_call_agent *a = NULL;
    acs_call *call = NULL;
    acs_remote_participant *p = NULL;
    acs_remote_video_stream *rvs = NULL;
    acs_video_view_options vo;
    if (!FIX(acs_call_client_create(NULL, &c)) || !FIX(acs_call_client_get_device_manager(c, &dm)))
        return;
    FIX(acs_device_manager_create_tone_microphone(dm, "stale-mic", 300.0f, 0.2f, &mic));
    FIX(acs_device_manager_create_pull_speaker(dm, "stale-spk", 500, &spk));
    if (FIX(acs_device_manager_get_cameras(dm, cams, 16, &ncams)) && ncams > 0) {
        g_stale[K_CAMERA] = cams[ncams - 1];
    }
    FIX(acs_local_video_stream_create_virtual(64, 32, 30, &lvs));
    FIX(acs_video_renderer_create_for_local_stream(lvs, &r));
    ACS_VIDEO_VIEW_OPTIONS_INIT(&vo);
    vo.width = 64;
    vo.height = 32;
    FIX(acs_video_renderer_create_view(r, &vo, &v));
    acs_video_frame f;
    acs_rendered_video_frame rf;
    if (take_frame(v, &f)) {
        g_stale_frame = f;
        FIX(acs_video_frame_release(&f));
    }
    ACS_RENDERED_VIDEO_FRAME_INIT(&rf);
    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline && acs_video_view_take_latest_rendered_frame(v, &rf) != ACS_OK) sleep_ms(10);
    if (rf.internal) {
        g_stale_rendered = rf;
        FIX(acs_rendered_video_frame_release(&rf));
    } else {
        fail("fixture: no rendered frame");
    }
    a = make_agent(c, svc, svc ? svc->token_b : NULL);
    if (svc && a && echo_call(a, mic, spk, &call, &p, &rvs)) {
        acs_call_hang_up(call, false);
        wait_ended(call);
    }
    {
        /* A screen source, when there is an X display (the sweeps run without one too). */
        acs_screen_source *src[64];
        size_t nsrc = 0;
        if (acs_screen_sources_get(0, 0, src, 64, &nsrc) == ACS_OK && nsrc > 0) {
            g_stale[K_SCREEN] = src[nsrc - 1];
            for (size_t i = 0; i < nsrc && i < 64; i++) acs_screen_source_release(src[i]);
        }
    }
    g_stale[K_CLIENT] = c;
    g_stale[K_DM] = dm;
    g_stale[K_AUDIO] = mic;
    g_stale[K_LVS] = lvs;
    g_stale[K_RENDERER] = r;
    g_stale[K_VIEW] = v;
    g_stale[K_AGENT] = a;
    g_stale[K_CALL] = call;
    g_stale[K_PART] = p;
    g_stale[K_RVS] = rvs;
    acs_remote_video_stream_release(rvs);
    acs_remote_participant_release(p);
    acs_call_release(call);
    acs_call_agent_release(a);
    acs_video_view_release(v);
    acs_video_renderer_release(r);
    acs_local_video_stream_release(lvs);
    for (size_t i = 0; i < ncams && i < 16; i++) acs_camera_release(cams[i]);
    acs_audio_device_release(spk);
    acs_audio_device_release(mic);
    acs_device_manager_release(dm);
    acs_call_client_release(c);
}

static void make_live(const service_args *svc) {
    acs_camera *cams[16];
    size_t ncams = 0;
    acs_video_view_options vo;
    if (!FIX(acs_call_client_create(NULL, &g_client)) ||
        !FIX(acs_call_client_get_device_manager(g_client, &g_dm)))
        exit(1);
    FIX(acs_device_manager_create_tone_microphone(g_dm, "sweep-tone", 440.0f, 0.3f, &g_tone_mic));
    FIX(acs_device_manager_create_push_microphone(g_dm, "sweep-push", &g_push_mic));
    FIX(acs_device_manager_create_pull_speaker(g_dm, "sweep-pull", 1000, &g_pull_speaker));
    if (FIX(acs_device_manager_get_cameras(g_dm, cams, 16, &ncams)) && ncams > 0) {
        g_camera = cams[ncams - 1]; /* the virtual camera, always last */
        for (size_t i = 0; i + 1 < ncams; i++) acs_camera_release(cams[i]);
    }
    FIX(acs_local_video_stream_create_virtual(64, 32, 30, &g_virtual_stream));
    FIX(acs_local_video_stream_create_pushed(&g_pushed_stream));
    FIX(acs_video_renderer_create_for_local_stream(g_virtual_stream, &g_renderer));
    ACS_VIDEO_VIEW_OPTIONS_INIT(&vo);
    vo.width = 64;
    vo.height = 32;
    FIX(acs_video_renderer_create_view(g_renderer, &vo, &g_view));
    g_agent = make_agent(g_client, svc, svc ? svc->token_a : NULL);
    if (svc && g_agent) echo_call(g_agent, g_tone_mic, g_pull_speaker, &g_call, &g_participant, &g_rvs);
    g_live[K_CLIENT] = g_client;
    g_live[K_AGENT] = g_agent;
    g_live[K_CALL] = g_call;
    g_live[K_PART] = g_participant;
    g_live[K_DM] = g_dm;
    g_live[K_AUDIO] = g_tone_mic;
    g_live[K_CAMERA] = g_camera;
    g_live[K_RVS] = g_rvs;
    g_live[K_LVS] = g_virtual_stream;
    g_live[K_RENDERER] = g_renderer;
    g_live[K_VIEW] = g_view;
    {
        acs_screen_source *src[64];
        size_t nsrc = 0;
        if (acs_screen_sources_get(0, 0, src, 64, &nsrc) == ACS_OK && nsrc > 0) {
            g_live[K_SCREEN] = src[0];
            for (size_t i = 1; i < nsrc && i < 64; i++) acs_screen_source_release(src[i]);
        }
    }
}

static void release_live(void) {
    if (g_call) {
        acs_call_hang_up(g_call, false);
        wait_ended(g_call);
    }
    acs_remote_video_stream_release(g_rvs);
    acs_remote_participant_release(g_participant);
    acs_call_release(g_call);
    acs_call_agent_release(g_agent);
    acs_screen_source_release(g_live[K_SCREEN]);
    acs_video_view_release(g_view);
    acs_video_renderer_release(g_renderer);
    acs_local_video_stream_release(g_pushed_stream);
    acs_local_video_stream_release(g_virtual_stream);
    acs_camera_release(g_camera);
    acs_audio_device_release(g_pull_speaker);
    acs_audio_device_release(g_push_mic);
    acs_audio_device_release(g_tone_mic);
    acs_device_manager_release(g_dm);
    acs_call_client_release(g_client);
}

/* ------------------------------------------------------------------------------------ */
/* The sweep, export by export                                                          */
/* ------------------------------------------------------------------------------------ */

/* Functions without a status: they take no handle, or any value, and must answer sanely. */
SWEEP(acs_calling_version) {
    const char *v = acs_calling_version();
    if (!v || strcmp(v, ACS_CALLING_VERSION_STRING) != 0) fail("%s: %s", FN, v ? v : "NULL");
}
SWEEP(acs_status_to_string) {
    const int32_t codes[] = {1, -16, -97, -100, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = acs_status_to_string(codes[i]);
        g_probes++;
        if (!s || strcmp(s, "unknown status") != 0) fail("%s(%d) -> %s", FN, (int)codes[i], s ? s : "NULL");
    }
}
SWEEP(acs_last_error_message) {
    char buf[4] = {1, 1, 1, 1};
    size_t need = acs_last_error_message(NULL, SIZE_MAX);
    if (need == 0) fail("%s(NULL, SIZE_MAX) -> 0", FN);
    acs_last_error_message(buf, 0);
    g_probes += 2;
    if (buf[0] != 1) fail("%s(buf, 0) wrote the buffer", FN);
}
SWEEP(acs_debug_live_handle_count) {
    if (acs_debug_live_handle_count() == 0) fail("%s: 0 while the sweep holds handles", FN);
}

/* --- client --- */
INIT(acs_call_client_options_init)
INIT_SIZED(acs_call_client_options_init_sized, acs_call_client_options)
SWEEP(acs_call_client_create) {
    acs_call_client *out = SENTINEL;
    acs_call_client_options o;
    BAD("out NULL", acs_call_client_create(NULL, NULL));
    for (size_t i = 0; i < NBADSIZE; i++) {
        ACS_CALL_CLIENT_OPTIONS_INIT(&o);
        o.struct_size = BAD_STRUCT_SIZES[i];
        BAD(whatf("struct_size %u", BAD_STRUCT_SIZES[i]), acs_call_client_create(&o, &out));
    }
    for (size_t i = 0; i < NBADENUM; i++) {
        ACS_CALL_CLIENT_OPTIONS_INIT(&o);
        o.dispatch_mode = BAD_ENUMS[i];
        BAD(whatf("dispatch_mode %d", (int)BAD_ENUMS[i]), acs_call_client_create(&o, &out));
        ACS_CALL_CLIENT_OPTIONS_INIT(&o);
        o.log_level = BAD_ENUMS[i];
        BAD(whatf("log_level %d", (int)BAD_ENUMS[i]), acs_call_client_create(&o, &out));
    }
    CHECK_UNWRITTEN(out);
}
RETAIN(acs_call_client_retain, K_CLIENT)
RELEASE(acs_call_client_release, K_CLIENT)
SWEEP(acs_call_client_dispatch_events) {
    uint32_t n;
    FOR_BAD_HANDLES(K_CLIENT) BAD(hd_, acs_call_client_dispatch_events(h_, 0, &n));
    /* the live client dispatches on its own thread: manual dispatch is refused */
    BAD("thread-mode client", acs_call_client_dispatch_events(g_client, UINT32_MAX, &n));
}
SWEEP(acs_call_client_get_device_manager) {
    acs_device_manager *out = SENTINEL;
    FOR_BAD_HANDLES(K_CLIENT) BAD(hd_, acs_call_client_get_device_manager(h_, &out));
    BAD("out NULL", acs_call_client_get_device_manager(g_client, NULL));
    CHECK_UNWRITTEN(out);
}

/* --- agent --- */
INIT(acs_call_agent_options_init)
INIT_SIZED(acs_call_agent_options_init_sized, acs_call_agent_options)
SWEEP(acs_call_client_create_call_agent) {
    char token[1024];
    acs_call_agent *out = SENTINEL;
    acs_call_agent_options o;
    fake_token(token, sizeof token);
#define AGENT_OPTS() (ACS_CALL_AGENT_OPTIONS_INIT(&o), o.service_url = "ws://127.0.0.1:9", o.token = token)
    AGENT_OPTS();
    FOR_BAD_HANDLES(K_CLIENT) BAD(hd_, acs_call_client_create_call_agent(h_, &o, &out));
    BAD("options NULL", acs_call_client_create_call_agent(g_client, NULL, &out));
    BAD("out NULL", acs_call_client_create_call_agent(g_client, &o, NULL));
    for (size_t i = 0; i < NBADSIZE; i++) {
        AGENT_OPTS();
        o.struct_size = BAD_STRUCT_SIZES[i];
        BAD(whatf("struct_size %u", BAD_STRUCT_SIZES[i]), acs_call_client_create_call_agent(g_client, &o, &out));
    }
    {
        FOR_BAD_STRINGS(true) {
            AGENT_OPTS();
            o.service_url = s_;
            BAD(whatf("service_url %s", sd_), acs_call_client_create_call_agent(g_client, &o, &out));
            AGENT_OPTS();
            o.token = s_;
            BAD(whatf("token %s", sd_), acs_call_client_create_call_agent(g_client, &o, &out));
        }
    }
    {
        FOR_BAD_STRINGS(false) {
            AGENT_OPTS();
            o.display_name = s_;
            BAD(whatf("display_name %s", sd_), acs_call_client_create_call_agent(g_client, &o, &out));
            AGENT_OPTS();
            o.ca_certificate_path = s_;
            BAD(whatf("ca_certificate_path %s", sd_), acs_call_client_create_call_agent(g_client, &o, &out));
        }
    }
    AGENT_OPTS();
    o.service_url = "http://127.0.0.1:9";
    BAD("service_url http://", acs_call_client_create_call_agent(g_client, &o, &out));
    AGENT_OPTS();
    o.token = "a.b.c";
    BAD("token a.b.c", acs_call_client_create_call_agent(g_client, &o, &out));
    AGENT_OPTS();
    o.ca_certificate_path = "/nonexistent/ca.pem";
    BAD("ca_certificate_path missing", acs_call_client_create_call_agent(g_client, &o, &out));
#undef AGENT_OPTS
    CHECK_UNWRITTEN(out);
}
static void noop_event(void *ud, const acs_event *ev) {
    (void)ud;
    (void)ev;
}
SWEEP(acs_call_agent_set_event_callback) {
    FOR_BAD_HANDLES(K_AGENT) BAD(hd_, acs_call_agent_set_event_callback(h_, noop_event, NULL));
}
RETAIN(acs_call_agent_retain, K_AGENT)
RELEASE(acs_call_agent_release, K_AGENT)
SWEEP(acs_call_agent_update_token) {
    char token[1024];
    fake_token(token, sizeof token);
    {
        FOR_BAD_HANDLES(K_AGENT) BAD(hd_, acs_call_agent_update_token(h_, token));
    }
    FOR_BAD_STRINGS(true) BAD(sd_, acs_call_agent_update_token(g_agent, s_));
}
/* Push notifications: only refused inputs (a valid target would really be registered). */
#define PUSH_URL "http://127.0.0.1:9/push"
#define PUSH_SECRET "0123456789abcdef0123"
SWEEP(acs_call_agent_register_push_notification) {
    {
        FOR_BAD_HANDLES(K_AGENT) BAD(hd_, acs_call_agent_register_push_notification(h_, PUSH_URL, PUSH_SECRET));
    }
    {
        FOR_BAD_STRINGS(true) {
            BAD(whatf("url %s", sd_), acs_call_agent_register_push_notification(g_agent, s_, PUSH_SECRET));
            BAD(whatf("secret %s", sd_), acs_call_agent_register_push_notification(g_agent, PUSH_URL, s_));
        }
    }
    static const char *const bad_urls[] = {"", "https://127.0.0.1:9/push", "http:///push", "ws://127.0.0.1:9",
                                           "127.0.0.1:9/push", "http:// /push"};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++)
        BAD(whatf("url '%s'", bad_urls[i]), acs_call_agent_register_push_notification(g_agent, bad_urls[i], PUSH_SECRET));
    BAD("secret of 15 bytes", acs_call_agent_register_push_notification(g_agent, PUSH_URL, "0123456789abcde"));
    BAD("empty secret", acs_call_agent_register_push_notification(g_agent, PUSH_URL, ""));
    {
        char long_secret[258];
        memset(long_secret, 's', 257);
        long_secret[257] = '\0';
        BAD("secret of 257 bytes", acs_call_agent_register_push_notification(g_agent, PUSH_URL, long_secret));
    }
}
SWEEP(acs_call_agent_unregister_push_notification) {
    {
        FOR_BAD_HANDLES(K_AGENT) BAD(hd_, acs_call_agent_unregister_push_notification(h_, PUSH_URL));
    }
    {
        FOR_BAD_HANDLES(K_AGENT) BAD(whatf("%s, url NULL", hd_), acs_call_agent_unregister_push_notification(h_, NULL));
    }
    /* NULL is "every target": documented, so only the other bad strings */
    FOR_BAD_STRINGS(false) BAD(whatf("url %s", sd_), acs_call_agent_unregister_push_notification(g_agent, s_));
}
SWEEP(acs_call_agent_handle_push_notification) {
    /* well formed but signed with another secret (or forged): refused before any I/O */
    static const char forged[] =
        "{\"version\":1,\"data\":\"{\\\"kind\\\":\\\"incoming_call\\\",\\\"call_id\\\":\\\"c\\\","
        "\\\"callee\\\":\\\"8:acs:x\\\",\\\"caller\\\":\\\"8:acs:y\\\",\\\"nonce\\\":\\\"n\\\","
        "\\\"issued_at_ms\\\":0,\\\"expires_at_ms\\\":1}\","
        "\"signature\":\"v1=00000000000000000000000000000000000000000000000000000000000000ff\"}";
    {
        FOR_BAD_HANDLES(K_AGENT) BAD(hd_, acs_call_agent_handle_push_notification(h_, forged, PUSH_SECRET));
    }
    {
        FOR_BAD_STRINGS(true) {
            BAD(whatf("payload %s", sd_), acs_call_agent_handle_push_notification(g_agent, s_, PUSH_SECRET));
            BAD(whatf("secret %s", sd_), acs_call_agent_handle_push_notification(g_agent, forged, s_));
        }
    }
    static const char *const garbage[] = {"", "{", "[]", "null", "{\"version\":1}",
                                          "{\"version\":2,\"data\":\"\",\"signature\":\"v1=00\"}",
                                          "{\"version\":1,\"data\":\"x\",\"signature\":\"v1=zz\"}",
                                          "{\"version\":1,\"data\":\"x\",\"signature\":\"00\"}"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        BAD(whatf("payload '%s'", garbage[i]), acs_call_agent_handle_push_notification(g_agent, garbage[i], PUSH_SECRET));
    BAD("forged payload", acs_call_agent_handle_push_notification(g_agent, forged, PUSH_SECRET));
    BAD("empty secret", acs_call_agent_handle_push_notification(g_agent, forged, ""));
    if (acs_call_agent_handle_push_notification(g_agent, forged, PUSH_SECRET) != ACS_ERR_UNAUTHORIZED)
        fail("%s(forged payload) is not ACS_ERR_UNAUTHORIZED; last error: %s", FN, last_error());
}
#undef PUSH_URL
#undef PUSH_SECRET
GETTER(acs_call_agent_get_connection_state, K_AGENT, int32_t)
STRING_GETTER(acs_call_agent_get_user_id, K_AGENT)
GETTER(acs_call_agent_get_call_count, K_AGENT, size_t)
SWEEP(acs_call_agent_get_call) {
    acs_call *out = SENTINEL;
    {
        FOR_BAD_HANDLES(K_AGENT) BAD(hd_, acs_call_agent_get_call(h_, 0, &out));
    }
    for (size_t i = 0; i < NHUGE; i++) BAD(whatf("index %zu", HUGE_SIZES[i]), acs_call_agent_get_call(g_agent, HUGE_SIZES[i], &out));
    BAD("index 1000", acs_call_agent_get_call(g_agent, 1000, &out));
    BAD("out NULL", acs_call_agent_get_call(g_agent, 0, NULL));
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_call_agent_start_call) {
    const char *ids[] = {"8:echo123"};
    acs_call *out = SENTINEL;
    acs_call_options o;
    {
        FOR_BAD_HANDLES(K_AGENT) BAD(hd_, acs_call_agent_start_call(h_, ids, 1, NULL, &out));
    }
    BAD("ids NULL", acs_call_agent_start_call(g_agent, NULL, 1, NULL, &out));
    BAD("out NULL", acs_call_agent_start_call(g_agent, ids, 1, NULL, NULL));
    BAD("count 0", acs_call_agent_start_call(g_agent, ids, 0, NULL, &out));
    for (size_t i = 0; i < NHUGE; i++) BAD(whatf("count %zu", HUGE_SIZES[i]), acs_call_agent_start_call(g_agent, ids, HUGE_SIZES[i], NULL, &out));
    {
        FOR_BAD_STRINGS(true) {
            const char *bad[] = {"8:echo123", s_};
            BAD(whatf("id %s", sd_), acs_call_agent_start_call(g_agent, bad, 2, NULL, &out));
        }
    }
    const char *malformed[] = {"not an id"};
    BAD("malformed id", acs_call_agent_start_call(g_agent, malformed, 1, NULL, &out));
    for (size_t i = 0; i < NBADSIZE; i++) {
        ACS_CALL_OPTIONS_INIT(&o);
        o.struct_size = BAD_STRUCT_SIZES[i];
        BAD(whatf("options struct_size %u", BAD_STRUCT_SIZES[i]), acs_call_agent_start_call(g_agent, ids, 1, &o, &out));
    }
    {
        bad_handle bl[NKINDS + 16];
        int bn = bad_handles(K_AUDIO, bl, false);
        for (int i = 0; i < bn; i++) {
            ACS_CALL_OPTIONS_INIT(&o);
            o.microphone = bl[i].p;
            BAD(whatf("options.microphone %s", bl[i].desc), acs_call_agent_start_call(g_agent, ids, 1, &o, &out));
            ACS_CALL_OPTIONS_INIT(&o);
            o.speaker = bl[i].p;
            BAD(whatf("options.speaker %s", bl[i].desc), acs_call_agent_start_call(g_agent, ids, 1, &o, &out));
        }
    }
    {
        FOR_BAD_STRINGS(false) {
            ACS_CALL_OPTIONS_INIT(&o);
            o.alternate_caller_id = s_;
            BAD(whatf("options.alternate_caller_id %s", sd_), acs_call_agent_start_call(g_agent, ids, 1, &o, &out));
        }
    }
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_call_agent_join) {
    const char *gid = "6f1c8a2e-53a4-4c0e-9d1b-1f7f3c5b2a11";
    acs_call *out = SENTINEL;
    acs_call_options o;
    {
        FOR_BAD_HANDLES(K_AGENT) BAD(hd_, acs_call_agent_join(h_, gid, NULL, &out));
    }
    BAD("out NULL", acs_call_agent_join(g_agent, gid, NULL, NULL));
    BAD("group id not a UUID", acs_call_agent_join(g_agent, "not-a-uuid", NULL, &out));
    {
        FOR_BAD_STRINGS(true) BAD(whatf("group id %s", sd_), acs_call_agent_join(g_agent, s_, NULL, &out));
    }
    for (size_t i = 0; i < NBADSIZE; i++) {
        ACS_CALL_OPTIONS_INIT(&o);
        o.struct_size = BAD_STRUCT_SIZES[i];
        BAD(whatf("options struct_size %u", BAD_STRUCT_SIZES[i]), acs_call_agent_join(g_agent, gid, &o, &out));
    }
    bad_handle bl[NKINDS + 16];
    int bn = bad_handles(K_AUDIO, bl, false);
    for (int i = 0; i < bn; i++) {
        ACS_CALL_OPTIONS_INIT(&o);
        o.microphone = bl[i].p;
        BAD(whatf("options.microphone %s", bl[i].desc), acs_call_agent_join(g_agent, gid, &o, &out));
    }
    CHECK_UNWRITTEN(out);
}

/* --- call --- */
INIT(acs_call_options_init)
INIT_SIZED(acs_call_options_init_sized, acs_call_options)
RETAIN(acs_call_retain, K_CALL)
RELEASE(acs_call_release, K_CALL)
SWEEP(acs_call_accept) {
    acs_call_options o;
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_accept(h_, NULL));
    }
    if (!g_call) return;
    BAD("an outgoing call", acs_call_accept(g_call, NULL));
    for (size_t i = 0; i < NBADSIZE; i++) {
        ACS_CALL_OPTIONS_INIT(&o);
        o.struct_size = BAD_STRUCT_SIZES[i];
        BAD(whatf("options struct_size %u", BAD_STRUCT_SIZES[i]), acs_call_accept(g_call, &o));
    }
}
#define HANDLE_ONLY(fn, K, ...)                                                             \
    SWEEP(fn) {                                                                             \
        FOR_BAD_HANDLES(K) BAD(hd_, fn(h_, ##__VA_ARGS__));                                 \
    }
SWEEP(acs_call_reject) {
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_reject(h_));
    }
    if (g_call) BAD("an outgoing call", acs_call_reject(g_call));
}
HANDLE_ONLY(acs_call_hang_up, K_CALL, false)
HANDLE_ONLY(acs_call_mute, K_CALL)
HANDLE_ONLY(acs_call_unmute, K_CALL)
HANDLE_ONLY(acs_call_hold, K_CALL)
HANDLE_ONLY(acs_call_resume, K_CALL)
#define CALL_DEVICE(fn)                                                                     \
    SWEEP(fn) {                                                                             \
        {                                                                                   \
            FOR_BAD_HANDLES(K_CALL) BAD(hd_, fn(h_, g_tone_mic));                           \
        }                                                                                   \
        if (!g_call) return;                                                                \
        FOR_BAD_HANDLES(K_AUDIO) BAD(whatf("device %s", hd_), fn(g_call, h_));              \
    }
CALL_DEVICE(acs_call_set_microphone)
CALL_DEVICE(acs_call_set_speaker)
GETTER(acs_call_get_state, K_CALL, int32_t)
GETTER(acs_call_get_direction, K_CALL, int32_t)
GETTER(acs_call_is_muted, K_CALL, bool)
SWEEP(acs_call_get_end_reason) {
    int32_t a, b;
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_get_end_reason(h_, &a, &b));
    }
    if (!g_call) return;
    BAD("code NULL", acs_call_get_end_reason(g_call, NULL, &b));
    BAD("subcode NULL", acs_call_get_end_reason(g_call, &a, NULL));
}
STRING_GETTER(acs_call_get_id, K_CALL)
GETTER(acs_call_get_remote_participant_count, K_CALL, size_t)
SWEEP(acs_call_get_remote_participant) {
    acs_remote_participant *out = SENTINEL;
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_get_remote_participant(h_, 0, &out));
    }
    if (g_call) {
        for (size_t i = 0; i < NHUGE; i++) BAD(whatf("index %zu", HUGE_SIZES[i]), acs_call_get_remote_participant(g_call, HUGE_SIZES[i], &out));
        BAD("out NULL", acs_call_get_remote_participant(g_call, 0, NULL));
    }
    CHECK_UNWRITTEN(out);
}
INIT(acs_call_audio_statistics_init)
INIT_SIZED(acs_call_audio_statistics_init_sized, acs_call_audio_statistics)
STRUCT_GETTER(acs_call_get_audio_statistics, K_CALL, acs_call_audio_statistics, ACS_CALL_AUDIO_STATISTICS_INIT)
INIT_SIZED(acs_call_media_statistics_init_sized, acs_call_media_statistics)
STRUCT_GETTER(acs_call_get_media_statistics, K_CALL, acs_call_media_statistics, ACS_CALL_MEDIA_STATISTICS_INIT)
SWEEP(acs_call_set_media_statistics_interval) {
    FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_set_media_statistics_interval(h_, 200));
}
GETTER(acs_call_get_audio_stats, K_CALL, acs_call_audio_stats)
INIT(acs_audio_processing_options_init)
INIT_SIZED(acs_audio_processing_options_init_sized, acs_audio_processing_options)
#define SET_PROCESSING(fn, K)                                                               \
    SWEEP(fn) {                                                                             \
        acs_audio_processing_options o;                                                     \
        ACS_AUDIO_PROCESSING_OPTIONS_INIT(&o);                                              \
        {                                                                                   \
            FOR_BAD_HANDLES(K) BAD(hd_, fn(h_, &o));                                        \
        }                                                                                   \
        if (!LIVE(K)) return;                                                               \
        BAD("options NULL", fn(LIVE(K), NULL));                                             \
        for (size_t i = 0; i < NBADSIZE; i++) {                                             \
            ACS_AUDIO_PROCESSING_OPTIONS_INIT(&o);                                          \
            o.struct_size = BAD_STRUCT_SIZES[i];                                            \
            BAD(whatf("struct_size %u", BAD_STRUCT_SIZES[i]), fn(LIVE(K), &o));             \
        }                                                                                   \
    }
SET_PROCESSING(acs_device_manager_set_audio_processing, K_DM)
SET_PROCESSING(acs_call_set_audio_processing, K_CALL)
STRUCT_GETTER(acs_device_manager_get_audio_processing, K_DM, acs_audio_processing_options, ACS_AUDIO_PROCESSING_OPTIONS_INIT)
SWEEP(acs_call_get_audio_processing) {
    acs_audio_processing_options o;
    bool active;
    ACS_AUDIO_PROCESSING_OPTIONS_INIT(&o);
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_get_audio_processing(h_, &o, &active));
    }
    if (!g_call) return;
    BAD("out NULL", acs_call_get_audio_processing(g_call, NULL, &active));
    o.struct_size = 1;
    BAD("out struct_size 1", acs_call_get_audio_processing(g_call, &o, &active));
}

/* --- participants, group calls, phone --- */
RETAIN(acs_remote_participant_retain, K_PART)
RELEASE(acs_remote_participant_release, K_PART)
STRING_GETTER(acs_remote_participant_get_identifier, K_PART)
STRING_GETTER(acs_remote_participant_get_display_name, K_PART)
GETTER(acs_remote_participant_get_state, K_PART, int32_t)
GETTER(acs_remote_participant_is_muted, K_PART, bool)
GETTER(acs_remote_participant_is_speaking, K_PART, bool)
GETTER(acs_remote_participant_get_identifier_kind, K_PART, int32_t)
SWEEP(acs_remote_participant_get_end_reason) {
    int32_t a, b;
    {
        FOR_BAD_HANDLES(K_PART) BAD(hd_, acs_remote_participant_get_end_reason(h_, &a, &b));
    }
    if (!g_participant) return;
    BAD("code NULL", acs_remote_participant_get_end_reason(g_participant, NULL, &b));
    BAD("subcode NULL", acs_remote_participant_get_end_reason(g_participant, &a, NULL));
}
SWEEP(acs_call_add_participant) {
    acs_remote_participant *out = SENTINEL;
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_add_participant(h_, "8:echo123", &out));
    }
    if (g_call) {
        BAD("out NULL", acs_call_add_participant(g_call, "8:acs:00000000-0000-4000-8000-000000000001", NULL));
        BAD("malformed id", acs_call_add_participant(g_call, "nobody", &out));
        FOR_BAD_STRINGS(true) BAD(sd_, acs_call_add_participant(g_call, s_, &out));
    }
    CHECK_UNWRITTEN(out);
}
INIT(acs_add_participant_options_init)
INIT_SIZED(acs_add_participant_options_init_sized, acs_add_participant_options)
SWEEP(acs_call_add_participant_with_options) {
    acs_remote_participant *out = SENTINEL;
    acs_add_participant_options o;
    const char *phone = "4:+15550009999";
    ACS_ADD_PARTICIPANT_OPTIONS_INIT(&o);
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_add_participant_with_options(h_, phone, &o, &out));
    }
    if (g_call) {
        BAD("out NULL", acs_call_add_participant_with_options(g_call, phone, &o, NULL));
        {
            FOR_BAD_STRINGS(true) BAD(whatf("id %s", sd_), acs_call_add_participant_with_options(g_call, s_, &o, &out));
        }
        for (size_t i = 0; i < NBADSIZE; i++) {
            ACS_ADD_PARTICIPANT_OPTIONS_INIT(&o);
            o.struct_size = BAD_STRUCT_SIZES[i];
            BAD(whatf("struct_size %u", BAD_STRUCT_SIZES[i]), acs_call_add_participant_with_options(g_call, phone, &o, &out));
        }
        ACS_ADD_PARTICIPANT_OPTIONS_INIT(&o);
        o.alternate_caller_id = "8:acs:not-a-phone";
        BAD("caller id not a phone", acs_call_add_participant_with_options(g_call, phone, &o, &out));
        FOR_BAD_STRINGS(false) {
            ACS_ADD_PARTICIPANT_OPTIONS_INIT(&o);
            o.alternate_caller_id = s_;
            BAD(whatf("caller id %s", sd_), acs_call_add_participant_with_options(g_call, phone, &o, &out));
        }
    }
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_call_remove_participant) {
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_remove_participant(h_, g_participant));
    }
    if (!g_call) return;
    FOR_BAD_HANDLES(K_PART) BAD(whatf("participant %s", hd_), acs_call_remove_participant(g_call, h_));
}
GETTER(acs_call_is_group_call, K_CALL, bool)
SWEEP(acs_call_get_dominant_speaker_count) {
    size_t n;
    uint64_t ts;
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_get_dominant_speaker_count(h_, &n, &ts));
    }
    if (g_call) BAD("out NULL", acs_call_get_dominant_speaker_count(g_call, NULL, &ts));
}
SWEEP(acs_call_get_dominant_speaker) {
    char buf[64];
    size_t need;
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_get_dominant_speaker(h_, 0, buf, sizeof buf, &need));
    }
    if (!g_call) return;
    for (size_t i = 0; i < NHUGE; i++) BAD(whatf("index %zu", HUGE_SIZES[i]), acs_call_get_dominant_speaker(g_call, HUGE_SIZES[i], buf, sizeof buf, &need));
}
SWEEP(acs_call_send_dtmf) {
    uint64_t id;
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_send_dtmf(h_, ACS_DTMF_TONE_1, &id));
    }
    if (!g_call) return;
    for (size_t i = 0; i < NBADENUM; i++) BAD(whatf("tone %d", (int)BAD_ENUMS[i]), acs_call_send_dtmf(g_call, BAD_ENUMS[i], &id));
    BAD("tone 17", acs_call_send_dtmf(g_call, 17, &id));
    BAD("tone FLASH", acs_call_send_dtmf(g_call, ACS_DTMF_TONE_FLASH, &id));
}
/* Call transfer: only refused inputs (a valid target would really be asked; an answer is
 * sent to the service and refused there, asynchronously, when nothing is pending). */
SWEEP(acs_call_transfer) {
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_transfer(h_, "8:acs:00000000-0000-4000-8000-000000000001"));
    }
    {
        FOR_BAD_HANDLES(K_CALL) BAD(whatf("%s, target NULL", hd_), acs_call_transfer(h_, NULL));
    }
    if (!g_call) return;
    {
        FOR_BAD_STRINGS(true) BAD(whatf("target %s", sd_), acs_call_transfer(g_call, s_));
    }
    static const char *const malformed[] = {"", " ", "nobody", "8:acs:", "8:acs:a b", "8:acs:x/y", "4:",
                                            "4:+", "4:+12", "4:+1234567890123456", "4:+1555abc4567",
                                            "8:echo", "acs:8:x", "\t"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        BAD(whatf("target '%s'", malformed[i]), acs_call_transfer(g_call, malformed[i]));
    if (acs_call_transfer(g_call, "nobody") != ACS_ERR_INVALID_ARGUMENT)
        fail("%s(malformed target) is not ACS_ERR_INVALID_ARGUMENT; last error: %s", FN, last_error());
}
SWEEP(acs_call_answer_transfer) {
    FOR_BAD_HANDLES(K_CALL) {
        BAD(whatf("%s, accept", hd_), acs_call_answer_transfer(h_, true));
        BAD(whatf("%s, refuse", hd_), acs_call_answer_transfer(h_, false));
    }
}
/* Rooms, the lobby and muting others: only refused inputs (a valid room would really be
 * joined; admitting or muting someone real is sent to the service). The echo bot of g_call
 * waits in no lobby: admitting or rejecting it is ACS_ERR_NOT_FOUND at once. */
SWEEP(acs_call_agent_join_room) {
    const char *rid = "6f1c8a2e-53a4-4c0e-9d1b-1f7f3c5b2a12";
    acs_call *out = SENTINEL;
    acs_call_options o;
    {
        FOR_BAD_HANDLES(K_AGENT) BAD(hd_, acs_call_agent_join_room(h_, rid, NULL, &out));
    }
    BAD("out NULL", acs_call_agent_join_room(g_agent, rid, NULL, NULL));
    {
        FOR_BAD_STRINGS(true) BAD(whatf("locator %s", sd_), acs_call_agent_join_room(g_agent, s_, NULL, &out));
    }
    static const char *const malformed[] = {"", " ", "not-a-uuid", "http://127.0.0.1/meet/", "http://h/meet/x",
                                            "6f1c8a2e-53a4-4c0e-9d1b", "\t"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        BAD(whatf("locator '%s'", malformed[i]), acs_call_agent_join_room(g_agent, malformed[i], NULL, &out));
    if (g_agent && acs_call_agent_join_room(g_agent, "not-a-uuid", NULL, &out) != ACS_ERR_INVALID_ARGUMENT)
        fail("%s(locator not naming a room) is not ACS_ERR_INVALID_ARGUMENT; last error: %s", FN, last_error());
    for (size_t i = 0; i < NBADSIZE; i++) {
        ACS_CALL_OPTIONS_INIT(&o);
        o.struct_size = BAD_STRUCT_SIZES[i];
        BAD(whatf("options struct_size %u", BAD_STRUCT_SIZES[i]), acs_call_agent_join_room(g_agent, rid, &o, &out));
    }
    bad_handle bl[NKINDS + 16];
    int bn = bad_handles(K_AUDIO, bl, false);
    for (int i = 0; i < bn; i++) {
        ACS_CALL_OPTIONS_INIT(&o);
        o.microphone = bl[i].p;
        BAD(whatf("options.microphone %s", bl[i].desc), acs_call_agent_join_room(g_agent, rid, &o, &out));
    }
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_call_admit) {
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_admit(h_, g_participant));
    }
    if (!g_call) return;
    {
        FOR_BAD_HANDLES(K_PART) BAD(whatf("participant %s", hd_), acs_call_admit(g_call, h_));
    }
    if (g_participant && acs_call_admit(g_call, g_participant) != ACS_ERR_NOT_FOUND)
        fail("%s(a participant not in the lobby) is not ACS_ERR_NOT_FOUND; last error: %s", FN, last_error());
}
SWEEP(acs_call_admit_all) {
    FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_admit_all(h_));
}
SWEEP(acs_call_reject_participant) {
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_reject_participant(h_, g_participant));
    }
    if (!g_call) return;
    {
        FOR_BAD_HANDLES(K_PART) BAD(whatf("participant %s", hd_), acs_call_reject_participant(g_call, h_));
    }
    if (g_participant && acs_call_reject_participant(g_call, g_participant) != ACS_ERR_NOT_FOUND)
        fail("%s(a participant not in the lobby) is not ACS_ERR_NOT_FOUND; last error: %s", FN, last_error());
}
SWEEP(acs_call_mute_participant) {
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_mute_participant(h_, g_participant));
    }
    if (!g_call) return;
    FOR_BAD_HANDLES(K_PART) BAD(whatf("participant %s", hd_), acs_call_mute_participant(g_call, h_));
}
SWEEP(acs_call_mute_all_remote_participants) {
    FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_mute_all_remote_participants(h_));
}
GETTER(acs_remote_participant_get_role, K_PART, int32_t)
SWEEP(acs_identifier_get_kind) {
    int32_t kind;
    BAD("out NULL", acs_identifier_get_kind("8:echo123", NULL));
    FOR_BAD_STRINGS(true) BAD(sd_, acs_identifier_get_kind(s_, &kind));
}

/* --- video of a call --- */
SWEEP(acs_remote_participant_get_video_stream) {
    acs_remote_video_stream *out = SENTINEL;
    {
        FOR_BAD_HANDLES(K_PART) BAD(hd_, acs_remote_participant_get_video_stream(h_, 0, &out));
    }
    if (g_participant) {
        for (size_t i = 0; i < NBADENUM; i++) BAD(whatf("kind %d", (int)BAD_ENUMS[i]), acs_remote_participant_get_video_stream(g_participant, BAD_ENUMS[i], &out));
        BAD("out NULL", acs_remote_participant_get_video_stream(g_participant, 0, NULL));
    }
    CHECK_UNWRITTEN(out);
}
RETAIN(acs_remote_video_stream_retain, K_RVS)
RELEASE(acs_remote_video_stream_release, K_RVS)
GETTER(acs_remote_video_stream_get_kind, K_RVS, int32_t)
GETTER(acs_remote_video_stream_get_id, K_RVS, uint32_t)
GETTER(acs_remote_video_stream_is_available, K_RVS, bool)
GETTER(acs_remote_video_stream_is_subscribed, K_RVS, bool)
STRING_GETTER(acs_remote_video_stream_get_participant_id, K_RVS)
SWEEP(acs_remote_video_stream_subscribe) {
    {
        FOR_BAD_HANDLES(K_RVS) BAD(hd_, acs_remote_video_stream_subscribe(h_));
    }
    /* the echo bot sends no video */
    if (g_rvs) BAD("an unavailable stream", acs_remote_video_stream_subscribe(g_rvs));
}
HANDLE_ONLY(acs_remote_video_stream_unsubscribe, K_RVS)
INIT(acs_video_receive_stats_init)
INIT_SIZED(acs_video_receive_stats_init_sized, acs_video_receive_stats)
STRUCT_GETTER(acs_remote_video_stream_get_stats, K_RVS, acs_video_receive_stats, ACS_VIDEO_RECEIVE_STATS_INIT)
INIT(acs_video_send_stats_init)
INIT_SIZED(acs_video_send_stats_init_sized, acs_video_send_stats)
#define CALL_STREAM(fn)                                                                     \
    SWEEP(fn) {                                                                             \
        {                                                                                   \
            FOR_BAD_HANDLES(K_CALL) BAD(hd_, fn(h_, g_virtual_stream));                     \
        }                                                                                   \
        if (!g_call) return;                                                                \
        FOR_BAD_HANDLES(K_LVS) BAD(whatf("stream %s", hd_), fn(g_call, h_));                \
    }
CALL_STREAM(acs_call_start_video)
CALL_STREAM(acs_call_start_screen_sharing)
SWEEP(acs_video_renderer_create_for_remote_stream) {
    acs_video_renderer *out = SENTINEL;
    {
        FOR_BAD_HANDLES(K_RVS) BAD(hd_, acs_video_renderer_create_for_remote_stream(h_, &out));
    }
    if (g_rvs) {
        BAD("out NULL", acs_video_renderer_create_for_remote_stream(g_rvs, NULL));
        BAD("an unavailable stream", acs_video_renderer_create_for_remote_stream(g_rvs, &out));
    }
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_call_stop_video) {
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_stop_video(h_, 0));
    }
    if (!g_call) return;
    for (size_t i = 0; i < NBADENUM; i++) BAD(whatf("kind %d", (int)BAD_ENUMS[i]), acs_call_stop_video(g_call, BAD_ENUMS[i]));
}
SWEEP(acs_call_is_sending_video) {
    bool b;
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_is_sending_video(h_, 0, &b));
    }
    if (!g_call) return;
    for (size_t i = 0; i < NBADENUM; i++) BAD(whatf("kind %d", (int)BAD_ENUMS[i]), acs_call_is_sending_video(g_call, BAD_ENUMS[i], &b));
    BAD("out NULL", acs_call_is_sending_video(g_call, 0, NULL));
}
SWEEP(acs_call_get_video_send_stats) {
    acs_video_send_stats s;
    ACS_VIDEO_SEND_STATS_INIT(&s);
    {
        FOR_BAD_HANDLES(K_CALL) BAD(hd_, acs_call_get_video_send_stats(h_, 0, &s));
    }
    if (!g_call) return;
    for (size_t i = 0; i < NBADENUM; i++) BAD(whatf("kind %d", (int)BAD_ENUMS[i]), acs_call_get_video_send_stats(g_call, BAD_ENUMS[i], &s));
    BAD("out NULL", acs_call_get_video_send_stats(g_call, 0, NULL));
    s.struct_size = 1;
    BAD("out struct_size 1", acs_call_get_video_send_stats(g_call, 0, &s));
}

/* --- device manager and audio devices --- */
RETAIN(acs_device_manager_retain, K_DM)
RELEASE(acs_device_manager_release, K_DM)
#define LIST(fn, K, T)                                                                      \
    SWEEP(fn) {                                                                             \
        T *list_[16];                                                                       \
        size_t n_;                                                                          \
        {                                                                                   \
            FOR_BAD_HANDLES(K) BAD(hd_, fn(h_, list_, 16, &n_));                            \
        }                                                                                   \
        BAD("out_count NULL", fn(LIVE(K), list_, 16, NULL));                                \
        BAD("list NULL", fn(LIVE(K), NULL, 16, &n_));                                       \
        BAD("capacity 0", fn(LIVE(K), list_, 0, &n_));                                      \
        for (size_t i = 0; i < NHUGE; i++)                                                  \
            if (HUGE_SIZES[i] > (size_t)PTRDIFF_MAX / sizeof(void *))                       \
                BAD(whatf("capacity %zu", HUGE_SIZES[i]), fn(LIVE(K), list_, HUGE_SIZES[i], &n_)); \
    }
LIST(acs_device_manager_get_microphones, K_DM, acs_audio_device)
LIST(acs_device_manager_get_speakers, K_DM, acs_audio_device)
LIST(acs_device_manager_get_cameras, K_DM, acs_camera)
#define DM_SET(fn, K2, VALID)                                                               \
    SWEEP(fn) {                                                                             \
        {                                                                                   \
            FOR_BAD_HANDLES(K_DM) BAD(hd_, fn(h_, VALID));                                  \
        }                                                                                   \
        FOR_BAD_HANDLES(K2) BAD(whatf("device %s", hd_), fn(g_dm, h_));                     \
    }
DM_SET(acs_device_manager_set_microphone, K_AUDIO, g_tone_mic)
DM_SET(acs_device_manager_set_speaker, K_AUDIO, g_pull_speaker)
DM_SET(acs_device_manager_set_camera, K_CAMERA, g_camera)
DM_SET(acs_device_manager_remove_device, K_AUDIO, g_push_mic)
#define DM_SELECTED(fn, T)                                                                  \
    SWEEP(fn) {                                                                             \
        T *out = SENTINEL;                                                                  \
        {                                                                                   \
            FOR_BAD_HANDLES(K_DM) BAD(hd_, fn(h_, &out));                                   \
        }                                                                                   \
        BAD("out NULL", fn(g_dm, NULL));                                                    \
        CHECK_UNWRITTEN(out);                                                               \
    }
DM_SELECTED(acs_device_manager_get_selected_microphone, acs_audio_device)
DM_SELECTED(acs_device_manager_get_selected_speaker, acs_audio_device)
DM_SELECTED(acs_device_manager_get_selected_camera, acs_camera)
SWEEP(acs_device_manager_ask_device_permission) {
    int32_t perm;
    char reason[64];
    size_t need;
    {
        FOR_BAD_HANDLES(K_DM) BAD(hd_, acs_device_manager_ask_device_permission(h_, ACS_MEDIA_KIND_VIDEO, &perm, reason, sizeof reason, &need));
    }
    for (size_t i = 0; i < NBADENUM; i++)
        BAD(whatf("media %d", (int)BAD_ENUMS[i]), acs_device_manager_ask_device_permission(g_dm, BAD_ENUMS[i], &perm, reason, sizeof reason, &need));
    BAD("out NULL", acs_device_manager_ask_device_permission(g_dm, ACS_MEDIA_KIND_VIDEO, NULL, reason, sizeof reason, &need));
    BAD("reason capacity SIZE_MAX", acs_device_manager_ask_device_permission(g_dm, ACS_MEDIA_KIND_VIDEO, &perm, reason, SIZE_MAX, &need));
}
SWEEP(acs_device_manager_set_event_callback) {
    FOR_BAD_HANDLES(K_DM) BAD(hd_, acs_device_manager_set_event_callback(h_, noop_event, NULL));
}
SWEEP(acs_device_manager_refresh_devices) {
    size_t n;
    FOR_BAD_HANDLES(K_DM) BAD(hd_, acs_device_manager_refresh_devices(h_, &n));
}
/* Device creation: bad dm, then each bad string; the good call is made once to prove the
   other arguments valid (the device is removed again). */
#define DEVICE_OUT SENTINEL
SWEEP(acs_device_manager_create_tone_microphone) {
    acs_audio_device *out = DEVICE_OUT;
    const float bad_f[] = {0.0f, -1.0f, 24000.0f, 1e30f, (float)NAN, (float)INFINITY};
    const float bad_a[] = {-0.1f, 1.5f, (float)NAN, (float)INFINITY};
    {
        FOR_BAD_HANDLES(K_DM) BAD(hd_, acs_device_manager_create_tone_microphone(h_, "t", 440.0f, 0.5f, &out));
    }
    {
        FOR_BAD_STRINGS(true) BAD(whatf("name %s", sd_), acs_device_manager_create_tone_microphone(g_dm, s_, 440.0f, 0.5f, &out));
    }
    for (size_t i = 0; i < sizeof bad_f / sizeof bad_f[0]; i++)
        BAD(whatf("frequency %g", (double)bad_f[i]), acs_device_manager_create_tone_microphone(g_dm, "t", bad_f[i], 0.5f, &out));
    for (size_t i = 0; i < sizeof bad_a / sizeof bad_a[0]; i++)
        BAD(whatf("amplitude %g", (double)bad_a[i]), acs_device_manager_create_tone_microphone(g_dm, "t", 440.0f, bad_a[i], &out));
    BAD("out NULL", acs_device_manager_create_tone_microphone(g_dm, "t", 440.0f, 0.5f, NULL));
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_device_manager_create_wav_microphone) {
    acs_audio_device *out = DEVICE_OUT;
    {
        FOR_BAD_HANDLES(K_DM) BAD(hd_, acs_device_manager_create_wav_microphone(h_, "w", g_wav_path, false, &out));
    }
    {
        FOR_BAD_STRINGS(true) {
            BAD(whatf("name %s", sd_), acs_device_manager_create_wav_microphone(g_dm, s_, g_wav_path, false, &out));
            BAD(whatf("path %s", sd_), acs_device_manager_create_wav_microphone(g_dm, "w", s_, false, &out));
        }
    }
    BAD("missing file", acs_device_manager_create_wav_microphone(g_dm, "w", "/nonexistent.wav", false, &out));
    BAD("not a WAV file", acs_device_manager_create_wav_microphone(g_dm, "w", "/proc/self/status", false, &out));
    BAD("out NULL", acs_device_manager_create_wav_microphone(g_dm, "w", g_wav_path, false, NULL));
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_device_manager_create_push_microphone) {
    acs_audio_device *out = DEVICE_OUT;
    {
        FOR_BAD_HANDLES(K_DM) BAD(hd_, acs_device_manager_create_push_microphone(h_, "p", &out));
    }
    {
        FOR_BAD_STRINGS(true) BAD(whatf("name %s", sd_), acs_device_manager_create_push_microphone(g_dm, s_, &out));
    }
    BAD("out NULL", acs_device_manager_create_push_microphone(g_dm, "p", NULL));
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_device_manager_create_wav_speaker) {
    acs_audio_device *out = DEVICE_OUT;
    {
        FOR_BAD_HANDLES(K_DM) BAD(hd_, acs_device_manager_create_wav_speaker(h_, "s", g_wav_out_path, &out));
    }
    {
        FOR_BAD_STRINGS(true) {
            BAD(whatf("name %s", sd_), acs_device_manager_create_wav_speaker(g_dm, s_, g_wav_out_path, &out));
            BAD(whatf("path %s", sd_), acs_device_manager_create_wav_speaker(g_dm, "s", s_, &out));
        }
    }
    BAD("unwritable path", acs_device_manager_create_wav_speaker(g_dm, "s", "/nonexistent/dir/x.wav", &out));
    BAD("out NULL", acs_device_manager_create_wav_speaker(g_dm, "s", g_wav_out_path, NULL));
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_device_manager_create_pull_speaker) {
    acs_audio_device *out = DEVICE_OUT;
    const uint32_t bad_ms[] = {0, 600001, UINT32_MAX};
    {
        FOR_BAD_HANDLES(K_DM) BAD(hd_, acs_device_manager_create_pull_speaker(h_, "s", 100, &out));
    }
    {
        FOR_BAD_STRINGS(true) BAD(whatf("name %s", sd_), acs_device_manager_create_pull_speaker(g_dm, s_, 100, &out));
    }
    for (size_t i = 0; i < 3; i++) BAD(whatf("capacity_ms %u", bad_ms[i]), acs_device_manager_create_pull_speaker(g_dm, "s", bad_ms[i], &out));
    BAD("out NULL", acs_device_manager_create_pull_speaker(g_dm, "s", 100, NULL));
    CHECK_UNWRITTEN(out);
}
static void noop_frame(void *ud, const int16_t *s, size_t n, uint32_t rate, uint32_t ch) {
    (void)ud, (void)s, (void)n, (void)rate, (void)ch;
}
SWEEP(acs_device_manager_create_callback_speaker) {
    acs_audio_device *out = DEVICE_OUT;
    {
        FOR_BAD_HANDLES(K_DM) BAD(hd_, acs_device_manager_create_callback_speaker(h_, "c", noop_frame, NULL, &out));
    }
    {
        FOR_BAD_STRINGS(true) BAD(whatf("name %s", sd_), acs_device_manager_create_callback_speaker(g_dm, s_, noop_frame, NULL, &out));
    }
    BAD("callback NULL", acs_device_manager_create_callback_speaker(g_dm, "c", NULL, NULL, &out));
    BAD("out NULL", acs_device_manager_create_callback_speaker(g_dm, "c", noop_frame, NULL, NULL));
    CHECK_UNWRITTEN(out);
}
RETAIN(acs_audio_device_retain, K_AUDIO)
RELEASE(acs_audio_device_release, K_AUDIO)
STRING_GETTER(acs_audio_device_get_id, K_AUDIO)
STRING_GETTER(acs_audio_device_get_name, K_AUDIO)
GETTER(acs_audio_device_get_kind, K_AUDIO, int32_t)
GETTER(acs_audio_device_is_default, K_AUDIO, bool)
GETTER(acs_audio_device_is_virtual, K_AUDIO, bool)
static int16_t g_pcm[960 * 2];
SWEEP(acs_audio_device_push_pcm) {
    size_t acc;
    {
        FOR_BAD_HANDLES(K_AUDIO) BAD(hd_, acs_audio_device_push_pcm(h_, g_pcm, 960, 1, &acc));
    }
    BAD("a tone microphone", acs_audio_device_push_pcm(g_tone_mic, g_pcm, 960, 1, &acc));
    BAD("samples NULL", acs_audio_device_push_pcm(g_push_mic, NULL, 960, 1, &acc));
    const uint32_t bad_ch[] = {0, 3, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) BAD(whatf("channels %u", bad_ch[i]), acs_audio_device_push_pcm(g_push_mic, g_pcm, 960, bad_ch[i], &acc));
    for (size_t i = 0; i < NHUGE; i++) {
        BAD(whatf("frames %zu, 1 channel", HUGE_SIZES[i]), acs_audio_device_push_pcm(g_push_mic, g_pcm, HUGE_SIZES[i], 1, &acc));
        BAD(whatf("frames %zu, 2 channels", HUGE_SIZES[i]), acs_audio_device_push_pcm(g_push_mic, g_pcm, HUGE_SIZES[i], 2, &acc));
    }
}
SWEEP(acs_audio_device_pull_pcm) {
    int16_t buf[960];
    size_t n;
    {
        FOR_BAD_HANDLES(K_AUDIO) BAD(hd_, acs_audio_device_pull_pcm(h_, buf, 960, &n));
    }
    BAD("a microphone", acs_audio_device_pull_pcm(g_tone_mic, buf, 960, &n));
    BAD("samples NULL", acs_audio_device_pull_pcm(g_pull_speaker, NULL, 960, &n));
    BAD("out_count NULL", acs_audio_device_pull_pcm(g_pull_speaker, buf, 960, NULL));
    for (size_t i = 0; i < NHUGE; i++)
        if (HUGE_SIZES[i] > (size_t)PTRDIFF_MAX / sizeof(int16_t))
            BAD(whatf("capacity %zu", HUGE_SIZES[i]), acs_audio_device_pull_pcm(g_pull_speaker, buf, HUGE_SIZES[i], &n));
}
SWEEP(acs_audio_tone_power) {
    float p;
    BAD("samples NULL", acs_audio_tone_power(NULL, 960, 440.0f, &p));
    BAD("out NULL", acs_audio_tone_power(g_pcm, 960, 440.0f, NULL));
    for (size_t i = 0; i < NHUGE; i++) BAD(whatf("count %zu", HUGE_SIZES[i]), acs_audio_tone_power(g_pcm, HUGE_SIZES[i], 440.0f, &p));
    const float bad_f[] = {(float)NAN, (float)INFINITY, -1.0f, 0.0f, 24000.0f};
    for (size_t i = 0; i < sizeof bad_f / sizeof bad_f[0]; i++)
        BAD(whatf("frequency %g", (double)bad_f[i]), acs_audio_tone_power(g_pcm, 960, bad_f[i], &p));
}

/* --- screen sources --- */
SWEEP(acs_screen_sources_get) {
    acs_screen_source *src[4];
    size_t n;
    BAD("out_count NULL", acs_screen_sources_get(0, 0, src, 4, NULL));
    BAD("thumbnail 1x1", acs_screen_sources_get(1, 1, src, 4, &n));
    BAD("thumbnail 0x64", acs_screen_sources_get(0, 64, src, 4, &n));
    BAD("thumbnail 5000x5000", acs_screen_sources_get(5000, 5000, src, 4, &n));
    for (size_t i = 0; i < NHUGE; i++)
        if (HUGE_SIZES[i] > (size_t)PTRDIFF_MAX / sizeof(void *))
            BAD(whatf("capacity %zu", HUGE_SIZES[i]), acs_screen_sources_get(0, 0, src, HUGE_SIZES[i], &n));
    if (LIVE(K_SCREEN)) BAD("capacity 0 with sources", acs_screen_sources_get(0, 0, src, 0, &n));
}
RETAIN(acs_screen_source_retain, K_SCREEN)
RELEASE(acs_screen_source_release, K_SCREEN)
STRING_GETTER(acs_screen_source_get_id, K_SCREEN)
STRING_GETTER(acs_screen_source_get_title, K_SCREEN)
STRING_GETTER(acs_screen_source_get_application, K_SCREEN)
GETTER(acs_screen_source_get_kind, K_SCREEN, int32_t)
SWEEP(acs_screen_source_get_geometry) {
    int32_t x, y;
    uint32_t w, h;
    bool m;
    FOR_BAD_HANDLES(K_SCREEN) BAD(hd_, acs_screen_source_get_geometry(h_, &x, &y, &w, &h, &m));
}
SWEEP(acs_screen_source_get_thumbnail) {
    uint8_t buf[64];
    uint32_t w, h;
    FOR_BAD_HANDLES(K_SCREEN)
        BAD(hd_, acs_screen_source_get_thumbnail(h_, ACS_PIXEL_FORMAT_RGBA, buf, 16, sizeof buf, &w, &h));
    if (!LIVE(K_SCREEN)) return;
    BAD("format 99", acs_screen_source_get_thumbnail(LIVE(K_SCREEN), 99, buf, 16, sizeof buf, &w, &h));
    BAD("out_width NULL", acs_screen_source_get_thumbnail(LIVE(K_SCREEN), ACS_PIXEL_FORMAT_RGBA, buf, 16, sizeof buf, NULL, &h));
    /* listed without thumbnails: none to copy */
    BAD("no thumbnail", acs_screen_source_get_thumbnail(LIVE(K_SCREEN), ACS_PIXEL_FORMAT_RGBA, buf, 16, sizeof buf, &w, &h));
}
SWEEP(acs_local_video_stream_create_from_screen) {
    acs_local_video_stream *out = SENTINEL;
    const char *ids[] = {"", "x11:", "x11:window:zz", "x11:monitor:-1", "wayland:0", "x11:window:4294967295"};
    BAD("source_id NULL", acs_local_video_stream_create_from_screen(NULL, 10, &out));
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        BAD(whatf("source_id '%s'", ids[i]), acs_local_video_stream_create_from_screen(ids[i], 10, &out));
    BAD("bad UTF-8", acs_local_video_stream_create_from_screen("x11:\xff\xfe", 10, &out));
    BAD("fps 0", acs_local_video_stream_create_from_screen("x11:monitor:0", 0, &out));
    BAD("fps 61", acs_local_video_stream_create_from_screen("x11:monitor:0", 61, &out));
    BAD("out NULL", acs_local_video_stream_create_from_screen("x11:monitor:0", 10, NULL));
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_local_video_stream_switch_source_screen) {
    FOR_BAD_HANDLES(K_LVS) BAD(hd_, acs_local_video_stream_switch_source_screen(h_, "x11:monitor:0", 10));
    BAD("source_id NULL", acs_local_video_stream_switch_source_screen(g_pushed_stream, NULL, 10));
    BAD("source_id 'x11:window:zz'", acs_local_video_stream_switch_source_screen(g_pushed_stream, "x11:window:zz", 10));
    BAD("fps 0", acs_local_video_stream_switch_source_screen(g_pushed_stream, "x11:monitor:0", 0));
}
INIT(acs_screen_capture_options_init)
INIT_SIZED(acs_screen_capture_options_init_sized, acs_screen_capture_options)
/* Screen capture options out of range, applied to `o` one at a time: returns false past
   the end. (NULL options are the defaults, not an error.) */
static bool bad_screen_options(int i, acs_screen_capture_options *o, const char **what) {
    ACS_SCREEN_CAPTURE_OPTIONS_INIT(o);
    switch (i) {
    case 0: o->fps = 0; *what = "fps 0"; return true;
    case 1: o->fps = 61; *what = "fps 61"; return true;
    case 2: o->fps = UINT32_MAX; *what = "fps UINT32_MAX"; return true;
    case 3: o->struct_size = 0; *what = "struct_size 0"; return true;
    case 4: o->struct_size = 3; *what = "struct_size 3"; return true;
    case 5: o->struct_size = 8; *what = "struct_size 8 (before show_cursor)"; return true;
    case 6: o->struct_size = UINT32_MAX; *what = "struct_size UINT32_MAX"; return true;
    default: return false;
    }
}
SWEEP(acs_local_video_stream_create_from_screen_with_options) {
    acs_local_video_stream *out = SENTINEL;
    acs_screen_capture_options o;
    const char *w;
    const char *ids[] = {"", "x11:", "x11:window:zz", "x11:monitor:-1", "wayland:0", "x11:window:4294967295"};
    ACS_SCREEN_CAPTURE_OPTIONS_INIT(&o);
    BAD("source_id NULL", acs_local_video_stream_create_from_screen_with_options(NULL, &o, &out));
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        BAD(whatf("source_id '%s'", ids[i]), acs_local_video_stream_create_from_screen_with_options(ids[i], &o, &out));
    BAD("bad UTF-8", acs_local_video_stream_create_from_screen_with_options("x11:\xff\xfe", &o, &out));
    BAD("source_id 'x11:window:zz', NULL options", acs_local_video_stream_create_from_screen_with_options("x11:window:zz", NULL, &out));
    for (int i = 0; bad_screen_options(i, &o, &w); i++)
        BAD(w, acs_local_video_stream_create_from_screen_with_options("x11:monitor:0", &o, &out));
    ACS_SCREEN_CAPTURE_OPTIONS_INIT(&o);
    BAD("out NULL", acs_local_video_stream_create_from_screen_with_options("x11:monitor:0", &o, NULL));
    BAD("out NULL, NULL options", acs_local_video_stream_create_from_screen_with_options("x11:monitor:0", NULL, NULL));
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_local_video_stream_switch_source_screen_with_options) {
    acs_screen_capture_options o;
    const char *w;
    ACS_SCREEN_CAPTURE_OPTIONS_INIT(&o);
    {
        FOR_BAD_HANDLES(K_LVS) BAD(hd_, acs_local_video_stream_switch_source_screen_with_options(h_, "x11:monitor:0", &o));
    }
    {
        FOR_BAD_HANDLES(K_LVS) BAD(whatf("%s, NULL options", hd_), acs_local_video_stream_switch_source_screen_with_options(h_, "x11:monitor:0", NULL));
    }
    BAD("source_id NULL", acs_local_video_stream_switch_source_screen_with_options(g_pushed_stream, NULL, &o));
    BAD("source_id 'x11:window:zz'", acs_local_video_stream_switch_source_screen_with_options(g_pushed_stream, "x11:window:zz", &o));
    BAD("bad UTF-8", acs_local_video_stream_switch_source_screen_with_options(g_pushed_stream, "x11:\xff\xfe", &o));
    for (int i = 0; bad_screen_options(i, &o, &w); i++)
        BAD(w, acs_local_video_stream_switch_source_screen_with_options(g_pushed_stream, "x11:monitor:0", &o));
}
SWEEP(acs_local_video_stream_get_share_state) {
    int32_t st;
    char buf[64];
    size_t needed;
    FOR_BAD_HANDLES(K_LVS) BAD(hd_, acs_local_video_stream_get_share_state(h_, &st, buf, sizeof buf, &needed));
    BAD("not a screen", acs_local_video_stream_get_share_state(g_virtual_stream, &st, buf, sizeof buf, &needed));
    BAD("out_state NULL", acs_local_video_stream_get_share_state(g_virtual_stream, NULL, buf, sizeof buf, &needed));
}

/* --- cameras --- */
RETAIN(acs_camera_retain, K_CAMERA)
RELEASE(acs_camera_release, K_CAMERA)
STRING_GETTER(acs_camera_get_id, K_CAMERA)
STRING_GETTER(acs_camera_get_name, K_CAMERA)
GETTER(acs_camera_is_default, K_CAMERA, bool)
INIT(acs_camera_options_init)
INIT_SIZED(acs_camera_options_init_sized, acs_camera_options)
INIT(acs_camera_capture_format_init)
INIT_SIZED(acs_camera_capture_format_init_sized, acs_camera_capture_format)
/* Camera options out of range, applied to `o` one at a time: returns false past the end. */
static bool bad_camera_options(int i, acs_camera_options *o, const char **what) {
    ACS_CAMERA_OPTIONS_INIT(o);
    switch (i) {
    case 0: o->width = 0; *what = "width 0"; return true;
    case 1: o->width = 8193; *what = "width 8193"; return true;
    case 2: o->height = UINT32_MAX; *what = "height UINT32_MAX"; return true;
    case 3: o->fps = 0; *what = "fps 0"; return true;
    case 4: o->fps = 241; *what = "fps 241"; return true;
    case 5: o->format = 99; *what = "format 99"; return true;
    case 6: o->format = -1; *what = "format -1"; return true;
    case 7: o->struct_size = 0; *what = "struct_size 0"; return true;
    case 8: o->struct_size = 3; *what = "struct_size 3"; return true;
    case 9: o->struct_size = UINT32_MAX; *what = "struct_size UINT32_MAX"; return true;
    default: return false;
    }
}
SWEEP(acs_local_video_stream_create_from_camera_with_options) {
    acs_local_video_stream *out = SENTINEL;
    acs_camera_options o;
    const char *w;
    ACS_CAMERA_OPTIONS_INIT(&o);
    {
        FOR_BAD_HANDLES(K_CAMERA) BAD(hd_, acs_local_video_stream_create_from_camera_with_options(h_, &o, &out));
    }
    for (int i = 0; bad_camera_options(i, &o, &w); i++)
        BAD(w, acs_local_video_stream_create_from_camera_with_options(g_camera, &o, &out));
    ACS_CAMERA_OPTIONS_INIT(&o);
    BAD("out NULL", acs_local_video_stream_create_from_camera_with_options(g_camera, &o, NULL));
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_local_video_stream_switch_source_camera_with_options) {
    acs_camera_options o;
    const char *w;
    ACS_CAMERA_OPTIONS_INIT(&o);
    {
        FOR_BAD_HANDLES(K_LVS) BAD(hd_, acs_local_video_stream_switch_source_camera_with_options(h_, g_camera, &o));
    }
    {
        FOR_BAD_HANDLES(K_CAMERA) BAD(whatf("camera %s", hd_), acs_local_video_stream_switch_source_camera_with_options(g_pushed_stream, h_, &o));
    }
    for (int i = 0; bad_camera_options(i, &o, &w); i++)
        BAD(w, acs_local_video_stream_switch_source_camera_with_options(g_pushed_stream, g_camera, &o));
}
SWEEP(acs_local_video_stream_get_camera_format) {
    acs_camera_capture_format f;
    ACS_CAMERA_CAPTURE_FORMAT_INIT(&f);
    {
        FOR_BAD_HANDLES(K_LVS) BAD(hd_, acs_local_video_stream_get_camera_format(h_, &f));
    }
    BAD("out NULL", acs_local_video_stream_get_camera_format(g_virtual_stream, NULL));
    BAD("a virtual-camera stream", acs_local_video_stream_get_camera_format(g_virtual_stream, &f));
    f.struct_size = 1;
    BAD("out struct_size 1", acs_local_video_stream_get_camera_format(g_virtual_stream, &f));
}
STRING_GETTER(acs_local_video_stream_get_source_error, K_LVS)

/* --- local video streams, renderers, views, frames --- */
SWEEP(acs_local_video_stream_create_virtual) {
    acs_local_video_stream *out = SENTINEL;
    BAD("out NULL", acs_local_video_stream_create_virtual(64, 32, 30, NULL));
    BAD("width 8", acs_local_video_stream_create_virtual(8, 32, 30, &out));
    BAD("height 1", acs_local_video_stream_create_virtual(64, 1, 30, &out));
    BAD("width 8193", acs_local_video_stream_create_virtual(8193, 32, 30, &out));
    BAD("width UINT32_MAX", acs_local_video_stream_create_virtual(UINT32_MAX, 32, 30, &out));
    BAD("height UINT32_MAX", acs_local_video_stream_create_virtual(64, UINT32_MAX, 30, &out));
    BAD("both UINT32_MAX", acs_local_video_stream_create_virtual(UINT32_MAX, UINT32_MAX, 30, &out));
    BAD("fps 121", acs_local_video_stream_create_virtual(64, 32, 121, &out));
    BAD("fps UINT32_MAX", acs_local_video_stream_create_virtual(64, 32, UINT32_MAX, &out));
    CHECK_UNWRITTEN(out);
}
SWEEP(acs_local_video_stream_create_pushed) {
    BAD("out NULL", acs_local_video_stream_create_pushed(NULL));
}
SWEEP(acs_local_video_stream_create_from_camera) {
    acs_local_video_stream *out = SENTINEL;
    {
        FOR_BAD_HANDLES(K_CAMERA) BAD(hd_, acs_local_video_stream_create_from_camera(h_, &out));
    }
    BAD("out NULL", acs_local_video_stream_create_from_camera(g_camera, NULL));
    CHECK_UNWRITTEN(out);
}
RETAIN(acs_local_video_stream_retain, K_LVS)
RELEASE(acs_local_video_stream_release, K_LVS)
static uint8_t g_pixels[64 * 32 * 4];
SWEEP(acs_local_video_stream_push_frame) {
    acs_video_frame_buffer b;
#define FRAME() (ACS_VIDEO_FRAME_BUFFER_INIT(&b), b.format = ACS_PIXEL_FORMAT_RGBA, b.width = 64, b.height = 32, b.planes[0] = g_pixels, b.strides[0] = 256)
    FRAME();
    {
        FOR_BAD_HANDLES(K_LVS) BAD(hd_, acs_local_video_stream_push_frame(h_, &b));
    }
    BAD("a virtual-camera stream", acs_local_video_stream_push_frame(g_virtual_stream, &b));
    BAD("buffer NULL", acs_local_video_stream_push_frame(g_pushed_stream, NULL));
    for (size_t i = 0; i < NBADSIZE; i++) {
        FRAME();
        b.struct_size = BAD_STRUCT_SIZES[i];
        BAD(whatf("struct_size %u", BAD_STRUCT_SIZES[i]), acs_local_video_stream_push_frame(g_pushed_stream, &b));
    }
    FRAME(); b.planes[0] = NULL; BAD("plane NULL", acs_local_video_stream_push_frame(g_pushed_stream, &b));
    FRAME(); b.strides[0] = 255; BAD("stride shorter than a row", acs_local_video_stream_push_frame(g_pushed_stream, &b));
    FRAME(); b.width = 0; BAD("width 0", acs_local_video_stream_push_frame(g_pushed_stream, &b));
    FRAME(); b.width = UINT32_MAX; BAD("width UINT32_MAX", acs_local_video_stream_push_frame(g_pushed_stream, &b));
    FRAME(); b.height = 8193; BAD("height 8193", acs_local_video_stream_push_frame(g_pushed_stream, &b));
    FRAME(); b.format = 99; BAD("format 99", acs_local_video_stream_push_frame(g_pushed_stream, &b));
    FRAME(); b.format = ACS_PIXEL_FORMAT_I420; b.planes[1] = NULL; b.strides[1] = 32;
    BAD("I420 without a U plane", acs_local_video_stream_push_frame(g_pushed_stream, &b));
#undef FRAME
}
SWEEP(acs_local_video_stream_switch_source_virtual) {
    {
        FOR_BAD_HANDLES(K_LVS) BAD(hd_, acs_local_video_stream_switch_source_virtual(h_, 64, 32, 30));
    }
    BAD("width 8", acs_local_video_stream_switch_source_virtual(g_pushed_stream, 8, 32, 30));
    BAD("width UINT32_MAX", acs_local_video_stream_switch_source_virtual(g_pushed_stream, UINT32_MAX, 32, 30));
    BAD("height UINT32_MAX", acs_local_video_stream_switch_source_virtual(g_pushed_stream, 64, UINT32_MAX, 30));
    BAD("fps UINT32_MAX", acs_local_video_stream_switch_source_virtual(g_pushed_stream, 64, 32, UINT32_MAX));
}
HANDLE_ONLY(acs_local_video_stream_switch_source_pushed, K_LVS)
SWEEP(acs_local_video_stream_switch_source_camera) {
    {
        FOR_BAD_HANDLES(K_LVS) BAD(hd_, acs_local_video_stream_switch_source_camera(h_, g_camera));
    }
    FOR_BAD_HANDLES(K_CAMERA) BAD(whatf("camera %s", hd_), acs_local_video_stream_switch_source_camera(g_pushed_stream, h_));
}
GETTER(acs_local_video_stream_get_source_kind, K_LVS, int32_t)
GETTER(acs_local_video_stream_get_frame_count, K_LVS, uint64_t)
SWEEP(acs_video_renderer_create_for_local_stream) {
    acs_video_renderer *out = SENTINEL;
    {
        FOR_BAD_HANDLES(K_LVS) BAD(hd_, acs_video_renderer_create_for_local_stream(h_, &out));
    }
    BAD("out NULL", acs_video_renderer_create_for_local_stream(g_virtual_stream, NULL));
    CHECK_UNWRITTEN(out);
}
RETAIN(acs_video_renderer_retain, K_RENDERER)
RELEASE(acs_video_renderer_release, K_RENDERER)
INIT(acs_video_view_options_init)
INIT_SIZED(acs_video_view_options_init_sized, acs_video_view_options)
static void noop_video(void *ud, acs_video_frame *f) {
    (void)ud;
    acs_video_frame_release(f);
}
static void noop_rendered(void *ud, acs_rendered_video_frame *f) {
    (void)ud;
    acs_rendered_video_frame_release(f);
}
SWEEP(acs_video_renderer_create_view) {
    acs_video_view *out = SENTINEL;
    acs_video_view_options o;
#define VOPTS() (ACS_VIDEO_VIEW_OPTIONS_INIT(&o), o.width = 64, o.height = 32)
    VOPTS();
    {
        FOR_BAD_HANDLES(K_RENDERER) BAD(hd_, acs_video_renderer_create_view(h_, &o, &out));
    }
    BAD("options NULL", acs_video_renderer_create_view(g_renderer, NULL, &out));
    BAD("out NULL", acs_video_renderer_create_view(g_renderer, &o, NULL));
    for (size_t i = 0; i < NBADSIZE; i++) {
        VOPTS();
        o.struct_size = BAD_STRUCT_SIZES[i];
        BAD(whatf("struct_size %u", BAD_STRUCT_SIZES[i]), acs_video_renderer_create_view(g_renderer, &o, &out));
    }
    VOPTS(); o.width = 0; BAD("width 0", acs_video_renderer_create_view(g_renderer, &o, &out));
    VOPTS(); o.height = 8193; BAD("height 8193", acs_video_renderer_create_view(g_renderer, &o, &out));
    VOPTS(); o.width = UINT32_MAX; BAD("width UINT32_MAX", acs_video_renderer_create_view(g_renderer, &o, &out));
    for (size_t i = 0; i < NBADENUM; i++) {
        VOPTS(); o.format = BAD_ENUMS[i];
        BAD(whatf("format %d", (int)BAD_ENUMS[i]), acs_video_renderer_create_view(g_renderer, &o, &out));
        VOPTS(); o.scaling_mode = BAD_ENUMS[i];
        BAD(whatf("scaling_mode %d", (int)BAD_ENUMS[i]), acs_video_renderer_create_view(g_renderer, &o, &out));
    }
    VOPTS(); o.frame_callback = noop_video; o.rendered_frame_callback = noop_rendered;
    BAD("both callbacks", acs_video_renderer_create_view(g_renderer, &o, &out));
#undef VOPTS
    CHECK_UNWRITTEN(out);
}
RETAIN(acs_video_view_retain, K_VIEW)
RELEASE(acs_video_view_release, K_VIEW)
#define VIEW_SET(fn, VALID, ...)                                                            \
    SWEEP(fn) {                                                                             \
        {                                                                                   \
            FOR_BAD_HANDLES(K_VIEW) BAD(hd_, fn(h_, VALID));                                \
        }                                                                                   \
        for (size_t i = 0; i < NBADENUM; i++) BAD(whatf("value %d", (int)BAD_ENUMS[i]), fn(g_view, BAD_ENUMS[i])); \
    }
VIEW_SET(acs_video_view_set_scaling_mode, ACS_SCALING_MODE_FIT)
VIEW_SET(acs_video_view_set_format, ACS_PIXEL_FORMAT_RGBA)
SWEEP(acs_video_view_set_mirrored) {
    FOR_BAD_HANDLES(K_VIEW) BAD(hd_, acs_video_view_set_mirrored(h_, true));
}
SWEEP(acs_video_view_set_size) {
    {
        FOR_BAD_HANDLES(K_VIEW) BAD(hd_, acs_video_view_set_size(h_, 64, 32));
    }
    BAD("width 0", acs_video_view_set_size(g_view, 0, 32));
    BAD("height 0", acs_video_view_set_size(g_view, 64, 0));
    BAD("width 8193", acs_video_view_set_size(g_view, 8193, 32));
    BAD("UINT32_MAX", acs_video_view_set_size(g_view, UINT32_MAX, UINT32_MAX));
}
SWEEP(acs_video_view_take_latest_frame) {
    acs_video_frame f;
    {
        FOR_BAD_HANDLES(K_VIEW) BAD(hd_, acs_video_view_take_latest_frame(h_, &f));
    }
    BAD("out NULL", acs_video_view_take_latest_frame(g_view, NULL));
}
GETTER(acs_video_view_get_stats, K_VIEW, acs_video_view_stats)
INIT(acs_video_view_statistics_init)
INIT_SIZED(acs_video_view_statistics_init_sized, acs_video_view_statistics)
STRUCT_GETTER(acs_video_view_get_statistics, K_VIEW, acs_video_view_statistics, ACS_VIDEO_VIEW_STATISTICS_INIT)
INIT(acs_rendered_video_frame_init)
INIT_SIZED(acs_rendered_video_frame_init_sized, acs_rendered_video_frame)
SWEEP(acs_video_view_take_latest_rendered_frame) {
    acs_rendered_video_frame f;
    ACS_RENDERED_VIDEO_FRAME_INIT(&f);
    {
        FOR_BAD_HANDLES(K_VIEW) BAD(hd_, acs_video_view_take_latest_rendered_frame(h_, &f));
    }
    BAD("out NULL", acs_video_view_take_latest_rendered_frame(g_view, NULL));
    f.struct_size = 1;
    BAD("out struct_size 1", acs_video_view_take_latest_rendered_frame(g_view, &f));
}
INIT(acs_video_frame_buffer_init)
INIT_SIZED(acs_video_frame_buffer_init_sized, acs_video_frame_buffer)
/* Frames: `internal` is a handle; a copy of a released frame, a pointer that never was a
   frame, and live handles of other kinds are refused. NULL and a zeroed frame are OK. */
static acs_status frame_counter(const acs_video_frame *f) {
    uint32_t c;
    return acs_video_frame_read_test_pattern_counter(f, &c);
}
static acs_status rendered_counter(const acs_rendered_video_frame *f) {
    uint32_t c;
    return acs_rendered_video_frame_read_test_pattern_counter(f, &c);
}
SWEEP(acs_video_frame_release) {
    acs_video_frame z;
    memset(&z, 0, sizeof z);
    check_documented_ok(FN, "NULL", acs_video_frame_release(NULL));
    check_documented_ok(FN, "zeroed frame", acs_video_frame_release(&z));
    acs_video_frame f = g_stale_frame;
    BAD("a released frame's copy", acs_video_frame_release(&f));
    bad_handle bl[NKINDS + 16];
    int bn = bad_handles(K_VIEW, bl, false);
    for (int i = 0; i < bn; i++) {
        memset(&f, 0, sizeof f);
        f.internal = bl[i].p;
        BAD(whatf("internal %s", bl[i].desc), acs_video_frame_release(&f));
    }
}
SWEEP(acs_rendered_video_frame_release) {
    acs_rendered_video_frame z;
    memset(&z, 0, sizeof z);
    check_documented_ok(FN, "NULL", acs_rendered_video_frame_release(NULL));
    check_documented_ok(FN, "zeroed frame", acs_rendered_video_frame_release(&z));
    acs_rendered_video_frame f = g_stale_rendered;
    BAD("a released frame's copy", acs_rendered_video_frame_release(&f));
    bad_handle bl[NKINDS + 16];
    int bn = bad_handles(K_VIEW, bl, false);
    for (int i = 0; i < bn; i++) {
        ACS_RENDERED_VIDEO_FRAME_INIT(&f);
        f.internal = bl[i].p;
        BAD(whatf("internal %s", bl[i].desc), acs_rendered_video_frame_release(&f));
        memset(&f, 0, sizeof f);
        f.internal = bl[i].p;
        BAD(whatf("struct_size 0, internal %s", bl[i].desc), acs_rendered_video_frame_release(&f));
    }
    for (size_t i = 0; i < NBADSIZE; i++) {
        f = g_stale_rendered;
        f.struct_size = BAD_STRUCT_SIZES[i];
        if (f.struct_size != 0)
            BAD(whatf("struct_size %u", BAD_STRUCT_SIZES[i]), acs_rendered_video_frame_release(&f));
    }
}
SWEEP(acs_video_frame_read_test_pattern_counter) {
    acs_video_frame f;
    memset(&f, 0, sizeof f);
    BAD("frame NULL", acs_video_frame_read_test_pattern_counter(NULL, NULL));
    BAD("zeroed frame", frame_counter(&f));
    f = g_stale_frame;
    BAD("a released frame's copy", frame_counter(&f));
    bad_handle bl[NKINDS + 16];
    int bn = bad_handles(K_VIEW, bl, false);
    for (int i = 0; i < bn; i++) {
        memset(&f, 0, sizeof f);
        f.internal = bl[i].p;
        BAD(whatf("internal %s", bl[i].desc), frame_counter(&f));
    }
}
SWEEP(acs_rendered_video_frame_read_test_pattern_counter) {
    acs_rendered_video_frame f;
    memset(&f, 0, sizeof f);
    BAD("frame NULL", acs_rendered_video_frame_read_test_pattern_counter(NULL, NULL));
    BAD("zeroed frame", rendered_counter(&f));
    f = g_stale_rendered;
    BAD("a released frame's copy", rendered_counter(&f));
    bad_handle bl[NKINDS + 16];
    int bn = bad_handles(K_VIEW, bl, false);
    for (int i = 0; i < bn; i++) {
        ACS_RENDERED_VIDEO_FRAME_INIT(&f);
        f.internal = bl[i].p;
        BAD(whatf("internal %s", bl[i].desc), rendered_counter(&f));
        f.struct_size = 0;
        BAD(whatf("struct_size 0, internal %s", bl[i].desc), rendered_counter(&f));
    }
}

/* ------------------------------------------------------------------------------------ */
/* The list, checked against the header and the library's exports                       */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    void (*sweep)(const char *);
    int needs; /* a kind whose live handle the deeper cases need, or -1 */
} entry;
#define E(name) {#name, sweep_##name, -1}
#define EK(name, K) {#name, sweep_##name, K}

static const entry SWEEPS[] = {
    E(acs_calling_version), E(acs_status_to_string), E(acs_last_error_message),
    E(acs_debug_live_handle_count),
    E(acs_call_client_options_init), E(acs_call_client_options_init_sized),
    E(acs_call_client_create), E(acs_call_client_retain), E(acs_call_client_release),
    E(acs_call_client_dispatch_events), E(acs_call_client_get_device_manager),
    E(acs_call_agent_options_init), E(acs_call_agent_options_init_sized),
    E(acs_call_client_create_call_agent), E(acs_call_agent_set_event_callback),
    E(acs_call_agent_retain), E(acs_call_agent_release), E(acs_call_agent_update_token),
    E(acs_call_agent_register_push_notification), E(acs_call_agent_unregister_push_notification),
    E(acs_call_agent_handle_push_notification),
    E(acs_call_agent_get_connection_state), E(acs_call_agent_get_user_id),
    E(acs_call_agent_get_call_count), E(acs_call_agent_get_call), E(acs_call_agent_start_call),
    E(acs_call_agent_join),
    E(acs_call_options_init), E(acs_call_options_init_sized), E(acs_call_retain),
    E(acs_call_release), EK(acs_call_accept, K_CALL), EK(acs_call_reject, K_CALL),
    E(acs_call_hang_up), E(acs_call_mute), E(acs_call_unmute), E(acs_call_hold),
    E(acs_call_resume), EK(acs_call_set_microphone, K_CALL), EK(acs_call_set_speaker, K_CALL),
    EK(acs_call_get_state, K_CALL), EK(acs_call_get_direction, K_CALL),
    EK(acs_call_is_muted, K_CALL), EK(acs_call_get_end_reason, K_CALL),
    EK(acs_call_get_id, K_CALL), EK(acs_call_get_remote_participant_count, K_CALL),
    EK(acs_call_get_remote_participant, K_CALL), E(acs_call_audio_statistics_init),
    E(acs_call_audio_statistics_init_sized), EK(acs_call_get_audio_statistics, K_CALL),
    E(acs_call_media_statistics_init_sized), EK(acs_call_get_media_statistics, K_CALL),
    EK(acs_call_set_media_statistics_interval, K_CALL),
    EK(acs_call_get_audio_stats, K_CALL), E(acs_audio_processing_options_init),
    E(acs_audio_processing_options_init_sized), E(acs_device_manager_set_audio_processing),
    E(acs_device_manager_get_audio_processing), EK(acs_call_set_audio_processing, K_CALL),
    EK(acs_call_get_audio_processing, K_CALL),
    E(acs_remote_participant_retain), E(acs_remote_participant_release),
    EK(acs_remote_participant_get_identifier, K_PART),
    EK(acs_remote_participant_get_display_name, K_PART),
    EK(acs_remote_participant_get_state, K_PART), EK(acs_remote_participant_is_muted, K_PART),
    EK(acs_remote_participant_is_speaking, K_PART),
    EK(acs_remote_participant_get_identifier_kind, K_PART),
    EK(acs_remote_participant_get_end_reason, K_PART), EK(acs_call_add_participant, K_CALL),
    E(acs_add_participant_options_init), E(acs_add_participant_options_init_sized),
    EK(acs_call_add_participant_with_options, K_CALL), EK(acs_call_remove_participant, K_CALL),
    EK(acs_call_is_group_call, K_CALL), EK(acs_call_get_dominant_speaker_count, K_CALL),
    EK(acs_call_get_dominant_speaker, K_CALL), EK(acs_call_send_dtmf, K_CALL),
    E(acs_identifier_get_kind), EK(acs_call_transfer, K_CALL), E(acs_call_answer_transfer),
    EK(acs_call_agent_join_room, K_AGENT), EK(acs_call_admit, K_CALL), EK(acs_call_admit_all, K_CALL),
    EK(acs_call_reject_participant, K_CALL), EK(acs_call_mute_participant, K_CALL),
    EK(acs_call_mute_all_remote_participants, K_CALL), EK(acs_remote_participant_get_role, K_PART),
    EK(acs_remote_participant_get_video_stream, K_PART), E(acs_remote_video_stream_retain),
    E(acs_remote_video_stream_release), EK(acs_remote_video_stream_get_kind, K_RVS),
    EK(acs_remote_video_stream_get_id, K_RVS), EK(acs_remote_video_stream_is_available, K_RVS),
    EK(acs_remote_video_stream_is_subscribed, K_RVS),
    EK(acs_remote_video_stream_get_participant_id, K_RVS),
    EK(acs_remote_video_stream_subscribe, K_RVS), E(acs_remote_video_stream_unsubscribe),
    E(acs_video_receive_stats_init), E(acs_video_receive_stats_init_sized),
    EK(acs_remote_video_stream_get_stats, K_RVS), E(acs_video_send_stats_init),
    E(acs_video_send_stats_init_sized), EK(acs_call_start_video, K_CALL),
    EK(acs_call_start_screen_sharing, K_CALL),
    EK(acs_video_renderer_create_for_remote_stream, K_RVS), EK(acs_call_stop_video, K_CALL),
    EK(acs_call_is_sending_video, K_CALL), EK(acs_call_get_video_send_stats, K_CALL),
    E(acs_device_manager_retain), E(acs_device_manager_release),
    E(acs_device_manager_get_microphones), E(acs_device_manager_get_speakers),
    E(acs_device_manager_get_cameras), E(acs_device_manager_set_microphone),
    E(acs_device_manager_set_speaker), E(acs_device_manager_set_camera),
    E(acs_device_manager_remove_device), E(acs_device_manager_get_selected_microphone),
    E(acs_device_manager_get_selected_speaker), E(acs_device_manager_get_selected_camera),
    E(acs_device_manager_ask_device_permission), E(acs_device_manager_set_event_callback),
    E(acs_device_manager_refresh_devices), E(acs_device_manager_create_tone_microphone),
    E(acs_device_manager_create_wav_microphone), E(acs_device_manager_create_push_microphone),
    E(acs_device_manager_create_wav_speaker), E(acs_device_manager_create_pull_speaker),
    E(acs_device_manager_create_callback_speaker), E(acs_audio_device_retain),
    E(acs_audio_device_release), E(acs_audio_device_get_id), E(acs_audio_device_get_name),
    E(acs_audio_device_get_kind), E(acs_audio_device_is_default), E(acs_audio_device_is_virtual),
    E(acs_audio_device_push_pcm), E(acs_audio_device_pull_pcm), E(acs_audio_tone_power),
    E(acs_screen_sources_get), E(acs_screen_source_retain), E(acs_screen_source_release),
    E(acs_screen_source_get_id), E(acs_screen_source_get_title),
    E(acs_screen_source_get_application), E(acs_screen_source_get_kind),
    E(acs_screen_source_get_geometry), E(acs_screen_source_get_thumbnail),
    E(acs_local_video_stream_create_from_screen), E(acs_local_video_stream_switch_source_screen),
    E(acs_screen_capture_options_init), E(acs_screen_capture_options_init_sized),
    E(acs_local_video_stream_create_from_screen_with_options),
    E(acs_local_video_stream_switch_source_screen_with_options),
    E(acs_local_video_stream_get_share_state),
    E(acs_camera_retain), E(acs_camera_release), E(acs_camera_get_id), E(acs_camera_get_name),
    E(acs_camera_is_default), E(acs_camera_options_init), E(acs_camera_options_init_sized),
    E(acs_camera_capture_format_init), E(acs_camera_capture_format_init_sized),
    E(acs_local_video_stream_create_from_camera_with_options),
    E(acs_local_video_stream_switch_source_camera_with_options),
    E(acs_local_video_stream_get_camera_format), E(acs_local_video_stream_get_source_error),
    E(acs_local_video_stream_create_virtual), E(acs_local_video_stream_create_pushed),
    E(acs_local_video_stream_create_from_camera), E(acs_local_video_stream_retain),
    E(acs_local_video_stream_release), E(acs_local_video_stream_push_frame),
    E(acs_local_video_stream_switch_source_virtual), E(acs_local_video_stream_switch_source_pushed),
    E(acs_local_video_stream_switch_source_camera), E(acs_local_video_stream_get_source_kind),
    E(acs_local_video_stream_get_frame_count), E(acs_video_renderer_create_for_local_stream),
    E(acs_video_renderer_retain), E(acs_video_renderer_release), E(acs_video_view_options_init),
    E(acs_video_view_options_init_sized), E(acs_video_renderer_create_view),
    E(acs_video_view_retain), E(acs_video_view_release), E(acs_video_view_set_scaling_mode),
    E(acs_video_view_set_format), E(acs_video_view_set_mirrored), E(acs_video_view_set_size),
    E(acs_video_view_take_latest_frame), E(acs_video_view_get_stats),
    E(acs_video_view_statistics_init), E(acs_video_view_statistics_init_sized),
    E(acs_video_view_get_statistics), E(acs_rendered_video_frame_init),
    E(acs_rendered_video_frame_init_sized), E(acs_video_view_take_latest_rendered_frame),
    E(acs_video_frame_buffer_init), E(acs_video_frame_buffer_init_sized),
    E(acs_video_frame_release), E(acs_rendered_video_frame_release),
    E(acs_video_frame_read_test_pattern_counter),
    E(acs_rendered_video_frame_read_test_pattern_counter),
};
#define NSWEEPS (sizeof SWEEPS / sizeof SWEEPS[0])

static bool in_sweep(const char *name, size_t len) {
    for (size_t i = 0; i < NSWEEPS; i++)
        if (strlen(SWEEPS[i].name) == len && strncmp(SWEEPS[i].name, name, len) == 0) return true;
    return false;
}

#define MAX_NAMES 1024
typedef struct {
    char *names[MAX_NAMES];
    size_t n;
} name_set;

static void add_name(name_set *s, const char *p, size_t len) {
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->names[i]) == len && strncmp(s->names[i], p, len) == 0) return;
    if (s->n < MAX_NAMES) s->names[s->n++] = strndup(p, len);
}

static bool has_name(const name_set *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) return true;
    return false;
}

static void free_names(name_set *s) {
    for (size_t i = 0; i < s->n; i++) free(s->names[i]);
    s->n = 0;
}

/* Function declarations of the header: `acs_<name>(` outside comments and #defines. */
static bool header_functions(const char *path, name_set *out) {
    FILE *f = fopen(path, "r");
    char line[4096];
    bool in_comment = false;
    if (!f) return false;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        if (in_comment) {
            char *end = strstr(p, "*/");
            if (!end) continue;
            in_comment = false;
            p = end + 2;
        }
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, "//", 2) == 0 || *p == '#') continue;
        if (strncmp(p, "/*", 2) == 0) {  /* a comment line, or the start of a block */
            in_comment = strstr(p + 2, "*/") == NULL;
            continue;
        }
        if (strncmp(p, "typedef", 7) == 0) continue;
        /* a declaration: the first identifier followed by '(' is the function's name */
        for (char *q = p; *q; q++) {
            if (*q == '(') {
                char *e = q;
                char *b = e;
                while (b > p && (b[-1] == '_' || (b[-1] >= 'a' && b[-1] <= 'z') || (b[-1] >= '0' && b[-1] <= '9'))) b--;
                if (e - b > 4 && strncmp(b, "acs_", 4) == 0 && (b == p || b[-1] == ' ' || b[-1] == '*'))
                    add_name(out, b, (size_t)(e - b));
                break;
            }
        }
    }
    fclose(f);
    return true;
}

/* Defined functions named acs_* in the library's dynamic symbol table. */
static bool library_functions(name_set *out, char *path, size_t cap) {
    Dl_info info;
    if (!dladdr((void *)acs_calling_version, &info) || !info.dli_fname) return false;
    snprintf(path, cap, "%s", info.dli_fname);
    int fd = open(info.dli_fname, O_RDONLY);
    if (fd < 0) return false;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return false;
    }
    unsigned char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return false;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
    bool ok = memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64;
    if (ok) {
        const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + eh->e_shoff);
        for (int i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != SHT_DYNSYM) continue;
            const Elf64_Sym *sym = (const Elf64_Sym *)(m + sh[i].sh_offset);
            const char *strtab = (const char *)(m + sh[sh[i].sh_link].sh_offset);
            size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
            for (size_t j = 0; j < n; j++) {
                const char *name = strtab + sym[j].st_name;
                if (sym[j].st_shndx != SHN_UNDEF && ELF64_ST_TYPE(sym[j].st_info) == STT_FUNC &&
                    strncmp(name, "acs_", 4) == 0)
                    add_name(out, name, strlen(name));
            }
        }
    }
    munmap(m, (size_t)st.st_size);
    return ok;
}

static void check_coverage(const char *header) {
    name_set hdr = {{0}, 0}, lib = {{0}, 0};
    char lib_path[1024] = "";
    if (!header_functions(header, &hdr) || hdr.n < 100) {
        fail("coverage: could not read the header's functions from %s (%zu found)", header, hdr.n);
    }
    if (!library_functions(&lib, lib_path, sizeof lib_path) || lib.n < 100) {
        fail("coverage: could not read the exports of %s (%zu found)", lib_path, lib.n);
    }
    for (size_t i = 0; i < hdr.n; i++)
        if (!in_sweep(hdr.names[i], strlen(hdr.names[i])))
            fail("coverage: %s is declared in the header but not swept", hdr.names[i]);
    for (size_t i = 0; i < lib.n; i++) {
        if (!in_sweep(lib.names[i], strlen(lib.names[i])))
            fail("coverage: %s is exported by the library but not swept", lib.names[i]);
        if (!has_name(&hdr, lib.names[i]))
            fail("coverage: %s is exported by the library but not declared in the header", lib.names[i]);
    }
    for (size_t i = 0; i < NSWEEPS; i++) {
        if (!has_name(&hdr, SWEEPS[i].name)) fail("coverage: swept %s is not in the header", SWEEPS[i].name);
        if (!has_name(&lib, SWEEPS[i].name)) fail("coverage: swept %s is not exported", SWEEPS[i].name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(SWEEPS[i].name, SWEEPS[j].name) == 0) fail("coverage: %s swept twice", SWEEPS[i].name);
    }
    printf("coverage: %zu functions in the header, %zu acs_* exports in %s, %zu swept\n", hdr.n,
           lib.n, lib_path, NSWEEPS);
    free_names(&hdr);
    free_names(&lib);
}

/* ------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    service_args svc = {NULL, NULL, NULL};
    const char *header = ACS_HEADER_PATH;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--service-url") == 0) svc.service_url = argv[i + 1];
        else if (strcmp(argv[i], "--token-a") == 0) svc.token_a = argv[i + 1];
        else if (strcmp(argv[i], "--token-b") == 0) svc.token_b = argv[i + 1];
        else if (strcmp(argv[i], "--header") == 0) header = argv[i + 1];
        /* other options of the C suite (--unknown-user, --phone) are not needed here */
    }
    bool with_service = svc.service_url && svc.token_a && svc.token_b;
    int64_t t0 = now_ms();

    check_coverage(header);

    g_huge_string = malloc(HUGE_STRING_BYTES + 1);
    memset(g_huge_string, 'a', HUGE_STRING_BYTES);
    g_huge_string[HUGE_STRING_BYTES] = '\0';
    g_dangling = malloc(64);
    free(g_dangling); /* only its value is used: never dereferenced */
    snprintf(g_wav_path, sizeof g_wav_path, "/tmp/acs-badinput-%d.wav", (int)getpid());
    snprintf(g_wav_out_path, sizeof g_wav_out_path, "/tmp/acs-badinput-out-%d.wav", (int)getpid());
    write_wav(g_wav_path);

    make_stale(with_service ? &svc : NULL);
    make_live(with_service ? &svc : NULL);
    for (int k = 0; k < NKINDS; k++) {
        if (!g_stale[k]) printf("note: no released %s handle (needs a service)\n", KIND_NAME[k]);
        if (!g_live[k]) printf("note: no live %s handle (needs a service)\n", KIND_NAME[k]);
    }

    for (size_t i = 0; i < NSWEEPS; i++) {
        g_fn_calls = 0;
        SWEEPS[i].sweep(SWEEPS[i].name);
        if (SWEEPS[i].needs >= 0 && !g_live[SWEEPS[i].needs])
            skip(SWEEPS[i].name, "only the bad-handle cases: no live handle to vary the other arguments with");
        printf("  %-60s %4ld bad calls\n", SWEEPS[i].name, g_fn_calls);
    }
    fflush(stdout);

    release_live();
    remove(g_wav_path);
    remove(g_wav_out_path);
    free(g_huge_string);
    size_t left = acs_debug_live_handle_count();
    if (left != 0) fail("%zu live handles left after releasing everything", left);
    printf("\nbadinput: %zu exports swept, %ld bad calls (each refused with a status), %ld "
           "documented-OK NULL calls, %ld probes of functions without a status, %d skips, "
           "%d failures, %.1f s%s\n",
           NSWEEPS, g_bad_calls, g_documented_ok, g_probes, g_skips, g_failures,
           (double)(now_ms() - t0) / 1000.0, with_service ? "" : " (no service)");
    return g_failures ? 1 : 0;
}
