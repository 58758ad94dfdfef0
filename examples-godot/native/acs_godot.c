/*
 * acs_godot.c — a Godot 3.2 GDNative (NativeScript 1.0) plugin over libacscalling's C ABI.
 *
 * It registers one class, `AcsCalling` (a Reference), that a GDScript drives from the game
 * loop. It uses include/acscalling.h only (no Rust API) and Godot's GDNative C API only.
 *
 * Threading: the client is created with ACS_DISPATCH_MANUAL, so the library queues events
 * until pump() calls acs_call_client_dispatch_events from _process: every event callback
 * runs on the game thread, inside pump(). The callback checks that it does, and counts any
 * callback that would not (`off_thread_callbacks`, reported by stats()).
 *
 * Media:
 *  - audio out: a push microphone fed with the engine's audio frames (push_audio, Godot's
 *    stereo float frames, converted to 48 kHz PCM16);
 *  - audio in: a pull speaker drained by pull_audio into Godot frames, which the script
 *    pushes into an AudioStreamGenerator's playback;
 *  - video out: a pushed local video stream fed with RGBA images (push_video: the game's
 *    viewport, or any Image);
 *  - video in: the first remote camera that becomes available is rendered to an RGBA view
 *    of the size set_remote_view_size chose; take_remote_frame takes the latest frame
 *    ("take-latest": frames the game was too slow for are skipped by the library) and
 *    copies it once, into the PoolByteArray that becomes the Image of an ImageTexture.
 *
 * Every method returns an acs_status (0 = OK, negative = error) unless it says otherwise;
 * last_error() explains the last failure. Bad arguments from the script (wrong types,
 * missing arguments, calls in the wrong order) return ACS_ERR_INVALID_ARGUMENT or
 * ACS_ERR_INVALID_STATE, never crash.
 */
#define _POSIX_C_SOURCE 200809L
#include <gdnative_api_struct.gen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acscalling.h"

static const godot_gdnative_core_api_struct *api;
static const godot_gdnative_ext_nativescript_api_struct *nsapi;

/* Largest audio block accepted per push_audio/pull_audio call: 1 s at 48 kHz. */
#define MAX_AUDIO_FRAMES 48000
/* Largest view (and pushed image) side, as the library's limit. */
#define MAX_VIDEO_SIDE 8192

typedef struct {
    acs_call_client *client;
    acs_device_manager *dm;
    acs_audio_device *mic;            /* push microphone: the engine's audio */
    acs_audio_device *speaker;        /* pull speaker: the call's audio for the engine */
    acs_local_video_stream *outgoing; /* pushed frames: the game's viewport */
    acs_call_agent *agent;
    acs_call *call;
    acs_remote_video_stream *remote_stream; /* the remote camera being rendered */
    acs_video_renderer *renderer;
    acs_video_view *view;
    uint32_t view_width, view_height;

    godot_array pending; /* events dispatched by pump(), returned by it */
    pthread_t game_thread;
    bool in_pump;
    uint64_t callbacks, off_thread_callbacks;

    /* The last remote frame taken. */
    uint32_t frame_width, frame_height;
    uint64_t frame_sequence, frames_taken;
    int64_t library_counter; /* the library's reading of its test-pattern counter, or -1 */
    uint64_t video_frames_pushed;

    int16_t *pcm; /* scratch for audio conversion: MAX_AUDIO_FRAMES stereo frames */
    char last_error[512];
} acs_godot;

/* ---------------------------------------------------------------- small helpers ---- */

static godot_variant v_int(int64_t value) {
    godot_variant v;
    api->godot_variant_new_int(&v, value);
    return v;
}

static godot_variant v_real(double value) {
    godot_variant v;
    api->godot_variant_new_real(&v, value);
    return v;
}

static godot_variant v_bool(bool value) {
    godot_variant v;
    api->godot_variant_new_bool(&v, value);
    return v;
}

static godot_variant v_string(const char *utf8) {
    godot_string s;
    godot_variant v;
    api->godot_string_new(&s);
    if (utf8 != NULL) {
        api->godot_string_destroy(&s);
        s = api->godot_string_chars_to_utf8(utf8);
    }
    api->godot_variant_new_string(&v, &s);
    api->godot_string_destroy(&s);
    return v;
}

/* dict[key] = value, consuming `value`. */
static void dict_set(godot_dictionary *d, const char *key, godot_variant value) {
    godot_variant k = v_string(key);
    api->godot_dictionary_set(d, &k, &value);
    api->godot_variant_destroy(&k);
    api->godot_variant_destroy(&value);
}

static void print_line(const char *text) {
    godot_string s = api->godot_string_chars_to_utf8(text);
    api->godot_print(&s);
    api->godot_string_destroy(&s);
}

