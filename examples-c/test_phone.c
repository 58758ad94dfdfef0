/*
 * test_phone.c — the C API of phone calls: DTMF, the alternate caller id, identifier kinds.
 *
 *   test_phone [--service-url URL --token-a TOKEN]
 *
 * Part 1 needs no service: the tone and kind constants, identifier kinds, NULL and stale
 * handles, invalid tones, the options structs and the event's appended fields.
 * Part 2 (with --service-url and --token-a; the client in ACS_DISPATCH_MANUAL mode, so the
 * events come through acs_call_client_dispatch_events) calls the echo bot:
 *  - an alternate caller id that is not a phone number, or not UTF-8, is refused at once;
 *  - an older, shorter acs_call_options (before alternate_caller_id), with guard bytes that
 *    would be a garbage pointer if read, places a call that connects;
 *  - DTMF before the call is connected is ACS_ERR_INVALID_STATE; on the connected call a bad
 *    tone is ACS_ERR_INVALID_ARGUMENT, FLASH ACS_ERR_UNSUPPORTED, and a real tone returns a
 *    request id whose ACS_EVENT_DTMF_SEND_COMPLETED carries the service's refusal (400: the
 *    call has no phone participant) and its message;
 *  - the echo bot is a COMMUNICATION_USER; adding a participant with a bad caller id fails;
 *  - after the end DTMF is ACS_ERR_INVALID_STATE, after the release ACS_ERR_INVALID_HANDLE.
 * Part 3 (with --phone 4:+1…, which the service's SIP trunk answers: run_c_tests_with_service.py
 * starts SIPp as the carrier) calls a real phone: EARLY_MEDIA with the announcement heard,
 * CONNECTED, the phone in the roster as a PHONE_NUMBER, its key press as DTMF_RECEIVED, our
 * DTMF sent, and the phone's hang-up as DISCONNECTED 0/4097.
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
#define MAX_EVENTS 256

/* acs_call_options before alternate_caller_id was appended. */
typedef struct {
    uint32_t struct_size;
    acs_audio_device *microphone;
    acs_audio_device *speaker;
    bool start_muted;
} old_call_options;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool message_says(const char *what) {
    char msg[512] = "";
    acs_last_error_message(msg, sizeof msg);
    return strstr(msg, what) != NULL;
}

/* ---- Events, kept by the callback (manual dispatch: on this thread). ---- */

typedef struct {
    int32_t kind;
    const acs_call *call;
    int32_t state, code, subcode, dtmf_tone;
    uint64_t request_id;
    char message[256];
    char participant_id[64];
    bool has_phone_fields;
} logged_event;

static logged_event g_events[MAX_EVENTS];
static size_t g_count;

static void on_event(void *user_data, const acs_event *e) {
    (void)user_data;
    if (g_count == MAX_EVENTS) {
        return;
    }
    logged_event *l = &g_events[g_count++];
    memset(l, 0, sizeof *l);
    l->kind = e->kind;
    l->call = e->call;
    l->state = e->state;
    l->code = e->code;
    l->subcode = e->subcode;
    if (e->message != NULL) {
        snprintf(l->message, sizeof l->message, "%s", e->message);
    }
    /* The appended fields: read only when the library's event has them. */
    l->has_phone_fields = e->struct_size >= offsetof(acs_event, dtmf_tone) + sizeof(int32_t);
    l->dtmf_tone = -2;
    if (l->has_phone_fields) {
        l->dtmf_tone = e->dtmf_tone;
        l->request_id = e->request_id;
        if (e->participant_id != NULL) {
            snprintf(l->participant_id, sizeof l->participant_id, "%s", e->participant_id);
        }
    }
}

/* Pumps events until one of `kind` (for `call`, in `state` unless -1, with `request_id`
 * unless 0) is logged at or after *cursor; copies it to *out. */
static bool wait_event(acs_call_client *client, size_t *cursor, int32_t kind, const acs_call *call, int32_t state,
                       uint64_t request_id, logged_event *out) {
    int64_t end = now_ms() + TIMEOUT_MS;
    do {
        uint32_t n = 0;
        acs_call_client_dispatch_events(client, 50, &n);
        for (size_t i = *cursor; i < g_count; i++) {
            const logged_event *l = &g_events[i];
            if (l->kind == kind && (call == NULL || l->call == call) && (state < 0 || l->state == state) &&
                (request_id == 0 || l->request_id == request_id)) {
                if (out != NULL) {
                    *out = *l;
                }
                *cursor = i + 1;
                return true;
            }
        }
    } while (now_ms() < end);
    return false;
}

