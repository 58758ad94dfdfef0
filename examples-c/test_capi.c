/*
 * test_capi.c — the C test program of libacscalling, built with -Wall -Wextra -Werror and
 * run under AddressSanitizer + UndefinedBehaviorSanitizer by run_c_tests.sh.
 *
 * Part 1 (always): bad input and the API's contracts — NULL, bogus, released and wrong-type
 * handles, invalid UTF-8, garbage and expired tokens, NULL out-parameters, small string
 * buffers, status names, the last error message, versions, events (thread and manual
 * dispatch) of an agent whose service is down, and no handle leaked at the end.
 * Checks that need the audio devices are skipped (SKIP lines) while the media layer is an
 * interface stub, unless ACS_TEST_REQUIRE_MEDIA=1.
 *
 * Part 2 (only with --service-url, --token-a, --token-b, --unknown-user): real calls
 * through a running acscalling-service — Alice (440 Hz) <-> Bob (660 Hz), mute, hold,
 * hang up, the echo bot, an unknown user (404) and a service that is down (503).
 *
 * Prints one line per check ("ok - ..." / "FAIL - ..." / "SKIP - ...") and exits 1 if any
 * check failed.
 */
#define _POSIX_C_SOURCE 200809L

#include "acscalling.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------ */
/* Check reporting                                                                      */
/* ------------------------------------------------------------------------------------ */

static int g_failures;
static int g_checks;
static int g_skips;