/* Records a failed status with the library's message; returns the status. */
static acs_status fail(acs_godot *self, acs_status st, const char *what) {
    char msg[384] = "";
    acs_last_error_message(msg, sizeof msg);
    snprintf(self->last_error, sizeof self->last_error, "%s: %s (%s)", what, acs_status_to_string(st), msg);
    char line[600];
    snprintf(line, sizeof line, "[acs] %s", self->last_error);
    print_line(line);
    return st;
}

/* Records a script error (bad argument, wrong order) without a library status. */
static acs_status refuse(acs_godot *self, acs_status st, const char *why) {
    snprintf(self->last_error, sizeof self->last_error, "%s: %s", acs_status_to_string(st), why);
    return st;
}

/* Checks a status: on failure records it and returns it from the calling function. */
#define CHECK(self, expr, what)                       \
    do {                                              \
        acs_status st_ = (expr);                      \
        if (st_ != ACS_OK) return fail(self, st_, what); \
    } while (0)

static bool arg_is(godot_variant **args, int n, int i, godot_variant_type type) {
    return i < n && api->godot_variant_get_type(args[i]) == type;
}

/* A string argument as a malloc'd UTF-8 copy, or NULL when missing or not a String. */
static char *arg_utf8(godot_variant **args, int n, int i) {
    if (!arg_is(args, n, i, GODOT_VARIANT_TYPE_STRING)) return NULL;
    godot_string s = api->godot_variant_as_string(args[i]);
    godot_char_string cs = api->godot_string_utf8(&s);
    const char *data = api->godot_char_string_get_data(&cs);
    char *copy = strdup(data != NULL ? data : "");
    api->godot_char_string_destroy(&cs);
    api->godot_string_destroy(&s);
    return copy;
}

/* A string out of a (handle, buf, capacity, needed) getter, as a Variant String.
 * Identifiers and names are short; a longer one is asked for again with its size. */
#define GET_STRING_VARIANT(getter, handle, out_variant)                          \
    do {                                                                         \
        char small_[256];                                                        \
        size_t needed_ = 0;                                                      \
        acs_status st_ = getter((handle), small_, sizeof small_, &needed_);      \
        if (st_ == ACS_OK) {                                                     \
            (out_variant) = v_string(small_);                                    \
        } else if (st_ == ACS_ERR_BUFFER_TOO_SMALL && needed_ > 0) {             \
            char *big_ = malloc(needed_);                                        \
            if (big_ != NULL && getter((handle), big_, needed_, &needed_) == ACS_OK) \
                (out_variant) = v_string(big_);                                  \
            else                                                                 \
                (out_variant) = v_string("");                                    \
            free(big_);                                                          \
        } else {                                                                 \
            (out_variant) = v_string("");                                        \
        }                                                                        \
    } while (0)

static const char *event_name(int32_t kind) {
    switch (kind) {
    case ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED: return "agent_connection_state_changed";
    case ACS_EVENT_INCOMING_CALL: return "incoming_call";
    case ACS_EVENT_CALL_STATE_CHANGED: return "call_state_changed";
    case ACS_EVENT_CALL_MUTE_CHANGED: return "call_mute_changed";
    case ACS_EVENT_PARTICIPANT_ADDED: return "participant_added";
    case ACS_EVENT_PARTICIPANT_REMOVED: return "participant_removed";
    case ACS_EVENT_PARTICIPANT_STATE_CHANGED: return "participant_state_changed";
    case ACS_EVENT_PARTICIPANT_MUTE_CHANGED: return "participant_mute_changed";
    case ACS_EVENT_PARTICIPANT_SPEAKING_CHANGED: return "participant_speaking_changed";
    case ACS_EVENT_DOMINANT_SPEAKERS_CHANGED: return "dominant_speakers_changed";
    case ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED: return "remote_video_availability_changed";
    default: return "other";
    }
}

/* ------------------------------------------------------------- remote video -------- */

static void stop_remote_video(acs_godot *self) {
    /* Release order: the view stops delivering, then the renderer, then our stream ref. */
    acs_video_view_release(self->view);
    acs_video_renderer_release(self->renderer);
    acs_remote_video_stream_release(self->remote_stream);
    self->view = NULL;
    self->renderer = NULL;
    self->remote_stream = NULL;
}

/* Renders `stream` into an RGBA view that take_remote_frame reads. Stretch keeps the whole
 * picture (and the test pattern's counter row readable) whatever the view's aspect. */
static acs_status start_remote_video(acs_godot *self, acs_remote_video_stream *stream) {
    acs_video_view_options opts;
    CHECK(self, ACS_VIDEO_VIEW_OPTIONS_INIT(&opts), "acs_video_view_options_init");
    opts.width = self->view_width;
    opts.height = self->view_height;
    opts.format = ACS_PIXEL_FORMAT_RGBA;
    opts.scaling_mode = ACS_SCALING_MODE_STRETCH;
    CHECK(self, acs_remote_video_stream_retain(stream), "acs_remote_video_stream_retain");
    self->remote_stream = stream;
    acs_status st = acs_video_renderer_create_for_remote_stream(stream, &self->renderer);
    if (st == ACS_OK) st = acs_video_renderer_create_view(self->renderer, &opts, &self->view);
    if (st != ACS_OK) {
        stop_remote_video(self);
        return fail(self, st, "render remote video");
    }
    return ACS_OK;
}

