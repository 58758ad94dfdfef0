/*
 * meeting_lobby.c — a meeting with a lobby from C, through a running acscalling-service.
 *
 *   meeting_lobby --service-url ws://127.0.0.1:8080 --access-key KEY --token-a T1 --token-b T2
 *
 * Creates a room with a lobby through the service's REST API (POST /rooms with the access
 * key; the organizer, user A, is its only listed participant), then:
 *  1. Olga (user A, 440 Hz tone) joins it by its link "http://<service>/meet/<id>" and is
 *     CONNECTED, as the organizer.
 *  2. Gus (user B, 660 Hz), not listed, joins by the room's id: his call is
 *     ACS_CALL_STATE_IN_LOBBY, he sees nobody and hears nothing; Olga sees him
 *     ACS_PARTICIPANT_STATE_IN_LOBBY (role ACS_ROOM_ROLE_ATTENDEE) and does not hear him.
 *  3. Olga admits him (acs_call_admit): both CONNECTED, they hear each other, Gus sees Olga
 *     as ACS_ROOM_ROLE_ORGANIZER.
 *  4. Olga mutes Gus (acs_call_mute_participant): Gus gets ACS_EVENT_CALL_MUTED_BY_OTHERS
 *     (participant_id = Olga, flag true) and is muted; Olga sees him muted and no longer
 *     hears him. Gus unmutes and is heard again.
 *  5. Gus may not mute Olga (an attendee): ACS_EVENT_CALL_ACTION_FAILED with
 *     ACS_CALL_ACTION_MUTE_OTHERS and 403. Both hang up.
 * Each step is checked; exit code 0 when all hold. Built with -Wall -Wextra -Werror and run
 * under ASan/UBSan by run_c_tests.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include "acscalling.h"
#include "check.h"

#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 15000
#define HEARD 0.005f
#define SILENT 0.0005f

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    const char *name;
    float hz;
    acs_call_agent *agent;
    acs_audio_device *mic, *speaker;
    acs_call *call;
    char id[256];
    pthread_mutex_t mu;
    int muted_by_others; /* ACS_EVENT_CALL_MUTED_BY_OTHERS seen */
    bool muted_flag;
    char muted_by[256];
    int action_failed; /* ACS_EVENT_CALL_ACTION_FAILED seen */
    int32_t failed_action, failed_code;
    char failed_about[256];
} party;

static void copy(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static void on_event(void *user_data, const acs_event *e) {
    party *p = (party *)user_data;
    pthread_mutex_lock(&p->mu);
    if (e->kind == ACS_EVENT_CALL_MUTED_BY_OTHERS) {
        p->muted_by_others++;
        p->muted_flag = e->flag;
        copy(p->muted_by, sizeof p->muted_by, e->participant_id);
    } else if (e->kind == ACS_EVENT_CALL_ACTION_FAILED) {
        p->action_failed++;
        p->failed_action = e->state;
        p->failed_code = e->code;
        copy(p->failed_about, sizeof p->failed_about, e->participant_id);
    }
    pthread_mutex_unlock(&p->mu);
}

static int counter(party *p, const int *c) {
    pthread_mutex_lock(&p->mu);
    int n = *c;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static bool wait_counter(party *p, const int *c, int n) {
    int64_t end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && counter(p, c) < n) {
        sleep_ms(10);
    }
    return counter(p, c) >= n;
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

/* The participant `id` in `call` (+1 reference), or NULL. */
static acs_remote_participant *find(acs_call *call, const char *id) {
    size_t n = 0;
    if (acs_call_get_remote_participant_count(call, &n) != ACS_OK) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        acs_remote_participant *rp = NULL;
        char rid[256] = "";
        if (acs_call_get_remote_participant(call, i, &rp) != ACS_OK) {
            continue;
        }
        if (acs_remote_participant_get_identifier(rp, rid, sizeof rid, NULL) == ACS_OK && strcmp(rid, id) == 0) {
            return rp;
        }
        acs_remote_participant_release(rp);
    }
    return NULL;
}

static int32_t participant_state(acs_call *call, const char *id) {
    int32_t s = -1;
    acs_remote_participant *rp = find(call, id);
    if (rp != NULL) {
        acs_remote_participant_get_state(rp, &s);
        acs_remote_participant_release(rp);
    }
    return s;
}

static bool wait_participant_state(acs_call *call, const char *id, int32_t want) {
    int64_t end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && participant_state(call, id) != want) {
        sleep_ms(10);
    }
    return participant_state(call, id) == want;
}