static void report(bool ok, const char *fmt, ...) {
    va_list ap;
    g_checks++;
    if (!ok) {
        g_failures++;
    }
    printf("%s - ", ok ? "ok" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static void skip(const char *what, const char *why) {
    g_skips++;
    printf("SKIP - %s (%s)\n", what, why);
    fflush(stdout);
}

static const char *last_error(void) {
    static char buf[512];
    buf[0] = '\0';
    acs_last_error_message(buf, sizeof buf);
    return buf;
}

/* Checks that `got` equals `want`; on failure prints both names and the last error. */
static bool expect_status(acs_status got, acs_status want, const char *what) {
    bool ok = got == want;
    if (ok) {
        report(true, "%s -> %s", what, acs_status_to_string(want));
    } else {
        report(false, "%s -> %s (%d), expected %s (%d); last error: %s", what,
               acs_status_to_string(got), (int)got, acs_status_to_string(want), (int)want,
               last_error());
    }
    return ok;
}

#define EXPECT(expr, want) expect_status((expr), (want), #expr)
#define EXPECT_OK(expr) expect_status((expr), ACS_OK, #expr)

/* ------------------------------------------------------------------------------------ */
/* Time                                                                                 */
/* ------------------------------------------------------------------------------------ */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ------------------------------------------------------------------------------------ */
/* Event log: every event of one agent, kept for the waits below                        */
/* ------------------------------------------------------------------------------------ */

#define MAX_EVENTS 512

typedef struct {
    int32_t kind;
    acs_call *call; /* compared by value only: valid while the test holds a reference */
    int32_t state;
    int32_t code;
    int32_t subcode;
    bool flag;
    pthread_t thread;
} logged_event;

typedef struct {
    const char *name;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    logged_event events[MAX_EVENTS];
    size_t count;
    acs_call *incoming;              /* retained in the callback; released by the test */
    int reentrant_failures;          /* API calls made from inside the callback that failed */
    acs_call_client *manual_client;  /* non-NULL: waits pump dispatch_events themselves */
    bool verbose;
} event_log;

static void event_log_init(event_log *t, const char *name) {
    pthread_condattr_t attr;
    memset(t, 0, sizeof *t);
    t->name = name;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &attr);
    pthread_condattr_destroy(&attr);
}

static void event_log_destroy(event_log *t) {
    acs_call_release(t->incoming);
    t->incoming = NULL;
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

static const char *event_name(int32_t kind) {
    switch (kind) {
    case ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED: return "AGENT_CONNECTION_STATE_CHANGED";
    case ACS_EVENT_INCOMING_CALL: return "INCOMING_CALL";
    case ACS_EVENT_CALL_STATE_CHANGED: return "CALL_STATE_CHANGED";
    case ACS_EVENT_CALL_MUTE_CHANGED: return "CALL_MUTE_CHANGED";
    case ACS_EVENT_PARTICIPANT_ADDED: return "PARTICIPANT_ADDED";
    case ACS_EVENT_PARTICIPANT_REMOVED: return "PARTICIPANT_REMOVED";
    case ACS_EVENT_PARTICIPANT_STATE_CHANGED: return "PARTICIPANT_STATE_CHANGED";
    case ACS_EVENT_PARTICIPANT_MUTE_CHANGED: return "PARTICIPANT_MUTE_CHANGED";
    default: return "?";
    }
}

/* The event callback: runs on the library's dispatch thread (or inside dispatch_events). */
static void on_event(void *user_data, const acs_event *e) {
    event_log *t = (event_log *)user_data;
    int32_t st = -1;
    int reentrant_failed = 0;

    /* The callback may call back into the library (no internal lock is held). */
    if (acs_call_agent_get_connection_state(e->agent, &st) != ACS_OK) {
        reentrant_failed = 1;
    }
    if (e->call != NULL && acs_call_get_state(e->call, &st) != ACS_OK) {
        reentrant_failed = 1;
    }

    pthread_mutex_lock(&t->mu);
    if (t->verbose) {
        printf("  [%s] %s state=%d code=%d/%d flag=%d%s%s\n", t->name, event_name(e->kind),
               (int)e->state, (int)e->code, (int)e->subcode, (int)e->flag,
               e->message ? " message=" : "", e->message ? e->message : "");
        fflush(stdout);
    }
    t->reentrant_failures += reentrant_failed;
    if (e->kind == ACS_EVENT_INCOMING_CALL && e->call != NULL) {
        /* Borrowed for the callback: retain to keep it. */
        if (acs_call_retain(e->call) == ACS_OK) {
            acs_call_release(t->incoming);
            t->incoming = e->call;
        }
    }
    if (t->count < MAX_EVENTS) {
        logged_event *l = &t->events[t->count++];
        l->kind = e->kind;
        l->call = e->call;
        l->state = e->state;
        l->code = e->code;
        l->subcode = e->subcode;
        l->flag = e->flag;
        l->thread = pthread_self();
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/*
 * Waits for an event of `kind` (for `call` unless NULL, in `state` unless -1) logged at or
 * after index *cursor. On success copies it to *out (may be NULL), moves *cursor past it
 * and returns true.
 */
static bool wait_event(event_log *t, size_t *cursor, int32_t kind, acs_call *call, int32_t state,
                       int timeout_ms, logged_event *out) {
    int64_t deadline = now_ms() + timeout_ms;
    bool found = false;
    for (;;) {
        size_t i;
        int64_t left;
        if (t->manual_client != NULL) {
            uint32_t n = 0;
            acs_call_client_dispatch_events(t->manual_client, 50, &n);
        }
        pthread_mutex_lock(&t->mu);
        for (i = *cursor; i < t->count; i++) {
            const logged_event *l = &t->events[i];
            if (l->kind == kind && (call == NULL || l->call == call) &&
                (state < 0 || l->state == state)) {
                if (out != NULL) {
                    *out = *l;
                }
                *cursor = i + 1;
                found = true;
                break;
            }
        }
        left = deadline - now_ms();
        if (!found && left > 0 && t->manual_client == NULL) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 50L * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec += 1;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
        }
        pthread_mutex_unlock(&t->mu);
        if (found || left <= 0) {
            return found;
        }
    }
}

static size_t event_log_count(event_log *t) {
    size_t n;
    pthread_mutex_lock(&t->mu);
    n = t->count;
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* ------------------------------------------------------------------------------------ */
/* Tokens and ports                                                                     */
/* ------------------------------------------------------------------------------------ */

static void base64url(const unsigned char *in, size_t n, char *out) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
    }
    out[o] = '\0';
}

#define FAKE_USER "8:acs:00000000-0000-4000-8000-00000000c0de"

/*
 * Builds an HS256-shaped JWT with the given claims and a signature that only the service
 * would reject (the library checks shape, scope and expiry; the service checks signatures).
 */
static void make_jwt(char *out, size_t cap, const char *sub, long long exp, const char *scope) {
    char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char payload_json[512];
    unsigned char sig[32];
    char h64[128], p64[1024], s64[64];
    long long now = (long long)time(NULL);
    memset(sig, 0x5a, sizeof sig);
    snprintf(payload_json, sizeof payload_json,
             "{\"sub\":\"%s\",\"exp\":%lld,\"iat\":%lld,\"scope\":\"%s\",\"jti\":\"c-test\"}", sub,
             exp, now - 7200, scope);
    base64url((const unsigned char *)header_json, strlen(header_json), h64);
    base64url((const unsigned char *)payload_json, strlen(payload_json), p64);
    base64url(sig, sizeof sig, s64);
    snprintf(out, cap, "%s.%s.%s", h64, p64, s64);
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int closed_port(void) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int port = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return port;
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

/* ------------------------------------------------------------------------------------ */
/* Part 1: contracts                                                                    */
/* ------------------------------------------------------------------------------------ */

static void test_version(void) {
    char macro[64];
    const char *rt = acs_calling_version();
    snprintf(macro, sizeof macro, "%d.%d.%d", ACS_CALLING_VERSION_MAJOR, ACS_CALLING_VERSION_MINOR,
             ACS_CALLING_VERSION_PATCH);
    report(rt != NULL && strcmp(rt, macro) == 0,
           "ACS_CALLING_VERSION_MAJOR.MINOR.PATCH (%s) == acs_calling_version() (%s)", macro,
           rt ? rt : "(null)");
    report(rt != NULL && strcmp(rt, ACS_CALLING_VERSION_STRING) == 0,
           "ACS_CALLING_VERSION_STRING (%s) == acs_calling_version()", ACS_CALLING_VERSION_STRING);
}

static void test_status_strings(void) {
    static const acs_status codes[] = {
        ACS_OK, ACS_ERR_INVALID_ARGUMENT, ACS_ERR_NULL_POINTER, ACS_ERR_INVALID_HANDLE,
        ACS_ERR_INVALID_UTF8, ACS_ERR_BUFFER_TOO_SMALL, ACS_ERR_INVALID_STATE,
        ACS_ERR_NOT_FOUND, ACS_ERR_UNAUTHORIZED, ACS_ERR_NETWORK, ACS_ERR_DEVICE,
        ACS_ERR_TIMEOUT, ACS_ERR_UNSUPPORTED, ACS_ERR_IO, ACS_ERR_LIMIT_REACHED,
        ACS_ERR_SERVICE, ACS_ERR_INTERNAL, ACS_ERR_PANIC,
    };
    const size_t n = sizeof codes / sizeof codes[0];
    const char *unknown = acs_status_to_string(12345);
    size_t i, j;
    bool all_named = true, all_distinct = true;
    for (i = 0; i < n; i++) {
        const char *s = acs_status_to_string(codes[i]);
        if (s == NULL || s[0] == '\0' || (unknown != NULL && strcmp(s, unknown) == 0)) {
            all_named = false;
            printf("  status %d has no name\n", (int)codes[i]);
        }
        for (j = 0; j < i && s != NULL; j++) {
            const char *o = acs_status_to_string(codes[j]);
            if (o != NULL && strcmp(s, o) == 0) {
                all_distinct = false;
                printf("  status %d and %d share the name '%s'\n", (int)codes[i], (int)codes[j], s);
            }
        }
    }
    report(all_named, "acs_status_to_string names all %zu status codes", n);
    report(all_distinct, "acs_status_to_string names are distinct");
    report(unknown != NULL && unknown[0] != '\0' && acs_status_to_string(-50) != NULL &&
               acs_status_to_string(INT32_MIN) != NULL && acs_status_to_string(1) != NULL,
           "acs_status_to_string(unknown codes) is never NULL ('%s')", unknown ? unknown : "(null)");
    report(ACS_OK == 0 && ACS_ERR_INVALID_ARGUMENT == -1 && ACS_ERR_NULL_POINTER == -2 &&
               ACS_ERR_INVALID_HANDLE == -3 && ACS_ERR_INVALID_UTF8 == -4 &&
               ACS_ERR_BUFFER_TOO_SMALL == -5 && ACS_ERR_UNAUTHORIZED == -8 &&
               ACS_ERR_SERVICE == -15 && ACS_ERR_INTERNAL == -98 && ACS_ERR_PANIC == -99,
           "status numbers are the published, stable ones");
}

static void test_null_and_bogus_handles(void) {
    int32_t st = 0;
    size_t n = 0;
    bool flag = false;
    char buf[16];
    int on_stack = 0;
    acs_device_manager *dm = NULL;
    acs_call *bogus_call = (acs_call *)(uintptr_t)0x1234;
    acs_call_agent *bogus_agent = (acs_call_agent *)(uintptr_t)0x1234;
    acs_call *stack_call = (acs_call *)(void *)&on_stack;
    acs_audio_device *bogus_dev = (acs_audio_device *)(uintptr_t)0xdeadbeef0ULL;

    /* NULL handles */
    EXPECT(acs_call_get_state(NULL, &st), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_hang_up(NULL, false), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_retain(NULL), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_agent_get_connection_state(NULL, &st), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_client_get_device_manager(NULL, &dm), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_client_dispatch_events(NULL, 0, NULL), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_device_manager_get_microphones(NULL, NULL, 0, &n), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_audio_device_get_kind(NULL, &st), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_remote_participant_get_state(NULL, &st), ACS_ERR_INVALID_HANDLE);
    report(dm == NULL, "no output written on failure (out_device_manager still NULL)");

    /* release(NULL) is OK for every type */
    EXPECT_OK(acs_call_client_release(NULL));
    EXPECT_OK(acs_call_agent_release(NULL));
    EXPECT_OK(acs_call_release(NULL));
    EXPECT_OK(acs_remote_participant_release(NULL));
    EXPECT_OK(acs_device_manager_release(NULL));
    EXPECT_OK(acs_audio_device_release(NULL));

    /* Bogus values: never dereferenced */
    EXPECT(acs_call_get_state(bogus_call, &st), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_retain(bogus_call), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_release(bogus_call), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_mute(bogus_call), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_get_id(bogus_call, buf, sizeof buf, &n), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_agent_get_call_count(bogus_agent, &n), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_get_state(stack_call, &st), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_release(stack_call), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_audio_device_is_virtual(bogus_dev, &flag), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_client_release((acs_call_client *)(uintptr_t)UINTPTR_MAX), ACS_ERR_INVALID_HANDLE);
}

static void test_last_error_message(void) {
    char small[8];
    char full[512];
    size_t need, need2;
    acs_status s = acs_call_get_state(NULL, NULL);
    report(s != ACS_OK, "an error is returned for acs_call_get_state(NULL, NULL) (%s)",
           acs_status_to_string(s));
    need = acs_last_error_message(NULL, 0);
    report(need > 1, "acs_last_error_message(NULL, 0) reports the size (%zu)", need);
    memset(small, 'X', sizeof small);
    need2 = acs_last_error_message(small, sizeof small);
    report(need2 == need && small[sizeof small - 1] == '\0' && strlen(small) == sizeof small - 1,
           "acs_last_error_message truncates to the buffer and NUL-terminates ('%s')", small);
    acs_last_error_message(full, sizeof full);
    report(strlen(full) + 1 == need && full[0] != '\0', "last error message: \"%s\"", full);
}

static void test_client_options(void) {
    acs_call_client_options o;
    acs_call_client *c = NULL;
    EXPECT(acs_call_client_options_init(NULL), ACS_ERR_NULL_POINTER);
    EXPECT(acs_call_client_options_init_sized(NULL, 64), ACS_ERR_NULL_POINTER);
    EXPECT(acs_call_client_create(NULL, NULL), ACS_ERR_NULL_POINTER);
    EXPECT_OK(ACS_CALL_CLIENT_OPTIONS_INIT(&o));
    report(o.struct_size == sizeof o && o.dispatch_mode == ACS_DISPATCH_THREAD &&
               o.log_callback == NULL,
           "ACS_CALL_CLIENT_OPTIONS_INIT sets struct_size and defaults");
    o.dispatch_mode = 7;
    EXPECT(acs_call_client_create(&o, &c), ACS_ERR_INVALID_ARGUMENT);
    memset(&o, 0, sizeof o);
    EXPECT(acs_call_client_create(&o, &c), ACS_ERR_INVALID_ARGUMENT);
    report(c == NULL, "no client written on failure");
}

/* Handles of the wrong type and released handles. */
static void test_wrong_type_and_released(acs_call_client *client) {
    acs_device_manager *dm = NULL;
    acs_call_client *c2 = NULL;
    acs_device_manager *dm2 = NULL;
    int32_t st = 0;
    size_t n = 0;

    if (!EXPECT_OK(acs_call_client_get_device_manager(client, &dm))) {
        return;
    }
    EXPECT(acs_call_get_state((acs_call *)dm, &st), ACS_ERR_INVALID_HANDLE);
    printf("  (message: %s)\n", last_error());
    EXPECT(acs_call_hang_up((acs_call *)dm, true), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_release((acs_call *)dm), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_agent_get_call_count((acs_call_agent *)client, &n), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_audio_device_release((acs_audio_device *)dm), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_client_get_device_manager((acs_call_client *)dm, &dm2), ACS_ERR_INVALID_HANDLE);
    /* The wrong-type release above must not have dropped the device manager's reference. */
    EXPECT_OK(acs_device_manager_retain(dm));
    EXPECT_OK(acs_device_manager_release(dm));
    EXPECT_OK(acs_device_manager_release(dm));

    /* Thread-dispatch client: manual dispatch is a state error. */
    EXPECT(acs_call_client_dispatch_events(client, 0, NULL), ACS_ERR_INVALID_STATE);

    /* Released handles: a second client, used after its last release. */
    if (!EXPECT_OK(acs_call_client_create(NULL, &c2))) {
        return;
    }
    EXPECT_OK(acs_call_client_get_device_manager(c2, &dm2));
    EXPECT_OK(acs_call_client_retain(c2));
    EXPECT_OK(acs_call_client_release(c2));
    EXPECT_OK(acs_device_manager_release(dm2));
    EXPECT(acs_device_manager_retain(dm2), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_device_manager_release(dm2), ACS_ERR_INVALID_HANDLE);
    EXPECT_OK(acs_call_client_release(c2));
    EXPECT(acs_call_client_get_device_manager(c2, &dm2), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_client_release(c2), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_client_retain(c2), ACS_ERR_INVALID_HANDLE);
}

static acs_status create_agent(acs_call_client *client, const char *url, const char *token,
                               event_log *log, acs_call_agent **out) {
    acs_call_agent_options o;
    acs_status s = ACS_CALL_AGENT_OPTIONS_INIT(&o);
    if (s != ACS_OK) {
        return s;
    }
    o.service_url = url;
    o.token = token;
    o.display_name = log ? log->name : NULL;
    o.event_callback = log ? on_event : NULL;
    o.event_user_data = log;
    return acs_call_client_create_call_agent(client, &o, out);
}

static void test_agent_input(acs_call_client *client) {
    char valid[2048], expired[2048], noscope[2048];
    char url[64];
    acs_call_agent_options o;
    acs_call_agent *agent = NULL;
    long long now = (long long)time(NULL);

    snprintf(url, sizeof url, "ws://127.0.0.1:%d", closed_port());
    make_jwt(valid, sizeof valid, FAKE_USER, now + 3600, "voip");
    make_jwt(expired, sizeof expired, FAKE_USER, now - 3600, "voip");
    make_jwt(noscope, sizeof noscope, FAKE_USER, now + 3600, "chat");

    EXPECT(acs_call_agent_options_init(NULL), ACS_ERR_NULL_POINTER);

    EXPECT(acs_call_agent_options_init_sized(NULL, 64), ACS_ERR_NULL_POINTER);
    EXPECT(acs_call_client_create_call_agent(client, NULL, &agent), ACS_ERR_NULL_POINTER);
    EXPECT_OK(ACS_CALL_AGENT_OPTIONS_INIT(&o));
    report(o.struct_size == sizeof o && o.service_url == NULL && o.event_callback == NULL,
           "ACS_CALL_AGENT_OPTIONS_INIT sets struct_size and NULLs");
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_NULL_POINTER);
    o.service_url = url;
    o.token = valid;
    EXPECT(acs_call_client_create_call_agent(client, &o, NULL), ACS_ERR_NULL_POINTER);
    EXPECT(acs_call_client_create_call_agent((acs_call_client *)(uintptr_t)0x1234, &o, &agent),
           ACS_ERR_INVALID_HANDLE);
    o.struct_size = 0;
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_INVALID_ARGUMENT);
    o.struct_size = sizeof o;

    /* Invalid UTF-8 in each string */
    o.service_url = "ws://127.0.0.1:1/\xff\xfe";
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_INVALID_UTF8);
    o.service_url = url;
    o.token = "ey\xc3\x28.x.y";
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_INVALID_UTF8);
    o.token = valid;
    o.display_name = "Al\xed\xa0\x80ice"; /* an encoded UTF-16 surrogate is not UTF-8 */
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_INVALID_UTF8);
    o.display_name = NULL;

    /* URLs and tokens */
    o.service_url = "http://127.0.0.1:8080";
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_INVALID_ARGUMENT);
    o.service_url = url;
    o.token = "garbage";
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_UNAUTHORIZED);
    o.token = "a.b.c";
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_UNAUTHORIZED);
    o.token = "";
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_UNAUTHORIZED);
    o.token = expired;
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_UNAUTHORIZED);
    printf("  (message: %s)\n", last_error());
    report(strstr(last_error(), "expire") != NULL, "the expired token's message says it expired");
    o.token = noscope;
    EXPECT(acs_call_client_create_call_agent(client, &o, &agent), ACS_ERR_UNAUTHORIZED);
    report(agent == NULL, "no agent written on failure");
}

