/*
 * group_call.c — a group call from C, through a running acscalling-service.
 *
 *   group_call --service-url ws://127.0.0.1:8080 --token-a T1 --token-b T2 --token-c T3
 *
 * Alice (440 Hz tone) and Bob (660 Hz) join one group call by its group id; Alice invites
 * Carol (880 Hz), who accepts from her incoming-call event; everyone hears the two others.
 * Bob and Carol mute: Alice is the dominant speaker and "speaking" for both. Alice removes
 * Carol, whose call ends with 0/5300. Each step is checked; exit code 0 when all hold.
 * Built with -Wall -Wextra -Werror and run under ASan/UBSan by run_c_tests.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include "acscalling.h"
#include "check.h"

static void report_check(bool ok, const char *what) { report(ok, "%s", what); }

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMEOUT_MS 15000
#define HEARD 0.005f
#define SILENT 0.001f

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One party: its agent, devices, the call it is in, and what its events told it. */
typedef struct {
    const char *name;
    float hz;
    acs_call_agent *agent;
    acs_audio_device *mic, *speaker;
    acs_call *call;
    pthread_mutex_t mu;
    acs_call *incoming;     /* retained in the callback */
    int dominant_events;
    int speaking_events;    /* speaking started */
    int removed_code, removed_subcode, removed_count;
} party;

static void on_event(void *user_data, const acs_event *e) {
    party *p = (party *)user_data;
    pthread_mutex_lock(&p->mu);
    switch (e->kind) {
    case ACS_EVENT_INCOMING_CALL:
        if (p->incoming == NULL && acs_call_retain(e->call) == ACS_OK) {
            p->incoming = e->call;
        }
        break;
    case ACS_EVENT_DOMINANT_SPEAKERS_CHANGED:
        p->dominant_events++;
        break;
    case ACS_EVENT_PARTICIPANT_SPEAKING_CHANGED:
        p->speaking_events += e->flag ? 1 : 0;
        break;
    case ACS_EVENT_PARTICIPANT_REMOVED:
        p->removed_code = e->code;
        p->removed_subcode = e->subcode;
        p->removed_count++;
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&p->mu);
}

static int32_t call_state(acs_call *c) {
    int32_t s = -1;
    if (c == NULL || acs_call_get_state(c, &s) != ACS_OK) {
        return -1;
    }
    return s;
}

static bool wait_state(acs_call *c, int32_t want) {
    int64_t end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end) {
        if (call_state(c) == want) {
            return true;
        }
        sleep_ms(20);
    }
    return call_state(c) == want;
}

/* Power of `hz` in about one second of what the speaker plays from now on. */
static float listen(acs_audio_device *spk, float hz) {
    static int16_t pcm[48000 * 2];
    int16_t scratch[4800];
    size_t n = 0, total = 0;
    float power = 0.0f;
    do {
        n = 0;
        if (acs_audio_device_pull_pcm(spk, scratch, 4800, &n) != ACS_OK) {
            return 0.0f;
        }
    } while (n == 4800);
    sleep_ms(1000);
    while (total < sizeof pcm / sizeof pcm[0]) {
        n = 0;
        if (acs_audio_device_pull_pcm(spk, pcm + total, sizeof pcm / sizeof pcm[0] - total, &n) != ACS_OK ||
            n == 0) {
            break;
        }
        total += n;
    }
    acs_audio_tone_power(pcm, total, hz, &power);
    return power;
}

static bool hears(const party *p, const party *other) {
    float pw = 0.0f;
    int64_t end = now_ms() + TIMEOUT_MS;
    char what[128];
    while (now_ms() < end && (pw = listen(p->speaker, other->hz)) <= HEARD) {
    }
    snprintf(what, sizeof what, "%s hears %s (%.0f Hz, power %.4f)", p->name, other->name,
             (double)other->hz, (double)pw);
    report_check(pw > HEARD, what);
    return pw > HEARD;
}

static acs_remote_participant *find_participant(acs_call *c, const char *id) {
    size_t n = 0, i;
    if (acs_call_get_remote_participant_count(c, &n) != ACS_OK) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        acs_remote_participant *rp = NULL;
        char rid[256];
        if (acs_call_get_remote_participant(c, i, &rp) != ACS_OK) {
            continue;
        }
        if (acs_remote_participant_get_identifier(rp, rid, sizeof rid, NULL) == ACS_OK &&
            strcmp(rid, id) == 0) {
            return rp; /* +1: the caller releases it */
        }
        acs_remote_participant_release(rp);
    }
    return NULL;
}

static bool dominant_is(acs_call *c, const char *id) {
    size_t n = 0;
    char first[256];
    return acs_call_get_dominant_speaker_count(c, &n, NULL) == ACS_OK && n >= 1 &&
           acs_call_get_dominant_speaker(c, 0, first, sizeof first, NULL) == ACS_OK &&
           strcmp(first, id) == 0;
}