static int32_t role_of(acs_call *call, const char *id) {
    int32_t r = -1;
    acs_remote_participant *rp = find(call, id);
    if (rp != NULL) {
        acs_remote_participant_get_role(rp, &r);
        acs_remote_participant_release(rp);
    }
    return r;
}

/* 1 muted, 0 not, -1 not in the roster. */
static int seen_muted(acs_call *call, const char *id) {
    bool b = false;
    acs_remote_participant *rp = find(call, id);
    if (rp == NULL) {
        return -1;
    }
    acs_remote_participant_is_muted(rp, &b);
    acs_remote_participant_release(rp);
    return b ? 1 : 0;
}

static bool wait_seen_muted(acs_call *call, const char *id, int want) {
    int64_t end = now_ms() + TIMEOUT_MS;
    while (now_ms() < end && seen_muted(call, id) != want) {
        sleep_ms(10);
    }
    return seen_muted(call, id) == want;
}

/* Power of `hz` in about `ms` milliseconds of what the speaker plays from now on. */
static float listen_for(acs_audio_device *spk, float hz, long ms) {
    static int16_t pcm[48000 * 3];
    int16_t scratch[4800];
    size_t n = 0, total = 0;
    float power = 0.0f;
    do {
        n = 0;
        if (acs_audio_device_pull_pcm(spk, scratch, 4800, &n) != ACS_OK) {
            return 0.0f;
        }
    } while (n == 4800);
    sleep_ms(ms);
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
    while (now_ms() < end && (pw = listen_for(p->speaker, other->hz, 500)) <= HEARD) {
    }
    report(pw > HEARD, "%s hears %s (%.0f Hz, power %.4f)", p->name, other->name, (double)other->hz, (double)pw);
}

static void does_not_hear(const party *p, const party *other, const char *why) {
    float pw = listen_for(p->speaker, other->hz, 1200);
    report(pw < SILENT, "%s does not hear %s %s (%.0f Hz, power %.5f)", p->name, other->name, why, (double)other->hz,
           (double)pw);
}

static bool setup(party *p, acs_call_client *client, acs_device_manager *dm, const char *url, const char *token) {
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
    report(st == ACS_AGENT_CONNECTION_CONNECTED, "%s connected", p->name);
    if (st != ACS_AGENT_CONNECTION_CONNECTED) {
        return false;
    }
    return EXPECT_OK(acs_call_agent_get_user_id(p->agent, p->id, sizeof p->id, NULL));
}

static acs_call_options options_of(const party *p) {
    acs_call_options o;
    ACS_CALL_OPTIONS_INIT(&o);
    o.microphone = p->mic;
    o.speaker = p->speaker;
    return o;
}

/* "ws://host:port[/...]" -> host and port (the REST API listens on the same address). */
static bool host_port(const char *url, char *host, size_t hcap, char *port, size_t pcap) {
    const char *s = strstr(url, "://");
    s = s != NULL ? s + 3 : url;
    const char *end = s + strcspn(s, "/");
    const char *colon = memchr(s, ':', (size_t)(end - s));
    if (colon == NULL || (size_t)(colon - s) >= hcap || (size_t)(end - colon - 1) >= pcap || end == colon + 1) {
        return false;
    }
    snprintf(host, hcap, "%.*s", (int)(colon - s), s);
    snprintf(port, pcap, "%.*s", (int)(end - colon - 1), colon + 1);
    return true;
}

/* POST /rooms: a room with a lobby that lists `organizer` as its organizer. Writes its id
   and link; false (with a message) when the service does not answer 201. */
static bool create_room(const char *url, const char *key, const char *organizer, char *id, size_t idcap,
                        char *link, size_t linkcap) {
    char host[128], port[16], body[512], req[2048];
    static char resp[16384];
    struct addrinfo hints, *ai = NULL;
    int fd = -1, status = 0;
    size_t got = 0;
    bool ok = false;
    if (!host_port(url, host, sizeof host, port, sizeof port)) {
        fprintf(stderr, "cannot read host:port from %s\n", url);
        return false;
    }
    snprintf(body, sizeof body, "{\"lobby\":true,\"participants\":[{\"id\":\"%s\",\"role\":\"organizer\"}]}",
             organizer);
    snprintf(req, sizeof req,
             "POST /rooms HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             host, port, key, strlen(body), body);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        fprintf(stderr, "cannot resolve %s:%s\n", host, port);
        return false;
    }
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        send(fd, req, strlen(req), 0) == (ssize_t)strlen(req)) {
        ssize_t n;
        while (got + 1 < sizeof resp && (n = recv(fd, resp + got, sizeof resp - 1 - got, 0)) > 0) {
            got += (size_t)n;
        }
    }
    resp[got] = '\0';
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    if (sscanf(resp, "HTTP/1.%*c %d", &status) == 1 && status == 201) {
        /* The body's "id" and "join_url" (plain strings: no escapes in either). */
        const char *b = strstr(resp, "\r\n\r\n");
        const char *i = b ? strstr(b, "\"id\":\"") : NULL;
        const char *j = b ? strstr(b, "\"join_url\":\"") : NULL;
        if (i != NULL && j != NULL) {
            i += 6;
            j += 12;
            snprintf(id, idcap, "%.*s", (int)strcspn(i, "\""), i);
            snprintf(link, linkcap, "%.*s", (int)strcspn(j, "\""), j);
            ok = id[0] != '\0' && link[0] != '\0';
        }
    }
    if (!ok) {
        fprintf(stderr, "POST /rooms failed (status %d): %.400s\n", status, resp);
    }
    return ok;
}