/* ---- Part 1: no service ---- */

static void test_constants_and_layouts(void) {
    printf("# constants and layouts\n");
    report(ACS_DTMF_TONE_0 == 0 && ACS_DTMF_TONE_9 == 9 && ACS_DTMF_TONE_STAR == 10 && ACS_DTMF_TONE_POUND == 11 &&
               ACS_DTMF_TONE_A == 12 && ACS_DTMF_TONE_D == 15 && ACS_DTMF_TONE_FLASH == 16,
           "DTMF tones are the RFC 4733 event numbers");
    report(ACS_EVENT_DTMF_RECEIVED == 12 && ACS_EVENT_DTMF_SEND_COMPLETED == 13, "DTMF event kinds 12 and 13");
    report(ACS_IDENTIFIER_KIND_UNKNOWN == 0 && ACS_IDENTIFIER_KIND_COMMUNICATION_USER == 1 &&
               ACS_IDENTIFIER_KIND_PHONE_NUMBER == 2,
           "identifier kinds");
    report(offsetof(acs_event, participant_id) >= offsetof(acs_event, remote_video_stream) + sizeof(void *) &&
               offsetof(acs_event, dtmf_tone) > offsetof(acs_event, request_id),
           "acs_event: the phone fields come after remote_video_stream");
    report(offsetof(acs_call_options, start_muted) == offsetof(old_call_options, start_muted) &&
               offsetof(acs_call_options, alternate_caller_id) == sizeof(old_call_options) &&
               sizeof(old_call_options) < sizeof(acs_call_options),
           "old acs_call_options (%zu bytes) is a prefix of today's (%zu)", sizeof(old_call_options),
           sizeof(acs_call_options));
}

static void test_identifier_kinds(void) {
    printf("# identifier kinds\n");
    int32_t k = -1;
    EXPECT_OK(acs_identifier_get_kind("4:+15551234567", &k));
    report(k == ACS_IDENTIFIER_KIND_PHONE_NUMBER, "4:+15551234567 is a PHONE_NUMBER (%d)", (int)k);
    EXPECT_OK(acs_identifier_get_kind("4:15551234567", &k));
    report(k == ACS_IDENTIFIER_KIND_PHONE_NUMBER, "4:15551234567 is a PHONE_NUMBER (%d)", (int)k);
    EXPECT_OK(acs_identifier_get_kind("8:acs:0f2d1c8e-1111-2222-3333-444455556666", &k));
    report(k == ACS_IDENTIFIER_KIND_COMMUNICATION_USER, "8:acs:… is a COMMUNICATION_USER (%d)", (int)k);
    EXPECT_OK(acs_identifier_get_kind("8:echo123", &k));
    report(k == ACS_IDENTIFIER_KIND_COMMUNICATION_USER, "the echo bot is a COMMUNICATION_USER (%d)", (int)k);
    EXPECT_OK(acs_identifier_get_kind("bob", &k));
    report(k == ACS_IDENTIFIER_KIND_UNKNOWN, "bob is UNKNOWN (%d)", (int)k);
    EXPECT(acs_identifier_get_kind(NULL, &k), ACS_ERR_NULL_POINTER);
    EXPECT(acs_identifier_get_kind("4:+15551234567", NULL), ACS_ERR_NULL_POINTER);
    EXPECT(acs_identifier_get_kind("4:+1555\xff", &k), ACS_ERR_INVALID_UTF8);
    EXPECT(acs_remote_participant_get_identifier_kind(NULL, &k), ACS_ERR_INVALID_HANDLE);
}

static void test_bad_handles(void) {
    printf("# NULL and bogus handles\n");
    uint64_t id = 77;
    EXPECT(acs_call_send_dtmf(NULL, ACS_DTMF_TONE_5, &id), ACS_ERR_INVALID_HANDLE);
    report(id == 77, "nothing written on failure");
    acs_call *bogus = (acs_call *)(uintptr_t)0x1234;
    EXPECT(acs_call_send_dtmf(bogus, ACS_DTMF_TONE_5, NULL), ACS_ERR_INVALID_HANDLE);
    acs_remote_participant *p = NULL;
    acs_add_participant_options ao;
    EXPECT_OK(ACS_ADD_PARTICIPANT_OPTIONS_INIT(&ao));
    report(ao.struct_size == sizeof ao && ao.alternate_caller_id == NULL, "add-participant options: defaults");
    EXPECT(acs_call_add_participant_with_options(NULL, "4:+15551234567", &ao, &p), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_add_participant_with_options(NULL, "4:+15551234567", &ao, NULL), ACS_ERR_NULL_POINTER);
    EXPECT(acs_add_participant_options_init_sized(&ao, 2), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_add_participant_options_init(NULL), ACS_ERR_NULL_POINTER);
}