static bool speaking(acs_call *c, const char *id) {
    bool s = false;
    acs_remote_participant *rp = find_participant(c, id);
    if (rp != NULL) {
        acs_remote_participant_is_speaking(rp, &s);
        acs_remote_participant_release(rp);
    }
    return s;
}

static bool setup(party *p, acs_call_client *client, acs_device_manager *dm, const char *url,
                  const char *token) {
    acs_call_agent_options o;
    char name[64];
    int32_t st = -1;
    int64_t end = now_ms() + TIMEOUT_MS;
    snprintf(name, sizeof name, "%s mic", p->name);
    if (!expect_status(acs_device_manager_create_tone_microphone(dm, name, p->hz, 0.5f, &p->mic), ACS_OK, "tone mic") ||
        !expect_status(acs_device_manager_create_pull_speaker(dm, name, 5000, &p->speaker), ACS_OK, "pull speaker")) {
        return false;
    }
    ACS_CALL_AGENT_OPTIONS_INIT(&o);
    o.service_url = url;
    o.token = token;
    o.display_name = p->name;
    o.event_callback = on_event;
    o.event_user_data = p;
    if (!expect_status(acs_call_client_create_call_agent(client, &o, &p->agent), ACS_OK, "create agent")) {
        return false;
    }
    while (now_ms() < end && (acs_call_agent_get_connection_state(p->agent, &st) != ACS_OK ||
                              st != ACS_AGENT_CONNECTION_CONNECTED)) {
        sleep_ms(20);
    }
    report_check(st == ACS_AGENT_CONNECTION_CONNECTED, "agent connected");
    return st == ACS_AGENT_CONNECTION_CONNECTED;
}

static acs_call_options options_of(const party *p) {
    acs_call_options o;
    ACS_CALL_OPTIONS_INIT(&o);
    o.microphone = p->mic;
    o.speaker = p->speaker;
    return o;
}