int main(int argc, char **argv) {
    const char *url = NULL, *key = NULL, *tok[2] = {NULL, NULL};
    party p[2] = {{.name = "Olga", .hz = 440.0f}, {.name = "Gus", .hz = 660.0f}};
    party *olga = &p[0], *gus = &p[1];
    char room_id[128] = "", room_link[512] = "";
    acs_call_client *client = NULL;
    acs_device_manager *dm = NULL;
    acs_remote_participant *rp = NULL;
    acs_call_options o;
    size_t base = acs_debug_live_handle_count(), n = 99;
    int32_t code = -1, sub = -1;
    int i;

    for (i = 0; i < 2; i++) {
        pthread_mutex_init(&p[i].mu, NULL);
    }
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--service-url") == 0) url = argv[i + 1];
        else if (strcmp(argv[i], "--access-key") == 0) key = argv[i + 1];
        else if (strcmp(argv[i], "--token-a") == 0) tok[0] = argv[i + 1];
        else if (strcmp(argv[i], "--token-b") == 0) tok[1] = argv[i + 1];
    }
    if (url == NULL || key == NULL || tok[0] == NULL || tok[1] == NULL) {
        fprintf(stderr, "usage: %s --service-url URL --access-key KEY --token-a T --token-b T\n", argv[0]);
        return 2;
    }
    if (!expect_status(acs_call_client_create(NULL, &client), ACS_OK, "create client") ||
        !expect_status(acs_call_client_get_device_manager(client, &dm), ACS_OK, "device manager")) {
        goto out;
    }
    for (i = 0; i < 2; i++) {
        if (!setup(&p[i], client, dm, url, tok[i])) {
            goto out;
        }
    }
    report(create_room(url, key, olga->id, room_id, sizeof room_id, room_link, sizeof room_link),
           "POST /rooms: room %s, link %s", room_id, room_link);
    if (room_id[0] == '\0') goto out;

    /* Refused at once. */
    EXPECT(acs_call_agent_join_room(gus->agent, "not-a-room", NULL, &gus->call), ACS_ERR_INVALID_ARGUMENT);
    EXPECT(acs_call_agent_join_room(gus->agent, NULL, NULL, &gus->call), ACS_ERR_NULL_POINTER);
    EXPECT(acs_call_admit_all(NULL), ACS_ERR_INVALID_HANDLE);

    printf("# 1. Olga, the organizer, joins by the link\n");
    o = options_of(olga);
    if (!EXPECT_OK(acs_call_agent_join_room(olga->agent, room_link, &o, &olga->call))) goto out;
    report(wait_state(olga->call, ACS_CALL_STATE_CONNECTED), "Olga is CONNECTED");

    printf("# 2. Gus, not listed, waits in the lobby\n");
    o = options_of(gus);
    if (!EXPECT_OK(acs_call_agent_join_room(gus->agent, room_id, &o, &gus->call))) goto out;
    report(wait_state(gus->call, ACS_CALL_STATE_IN_LOBBY), "Gus is IN_LOBBY");
    report(wait_participant_state(olga->call, gus->id, ACS_PARTICIPANT_STATE_IN_LOBBY),
           "Olga sees Gus waiting (ACS_PARTICIPANT_STATE_IN_LOBBY)");
    report(role_of(olga->call, gus->id) == ACS_ROOM_ROLE_ATTENDEE, "Gus's role is ATTENDEE (%d)",
           (int)role_of(olga->call, gus->id));
    {
        bool got = acs_call_get_remote_participant_count(gus->call, &n) == ACS_OK;
        report(got && n == 0, "Gus sees nobody from the lobby (%zu in his roster)", n);
    }
    does_not_hear(gus, olga, "from the lobby");
    does_not_hear(olga, gus, "while he waits");
    report(call_state(gus->call) == ACS_CALL_STATE_IN_LOBBY, "Gus still waits");

    printf("# 3. Olga admits Gus\n");
    rp = find(olga->call, gus->id);
    report(rp != NULL, "Olga finds Gus in her roster");
    if (rp == NULL) goto out;
    EXPECT_OK(acs_call_admit(olga->call, rp));
    acs_remote_participant_release(rp);
    rp = NULL;
    report(wait_state(gus->call, ACS_CALL_STATE_CONNECTED), "Gus is CONNECTED");
    report(wait_participant_state(olga->call, gus->id, ACS_PARTICIPANT_STATE_CONNECTED), "Olga sees Gus CONNECTED");
    report(wait_participant_state(gus->call, olga->id, ACS_PARTICIPANT_STATE_CONNECTED), "Gus sees Olga CONNECTED");
    report(role_of(gus->call, olga->id) == ACS_ROOM_ROLE_ORGANIZER, "Gus sees Olga as ORGANIZER");
    hears(olga, gus);
    hears(gus, olga);

    printf("# 4. Olga mutes Gus; Gus unmutes\n");
    rp = find(olga->call, gus->id);
    if (rp == NULL) goto out;
    EXPECT_OK(acs_call_mute_participant(olga->call, rp));
    acs_remote_participant_release(rp);
    rp = NULL;
    report(wait_counter(gus, &gus->muted_by_others, 1), "Gus gets ACS_EVENT_CALL_MUTED_BY_OTHERS");
    pthread_mutex_lock(&gus->mu);
    report(strcmp(gus->muted_by, olga->id) == 0 && gus->muted_flag, "... from Olga, flag true (%s)", gus->muted_by);
    pthread_mutex_unlock(&gus->mu);
    {
        bool m = false;
        report(acs_call_is_muted(gus->call, &m) == ACS_OK && m, "Gus is muted");
    }
    report(wait_seen_muted(olga->call, gus->id, 1), "Olga sees Gus muted");
    sleep_ms(300);
    does_not_hear(olga, gus, "once muted");
    EXPECT_OK(acs_call_unmute(gus->call));
    report(wait_seen_muted(olga->call, gus->id, 0), "Olga sees Gus unmuted");
    hears(olga, gus);

    printf("# 5. Gus, an attendee, may not mute Olga\n");
    rp = find(gus->call, olga->id);
    if (rp == NULL) goto out;
    EXPECT_OK(acs_call_mute_participant(gus->call, rp));
    acs_remote_participant_release(rp);
    rp = NULL;
    report(wait_counter(gus, &gus->action_failed, 1), "Gus gets ACS_EVENT_CALL_ACTION_FAILED");
    pthread_mutex_lock(&gus->mu);
    report(gus->failed_action == ACS_CALL_ACTION_MUTE_OTHERS && gus->failed_code == 403 &&
               strcmp(gus->failed_about, olga->id) == 0,
           "... MUTE_OTHERS, 403, about Olga (%d, %d, %s)", (int)gus->failed_action, (int)gus->failed_code,
           gus->failed_about);
    pthread_mutex_unlock(&gus->mu);
    {
        bool m = true;
        report(acs_call_is_muted(olga->call, &m) == ACS_OK && !m, "Olga is not muted");
    }
    report(counter(olga, &olga->muted_by_others) == 0 && counter(olga, &olga->action_failed) == 0,
           "Olga got neither event");

    EXPECT_OK(acs_call_hang_up(gus->call, false));
    report(wait_state(gus->call, ACS_CALL_STATE_DISCONNECTED), "Gus leaves");
    EXPECT_OK(acs_call_hang_up(olga->call, false));
    report(wait_state(olga->call, ACS_CALL_STATE_DISCONNECTED), "Olga leaves");
    {
        bool got = acs_call_get_end_reason(olga->call, &code, &sub) == ACS_OK;
        report(got && code == 0 && sub == 0, "Olga's end reason is 0/0: %d/%d", code, sub);
    }

out:
    acs_remote_participant_release(rp);
    for (i = 0; i < 2; i++) {
        acs_call_release(p[i].call);
        acs_call_agent_release(p[i].agent);
        acs_audio_device_release(p[i].mic);
        acs_audio_device_release(p[i].speaker);
    }
    acs_device_manager_release(dm);
    acs_call_client_release(client);
    for (i = 0; i < 2; i++) {
        pthread_mutex_destroy(&p[i].mu);
    }
    report(acs_debug_live_handle_count() == base, "no handle leaked");
    printf("# %s (%d checks)\n", g_failures == 0 ? "PASS" : "FAIL", g_checks);
    return g_failures == 0 ? 0 : 1;
}