/*
 * An agent whose service is down: the call agent is created (the library cannot verify a
 * signature), then reports Connecting and Disconnected with code 503. Also covers string
 * getters, NULL out-params, token updates and start_call input checks on a live agent.
 */
static void test_agent_service_down(acs_call_client *client, bool manual, const char *token_in) {
    char token[2048];
    char url[64];
    event_log log;
    acs_call_agent *agent = NULL;
    logged_event ev;
    size_t cursor = 0;
    const char *mode = manual ? "manual dispatch" : "thread dispatch";

    event_log_init(&log, manual ? "down-manual" : "down-thread");
    if (manual) {
        log.manual_client = client;
    }
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", closed_port());
    if (token_in != NULL) {
        snprintf(token, sizeof token, "%s", token_in);
    } else {
        make_jwt(token, sizeof token, FAKE_USER, (long long)time(NULL) + 3600, "voip");
    }

    if (!expect_status(create_agent(client, url, token, &log, &agent), ACS_OK,
                       manual ? "create agent (manual dispatch, service down)"
                              : "create agent (thread dispatch, service down)")) {
        event_log_destroy(&log);
        return;
    }

    if (token_in == NULL) {
        /* String getter with small buffers: the needed size is always reported. */
        char buf[128];
        size_t needed = 0;
        const size_t want = strlen(FAKE_USER) + 1;
        EXPECT(acs_call_agent_get_user_id(agent, NULL, 0, &needed), ACS_OK);
        report(needed == want, "get_user_id(NULL, 0) reports the needed size %zu (want %zu)", needed, want);
        memset(buf, 'X', sizeof buf);
        needed = 0;
        EXPECT(acs_call_agent_get_user_id(agent, buf, 4, &needed), ACS_ERR_BUFFER_TOO_SMALL);
        report(needed == want && buf[0] == 'X',
               "get_user_id(buf, 4) reports %zu and leaves the buffer alone", needed);
        EXPECT(acs_call_agent_get_user_id(agent, buf, want - 1, &needed), ACS_ERR_BUFFER_TOO_SMALL);
        EXPECT(acs_call_agent_get_user_id(agent, buf, want, NULL), ACS_OK);
        report(strcmp(buf, FAKE_USER) == 0, "get_user_id(buf, exact size) = %s", buf);

        /* NULL out-params on a valid handle */
        EXPECT(acs_call_agent_get_connection_state(agent, NULL), ACS_ERR_NULL_POINTER);
        EXPECT(acs_call_agent_get_call_count(agent, NULL), ACS_ERR_NULL_POINTER);
        EXPECT(acs_call_agent_get_call(agent, 0, NULL), ACS_ERR_NULL_POINTER);
        {
            acs_call *c = NULL;
            size_t n = 99;
            EXPECT(acs_call_agent_get_call(agent, 0, &c), ACS_ERR_NOT_FOUND);
            EXPECT_OK(acs_call_agent_get_call_count(agent, &n));
            report(n == 0 && c == NULL, "a new agent has no calls");
        }

        /* Token updates */
        {
            char other[2048];
            make_jwt(other, sizeof other, "8:acs:00000000-0000-4000-8000-0000000000ff",
                     (long long)time(NULL) + 3600, "voip");
            EXPECT(acs_call_agent_update_token(agent, NULL), ACS_ERR_NULL_POINTER);
            EXPECT(acs_call_agent_update_token(agent, "\xff"), ACS_ERR_INVALID_UTF8);
            EXPECT(acs_call_agent_update_token(agent, "garbage"), ACS_ERR_UNAUTHORIZED);
            EXPECT(acs_call_agent_update_token(agent, other), ACS_ERR_INVALID_ARGUMENT);
            EXPECT_OK(acs_call_agent_update_token(agent, token));
        }

        /* start_call input checks (before any device is touched) */
        {
            const char *bad_utf8[] = {"8:acs:\xff"};
            const char *null_id[] = {NULL};
            const char *echo[] = {"8:echo123"};
            acs_call_options co;
            acs_call *c = NULL;
            EXPECT(acs_call_options_init(NULL), ACS_ERR_NULL_POINTER);
            EXPECT(acs_call_options_init_sized(NULL, 64), ACS_ERR_NULL_POINTER);
            EXPECT_OK(ACS_CALL_OPTIONS_INIT(&co));
            report(co.struct_size == sizeof co && co.microphone == NULL && !co.start_muted,
                   "ACS_CALL_OPTIONS_INIT sets struct_size and defaults");
            EXPECT(acs_call_agent_start_call(agent, NULL, 1, NULL, &c), ACS_ERR_NULL_POINTER);
            EXPECT(acs_call_agent_start_call(agent, echo, 1, NULL, NULL), ACS_ERR_NULL_POINTER);
            EXPECT(acs_call_agent_start_call(agent, echo, 0, NULL, &c), ACS_ERR_INVALID_ARGUMENT);
            EXPECT(acs_call_agent_start_call(agent, bad_utf8, 1, NULL, &c), ACS_ERR_INVALID_UTF8);
            EXPECT(acs_call_agent_start_call(agent, null_id, 1, NULL, &c), ACS_ERR_NULL_POINTER);
            co.struct_size = 0;
            EXPECT(acs_call_agent_start_call(agent, echo, 1, &co, &c), ACS_ERR_INVALID_ARGUMENT);
            co.struct_size = sizeof co;
            co.microphone = (acs_audio_device *)(uintptr_t)0x1234;
            EXPECT(acs_call_agent_start_call(agent, echo, 1, &co, &c), ACS_ERR_INVALID_HANDLE);
            report(c == NULL, "no call written on failure");
        }
    }

    report(wait_event(&log, &cursor, ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED, NULL,
                      ACS_AGENT_CONNECTION_CONNECTING, 10000, &ev),
           "%s: agent reports CONNECTING", mode);
    if (wait_event(&log, &cursor, ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED, NULL,
                   ACS_AGENT_CONNECTION_DISCONNECTED, 20000, &ev)) {
        report(ev.code == 503, "%s: service down -> agent DISCONNECTED with code %d/%d (want 503)",
               mode, (int)ev.code, (int)ev.subcode);
        if (manual) {
            report(pthread_equal(ev.thread, pthread_self()),
                   "manual dispatch: the callback ran on the thread that called dispatch_events");
        } else {
            report(!pthread_equal(ev.thread, pthread_self()),
                   "thread dispatch: the callback ran on the library's event thread");
        }
    } else {
        report(false, "%s: service down -> agent DISCONNECTED (no event within 20 s)", mode);
        printf("  (if start_call below says 'disposed': the library released the borrowed agent\n"
               "   handle of the agent's first event (CONNECTING) before create_call_agent had\n"
               "   handed out its own; that last release finalized, i.e. disposed, the agent)\n");
    }
    {
        int32_t st = -1;
        EXPECT_OK(acs_call_agent_get_connection_state(agent, &st));
        report(st == ACS_AGENT_CONNECTION_DISCONNECTED, "%s: connection state is DISCONNECTED (%d)",
               mode, (int)st);
    }
    if (token_in == NULL) {
        const char *echo[] = {"8:echo123"};
        acs_call *c = NULL;
        EXPECT(acs_call_agent_start_call(agent, echo, 1, NULL, &c), ACS_ERR_NETWORK);
    }
    pthread_mutex_lock(&log.mu);
    report(log.reentrant_failures == 0, "%s: API calls from inside the callback succeed", mode);
    pthread_mutex_unlock(&log.mu);

    EXPECT_OK(acs_call_agent_release(agent));
    EXPECT(acs_call_agent_get_connection_state(agent, NULL), ACS_ERR_INVALID_HANDLE);
    if (manual) {
        /* Deliver what the release queued, so the log can be torn down. */
        uint32_t n = 0;
        acs_call_client_dispatch_events(client, 0, &n);
    }
    event_log_destroy(&log);
}

