/*
 * transfer_call.c — call transfer from C, through a running acscalling-service.
 *
 *   transfer_call --service-url ws://127.0.0.1:8080 --token-a T1 --token-b T2 --token-c T3
 *
 * Alice (440 Hz tone) calls Bob (660 Hz), who answers. Bob's agent is created with
 * `answer_transfers`, so his host answers transfer requests itself:
 *  1. Alice transfers Bob to Carol (880 Hz): Bob gets ACS_EVENT_CALL_TRANSFER_REQUESTED
 *     (participant = Alice, transfer_target = Carol) and refuses; both sides see
 *     ACS_EVENT_CALL_TRANSFER_STATE_CHANGED REQUESTED then FAILED 603/10017, Carol never
 *     rings, and Alice and Bob still hear each other.
 *  2. Alice transfers again, Bob accepts, Carol rings and answers: both sides see REQUESTED,
 *     TRANSFERRING, TRANSFERRED (transfer_target = Carol each time); Alice's call ends with
 *     0/10015; Bob and Carol hear each other in Bob's call.
 * A malformed target is refused at once (ACS_ERR_INVALID_ARGUMENT, no event). Each step is
 * checked; exit code 0 when all hold. Built with -Wall -Wextra -Werror and run under
 * ASan/UBSan by run_c_tests.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include "acscalling.h"
#include "check.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMEOUT_MS 15000
#define HEARD 0.005f
#define MAX_EVENTS 16

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A transfer event as the callback saw it (copied: the strings are borrowed). */
typedef struct {
    int32_t kind, state, code, subcode;
    acs_call *call; /* compared only, never used */
    bool has_participant;
    char target[256];
    char participant_id[256];
} transfer_event;

typedef struct {
    const char *name;
    float hz;
    acs_call_agent *agent;
    acs_audio_device *mic, *speaker;
    acs_call *call;
    pthread_mutex_t mu;
    acs_call *incoming; /* retained in the callback */
    int incoming_count;
    transfer_event ev[MAX_EVENTS];
    int nev;
    bool short_event; /* an event whose struct_size does not cover transfer_target */
} party;

