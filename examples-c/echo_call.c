/*
 * echo_call.c — calls the echo bot (8:echo123) and checks that our 440 Hz tone comes back.
 *
 *   echo_call --service-url ws://127.0.0.1:8080 --token TOKEN [--manual-dispatch] [--no-tone-check]
 *   (or set ACS_SERVICE_URL / ACS_TOKEN)
 *
 * It starts nothing itself: the service must be running and TOKEN must be an access token
 * with the `voip` scope from its identity API.
 *
 * Default mode: events arrive on the library's event thread; the callback records them
 * under a mutex and signals a condition variable that main() waits on.
 * --manual-dispatch: the client is created with ACS_DISPATCH_MANUAL and main() pumps
 * acs_call_client_dispatch_events() in its loop, as a game loop would; the callback then
 * runs on the main thread.
 *
 * --no-tone-check: for runs under valgrind, where the media threads run many times slower
 * than real time: the call is placed, kept and ended as usual and the echoed tone is
 * reported, but only the call's states decide the exit code.
 *
 * Exit code 0 when the tone came back, 1 otherwise.  C99 + POSIX threads.
 */
#define _POSIX_C_SOURCE 200809L

#include "acscalling.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TONE_HZ 440.0f
#define KEEP_CALL_MS 2500
#define CONNECT_TIMEOUT_MS 30000
#define HEARD_POWER 0.01f /* a 0.5-amplitude tone is ~0.125 (full scale ~0.5) */

/* What the event callback has seen. Guarded by `mu`. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool manual;              /* manual dispatch: the waits pump events themselves */
    acs_call_client *client;  /* for dispatch_events in manual mode */
    int32_t agent_state;
    int32_t agent_code;
    int32_t call_state;
    int32_t end_code;
    int32_t end_subcode;
} app_state;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *call_state_name(int32_t s) {
    switch (s) {
    case ACS_CALL_STATE_NONE: return "None";
    case ACS_CALL_STATE_EARLY_MEDIA: return "EarlyMedia";
    case ACS_CALL_STATE_INCOMING: return "Incoming";
    case ACS_CALL_STATE_CONNECTING: return "Connecting";
    case ACS_CALL_STATE_RINGING: return "Ringing";
    case ACS_CALL_STATE_CONNECTED: return "Connected";
    case ACS_CALL_STATE_LOCAL_HOLD: return "LocalHold";
    case ACS_CALL_STATE_DISCONNECTING: return "Disconnecting";
    case ACS_CALL_STATE_DISCONNECTED: return "Disconnected";
    case ACS_CALL_STATE_IN_LOBBY: return "InLobby";
    case ACS_CALL_STATE_REMOTE_HOLD: return "RemoteHold";
    default: return "?";
    }
}

/* Runs on the library's event thread, or inside dispatch_events in manual mode. The event
 * and its handles are borrowed for the call: copy what you need. */