static void test_manual_dispatch(void) {
    acs_call_client_options o;
    acs_call_client *client = NULL;
    uint32_t n = 77;
    ACS_CALL_CLIENT_OPTIONS_INIT(&o);
    o.dispatch_mode = ACS_DISPATCH_MANUAL;
    if (!EXPECT_OK(acs_call_client_create(&o, &client))) {
        return;
    }
    EXPECT_OK(acs_call_client_dispatch_events(client, 0, &n));
    report(n == 0, "manual dispatch with nothing queued delivers 0 events (%u)", (unsigned)n);
    EXPECT_OK(acs_call_client_dispatch_events(client, 10, NULL));
    test_agent_service_down(client, true, NULL);
    EXPECT_OK(acs_call_client_release(client));
}

/* Probes the media layer: while it is an interface stub every media call panics (caught). */
static bool media_available(void) {
    int16_t pcm[960];
    float p = 0.0f;
    acs_status s;
    memset(pcm, 0, sizeof pcm);
    s = acs_audio_tone_power(pcm, 960, 440.0f, &p);
    if (s == ACS_ERR_PANIC) {
        printf("  (media probe: %s)\n", last_error());
    }
    return s == ACS_OK;
}

static void fill_tone(int16_t *pcm, size_t n, double freq, double amplitude) {
    size_t i;
    for (i = 0; i < n; i++) {
        pcm[i] = (int16_t)lrint(amplitude * 32767.0 * sin(2.0 * 3.14159265358979323846 * freq * (double)i / 48000.0));
    }
}