/* ---- Part 2: calls through the service ---- */

static bool wait_connected_agent(acs_call_client *client, acs_call_agent *agent) {
    int32_t st = -1;
    for (int64_t end = now_ms() + TIMEOUT_MS; now_ms() < end;) {
        uint32_t n = 0;
        acs_call_client_dispatch_events(client, 50, &n);
        if (acs_call_agent_get_connection_state(agent, &st) == ACS_OK && st == ACS_AGENT_CONNECTION_CONNECTED) {
            return true;
        }
    }
    return false;
}

static void test_with_service(const char *url, const char *token) {
    printf("# with the service (manual dispatch): caller id, DTMF refused without a phone participant\n");
    acs_call_client_options co;
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    acs_audio_device *mic = NULL, *spk = NULL;
    acs_call_agent *agent = NULL;
    acs_call *call = NULL;
    size_t cursor = 0;
    logged_event ev;
    const char *echo[] = {"8:echo123"};

    ACS_CALL_CLIENT_OPTIONS_INIT(&co);
    co.dispatch_mode = ACS_DISPATCH_MANUAL;
    if (!EXPECT_OK(acs_call_client_create(&co, &client)) || !EXPECT_OK(acs_call_client_get_device_manager(client, &dm)) ||
        !EXPECT_OK(acs_device_manager_create_tone_microphone(dm, "phone test mic", 440.0f, 0.3f, &mic)) ||
        !EXPECT_OK(acs_device_manager_create_pull_speaker(dm, "phone test speaker", 1000, &spk))) {
        goto out;
    }
    acs_call_agent_options ao;
    ACS_CALL_AGENT_OPTIONS_INIT(&ao);
    ao.service_url = url;
    ao.token = token;
    ao.display_name = "phone test";
    ao.event_callback = on_event;
    if (!EXPECT_OK(acs_call_client_create_call_agent(client, &ao, &agent)) ||
        !wait_connected_agent(client, agent)) {
        report(false, "the agent connects");
        goto out;
    }

    /* Caller ids that are not phone numbers are refused before anything is placed. */
    acs_call_options opts;
    ACS_CALL_OPTIONS_INIT(&opts);
    report(opts.alternate_caller_id == NULL, "ACS_CALL_OPTIONS_INIT: no alternate caller id");
    opts.microphone = mic;
    opts.speaker = spk;
    const char *bad_ids[] = {"8:acs:not-a-phone", "+15551234567", "4:+1", "4:+1555abc"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        opts.alternate_caller_id = bad_ids[i];
        acs_status s = acs_call_agent_start_call(agent, echo, 1, &opts, &call);
        report(s == ACS_ERR_INVALID_ARGUMENT && call == NULL && message_says("not a phone number"),
               "caller id '%s' -> %s", bad_ids[i], acs_status_to_string(s));
    }
    opts.alternate_caller_id = "4:+1555\xff";
    EXPECT(acs_call_agent_start_call(agent, echo, 1, &opts, &call), ACS_ERR_INVALID_UTF8);
    size_t ncalls = 9;
    acs_call_agent_get_call_count(agent, &ncalls);
    report(ncalls == 0, "no call was placed by the refused attempts (%zu)", ncalls);

    /* An older host's shorter options: the guard bytes where alternate_caller_id now is
     * would be a wild pointer if read. */
    struct {
        old_call_options s;
        unsigned char guard[64];
    } old;
    memset(&old, GUARD, sizeof old);
    old.s.struct_size = sizeof old.s;
    old.s.microphone = mic;
    old.s.speaker = spk;
    old.s.start_muted = false;
    if (!EXPECT_OK(acs_call_agent_start_call(agent, echo, 1, (const acs_call_options *)(const void *)&old.s, &call))) {
        goto out;
    }
    /* Not connected yet: DTMF needs a connected call. */
    EXPECT(acs_call_send_dtmf(call, ACS_DTMF_TONE_1, NULL), ACS_ERR_INVALID_STATE);
    if (!wait_event(client, &cursor, ACS_EVENT_CALL_STATE_CHANGED, call, ACS_CALL_STATE_CONNECTED, 0, NULL)) {
        report(false, "the call from the old options connects");
        goto out;
    }
    report(true, "the call from the old options (struct_size %u) connects", old.s.struct_size);

    /* Bad tones are refused at once. */
    uint64_t id = 99;
    EXPECT(acs_call_send_dtmf(call, -1, &id), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_call_send_dtmf(call, 17, &id), ACS_ERR_INVALID_ARGUMENT);
    report(message_says("not a DTMF tone"), "the message says why");
    EXPECT(acs_call_send_dtmf(call, ACS_DTMF_TONE_FLASH, &id), ACS_ERR_UNSUPPORTED);
    report(id == 99, "no request id on failure");

    /* The echo bot is no phone: the service refuses, and the completion says so. */
    uint64_t first = 0;
    size_t before = cursor;
    EXPECT_OK(acs_call_send_dtmf(call, ACS_DTMF_TONE_5, &first));
    EXPECT_OK(acs_call_send_dtmf(call, ACS_DTMF_TONE_POUND, NULL));
    report(first == 1, "the first request id is 1 (%llu)", (unsigned long long)first);
    if (wait_event(client, &cursor, ACS_EVENT_DTMF_SEND_COMPLETED, call, -1, first, &ev)) {
        report(ev.has_phone_fields && ev.dtmf_tone == ACS_DTMF_TONE_5 && ev.code == 400 && ev.subcode == 0 &&
                   strstr(ev.message, "no phone participant") != NULL,
               "DTMF_SEND_COMPLETED #%llu: tone %d, %d/%d \"%s\"", (unsigned long long)ev.request_id,
               (int)ev.dtmf_tone, (int)ev.code, (int)ev.subcode, ev.message);
    } else {
        report(false, "DTMF_SEND_COMPLETED for request %llu", (unsigned long long)first);
    }
    cursor = before;
    if (wait_event(client, &cursor, ACS_EVENT_DTMF_SEND_COMPLETED, call, -1, first + 1, &ev)) {
        report(ev.dtmf_tone == ACS_DTMF_TONE_POUND && ev.code == 400, "the second send completes too (#%llu, tone %d)",
               (unsigned long long)ev.request_id, (int)ev.dtmf_tone);
    } else {
        report(false, "DTMF_SEND_COMPLETED for request %llu", (unsigned long long)(first + 1));
    }

    /* The echo bot's identifier kind; adding with a bad caller id. */
    acs_remote_participant *p = NULL;
    size_t np = 0;
    for (int64_t end = now_ms() + TIMEOUT_MS; np == 0 && now_ms() < end;) {
        uint32_t n = 0;
        acs_call_client_dispatch_events(client, 50, &n);
        acs_call_get_remote_participant_count(call, &np);
    }
    if (EXPECT_OK(acs_call_get_remote_participant(call, 0, &p))) {
        int32_t k = -1;
        EXPECT_OK(acs_remote_participant_get_identifier_kind(p, &k));
        report(k == ACS_IDENTIFIER_KIND_COMMUNICATION_USER, "the echo bot is a COMMUNICATION_USER (%d)", (int)k);
        EXPECT(acs_remote_participant_get_identifier_kind(p, NULL), ACS_ERR_NULL_POINTER);
        acs_remote_participant_release(p);
        p = NULL;
    }
    acs_add_participant_options apo;
    ACS_ADD_PARTICIPANT_OPTIONS_INIT(&apo);
    apo.alternate_caller_id = "8:acs:not-a-phone";
    acs_status s = acs_call_add_participant_with_options(call, "4:+15551234567", &apo, &p);
    report(s == ACS_ERR_INVALID_ARGUMENT && p == NULL && message_says("not a phone number"),
           "add a phone with caller id 8:acs:… -> %s", acs_status_to_string(s));
    EXPECT(acs_call_add_participant_with_options(call, "not-an-id", NULL, &p), ACS_ERR_INVALID_ARGUMENT);
    apo.struct_size = 2;
    EXPECT(acs_call_add_participant_with_options(call, "4:+15551234567", &apo, &p), ACS_ERR_INVALID_ARGUMENT);

    /* After the end, then after the release. */
    EXPECT_OK(acs_call_hang_up(call, false));
    wait_event(client, &cursor, ACS_EVENT_CALL_STATE_CHANGED, call, ACS_CALL_STATE_DISCONNECTED, 0, NULL);
    EXPECT(acs_call_send_dtmf(call, ACS_DTMF_TONE_1, NULL), ACS_ERR_INVALID_STATE);
    acs_call_release(call);
    EXPECT(acs_call_send_dtmf(call, ACS_DTMF_TONE_1, NULL), ACS_ERR_INVALID_HANDLE);
    call = NULL;

    /* A valid caller id is sent with the call; the echo bot, no phone, connects regardless. */
    opts.alternate_caller_id = "4:15550001111";
    if (EXPECT_OK(acs_call_agent_start_call(agent, echo, 1, &opts, &call))) {
        report(wait_event(client, &cursor, ACS_EVENT_CALL_STATE_CHANGED, call, ACS_CALL_STATE_CONNECTED, 0, NULL),
               "a call with caller id 4:15550001111 connects");
        acs_call_hang_up(call, false);
        wait_event(client, &cursor, ACS_EVENT_CALL_STATE_CHANGED, call, ACS_CALL_STATE_DISCONNECTED, 0, NULL);
    }

out:
    acs_call_release(call);
    acs_call_agent_release(agent);
    acs_audio_device_release(mic);
    acs_audio_device_release(spk);
    acs_device_manager_release(dm);
    if (client != NULL) {
        uint32_t n = 0;
        acs_call_client_dispatch_events(client, 0, &n);
    }
    acs_call_client_release(client);
}