static void copy(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static void on_event(void *user_data, const acs_event *e) {
    party *p = (party *)user_data;
    pthread_mutex_lock(&p->mu);
    if (e->kind == ACS_EVENT_INCOMING_CALL) {
        p->incoming_count++;
        if (p->incoming == NULL && acs_call_retain(e->call) == ACS_OK) {
            p->incoming = e->call;
        }
    } else if (e->kind == ACS_EVENT_CALL_TRANSFER_STATE_CHANGED || e->kind == ACS_EVENT_CALL_TRANSFER_REQUESTED) {
        if (e->struct_size < offsetof(acs_event, transfer_target) + sizeof e->transfer_target) {
            p->short_event = true;
        } else if (p->nev < MAX_EVENTS) {
            transfer_event *t = &p->ev[p->nev++];
            t->kind = e->kind;
            t->state = e->state;
            t->code = e->code;
            t->subcode = e->subcode;
            t->call = e->call;
            t->has_participant = e->participant != NULL;
            copy(t->target, sizeof t->target, e->transfer_target);
            copy(t->participant_id, sizeof t->participant_id, e->participant_id);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

static int event_count(party *p) {
    pthread_mutex_lock(&p->mu);
    int n = p->nev;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Waits until `p` recorded at least `n` transfer events. */
static bool wait_events(party *p, int n) {
    int64_t end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && event_count(p) < n) {
        sleep_ms(10);
    }
    return event_count(p) >= n;
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
    while (now_ms() < end && call_state(c) != want) {
        sleep_ms(10);
    }
    return call_state(c) == want;
}

/* Power of `hz` in about half a second of what the speaker plays from now on. */
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
    sleep_ms(500);
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

static void hears(const party *p, const party *other) {
    float pw = 0.0f;
    int64_t end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && (pw = listen(p->speaker, other->hz)) <= HEARD) {
    }
    report(pw > HEARD, "%s hears %s (%.0f Hz, power %.4f)", p->name, other->name, (double)other->hz, (double)pw);
}

static bool setup(party *p, acs_call_client *client, acs_device_manager *dm, const char *url, const char *token,
                  bool answer_transfers) {
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
    report(!o.answer_transfers, "%s: answer_transfers defaults to false", p->name);
    o.service_url = url;
    o.token = token;
    o.display_name = p->name;
    o.event_callback = on_event;
    o.event_user_data = p;
    o.answer_transfers = answer_transfers;
    if (!expect_status(acs_call_client_create_call_agent(client, &o, &p->agent), ACS_OK, "create agent")) {
        return false;
    }
    while (now_ms() < end && (acs_call_agent_get_connection_state(p->agent, &st) != ACS_OK ||
                              st != ACS_AGENT_CONNECTION_CONNECTED)) {
        sleep_ms(20);
    }
    report(st == ACS_AGENT_CONNECTION_CONNECTED, "%s connected", p->name);
    return st == ACS_AGENT_CONNECTION_CONNECTED;
}

static acs_call_options options_of(const party *p) {
    acs_call_options o;
    ACS_CALL_OPTIONS_INIT(&o);
    o.microphone = p->mic;
    o.speaker = p->speaker;
    return o;
}

/* Takes the call that rang `p` (waits for it); NULL if none. */
static acs_call *take_incoming(party *p) {
    acs_call *c = NULL;
    int64_t end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end) {
        pthread_mutex_lock(&p->mu);
        c = p->incoming;
        p->incoming = NULL;
        pthread_mutex_unlock(&p->mu);
        if (c != NULL) {
            break;
        }
        sleep_ms(10);
    }
    return c;
}

static const char *state_name(int32_t s) {
    switch (s) {
    case ACS_TRANSFER_STATE_REQUESTED: return "REQUESTED";
    case ACS_TRANSFER_STATE_TRANSFERRING: return "TRANSFERRING";
    case ACS_TRANSFER_STATE_TRANSFERRED: return "TRANSFERRED";
    case ACS_TRANSFER_STATE_FAILED: return "FAILED";
    default: return "?";
    }
}

/* Checks p->ev[from..from+n) are state changes of `call` with `states`, all to `target`;
 * the last one with code/subcode. Events of kind REQUESTED (19) are skipped. */
static void check_states(party *p, int from, acs_call *call, const char *target, const int32_t *states, int n,
                         int32_t code, int32_t subcode) {
    int got = 0;
    bool ok = true;
    char seen[256] = "";
    pthread_mutex_lock(&p->mu);
    for (int i = from; i < p->nev; i++) {
        const transfer_event *t = &p->ev[i];
        size_t len = strlen(seen);
        if (t->kind != ACS_EVENT_CALL_TRANSFER_STATE_CHANGED) {
            continue;
        }
        snprintf(seen + len, sizeof seen - len, "%s%s %d/%d", len ? ", " : "", state_name(t->state), t->code,
                 t->subcode);
        if (got >= n || t->state != states[got] || t->call != call || strcmp(t->target, target) != 0) {
            ok = false;
        }
        got++;
    }
    if (got == n && n > 0) {
        const transfer_event *last = NULL;
        for (int i = p->nev - 1; i >= from && last == NULL; i--) {
            if (p->ev[i].kind == ACS_EVENT_CALL_TRANSFER_STATE_CHANGED) last = &p->ev[i];
        }
        ok = ok && last->code == code && last->subcode == subcode;
    }
    pthread_mutex_unlock(&p->mu);
    report(ok && got == n, "%s's transfer events: %s (want %d ending %s %d/%d, target Carol)", p->name, seen, n,
           state_name(states[n - 1]), code, subcode);
}

/* How many transfer events of `kind` p has from `from` on. */
static int count_kind(party *p, int from, int32_t kind) {
    int c = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = from; i < p->nev; i++) c += p->ev[i].kind == kind;
    pthread_mutex_unlock(&p->mu);
    return c;
}

/* Bob's request event from `from` on: participant = Alice, target = Carol, Bob's call. */
static void check_request(party *bob, int from, acs_call *call, const char *alice, const char *carol) {
    bool ok = false;
    char got[600] = "none";
    pthread_mutex_lock(&bob->mu);
    for (int i = from; i < bob->nev; i++) {
        const transfer_event *t = &bob->ev[i];
        if (t->kind == ACS_EVENT_CALL_TRANSFER_REQUESTED) {
            ok = t->call == call && t->has_participant && strcmp(t->participant_id, alice) == 0 &&
                 strcmp(t->target, carol) == 0 && t->state == 0;
            snprintf(got, sizeof got, "participant_id %s, transfer_target %s", t->participant_id, t->target);
            break;
        }
    }
    pthread_mutex_unlock(&bob->mu);
    report(ok, "Bob: ACS_EVENT_CALL_TRANSFER_REQUESTED from Alice to Carol (%s)", got);
}

static bool wait_request(party *p, int n) {
    int64_t end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && count_kind(p, 0, ACS_EVENT_CALL_TRANSFER_REQUESTED) < n) {
        sleep_ms(10);
    }
    return count_kind(p, 0, ACS_EVENT_CALL_TRANSFER_REQUESTED) >= n;
}