/* Device input checks that need no device are run always; the rest when media exists. */
static void test_devices(acs_call_client *client, bool media) {
    acs_device_manager *dm = NULL;
    acs_audio_device *dev = NULL;
    if (!EXPECT_OK(acs_call_client_get_device_manager(client, &dm))) {
        return;
    }
    EXPECT(acs_device_manager_create_tone_microphone(dm, "t", 0.0f, 0.5f, &dev), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_device_manager_create_tone_microphone(dm, "t", 440.0f, 2.0f, &dev), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_device_manager_create_tone_microphone(dm, "t", NAN, 0.5f, &dev), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_device_manager_create_tone_microphone(dm, "\xc3\x28", 440.0f, 0.5f, &dev), ACS_ERR_INVALID_UTF8);
    EXPECT(acs_device_manager_create_tone_microphone(dm, NULL, 440.0f, 0.5f, &dev), ACS_ERR_NULL_POINTER);
    EXPECT(acs_device_manager_create_tone_microphone((acs_device_manager *)client, "t", 440.0f, 0.5f, &dev),
           ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_device_manager_create_pull_speaker(dm, "s", 0, &dev), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_device_manager_create_callback_speaker(dm, "s", NULL, NULL, &dev), ACS_ERR_NULL_POINTER);
    EXPECT(acs_device_manager_create_push_microphone(dm, "\xff", &dev), ACS_ERR_INVALID_UTF8);
    EXPECT(acs_device_manager_create_wav_microphone(dm, "w", NULL, false, &dev), ACS_ERR_NULL_POINTER);
    EXPECT(acs_audio_tone_power(NULL, 10, 440.0f, NULL), ACS_ERR_NULL_POINTER);
    report(dev == NULL, "no device written on failure");

    if (!media) {
        const char *why = "media layer is still an interface stub";
        skip("tone/pull devices, device string getters, tone power, device lists", why);
        if (getenv("ACS_TEST_REQUIRE_MEDIA") != NULL && strcmp(getenv("ACS_TEST_REQUIRE_MEDIA"), "1") == 0) {
            report(false, "ACS_TEST_REQUIRE_MEDIA=1 but the media layer is not available");
        }
        acs_device_manager_release(dm);
        return;
    }

    {
        int16_t pcm[48000];
        float p440 = 0, p660 = 0, p0 = -1;
        fill_tone(pcm, 48000, 440.0, 0.5);
        EXPECT_OK(acs_audio_tone_power(pcm, 48000, 440.0f, &p440));
        EXPECT_OK(acs_audio_tone_power(pcm, 48000, 660.0f, &p660));
        EXPECT_OK(acs_audio_tone_power(pcm, 0, 440.0f, &p0));
        report(p440 > 0.08f && p440 < 0.2f && p660 < 0.01f,
               "acs_audio_tone_power: 440 Hz at 0.5 -> %.4f at 440 Hz (~0.125), %.5f at 660 Hz",
               (double)p440, (double)p660);
        report(p0 == 0.0f, "acs_audio_tone_power of 0 samples is 0 (%.4f)", (double)p0);
        EXPECT(acs_audio_tone_power(pcm, 960, 440.0f, NULL), ACS_ERR_NULL_POINTER);
    }
    {
        acs_audio_device *mic = NULL, *spk = NULL;
        char buf[64];
        size_t needed = 0, count = 0;
        int32_t kind = -1;
        bool virt = false;
        int16_t pcm[960];
        if (EXPECT_OK(acs_device_manager_create_tone_microphone(dm, "Tone 440", 440.0f, 0.5f, &mic)) &&
            EXPECT_OK(acs_device_manager_create_pull_speaker(dm, "Pull", 1000, &spk))) {
            EXPECT(acs_audio_device_get_name(mic, buf, 3, &needed), ACS_ERR_BUFFER_TOO_SMALL);
            report(needed == strlen("Tone 440") + 1, "device name needs %zu bytes", needed);
            EXPECT_OK(acs_audio_device_get_name(mic, buf, sizeof buf, &needed));
            report(strcmp(buf, "Tone 440") == 0, "device name is '%s'", buf);
            EXPECT(acs_audio_device_get_id(mic, NULL, 0, &needed), ACS_OK);
            report(needed > 1, "device id needs %zu bytes", needed);
            EXPECT_OK(acs_audio_device_get_kind(mic, &kind));
            report(kind == ACS_DEVICE_KIND_MICROPHONE, "tone microphone kind is MICROPHONE");
            EXPECT_OK(acs_audio_device_get_kind(spk, &kind));
            report(kind == ACS_DEVICE_KIND_SPEAKER, "pull speaker kind is SPEAKER");
            EXPECT_OK(acs_audio_device_is_virtual(mic, &virt));
            report(virt, "tone microphone is virtual");
            EXPECT(acs_audio_device_get_kind(mic, NULL), ACS_ERR_NULL_POINTER);
            EXPECT(acs_device_manager_set_microphone(dm, spk), ACS_ERR_INVALID_ARGUMENT);
            EXPECT(acs_device_manager_set_speaker(dm, mic), ACS_ERR_INVALID_ARGUMENT);
            EXPECT_OK(acs_device_manager_set_microphone(dm, mic));
            EXPECT_OK(acs_device_manager_set_speaker(dm, spk));
            EXPECT(acs_audio_device_pull_pcm(spk, pcm, 960, NULL), ACS_ERR_NULL_POINTER);
            EXPECT(acs_audio_device_pull_pcm(spk, NULL, 960, &count), ACS_ERR_NULL_POINTER);
            EXPECT_OK(acs_audio_device_pull_pcm(spk, pcm, 960, &count));
            report(count == 0, "a pull speaker that played nothing gives 0 samples (%zu)", count);
            EXPECT(acs_device_manager_get_microphones(dm, NULL, 0, &count), ACS_ERR_BUFFER_TOO_SMALL);
            report(count >= 1, "get_microphones(capacity 0) reports %zu microphones", count);
            EXPECT(acs_device_manager_get_microphones(dm, NULL, 0, NULL), ACS_ERR_NULL_POINTER);
            {
                acs_audio_device *list[64];
                size_t total = count < 64 ? count : 64, i;
                if (count <= 64 && EXPECT_OK(acs_device_manager_get_microphones(dm, list, total, &count))) {
                    for (i = 0; i < count; i++) {
                        acs_audio_device_release(list[i]);
                    }
                }
            }
        }
        {
            acs_audio_device *push = NULL;
            size_t accepted = 0;
            if (EXPECT_OK(acs_device_manager_create_push_microphone(dm, "Push", &push))) {
                fill_tone(pcm, 960, 440.0, 0.3);
                EXPECT(acs_audio_device_push_pcm(push, pcm, 960, 3, &accepted), ACS_ERR_INVALID_ARGUMENT);
                EXPECT(acs_audio_device_push_pcm(push, NULL, 960, 1, &accepted), ACS_ERR_NULL_POINTER);
                EXPECT_OK(acs_audio_device_push_pcm(push, pcm, 960, 1, &accepted));
                report(accepted == 960, "push microphone accepted %zu of 960 frames", accepted);
            }
            acs_audio_device_release(push);
        }
        acs_audio_device_release(mic);
        acs_audio_device_release(spk);
        /* The device lives on (selected in the device manager), but this handle is gone. */
        EXPECT(acs_audio_device_get_kind(mic, &kind), ACS_ERR_INVALID_HANDLE);
    }
    acs_device_manager_release(dm);
}