/* Mean square of what the pull speaker played over the next `ms` (events pumped meanwhile). */
static double played_power(acs_call_client *client, acs_audio_device *spk, int ms) {
    static int16_t pcm[48000];
    size_t n = 0;
    acs_audio_device_pull_pcm(spk, pcm, sizeof pcm / sizeof pcm[0], &n); /* drop the old */
    for (int64_t end = now_ms() + ms; now_ms() < end;) {
        uint32_t k = 0;
        acs_call_client_dispatch_events(client, 20, &k);
    }
    n = 0;
    if (acs_audio_device_pull_pcm(spk, pcm, sizeof pcm / sizeof pcm[0], &n) != ACS_OK || n == 0) {
        return 0.0;
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += (double)pcm[i] * (double)pcm[i];
    }
    return sum / (double)n;
}

/* Part 3: a real phone behind the service's SIP gateway (SIPp playing the carrier with
 * tests/sipp/phone_early_media.xml: 183 with an announcement, answer, key 4, hang-up). */
static void test_with_phone(const char *url, const char *token, const char *phone) {
    printf("\n# part 3: calling %s through the SIP gateway\n", phone);
    acs_call_client_options co;
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    acs_audio_device *mic = NULL, *spk = NULL;
    acs_call_agent *agent = NULL;
    acs_call *call = NULL;
    size_t cursor = 0;
    logged_event ev;

    g_count = 0;
    ACS_CALL_CLIENT_OPTIONS_INIT(&co);
    co.dispatch_mode = ACS_DISPATCH_MANUAL;
    if (!EXPECT_OK(acs_call_client_create(&co, &client)) || !EXPECT_OK(acs_call_client_get_device_manager(client, &dm)) ||
        !EXPECT_OK(acs_device_manager_create_tone_microphone(dm, "phone mic", 440.0f, 0.3f, &mic)) ||
        !EXPECT_OK(acs_device_manager_create_pull_speaker(dm, "phone speaker", 2000, &spk))) {
        goto out;
    }
    acs_call_agent_options ao;
    ACS_CALL_AGENT_OPTIONS_INIT(&ao);
    ao.service_url = url;
    ao.token = token;
    ao.display_name = "phone caller";
    ao.event_callback = on_event;
    if (!EXPECT_OK(acs_call_client_create_call_agent(client, &ao, &agent)) ||
        !wait_connected_agent(client, agent)) {
        report(false, "the agent connects");
        goto out;
    }
    acs_call_options opts;
    ACS_CALL_OPTIONS_INIT(&opts);
    opts.microphone = mic;
    opts.speaker = spk;
    const char *ids[] = {phone};
    if (!EXPECT_OK(acs_call_agent_start_call(agent, ids, 1, &opts, &call))) {
        goto out;
    }
    bool early = wait_event(client, &cursor, ACS_EVENT_CALL_STATE_CHANGED, call, ACS_CALL_STATE_EARLY_MEDIA, 0, NULL);
    report(early, "the call goes EARLY_MEDIA (183 with SDP)");
    if (!early) {
        goto out;
    }
    /* The carrier's announcement is heard before the answer. */
    double level = 0.0; /* mean square: 1e4 is an rms of 100 */
    for (int64_t end = now_ms() + 3000; now_ms() < end && level < 1e4;) {
        level = played_power(client, spk, 300);
    }
    report(level >= 1e4, "the announcement is heard during early media (mean square %.0f)", level);
    bool answered = wait_event(client, &cursor, ACS_EVENT_CALL_STATE_CHANGED, call, ACS_CALL_STATE_CONNECTED, 0, NULL);
    report(answered, "the phone answers: CONNECTED");
    if (!answered) {
        goto out;
    }
    acs_remote_participant *p = NULL;
    if (EXPECT_OK(acs_call_get_remote_participant(call, 0, &p))) {
        char id[64] = "";
        int32_t kind = -1;
        EXPECT_OK(acs_remote_participant_get_identifier(p, id, sizeof id, NULL));
        EXPECT_OK(acs_remote_participant_get_identifier_kind(p, &kind));
        report(strcmp(id, phone) == 0 && kind == ACS_IDENTIFIER_KIND_PHONE_NUMBER, "the phone in the roster: %s (kind %d)",
               id, (int)kind);
        acs_remote_participant_release(p);
    }
    /* The phone presses 4 (SIPp's RFC 2833 pcap). */
    if (wait_event(client, &cursor, ACS_EVENT_DTMF_RECEIVED, call, -1, 0, &ev)) {
        report(ev.dtmf_tone == ACS_DTMF_TONE_4 && strcmp(ev.participant_id, phone) == 0,
               "DTMF_RECEIVED: tone %d from %s", (int)ev.dtmf_tone, ev.participant_id);
    } else {
        report(false, "DTMF_RECEIVED from the phone");
    }
    /* Our 7 goes out on the phone leg. */
    uint64_t rid = 0;
    if (EXPECT_OK(acs_call_send_dtmf(call, ACS_DTMF_TONE_7, &rid))) {
        size_t from = 0;
        if (wait_event(client, &from, ACS_EVENT_DTMF_SEND_COMPLETED, call, -1, rid, &ev)) {
            report(ev.code == 0 && ev.subcode == 0 && ev.dtmf_tone == ACS_DTMF_TONE_7,
                   "DTMF_SEND_COMPLETED #%llu: sent (%d/%d %s)", (unsigned long long)rid, (int)ev.code,
                   (int)ev.subcode, ev.message);
        } else {
            report(false, "DTMF_SEND_COMPLETED #%llu", (unsigned long long)rid);
        }
    }
    /* The phone hangs up: the 1:1 call ends as a remote hang-up. */
    cursor = 0;
    if (wait_event(client, &cursor, ACS_EVENT_CALL_STATE_CHANGED, call, ACS_CALL_STATE_DISCONNECTED, 0, &ev)) {
        int32_t code = -1, sub = -1;
        acs_call_get_end_reason(call, &code, &sub);
        report(code == 0 && sub == 4097, "the phone hung up: DISCONNECTED %d/%d", (int)code, (int)sub);
    } else {
        report(false, "the phone hangs up");
    }

out:
    acs_call_release(call);
    acs_call_agent_release(agent);
    acs_audio_device_release(mic);
    acs_audio_device_release(spk);
    acs_device_manager_release(dm);
    if (client != NULL) {
        uint32_t n = 0;
        acs_call_client_dispatch_events(client, 0, &n);
    }
    acs_call_client_release(client);
}

int main(int argc, char **argv) {
    const char *url = NULL, *token = NULL, *phone = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--service-url") == 0) {
            url = argv[i + 1];
        } else if (strcmp(argv[i], "--token-a") == 0) {
            token = argv[i + 1];
        } else if (strcmp(argv[i], "--phone") == 0) {
            phone = argv[i + 1];
        }
    }
    printf("libacscalling %s: phone-call C API tests\n", acs_calling_version());
    test_constants_and_layouts();
    test_identifier_kinds();
    test_bad_handles();
    if (url != NULL && token != NULL) {
        test_with_service(url, token);
    } else {
        printf("# part 2 skipped: needs --service-url and --token-a\n");
    }
    if (url != NULL && token != NULL && phone != NULL) {
        test_with_phone(url, token, phone);
    } else {
        printf("# part 3 skipped: needs --phone (a number the service's SIP trunk answers)\n");
    }
    printf("\n%d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