static void on_event(void *user_data, const acs_event *e) {
    app_state *s = (app_state *)user_data;
    pthread_mutex_lock(&s->mu);
    switch (e->kind) {
    case ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED:
        s->agent_state = e->state;
        s->agent_code = e->code;
        printf("agent connection state %d (code %d)%s%s\n", (int)e->state, (int)e->code,
               e->message ? ": " : "", e->message ? e->message : "");
        break;
    case ACS_EVENT_CALL_STATE_CHANGED:
        s->call_state = e->state;
        if (e->state == ACS_CALL_STATE_DISCONNECTED) {
            s->end_code = e->code;
            s->end_subcode = e->subcode;
        }
        printf("call state %s (%d)\n", call_state_name(e->state), (int)e->state);
        break;
    default:
        break;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Waits until `done(s)` holds or `timeout_ms` passes; pumps events in manual mode. */
static bool wait_until(app_state *s, bool (*done)(const app_state *), int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    bool ok = false;
    for (;;) {
        if (s->manual) {
            /* Game-loop style: deliver what is queued (waiting up to 20 ms), then do a frame. */
            acs_call_client_dispatch_events(s->client, 20, NULL);
        }
        pthread_mutex_lock(&s->mu);
        ok = done(s);
        if (!ok && !s->manual && now_ms() < deadline) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 100L * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            ok = done(s);
        }
        pthread_mutex_unlock(&s->mu);
        if (ok || now_ms() >= deadline) {
            return ok;
        }
    }
}

static bool agent_done(const app_state *s) {
    return s->agent_state == ACS_AGENT_CONNECTION_CONNECTED ||
           (s->agent_state == ACS_AGENT_CONNECTION_DISCONNECTED && s->agent_code != 0);
}
static bool call_settled(const app_state *s) {
    return s->call_state == ACS_CALL_STATE_CONNECTED || s->call_state == ACS_CALL_STATE_DISCONNECTED;
}
static bool call_ended(const app_state *s) {
    return s->call_state == ACS_CALL_STATE_DISCONNECTED;
}
static bool never(const app_state *s) {
    (void)s;
    return false;
}

/* Prints a failed call with the library's explanation; returns true if it failed. */
static bool failed(acs_status st, const char *what) {
    char msg[512];
    if (st == ACS_OK) {
        return false;
    }
    acs_last_error_message(msg, sizeof msg);
    fprintf(stderr, "%s failed: %s (%d): %s\n", what, acs_status_to_string(st), (int)st, msg);
    return true;
}

int main(int argc, char **argv) {
    const char *url = getenv("ACS_SERVICE_URL");
    const char *token = getenv("ACS_TOKEN");
    bool manual = false;
    bool tone_check = true;
    int i, result = 1;
    app_state s;
    pthread_condattr_t attr;
    acs_call_client_options copts;
    acs_call_agent_options aopts;
    acs_call_options callopts;
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    acs_audio_device *mic = NULL, *speaker = NULL;
    acs_call_agent *agent = NULL;
    acs_call *call = NULL;
    const char *callee[] = {"8:echo123"};
    static int16_t pcm[48000 * 5];
    size_t got = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--service-url") == 0 && i + 1 < argc) {
            url = argv[++i];
        } else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc) {
            token = argv[++i];
        } else if (strcmp(argv[i], "--no-tone-check") == 0) {
            tone_check = false;
        } else if (strcmp(argv[i], "--manual-dispatch") == 0) {
            manual = true;
        } else {
            fprintf(stderr, "usage: %s --service-url ws://HOST:PORT --token TOKEN [--manual-dispatch] [--no-tone-check]\n"
                            "       (or set ACS_SERVICE_URL and ACS_TOKEN)\n", argv[0]);
            return 2;
        }
    }
    if (url == NULL || token == NULL) {
        fprintf(stderr, "%s: need --service-url and --token (or ACS_SERVICE_URL / ACS_TOKEN)\n", argv[0]);
        return 2;
    }
    printf("libacscalling %s (header %s), %s dispatch\n", acs_calling_version(),
           ACS_CALLING_VERSION_STRING, manual ? "manual" : "thread");

    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s.cv, &attr);
    pthread_condattr_destroy(&attr);
    s.manual = manual;
    s.agent_state = ACS_AGENT_CONNECTION_CONNECTING;
    s.call_state = ACS_CALL_STATE_NONE;

    /* 1. The client (owns the runtime and, in thread mode, the event thread). */
    ACS_CALL_CLIENT_OPTIONS_INIT(&copts);
    copts.dispatch_mode = manual ? ACS_DISPATCH_MANUAL : ACS_DISPATCH_THREAD;
    if (failed(acs_call_client_create(&copts, &client), "acs_call_client_create")) {
        goto done;
    }
    s.client = client;

    /* 2. Virtual devices: a 440 Hz tone as the microphone, a speaker we can read back. */
    if (failed(acs_call_client_get_device_manager(client, &dm), "get_device_manager") ||
        failed(acs_device_manager_create_tone_microphone(dm, "440 Hz tone", TONE_HZ, 0.5f, &mic),
               "create_tone_microphone") ||
        failed(acs_device_manager_create_pull_speaker(dm, "pull speaker", 5000, &speaker),
               "create_pull_speaker")) {
        goto done;
    }

    /* 3. The agent: connects in the background and reports through on_event. */
    ACS_CALL_AGENT_OPTIONS_INIT(&aopts);
    aopts.service_url = url;
    aopts.token = token;
    aopts.display_name = "echo_call.c";
    aopts.event_callback = on_event;
    aopts.event_user_data = &s;
    if (failed(acs_call_client_create_call_agent(client, &aopts, &agent), "create_call_agent")) {
        goto done;
    }
    if (!wait_until(&s, agent_done, CONNECT_TIMEOUT_MS) || s.agent_state != ACS_AGENT_CONNECTION_CONNECTED) {
        fprintf(stderr, "the agent did not connect (state %d, code %d)\n", (int)s.agent_state, (int)s.agent_code);
        goto done;
    }

    /* 4. Call the echo bot with our devices; wait for CONNECTED. */
    ACS_CALL_OPTIONS_INIT(&callopts);
    callopts.microphone = mic;
    callopts.speaker = speaker;
    if (failed(acs_call_agent_start_call(agent, callee, 1, &callopts, &call), "start_call")) {
        goto done;
    }
    if (!wait_until(&s, call_settled, CONNECT_TIMEOUT_MS) || s.call_state != ACS_CALL_STATE_CONNECTED) {
        fprintf(stderr, "the call did not connect (state %s, end reason %d/%d)\n",
                call_state_name(s.call_state), (int)s.end_code, (int)s.end_subcode);
        goto hang_up;
    }

    /* 5. Keep the call ~2.5 s (in manual mode we keep pumping events meanwhile). */
    wait_until(&s, never, KEEP_CALL_MS);

    /* 6. What came back: the last second of what the speaker played. */
    {
        size_t n = 0;
        float p440 = 0.0f, p660 = 0.0f;
        const int16_t *tail;
        size_t tail_n;
        while (got < sizeof pcm / sizeof pcm[0] &&
               acs_audio_device_pull_pcm(speaker, pcm + got, sizeof pcm / sizeof pcm[0] - got, &n) == ACS_OK &&
               n > 0) {
            got += n;
        }
        tail_n = got > 48000 ? 48000 : got;
        tail = pcm + (got - tail_n);
        acs_audio_tone_power(tail, tail_n, TONE_HZ, &p440);
        acs_audio_tone_power(tail, tail_n, 660.0f, &p660);
        printf("pulled %zu samples (%.2f s); 440 Hz power %.4f, 660 Hz power %.5f\n", got,
               (double)got / 48000.0, (double)p440, (double)p660);
        if (tail_n >= 24000 && p440 > HEARD_POWER && p660 < p440 / 10.0f) {
            printf("verified: the echo bot returned our 440 Hz tone\n");
            result = 0;
        } else if (!tone_check) {
            printf("not verified (--no-tone-check): the 440 Hz tone\n");
            result = 0;
        } else {
            fprintf(stderr, "the 440 Hz tone did not come back\n");
        }
    }

hang_up:
    /* 7. Hang up and wait for DISCONNECTED. */
    if (!failed(acs_call_hang_up(call, false), "hang_up")) {
        if (wait_until(&s, call_ended, 10000)) {
            printf("verified: call DISCONNECTED (reason %d/%d)\n", (int)s.end_code, (int)s.end_subcode);
        } else {
            fprintf(stderr, "the call did not reach DISCONNECTED\n");
            result = 1;
        }
    } else {
        result = 1;
    }

done:
    /* 8. Release everything (release accepts NULL). Releasing the client stops its threads. */
    acs_call_release(call);
    acs_call_agent_release(agent);
    acs_audio_device_release(mic);
    acs_audio_device_release(speaker);
    acs_device_manager_release(dm);
    acs_call_client_release(client);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    printf("%s\n", result == 0 ? "PASS" : "FAIL");
    return result;
}