static void part1(void) {
    size_t base;
    acs_call_client *client = NULL;
    bool media;

    printf("# part 1: API contracts (no service needed)\n");
    base = acs_debug_live_handle_count();
    printf("  live handles at start: %zu\n", base);
    test_version();
    test_status_strings();
    test_null_and_bogus_handles();
    test_last_error_message();
    test_client_options();
    if (EXPECT_OK(acs_call_client_create(NULL, &client))) {
        report(acs_debug_live_handle_count() == base + 1, "one live handle after creating a client");
        test_wrong_type_and_released(client);
        test_agent_input(client);
        test_agent_service_down(client, false, NULL);
        media = media_available();
        test_devices(client, media);
        EXPECT_OK(acs_call_client_release(client));
    }
    test_manual_dispatch();
    report(acs_debug_live_handle_count() == base, "live handles back to %zu at the end (now %zu)",
           base, acs_debug_live_handle_count());
}

/* ------------------------------------------------------------------------------------ */
/* Part 2: real calls through a running service                                         */
/* ------------------------------------------------------------------------------------ */

#define SETUP_TIMEOUT_MS 30000
#define STATE_TIMEOUT_MS 15000
#define HEARD_POWER 0.01f    /* a 0.5 tone is ~0.125; Opus and the mixer lose a little */
#define SILENT_POWER 0.002f

/* Drops what the speaker played so far, lets `ms` of audio play, and returns it. */
static size_t record_speaker(acs_audio_device *spk, int16_t *pcm, size_t cap, int ms) {
    size_t n = 0, total = 0;
    int16_t scratch[4800];
    do {
        n = 0;
        if (acs_audio_device_pull_pcm(spk, scratch, 4800, &n) != ACS_OK) {
            break;
        }
    } while (n == 4800);
    sleep_ms(ms);
    while (total < cap) {
        n = 0;
        if (acs_audio_device_pull_pcm(spk, pcm + total, cap - total, &n) != ACS_OK || n == 0) {
            break;
        }
        total += n;
    }
    return total;
}

typedef struct {
    float p440, p660;
    size_t samples;
} heard;

static heard hear(acs_audio_device *spk, int ms) {
    static int16_t pcm[48000 * 4];
    heard h = {0.0f, 0.0f, 0};
    size_t cap = (size_t)ms * 48;
    if (cap > sizeof pcm / sizeof pcm[0]) {
        cap = sizeof pcm / sizeof pcm[0];
    }
    h.samples = record_speaker(spk, pcm, cap, ms);
    acs_audio_tone_power(pcm, h.samples, 440.0f, &h.p440);
    acs_audio_tone_power(pcm, h.samples, 660.0f, &h.p660);
    return h;
}

static void check_hears(const char *who, acs_audio_device *spk, float want_hz, float other_hz) {
    heard h = hear(spk, 1500);
    float want = want_hz == 440.0f ? h.p440 : h.p660;
    float other = other_hz == 440.0f ? h.p440 : h.p660;
    report(h.samples >= 48 * 1000 && want > HEARD_POWER && other < want / 10.0f,
           "%s hears %.0f Hz (power %.4f) and not %.0f Hz (%.5f) in %zu samples", who,
           (double)want_hz, (double)want, (double)other_hz, (double)other, h.samples);
}

static void check_silent(const char *who, acs_audio_device *spk, float hz) {
    heard h = hear(spk, 1000);
    float p = hz == 440.0f ? h.p440 : h.p660;
    report(p < SILENT_POWER, "%s hears silence at %.0f Hz (power %.5f, %zu samples)", who,
           (double)hz, (double)p, h.samples);
}

typedef struct {
    const char *args_url;
    const char *token_a;
    const char *token_b;
    const char *unknown_user;
} service_args;