/* ------------------------------------------------------------- event callback ------ */

/* Runs inside acs_call_client_dispatch_events, i.e. inside pump(), on the game thread. */
static void on_event(void *user_data, const acs_event *ev) {
    acs_godot *self = user_data;
    self->callbacks++;
    if (!self->in_pump || !pthread_equal(pthread_self(), self->game_thread)) self->off_thread_callbacks++;

    godot_dictionary d;
    api->godot_dictionary_new(&d);
    dict_set(&d, "kind", v_int(ev->kind));
    dict_set(&d, "name", v_string(event_name(ev->kind)));
    dict_set(&d, "state", v_int(ev->state));
    dict_set(&d, "code", v_int(ev->code));
    dict_set(&d, "subcode", v_int(ev->subcode));
    dict_set(&d, "flag", v_bool(ev->flag));
    dict_set(&d, "message", v_string(ev->message));
    if (ev->participant != NULL) {
        godot_variant id;
        GET_STRING_VARIANT(acs_remote_participant_get_identifier, ev->participant, id);
        dict_set(&d, "participant", id);
    }

    if (ev->kind == ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED && ev->remote_video_stream != NULL &&
        ev->state == ACS_VIDEO_STREAM_KIND_VIDEO) {
        if (ev->flag && self->view == NULL) {
            acs_status st = start_remote_video(self, ev->remote_video_stream);
            dict_set(&d, "render_status", v_int(st));
        } else if (!ev->flag && ev->remote_video_stream == self->remote_stream) {
            stop_remote_video(self);
        }
    }

    godot_variant v;
    api->godot_variant_new_dictionary(&v, &d);
    api->godot_array_append(&self->pending, &v);
    api->godot_variant_destroy(&v);
    api->godot_dictionary_destroy(&d);
}

/* ------------------------------------------------------------- lifecycle ----------- */

static void release_all(acs_godot *self) {
    stop_remote_video(self);
    acs_call_release(self->call);
    acs_call_agent_release(self->agent);
    acs_local_video_stream_release(self->outgoing);
    acs_audio_device_release(self->mic);
    acs_audio_device_release(self->speaker);
    acs_device_manager_release(self->dm);
    /* The last reference to the client shuts the library down: threads, sockets, runtime. */
    acs_call_client_release(self->client);
    self->call = NULL;
    self->agent = NULL;
    self->outgoing = NULL;
    self->mic = NULL;
    self->speaker = NULL;
    self->dm = NULL;
    self->client = NULL;
}

static GDCALLINGCONV void *acs_godot_create(godot_object *owner, void *method_data) {
    (void)owner;
    (void)method_data;
    acs_godot *self = api->godot_alloc(sizeof *self);
    if (self == NULL) return NULL;
    memset(self, 0, sizeof *self);
    api->godot_array_new(&self->pending);
    self->view_width = 320;
    self->view_height = 180;
    self->library_counter = -1;
    self->game_thread = pthread_self();
    self->pcm = malloc(sizeof(int16_t) * 2 * MAX_AUDIO_FRAMES);
    return self;
}

static GDCALLINGCONV void acs_godot_destroy(godot_object *owner, void *method_data, void *user_data) {
    (void)owner;
    (void)method_data;
    acs_godot *self = user_data;
    if (self == NULL) return;
    release_all(self);
    api->godot_array_destroy(&self->pending);
    free(self->pcm);
    api->godot_free(self);
}

/* ------------------------------------------------------------- methods ------------- */

#define METHOD(name) \
    static godot_variant name(godot_object *obj, void *method_data, void *user_data, int n, godot_variant **args)
#define UNUSED_METHOD_ARGS \
    (void)obj;             \
    (void)method_data;     \
    (void)n;               \
    (void)args

/* start(service_url: String, token: String, display_name: String) -> int
 * Creates the client (manual dispatch), the virtual devices, the outgoing video stream and
 * the agent, which signs in in the background (see agent_connection_state_changed). */