int main(int argc, char **argv) {
    const char *url = NULL, *tok[3] = {NULL, NULL, NULL};
    party p[3] = {{.name = "Alice", .hz = 440.0f}, {.name = "Bob", .hz = 660.0f}, {.name = "Carol", .hz = 880.0f}};
    party *alice = &p[0], *bob = &p[1], *carol = &p[2];
    char ids[3][256] = {"", "", ""};
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    acs_call_options o;
    size_t base = acs_debug_live_handle_count(), n = 0;
    int32_t code = -1, sub = -1;
    int64_t t0;
    int i, a0, b0;

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
        /* Bob's host answers transfer requests itself. */
        if (!setup(&p[i], client, dm, url, tok[i], &p[i] == bob)) {
            goto out;
        }
        acs_call_agent_get_user_id(p[i].agent, ids[i], sizeof ids[i], NULL);
    }

    /* Alice calls Bob, who answers. */
    o = options_of(alice);
    {
        const char *callee[1] = {ids[1]};
        if (!EXPECT_OK(acs_call_agent_start_call(alice->agent, callee, 1, &o, &alice->call))) goto out;
    }
    bob->call = take_incoming(bob);
    report(bob->call != NULL, "Bob's phone rings");
    if (bob->call == NULL) goto out;
    o = options_of(bob);
    EXPECT_OK(acs_call_accept(bob->call, &o));
    report(wait_state(alice->call, ACS_CALL_STATE_CONNECTED) && wait_state(bob->call, ACS_CALL_STATE_CONNECTED),
           "Alice and Bob are CONNECTED");

    /* Refused at once: no event follows. */
    EXPECT(acs_call_transfer(alice->call, "nobody"), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_call_transfer(alice->call, "4:+12ab"), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_call_transfer(alice->call, NULL), ACS_ERR_NULL_POINTER);
    EXPECT(acs_call_transfer(NULL, ids[2]), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_answer_transfer(NULL, true), ACS_ERR_INVALID_HANDLE);
    EXPECT(acs_call_answer_transfer(bob->call, true), ACS_ERR_INVALID_STATE); /* nothing asked yet */

    /* 1. Bob refuses. */
    printf("# 1. Alice transfers Bob to Carol; Bob refuses\n");
    EXPECT_OK(acs_call_transfer(alice->call, ids[2]));
    report(wait_request(bob, 1), "Bob is asked");
    check_request(bob, 0, bob->call, ids[0], ids[2]);
    sleep_ms(200);
    report(count_kind(alice, 0, ACS_EVENT_CALL_TRANSFER_STATE_CHANGED) == 1 &&
               count_kind(bob, 0, ACS_EVENT_CALL_TRANSFER_STATE_CHANGED) == 1,
           "REQUESTED only, until Bob answers");
    EXPECT_OK(acs_call_answer_transfer(bob->call, false));
    wait_events(alice, 2);
    wait_events(bob, 3); /* REQUESTED (19), REQUESTED, FAILED */
    {
        const int32_t want[] = {ACS_TRANSFER_STATE_REQUESTED, ACS_TRANSFER_STATE_FAILED};
        check_states(alice, 0, alice->call, ids[2], want, 2, 603, 10017);
        check_states(bob, 0, bob->call, ids[2], want, 2, 603, 10017);
    }
    pthread_mutex_lock(&carol->mu);
    report(carol->incoming_count == 0 && carol->nev == 0, "Carol never rang");
    pthread_mutex_unlock(&carol->mu);
    report(call_state(alice->call) == ACS_CALL_STATE_CONNECTED && call_state(bob->call) == ACS_CALL_STATE_CONNECTED,
           "the call goes on");
    hears(alice, bob);
    hears(bob, alice);

    /* 2. Bob accepts, Carol answers. */
    printf("# 2. Alice transfers Bob to Carol again; Bob accepts, Carol answers\n");
    a0 = event_count(alice);
    b0 = event_count(bob);
    t0 = now_ms();
    EXPECT_OK(acs_call_transfer(alice->call, ids[2]));
    report(wait_request(bob, 2), "Bob is asked again");
    check_request(bob, b0, bob->call, ids[0], ids[2]);
    EXPECT_OK(acs_call_answer_transfer(bob->call, true));
    carol->call = take_incoming(carol);
    report(carol->call != NULL, "Carol's phone rings");
    if (carol->call == NULL) goto out;
    o = options_of(carol);
    EXPECT_OK(acs_call_accept(carol->call, &o));
    report(wait_state(alice->call, ACS_CALL_STATE_DISCONNECTED), "Alice's call ends (%lld ms after the request)",
           (long long)(now_ms() - t0));
    {
        bool got = acs_call_get_end_reason(alice->call, &code, &sub) == ACS_OK;
        report(got && code == 0 && sub == 10015, "Alice's end reason is 0/10015 (TRANSFERRED): %d/%d", code, sub);
    }
    wait_events(alice, a0 + 3);
    wait_events(bob, b0 + 4);
    {
        const int32_t want[] = {ACS_TRANSFER_STATE_REQUESTED, ACS_TRANSFER_STATE_TRANSFERRING,
                                ACS_TRANSFER_STATE_TRANSFERRED};
        check_states(alice, a0, alice->call, ids[2], want, 3, 0, 0);
        check_states(bob, b0, bob->call, ids[2], want, 3, 0, 0);
    }
    report(wait_state(carol->call, ACS_CALL_STATE_CONNECTED), "Carol is CONNECTED");
    report(call_state(bob->call) == ACS_CALL_STATE_CONNECTED, "Bob's call goes on");
    {
        int64_t end = now_ms() + TIMEOUT_MS;
        while (now_ms() < end && !(acs_call_get_remote_participant_count(bob->call, &n) == ACS_OK && n == 1)) {
            sleep_ms(10);
        }
        acs_remote_participant *rp = NULL;
        char rid[256] = "";
        if (n == 1 && acs_call_get_remote_participant(bob->call, 0, &rp) == ACS_OK) {
            acs_remote_participant_get_identifier(rp, rid, sizeof rid, NULL);
            acs_remote_participant_release(rp);
        }
        report(n == 1 && strcmp(rid, ids[2]) == 0, "Bob's roster is Carol");
    }
    hears(bob, carol);
    hears(carol, bob);
    for (i = 0; i < 3; i++) {
        report(!p[i].short_event, "%s: every transfer event covers transfer_target", p[i].name);
    }
    EXPECT_OK(acs_call_hang_up(carol->call, false));
    report(wait_state(bob->call, ACS_CALL_STATE_DISCONNECTED), "Carol hangs up: Bob's call ends (1:1 again)");

out:
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
    report(acs_debug_live_handle_count() == base, "no handle leaked");
    printf("# %s (%d checks)\n", g_failures == 0 ? "PASS" : "FAIL", g_checks);
    return g_failures == 0 ? 0 : 1;
}