static bool wait_connected(event_log *log, const char *who) {
    size_t cur = 0;
    logged_event ev;
    bool ok = wait_event(log, &cur, ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED, NULL,
                         ACS_AGENT_CONNECTION_CONNECTED, SETUP_TIMEOUT_MS, &ev);
    report(ok, "%s's agent CONNECTED to the service", who);
    return ok;
}

static void part2(const service_args *a) {
    size_t base = acs_debug_live_handle_count();
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    acs_audio_device *mic_a = NULL, *spk_a = NULL, *mic_b = NULL, *spk_b = NULL;
    acs_call_agent *alice = NULL, *bob = NULL;
    acs_call *call_a = NULL, *call_b = NULL;
    event_log la, lb;
    size_t ca = 0, cb = 0;
    logged_event ev;
    char bob_id[256] = "", alice_id[256] = "";
    acs_call_options opt_a, opt_b;

    printf("# part 2: real calls through %s\n", a->args_url);
    event_log_init(&la, "alice");
    event_log_init(&lb, "bob");
    la.verbose = lb.verbose = true;

    if (!EXPECT_OK(acs_call_client_create(NULL, &client)) ||
        !EXPECT_OK(acs_call_client_get_device_manager(client, &dm)) ||
        !EXPECT_OK(acs_device_manager_create_tone_microphone(dm, "Alice 440 Hz", 440.0f, 0.5f, &mic_a)) ||
        !EXPECT_OK(acs_device_manager_create_pull_speaker(dm, "Alice speaker", 5000, &spk_a)) ||
        !EXPECT_OK(acs_device_manager_create_tone_microphone(dm, "Bob 660 Hz", 660.0f, 0.5f, &mic_b)) ||
        !EXPECT_OK(acs_device_manager_create_pull_speaker(dm, "Bob speaker", 5000, &spk_b)) ||
        !expect_status(create_agent(client, a->args_url, a->token_a, &la, &alice), ACS_OK, "create Alice's agent") ||
        !expect_status(create_agent(client, a->args_url, a->token_b, &lb, &bob), ACS_OK, "create Bob's agent") ||
        !wait_connected(&la, "Alice") || !wait_connected(&lb, "Bob")) {
        goto out;
    }
    acs_call_agent_get_user_id(alice, alice_id, sizeof alice_id, NULL);
    acs_call_agent_get_user_id(bob, bob_id, sizeof bob_id, NULL);
    printf("  Alice is %s, Bob is %s\n", alice_id, bob_id);

    ACS_CALL_OPTIONS_INIT(&opt_a);
    opt_a.microphone = mic_a;
    opt_a.speaker = spk_a;
    ACS_CALL_OPTIONS_INIT(&opt_b);
    opt_b.microphone = mic_b;
    opt_b.speaker = spk_b;

    /* --- 1:1 call ------------------------------------------------------------------ */
    {
        const char *to[1];
        int32_t st = -1, dir = -1;
        to[0] = bob_id;
        ca = event_log_count(&la);
        cb = event_log_count(&lb);
        if (!EXPECT_OK(acs_call_agent_start_call(alice, to, 1, &opt_a, &call_a))) {
            goto out;
        }
        acs_call_get_direction(call_a, &dir);
        report(dir == ACS_CALL_DIRECTION_OUTGOING, "Alice's call is OUTGOING");
        if (!wait_event(&lb, &cb, ACS_EVENT_INCOMING_CALL, NULL, -1, SETUP_TIMEOUT_MS, &ev)) {
            report(false, "Bob gets INCOMING_CALL");
            goto out;
        }
        pthread_mutex_lock(&lb.mu);
        call_b = lb.incoming; /* the log's reference moves to us */
        lb.incoming = NULL;
        pthread_mutex_unlock(&lb.mu);
        report(call_b != NULL && ev.state == ACS_CALL_STATE_INCOMING, "Bob gets INCOMING_CALL (state %d)", (int)ev.state);
        acs_call_get_direction(call_b, &dir);
        report(dir == ACS_CALL_DIRECTION_INCOMING, "Bob's call is INCOMING");
        EXPECT_OK(acs_call_accept(call_b, &opt_b));
        report(wait_event(&la, &ca, ACS_EVENT_CALL_STATE_CHANGED, call_a, ACS_CALL_STATE_CONNECTED, SETUP_TIMEOUT_MS, NULL),
               "Alice's call CONNECTED");
        report(wait_event(&lb, &cb, ACS_EVENT_CALL_STATE_CHANGED, call_b, ACS_CALL_STATE_CONNECTED, SETUP_TIMEOUT_MS, NULL),
               "Bob's call CONNECTED");
        acs_call_get_state(call_a, &st);
        report(st == ACS_CALL_STATE_CONNECTED, "acs_call_get_state(Alice) = %d", (int)st);
        {
            size_t np = 0;
            acs_remote_participant *p = NULL;
            char id[256] = "";
            char callid_a[256] = "", callid_b[256] = "";
            acs_call_get_remote_participant_count(call_a, &np);
            report(np == 1, "Alice's call has 1 remote participant (%zu)", np);
            if (np >= 1 && acs_call_get_remote_participant(call_a, 0, &p) == ACS_OK) {
                acs_remote_participant_get_identifier(p, id, sizeof id, NULL);
                report(strcmp(id, bob_id) == 0, "Alice's remote participant is Bob (%s)", id);
                acs_remote_participant_release(p);
            }
            acs_call_get_id(call_a, callid_a, sizeof callid_a, NULL);
            acs_call_get_id(call_b, callid_b, sizeof callid_b, NULL);
            report(callid_a[0] != '\0' && strcmp(callid_a, callid_b) == 0, "both sides share the call id %s", callid_a);
        }
        sleep_ms(1000); /* ~2.5 s of media with the 1.5 s listen below */
        check_hears("Alice", spk_a, 660.0f, 440.0f);
        check_hears("Bob", spk_b, 440.0f, 660.0f);

        /* mute / unmute */
        EXPECT_OK(acs_call_mute(call_a));
        report(wait_event(&la, &ca, ACS_EVENT_CALL_MUTE_CHANGED, call_a, -1, STATE_TIMEOUT_MS, &ev) && ev.flag,
               "Alice gets CALL_MUTE_CHANGED(muted)");
        report(wait_event(&lb, &cb, ACS_EVENT_PARTICIPANT_MUTE_CHANGED, call_b, -1, STATE_TIMEOUT_MS, &ev) && ev.flag,
               "Bob sees Alice muted (PARTICIPANT_MUTE_CHANGED)");
        {
            bool m = false;
            acs_call_is_muted(call_a, &m);
            report(m, "acs_call_is_muted(Alice) is true");
        }
        sleep_ms(300);
        check_silent("Bob (Alice muted)", spk_b, 440.0f);
        EXPECT_OK(acs_call_unmute(call_a));
        report(wait_event(&la, &ca, ACS_EVENT_CALL_MUTE_CHANGED, call_a, -1, STATE_TIMEOUT_MS, &ev) && !ev.flag,
               "Alice gets CALL_MUTE_CHANGED(unmuted)");
        sleep_ms(300);
        check_hears("Bob (Alice unmuted)", spk_b, 440.0f, 660.0f);

        /* hold / resume */
        EXPECT_OK(acs_call_hold(call_a));
        report(wait_event(&la, &ca, ACS_EVENT_CALL_STATE_CHANGED, call_a, ACS_CALL_STATE_LOCAL_HOLD, STATE_TIMEOUT_MS, NULL),
               "hold: Alice's call LOCAL_HOLD");
        report(wait_event(&lb, &cb, ACS_EVENT_CALL_STATE_CHANGED, call_b, ACS_CALL_STATE_REMOTE_HOLD, STATE_TIMEOUT_MS, NULL),
               "hold: Bob's call REMOTE_HOLD");
        sleep_ms(300);
        check_silent("Bob (on hold)", spk_b, 440.0f);
        check_silent("Alice (on hold)", spk_a, 660.0f);
        EXPECT_OK(acs_call_resume(call_a));
        report(wait_event(&la, &ca, ACS_EVENT_CALL_STATE_CHANGED, call_a, ACS_CALL_STATE_CONNECTED, STATE_TIMEOUT_MS, NULL),
               "resume: Alice's call CONNECTED");
        report(wait_event(&lb, &cb, ACS_EVENT_CALL_STATE_CHANGED, call_b, ACS_CALL_STATE_CONNECTED, STATE_TIMEOUT_MS, NULL),
               "resume: Bob's call CONNECTED");
        sleep_ms(300);
        check_hears("Bob (resumed)", spk_b, 440.0f, 660.0f);
        check_hears("Alice (resumed)", spk_a, 660.0f, 440.0f);

        /* hang up */
        EXPECT_OK(acs_call_hang_up(call_a, false));
        if (wait_event(&la, &ca, ACS_EVENT_CALL_STATE_CHANGED, call_a, ACS_CALL_STATE_DISCONNECTED, STATE_TIMEOUT_MS, &ev)) {
            report(ev.code == 0 && ev.subcode == 0, "hang up: Alice DISCONNECTED, reason %d/%d (want 0/0)", (int)ev.code, (int)ev.subcode);
        } else {
            report(false, "hang up: Alice DISCONNECTED");
        }
        if (wait_event(&lb, &cb, ACS_EVENT_CALL_STATE_CHANGED, call_b, ACS_CALL_STATE_DISCONNECTED, STATE_TIMEOUT_MS, &ev)) {
            int32_t code = -1, sub = -1;
            acs_call_get_end_reason(call_b, &code, &sub);
            report(code == ev.code && sub == ev.subcode, "hang up: Bob DISCONNECTED, reason %d/%d (get_end_reason %d/%d)",
                   (int)ev.code, (int)ev.subcode, (int)code, (int)sub);
        } else {
            report(false, "hang up: Bob DISCONNECTED");
        }
        EXPECT(acs_call_hold(call_a), ACS_ERR_INVALID_STATE);
        acs_call_release(call_a);
        acs_call_release(call_b);
        call_a = call_b = NULL;
    }

    /* --- echo bot ------------------------------------------------------------------ */
    {
        const char *to[] = {"8:echo123"};
        ca = event_log_count(&la);
        if (EXPECT_OK(acs_call_agent_start_call(alice, to, 1, &opt_a, &call_a))) {
            if (wait_event(&la, &ca, ACS_EVENT_CALL_STATE_CHANGED, call_a, ACS_CALL_STATE_CONNECTED, SETUP_TIMEOUT_MS, NULL)) {
                report(true, "echo bot call CONNECTED");
                sleep_ms(1000);
                check_hears("Alice (from the echo bot)", spk_a, 440.0f, 660.0f);
            } else {
                report(false, "echo bot call CONNECTED");
            }
            EXPECT_OK(acs_call_hang_up(call_a, false));
            report(wait_event(&la, &ca, ACS_EVENT_CALL_STATE_CHANGED, call_a, ACS_CALL_STATE_DISCONNECTED, STATE_TIMEOUT_MS, NULL),
                   "echo bot call DISCONNECTED after hang up");
            acs_call_release(call_a);
            call_a = NULL;
        }
    }

    /* --- unknown user: 404 ------------------------------------------------------- */
    {
        const char *to[1];
        to[0] = a->unknown_user;
        ca = event_log_count(&la);
        if (EXPECT_OK(acs_call_agent_start_call(alice, to, 1, &opt_a, &call_a))) {
            if (wait_event(&la, &ca, ACS_EVENT_CALL_STATE_CHANGED, call_a, ACS_CALL_STATE_DISCONNECTED, SETUP_TIMEOUT_MS, &ev)) {
                report(ev.code == 404, "calling unknown user %s ends with code %d/%d (want 404)", a->unknown_user,
                       (int)ev.code, (int)ev.subcode);
            } else {
                report(false, "calling unknown user %s ends (DISCONNECTED)", a->unknown_user);
            }
            acs_call_release(call_a);
            call_a = NULL;
        }
    }

out:
    acs_call_release(call_a);
    acs_call_release(call_b);
    EXPECT_OK(acs_call_agent_release(alice));
    EXPECT_OK(acs_call_agent_release(bob));
    acs_audio_device_release(mic_a);
    acs_audio_device_release(spk_a);
    acs_audio_device_release(mic_b);
    acs_audio_device_release(spk_b);
    acs_device_manager_release(dm);

    /* --- service down: 503 (a real token, a closed port) ---------------------------- */
    if (client != NULL) {
        test_agent_service_down(client, false, a->token_a);
    }
    EXPECT_OK(acs_call_client_release(client));
    event_log_destroy(&la);
    event_log_destroy(&lb);
    report(acs_debug_live_handle_count() == base, "part 2: live handles back to %zu (now %zu)", base,
           acs_debug_live_handle_count());
}