static acs_status do_start(acs_godot *self, const char *url, const char *token, const char *name) {
    if (self->pcm == NULL) return refuse(self, ACS_ERR_INTERNAL, "out of memory");
    self->game_thread = pthread_self();

    acs_call_client_options copts;
    CHECK(self, ACS_CALL_CLIENT_OPTIONS_INIT(&copts), "acs_call_client_options_init");
    copts.dispatch_mode = ACS_DISPATCH_MANUAL;
    CHECK(self, acs_call_client_create(&copts, &self->client), "acs_call_client_create");
    CHECK(self, acs_call_client_get_device_manager(self->client, &self->dm), "get_device_manager");
    CHECK(self, acs_device_manager_create_push_microphone(self->dm, "Godot audio", &self->mic),
          "create_push_microphone");
    /* 2 s of buffer: enough for a frame hitch; the script drains it every frame. */
    CHECK(self, acs_device_manager_create_pull_speaker(self->dm, "Godot speaker", 2000, &self->speaker),
          "create_pull_speaker");
    CHECK(self, acs_local_video_stream_create_pushed(&self->outgoing), "create_pushed");

    acs_call_agent_options aopts;
    CHECK(self, ACS_CALL_AGENT_OPTIONS_INIT(&aopts), "acs_call_agent_options_init");
    aopts.service_url = url;
    aopts.token = token;
    aopts.display_name = name;
    aopts.event_callback = on_event;
    aopts.event_user_data = self;
    CHECK(self, acs_call_client_create_call_agent(self->client, &aopts, &self->agent), "create_call_agent");
    return ACS_OK;
}

METHOD(m_start) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (self->client != NULL) return v_int(refuse(self, ACS_ERR_INVALID_STATE, "start() was already called"));
    char *url = arg_utf8(args, n, 0), *token = arg_utf8(args, n, 1), *name = arg_utf8(args, n, 2);
    acs_status st = (url == NULL || token == NULL)
                        ? refuse(self, ACS_ERR_INVALID_ARGUMENT, "start(service_url: String, token: String, display_name: String)")
                        : do_start(self, url, token, name);
    if (st != ACS_OK) release_all(self); /* half-started: undo what this call created */
    free(url);
    free(token);
    free(name);
    return v_int(st);
}

static acs_status prepare_call(acs_godot *self, acs_call_options *opts) {
    if (self->agent == NULL) return refuse(self, ACS_ERR_INVALID_STATE, "call start() first");
    if (self->call != NULL) {
        int32_t state = ACS_CALL_STATE_NONE;
        CHECK(self, acs_call_get_state(self->call, &state), "acs_call_get_state");
        if (state != ACS_CALL_STATE_DISCONNECTED) return refuse(self, ACS_ERR_INVALID_STATE, "a call is in progress");
        stop_remote_video(self);
        acs_call_release(self->call);
        self->call = NULL;
    }
    CHECK(self, ACS_CALL_OPTIONS_INIT(opts), "acs_call_options_init");
    opts->microphone = self->mic;
    opts->speaker = self->speaker;
    return ACS_OK;
}

/* Sends the game's pushed video as the call's camera. */
static acs_status start_outgoing_video(acs_godot *self) {
    CHECK(self, acs_call_start_video(self->call, self->outgoing), "acs_call_start_video");
    return ACS_OK;
}

/* call_user(raw_id: String) -> int: a user "8:acs:…", or the echo bot "8:echo123". */
METHOD(m_call_user) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    char *id = arg_utf8(args, n, 0);
    acs_call_options opts;
    acs_status st = id == NULL ? refuse(self, ACS_ERR_INVALID_ARGUMENT, "call_user(raw_id: String)")
                               : prepare_call(self, &opts);
    if (st == ACS_OK) {
        const char *ids[1] = {id};
        st = acs_call_agent_start_call(self->agent, ids, 1, &opts, &self->call);
        if (st != ACS_OK) st = fail(self, st, "acs_call_agent_start_call");
    }
    if (st == ACS_OK) st = start_outgoing_video(self);
    free(id);
    return v_int(st);
}

/* join_group(group_id: String) -> int: joins (or creates) the group call with that UUID. */
METHOD(m_join_group) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    char *gid = arg_utf8(args, n, 0);
    acs_call_options opts;
    acs_status st = gid == NULL ? refuse(self, ACS_ERR_INVALID_ARGUMENT, "join_group(group_id: String)")
                                : prepare_call(self, &opts);
    if (st == ACS_OK) {
        st = acs_call_agent_join(self->agent, gid, &opts, &self->call);
        if (st != ACS_OK) st = fail(self, st, "acs_call_agent_join");
    }
    if (st == ACS_OK) st = start_outgoing_video(self);
    free(gid);
    return v_int(st);
}

/* set_muted(muted: bool) -> int */
METHOD(m_set_muted) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_BOOL)) return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "set_muted(muted: bool)"));
    if (self->call == NULL) return v_int(refuse(self, ACS_ERR_INVALID_STATE, "no call"));
    bool mute = api->godot_variant_as_bool(args[0]);
    acs_status st = mute ? acs_call_mute(self->call) : acs_call_unmute(self->call);
    return v_int(st == ACS_OK ? st : fail(self, st, mute ? "acs_call_mute" : "acs_call_unmute"));
}