/* A random version-4 UUID for the group id. */
static void make_group_id(char out[37]) {
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f != NULL ? fread(b, 1, sizeof b, f) : 0;
    int i;
    if (f != NULL) {
        fclose(f);
    }
    for (i = (int)got; i < 16; i++) {
        b[i] = (unsigned char)rand();
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

int main(int argc, char **argv) {
    const char *url = NULL, *tok[3] = {NULL, NULL, NULL};
    party p[3] = {{.name = "Alice", .hz = 440.0f}, {.name = "Bob", .hz = 660.0f}, {.name = "Carol", .hz = 880.0f}};
    char ids[3][256] = {"", "", ""};
    char group[37];
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    acs_remote_participant *invited = NULL, *carol = NULL;
    acs_call_options o;
    size_t base = acs_debug_live_handle_count(), n = 0;
    int i;
    bool group_flag = false;
    int32_t code = -1, sub = -1, pstate = -1;
    int64_t end;

    for (i = 0; i < 3; i++) {
        pthread_mutex_init(&p[i].mu, NULL);
    }
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--service-url") == 0) url = argv[i + 1];
        else if (strcmp(argv[i], "--token-a") == 0) tok[0] = argv[i + 1];
        else if (strcmp(argv[i], "--token-b") == 0) tok[1] = argv[i + 1];
        else if (strcmp(argv[i], "--token-c") == 0) tok[2] = argv[i + 1];
    }
    if (url == NULL || tok[0] == NULL || tok[1] == NULL || tok[2] == NULL) {
        fprintf(stderr, "usage: %s --service-url URL --token-a T --token-b T --token-c T\n", argv[0]);
        return 2;
    }
    if (!expect_status(acs_call_client_create(NULL, &client), ACS_OK, "create client") ||
        !expect_status(acs_call_client_get_device_manager(client, &dm), ACS_OK, "device manager")) {
        goto out;
    }
    for (i = 0; i < 3; i++) {
        if (!setup(&p[i], client, dm, url, tok[i])) {
            goto out;
        }
        acs_call_agent_get_user_id(p[i].agent, ids[i], sizeof ids[i], NULL);
    }

    /* Alice and Bob join by group id. */
    make_group_id(group);
    printf("# group %s\n", group);
    for (i = 0; i < 2; i++) {
        o = options_of(&p[i]);
        if (!expect_status(acs_call_agent_join(p[i].agent, group, &o, &p[i].call), ACS_OK, "join")) {
            goto out;
        }
    }
    report_check(wait_state(p[0].call, ACS_CALL_STATE_CONNECTED) && wait_state(p[1].call, ACS_CALL_STATE_CONNECTED),
          "Alice and Bob are CONNECTED in the group call");
    report_check(acs_call_is_group_call(p[0].call, &group_flag) == ACS_OK && group_flag, "it is a group call");
    report_check(acs_call_agent_join(p[0].agent, "not-a-uuid", &o, &p[2].call) == ACS_ERR_INVALID_ARGUMENT,
          "a group id that is not a UUID is refused");

    /* Alice invites Carol, who accepts. */
    if (!expect_status(acs_call_add_participant(p[0].call, ids[2], &invited), ACS_OK, "add Carol")) {
        goto out;
    }
    end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end) {
        pthread_mutex_lock(&p[2].mu);
        bool rang = p[2].incoming != NULL;
        pthread_mutex_unlock(&p[2].mu);
        if (rang) {
            break;
        }
        sleep_ms(20);
    }
    report_check(p[2].incoming != NULL, "Carol's phone rings");
    if (p[2].incoming == NULL) {
        goto out;
    }
    o = options_of(&p[2]);
    p[2].call = p[2].incoming;
    p[2].incoming = NULL;
    expect_status(acs_call_accept(p[2].call, &o), ACS_OK, "Carol accepts");
    report_check(wait_state(p[2].call, ACS_CALL_STATE_CONNECTED), "Carol is CONNECTED");
    end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && (acs_remote_participant_get_state(invited, &pstate) != ACS_OK ||
                              pstate != ACS_PARTICIPANT_STATE_CONNECTED)) {
        sleep_ms(20);
    }
    report_check(pstate == ACS_PARTICIPANT_STATE_CONNECTED, "Alice sees Carol CONNECTED");
    report_check(acs_call_get_remote_participant_count(p[2].call, &n) == ACS_OK && n == 2,
          "Carol's roster has Alice and Bob");
    hears(&p[0], &p[1]);
    hears(&p[0], &p[2]);
    hears(&p[1], &p[0]);
    hears(&p[1], &p[2]);
    hears(&p[2], &p[0]);
    hears(&p[2], &p[1]);

    /* Bob and Carol mute: Alice is the dominant speaker, and speaking, for both. */
    acs_call_mute(p[1].call);
    acs_call_mute(p[2].call);
    for (i = 1; i < 3; i++) {
        bool dom = false, spk = false;
        end = now_ms() + TIMEOUT_MS;
        while (now_ms() < end && !(dom = dominant_is(p[i].call, ids[0]))) {
            sleep_ms(50);
        }
        end = now_ms() + TIMEOUT_MS;
        while (now_ms() < end && !(spk = speaking(p[i].call, ids[0]))) {
            sleep_ms(50);
        }
        report_check(dom, i == 1 ? "Bob sees Alice as the dominant speaker" : "Carol sees Alice as the dominant speaker");
        report_check(spk, i == 1 ? "Bob sees Alice speaking" : "Carol sees Alice speaking");
        pthread_mutex_lock(&p[i].mu);
        report_check(p[i].dominant_events > 0 && p[i].speaking_events > 0, "dominant-speaker and speaking events arrived");
        pthread_mutex_unlock(&p[i].mu);
    }
    end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && speaking(p[0].call, ids[1])) {
        sleep_ms(50);
    }
    report_check(!speaking(p[0].call, ids[1]), "Alice sees Bob (muted) stop speaking");

    /* Alice removes Carol. */
    carol = find_participant(p[0].call, ids[2]);
    report_check(carol != NULL && acs_call_remove_participant(p[0].call, carol) == ACS_OK, "Alice removes Carol");
    report_check(wait_state(p[2].call, ACS_CALL_STATE_DISCONNECTED), "Carol's call ends");
    report_check(acs_call_get_end_reason(p[2].call, &code, &sub) == ACS_OK && code == 0 && sub == 5300,
          "Carol's end reason is 0/5300 (removed)");
    end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end) {
        pthread_mutex_lock(&p[1].mu);
        bool seen = p[1].removed_count > 0;
        pthread_mutex_unlock(&p[1].mu);
        if (seen) {
            break;
        }
        sleep_ms(20);
    }
    report_check(p[1].removed_count > 0 && p[1].removed_code == 0 && p[1].removed_subcode == 5300,
          "Bob sees Carol leave with 0/5300");
    report_check(acs_call_remove_participant(p[0].call, NULL) == ACS_ERR_INVALID_HANDLE, "NULL participant is refused");
    for (i = 0; i < 2; i++) {
        acs_call_hang_up(p[i].call, false);
        report_check(wait_state(p[i].call, ACS_CALL_STATE_DISCONNECTED), "hung up");
    }

out:
    acs_remote_participant_release(invited);
    acs_remote_participant_release(carol);
    for (i = 0; i < 3; i++) {
        acs_call_release(p[i].call);
        acs_call_agent_release(p[i].agent);
        acs_call_release(p[i].incoming);
        acs_audio_device_release(p[i].mic);
        acs_audio_device_release(p[i].speaker);
    }
    acs_device_manager_release(dm);
    acs_call_client_release(client);
    for (i = 0; i < 3; i++) {
        pthread_mutex_destroy(&p[i].mu);
    }
    report_check(acs_debug_live_handle_count() == base, "no handle leaked");
    printf("# %s\n", g_failures == 0 ? "PASS" : "FAIL");
    return g_failures == 0 ? 0 : 1;
}