/* ------------------------------------------------------------------------------------ */

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [--service-url ws://HOST:PORT --token-a TOKEN --token-b TOKEN "
            "--unknown-user 8:acs:UUID]\n"
            "  with no arguments only part 1 (no service needed) runs\n",
            argv0);
}

int main(int argc, char **argv) {
    service_args a;
    int i;
    memset(&a, 0, sizeof a);
    for (i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--service-url") == 0 && v) {
            a.args_url = v;
            i++;
        } else if (strcmp(argv[i], "--token-a") == 0 && v) {
            a.token_a = v;
            i++;
        } else if (strcmp(argv[i], "--token-b") == 0 && v) {
            a.token_b = v;
            i++;
        } else if (strcmp(argv[i], "--unknown-user") == 0 && v) {
            a.unknown_user = v;
            i++;
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if ((a.args_url || a.token_a || a.token_b || a.unknown_user) &&
        !(a.args_url && a.token_a && a.token_b && a.unknown_user)) {
        fprintf(stderr, "part 2 needs all of --service-url, --token-a, --token-b, --unknown-user\n");
        return 2;
    }

    printf("libacscalling %s C API tests\n", acs_calling_version());
    part1();
    if (a.args_url != NULL) {
        part2(&a);
    }
    printf("# %d checks, %d failed, %d skipped\n", g_checks, g_failures, g_skips);
    return g_failures == 0 ? 0 : 1;
}