/* hang_up() -> int: leaves the call; call_state_changed to 8 (DISCONNECTED) follows. */
METHOD(m_hang_up) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (self->call == NULL) return v_int(refuse(self, ACS_ERR_INVALID_STATE, "no call"));
    acs_status st = acs_call_hang_up(self->call, false);
    return v_int(st == ACS_OK ? st : fail(self, st, "acs_call_hang_up"));
}

/* call_state() -> int: ACS_CALL_STATE_* of the current call, 0 (NONE) without one. */
METHOD(m_call_state) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    int32_t state = ACS_CALL_STATE_NONE;
    if (self->call != NULL) {
        acs_status st = acs_call_get_state(self->call, &state);
        if (st != ACS_OK) return v_int(fail(self, st, "acs_call_get_state"));
    }
    return v_int(state);
}

/* pump() -> Array of event Dictionaries. Call it from _process: it delivers the library's
 * queued events on this (the game) thread, without waiting. */
METHOD(m_pump) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (self->client != NULL) {
        uint32_t dispatched = 0;
        self->in_pump = true;
        acs_status st = acs_call_client_dispatch_events(self->client, 0, &dispatched);
        self->in_pump = false;
        if (st != ACS_OK) fail(self, st, "acs_call_client_dispatch_events");
    }
    godot_variant out;
    api->godot_variant_new_array(&out, &self->pending);
    api->godot_array_destroy(&self->pending);
    api->godot_array_new(&self->pending);
    return out;
}

/* roster() -> Array of {id, name, state, muted, speaking} for the call's participants. */
METHOD(m_roster) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    godot_array list;
    api->godot_array_new(&list);
    size_t count = 0;
    if (self->call != NULL && acs_call_get_remote_participant_count(self->call, &count) == ACS_OK) {
        for (size_t i = 0; i < count; i++) {
            acs_remote_participant *p = NULL;
            if (acs_call_get_remote_participant(self->call, i, &p) != ACS_OK) continue; /* left meanwhile */
            godot_dictionary d;
            godot_variant id, name, v;
            int32_t state = -1;
            bool muted = false, speaking = false;
            api->godot_dictionary_new(&d);
            GET_STRING_VARIANT(acs_remote_participant_get_identifier, p, id);
            GET_STRING_VARIANT(acs_remote_participant_get_display_name, p, name);
            dict_set(&d, "id", id);
            dict_set(&d, "name", name);
            if (acs_remote_participant_get_state(p, &state) == ACS_OK) dict_set(&d, "state", v_int(state));
            if (acs_remote_participant_is_muted(p, &muted) == ACS_OK) dict_set(&d, "muted", v_bool(muted));
            if (acs_remote_participant_is_speaking(p, &speaking) == ACS_OK) dict_set(&d, "speaking", v_bool(speaking));
            acs_remote_participant_release(p);
            api->godot_variant_new_dictionary(&v, &d);
            api->godot_array_append(&list, &v);
            api->godot_variant_destroy(&v);
            api->godot_dictionary_destroy(&d);
        }
    }
    godot_variant out;
    api->godot_variant_new_array(&out, &list);
    api->godot_array_destroy(&list);
    return out;
}

static int16_t to_pcm16(float x) {
    if (x > 1.0f) x = 1.0f;
    if (x < -1.0f) x = -1.0f;
    return (int16_t)(x * 32767.0f);
}

/* push_audio(frames: PoolVector2Array) -> int: the engine's 48 kHz stereo frames (as an
 * AudioStreamGenerator or AudioEffectCapture holds them) into the call's microphone.
 * Returns the frames the library queued (>= 0), or a status (< 0). */
METHOD(m_push_audio) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_POOL_VECTOR2_ARRAY))
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "push_audio(frames: PoolVector2Array)"));
    if (self->mic == NULL) return v_int(refuse(self, ACS_ERR_INVALID_STATE, "call start() first"));
    godot_pool_vector2_array frames = api->godot_variant_as_pool_vector2_array(args[0]);
    godot_int count = api->godot_pool_vector2_array_size(&frames);
    if (count > MAX_AUDIO_FRAMES) count = MAX_AUDIO_FRAMES; /* more than 1 s per frame: a stall; drop the rest */
    godot_pool_vector2_array_read_access *r = api->godot_pool_vector2_array_read(&frames);
    /* godot_vector2 is two floats (x = left, y = right). */
    const float *xy = (const float *)api->godot_pool_vector2_array_read_access_ptr(r);
    for (godot_int i = 0; i < count; i++) {
        self->pcm[2 * i] = to_pcm16(xy[2 * i]);
        self->pcm[2 * i + 1] = to_pcm16(xy[2 * i + 1]);
    }
    api->godot_pool_vector2_array_read_access_destroy(r);
    api->godot_pool_vector2_array_destroy(&frames);
    size_t accepted = 0;
    acs_status st = count > 0 ? acs_audio_device_push_pcm(self->mic, self->pcm, (size_t)count, 2, &accepted) : ACS_OK;
    return v_int(st == ACS_OK ? (int64_t)accepted : fail(self, st, "acs_audio_device_push_pcm"));
}

/* pull_audio(max_frames: int) -> PoolVector2Array: what the call played since the last
 * pull (mono, put on both channels), ready for AudioStreamGeneratorPlayback.push_buffer. */
METHOD(m_pull_audio) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    godot_pool_vector2_array frames;
    api->godot_pool_vector2_array_new(&frames);
    size_t got = 0;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_INT)) {
        refuse(self, ACS_ERR_INVALID_ARGUMENT, "pull_audio(max_frames: int)");
    } else if (self->speaker != NULL) {
        int64_t want = api->godot_variant_as_int(args[0]);
        if (want > MAX_AUDIO_FRAMES) want = MAX_AUDIO_FRAMES;
        if (want > 0) {
            acs_status st = acs_audio_device_pull_pcm(self->speaker, self->pcm, (size_t)want, &got);
            if (st != ACS_OK) {
                fail(self, st, "acs_audio_device_pull_pcm");
                got = 0;
            }
        }
    }
    if (got > 0) {
        api->godot_pool_vector2_array_resize(&frames, (godot_int)got);
        godot_pool_vector2_array_write_access *w = api->godot_pool_vector2_array_write(&frames);
        float *xy = (float *)api->godot_pool_vector2_array_write_access_ptr(w);
        for (size_t i = 0; i < got; i++) xy[2 * i] = xy[2 * i + 1] = (float)self->pcm[i] / 32768.0f;
        api->godot_pool_vector2_array_write_access_destroy(w);
    }
    godot_variant out;
    api->godot_variant_new_pool_vector2_array(&out, &frames);
    api->godot_pool_vector2_array_destroy(&frames);
    return out;
}

/* tone_power(frames: PoolVector2Array, hz: float) -> float: the power of `hz` in the left
 * channel (acs_audio_tone_power: a full-scale sine is about 0.5); -1 on bad input. */
METHOD(m_tone_power) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_POOL_VECTOR2_ARRAY) ||
        !(arg_is(args, n, 1, GODOT_VARIANT_TYPE_REAL) || arg_is(args, n, 1, GODOT_VARIANT_TYPE_INT)) || self->pcm == NULL) {
        refuse(self, ACS_ERR_INVALID_ARGUMENT, "tone_power(frames: PoolVector2Array, hz: float)");
        return v_real(-1.0);
    }
    double hz = api->godot_variant_as_real(args[1]);
    godot_pool_vector2_array frames = api->godot_variant_as_pool_vector2_array(args[0]);
    godot_int count = api->godot_pool_vector2_array_size(&frames);
    if (count > 2 * MAX_AUDIO_FRAMES) count = 2 * MAX_AUDIO_FRAMES; /* the scratch holds that many mono samples */
    godot_pool_vector2_array_read_access *r = api->godot_pool_vector2_array_read(&frames);
    const float *xy = (const float *)api->godot_pool_vector2_array_read_access_ptr(r);
    for (godot_int i = 0; i < count; i++) self->pcm[i] = to_pcm16(xy[2 * i]);
    api->godot_pool_vector2_array_read_access_destroy(r);
    api->godot_pool_vector2_array_destroy(&frames);
    float power = 0.0f;
    acs_status st = count > 0 ? acs_audio_tone_power(self->pcm, (size_t)count, (float)hz, &power) : ACS_OK;
    if (st != ACS_OK) {
        fail(self, st, "acs_audio_tone_power");
        return v_real(-1.0);
    }
    return v_real(power);
}

/* push_video(rgba: PoolByteArray, width: int, height: int) -> int: one RGBA8 picture (e.g.
 * Image.get_data() of the viewport's texture) as the call's next outgoing video frame.
 * The library converts it to I420 before returning; the array is only read. */
METHOD(m_push_video) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_POOL_BYTE_ARRAY) || !arg_is(args, n, 1, GODOT_VARIANT_TYPE_INT) ||
        !arg_is(args, n, 2, GODOT_VARIANT_TYPE_INT))
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "push_video(rgba: PoolByteArray, width: int, height: int)"));
    if (self->outgoing == NULL) return v_int(refuse(self, ACS_ERR_INVALID_STATE, "call start() first"));
    int64_t w = api->godot_variant_as_int(args[1]), h = api->godot_variant_as_int(args[2]);
    if (w < 1 || h < 1 || w > MAX_VIDEO_SIDE || h > MAX_VIDEO_SIDE)
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "push_video: width and height must be 1..8192"));
    godot_pool_byte_array data = api->godot_variant_as_pool_byte_array(args[0]);
    acs_status st;
    if (api->godot_pool_byte_array_size(&data) < w * h * 4) {
        st = refuse(self, ACS_ERR_INVALID_ARGUMENT, "push_video: the array holds less than width*height*4 bytes");
    } else {
        godot_pool_byte_array_read_access *r = api->godot_pool_byte_array_read(&data);
        acs_video_frame_buffer buf;
        st = ACS_VIDEO_FRAME_BUFFER_INIT(&buf);
        if (st == ACS_OK) {
            buf.format = ACS_PIXEL_FORMAT_RGBA;
            buf.width = (uint32_t)w;
            buf.height = (uint32_t)h;
            buf.planes[0] = api->godot_pool_byte_array_read_access_ptr(r);
            buf.strides[0] = (uint32_t)w * 4;
            st = acs_local_video_stream_push_frame(self->outgoing, &buf);
        }
        api->godot_pool_byte_array_read_access_destroy(r);
        if (st == ACS_OK)
            self->video_frames_pushed++;
        else
            fail(self, st, "acs_local_video_stream_push_frame");
    }
    api->godot_pool_byte_array_destroy(&data);
    return v_int(st);
}

/* set_remote_view_size(width: int, height: int) -> int: the size remote video is rendered
 * at (default 320x180), applied to the view now if there is one. */
METHOD(m_set_remote_view_size) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    if (!arg_is(args, n, 0, GODOT_VARIANT_TYPE_INT) || !arg_is(args, n, 1, GODOT_VARIANT_TYPE_INT))
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "set_remote_view_size(width: int, height: int)"));
    int64_t w = api->godot_variant_as_int(args[0]), h = api->godot_variant_as_int(args[1]);
    if (w < 1 || h < 1 || w > MAX_VIDEO_SIDE || h > MAX_VIDEO_SIDE)
        return v_int(refuse(self, ACS_ERR_INVALID_ARGUMENT, "set_remote_view_size: 1..8192"));
    self->view_width = (uint32_t)w;
    self->view_height = (uint32_t)h;
    if (self->view != NULL) {
        acs_status st = acs_video_view_set_size(self->view, (uint32_t)w, (uint32_t)h);
        if (st != ACS_OK) return v_int(fail(self, st, "acs_video_view_set_size"));
    }
    return v_int(ACS_OK);
}

/* take_remote_frame() -> PoolByteArray: the newest remote frame as RGBA8 (frame_info()
 * gives its size), or an empty array when no new frame arrived since the last take.
 * The frame's pixels are copied once, into the returned array, which the script hands to
 * Image.create_from_data (it shares the array, no copy) and then to the ImageTexture. */
METHOD(m_take_remote_frame) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    godot_pool_byte_array data;
    api->godot_pool_byte_array_new(&data);
    if (self->view != NULL) {
        acs_rendered_video_frame f;
        acs_status st = ACS_RENDERED_VIDEO_FRAME_INIT(&f);
        if (st == ACS_OK) st = acs_video_view_take_latest_rendered_frame(self->view, &f);
        if (st == ACS_OK) {
            size_t row = (size_t)f.width * 4;
            if (f.format == ACS_PIXEL_FORMAT_RGBA && f.planes[0] != NULL && f.strides[0] >= row &&
                f.plane_sizes[0] >= (size_t)f.strides[0] * (f.height - 1) + row) {
                api->godot_pool_byte_array_resize(&data, (godot_int)(row * f.height));
                godot_pool_byte_array_write_access *w = api->godot_pool_byte_array_write(&data);
                uint8_t *dst = api->godot_pool_byte_array_write_access_ptr(w);
                for (uint32_t y = 0; y < f.height; y++) memcpy(dst + y * row, f.planes[0] + (size_t)y * f.strides[0], row);
                api->godot_pool_byte_array_write_access_destroy(w);
                self->frame_width = f.width;
                self->frame_height = f.height;
                self->frame_sequence = f.sequence;
                self->frames_taken++;
                /* The library's own reading, for the script to compare with what it reads
                 * back out of the texture. */
                uint32_t counter = 0;
                self->library_counter =
                    acs_rendered_video_frame_read_test_pattern_counter(&f, &counter) == ACS_OK ? (int64_t)counter : -1;
            } else {
                refuse(self, ACS_ERR_INTERNAL, "unexpected frame layout");
            }
            st = acs_rendered_video_frame_release(&f);
            if (st != ACS_OK) fail(self, st, "acs_rendered_video_frame_release");
        } else if (st != ACS_ERR_NOT_FOUND) {
            fail(self, st, "acs_video_view_take_latest_rendered_frame");
        }
    }
    godot_variant out;
    api->godot_variant_new_pool_byte_array(&out, &data);
    api->godot_pool_byte_array_destroy(&data);
    return out;
}

/* frame_info() -> {width, height, sequence, frames_taken, library_counter, rendering} */
METHOD(m_frame_info) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    godot_dictionary d;
    api->godot_dictionary_new(&d);
    dict_set(&d, "width", v_int(self->frame_width));
    dict_set(&d, "height", v_int(self->frame_height));
    dict_set(&d, "sequence", v_int((int64_t)self->frame_sequence));
    dict_set(&d, "frames_taken", v_int((int64_t)self->frames_taken));
    dict_set(&d, "library_counter", v_int(self->library_counter));
    dict_set(&d, "rendering", v_bool(self->view != NULL));
    godot_variant out;
    api->godot_variant_new_dictionary(&out, &d);
    api->godot_dictionary_destroy(&d);
    return out;
}

/* stats() -> Dictionary: audio counters of the call, callbacks and where they ran,
 * video frames pushed, live library handles. */
METHOD(m_stats) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    godot_dictionary d;
    api->godot_dictionary_new(&d);
    if (self->call != NULL) {
        acs_call_audio_statistics a;
        if (ACS_CALL_AUDIO_STATISTICS_INIT(&a) == ACS_OK && acs_call_get_audio_statistics(self->call, &a) == ACS_OK) {
            dict_set(&d, "audio_frames_sent", v_int((int64_t)a.frames_sent));
            dict_set(&d, "audio_frames_received", v_int((int64_t)a.frames_received));
            dict_set(&d, "audio_frames_played", v_int((int64_t)a.frames_played));
        }
    }
    dict_set(&d, "callbacks", v_int((int64_t)self->callbacks));
    dict_set(&d, "off_thread_callbacks", v_int((int64_t)self->off_thread_callbacks));
    dict_set(&d, "video_frames_pushed", v_int((int64_t)self->video_frames_pushed));
    dict_set(&d, "live_handles", v_int((int64_t)acs_debug_live_handle_count()));
    godot_variant out;
    api->godot_variant_new_dictionary(&out, &d);
    api->godot_dictionary_destroy(&d);
    return out;
}

/* shutdown() -> int: releases every handle (the call ends if it has not) and shuts the
 * client down; returns the library's live handle count afterwards (0: nothing leaked). */
METHOD(m_shutdown) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    release_all(self);
    /* Events still queued held handles; they were dropped with the client. */
    api->godot_array_destroy(&self->pending);
    api->godot_array_new(&self->pending);
    return v_int((int64_t)acs_debug_live_handle_count());
}

/* last_error() -> String */
METHOD(m_last_error) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    return v_string(self->last_error);
}

/* version() -> String: the library's run-time version. */
METHOD(m_version) {
    UNUSED_METHOD_ARGS;
    (void)user_data;
    return v_string(acs_calling_version());
}

/* ------------------------------------------------------------- registration -------- */

void GDN_EXPORT godot_gdnative_init(godot_gdnative_init_options *options) {
    api = options->api_struct;
    for (unsigned i = 0; i < api->num_extensions; i++) {
        if (api->extensions[i]->type == GDNATIVE_EXT_NATIVESCRIPT)
            nsapi = (const godot_gdnative_ext_nativescript_api_struct *)api->extensions[i];
    }
}

void GDN_EXPORT godot_gdnative_terminate(godot_gdnative_terminate_options *options) {
    (void)options;
    api = NULL;
    nsapi = NULL;
}

void GDN_EXPORT godot_nativescript_init(void *handle) {
    if (nsapi == NULL) return; /* no NativeScript in this engine: nothing to register */
    godot_instance_create_func create = {.create_func = acs_godot_create, .method_data = NULL, .free_func = NULL};
    godot_instance_destroy_func destroy = {.destroy_func = acs_godot_destroy, .method_data = NULL, .free_func = NULL};
    nsapi->godot_nativescript_register_class(handle, "AcsCalling", "Reference", create, destroy);

    static const struct {
        const char *name;
        godot_variant (*fn)(godot_object *, void *, void *, int, godot_variant **);
    } methods[] = {
        {"start", m_start},
        {"call_user", m_call_user},
        {"join_group", m_join_group},
        {"set_muted", m_set_muted},
        {"hang_up", m_hang_up},
        {"call_state", m_call_state},
        {"pump", m_pump},
        {"roster", m_roster},
        {"push_audio", m_push_audio},
        {"pull_audio", m_pull_audio},
        {"tone_power", m_tone_power},
        {"push_video", m_push_video},
        {"set_remote_view_size", m_set_remote_view_size},
        {"take_remote_frame", m_take_remote_frame},
        {"frame_info", m_frame_info},
        {"stats", m_stats},
        {"shutdown", m_shutdown},
        {"last_error", m_last_error},
        {"version", m_version},
    };
    godot_method_attributes attr = {.rpc_type = GODOT_METHOD_RPC_MODE_DISABLED};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        godot_instance_method m = {.method = methods[i].fn, .method_data = NULL, .free_func = NULL};
        nsapi->godot_nativescript_register_method(handle, "AcsCalling", methods[i].name, attr, m);
    }
}
