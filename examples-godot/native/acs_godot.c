/*
 * acs_godot.c — a Godot 3.2 GDNative (NativeScript 1.0) plugin over libacscalling's C ABI.
 *
 * It registers one class, `AcsCalling` (a Reference), that a GDScript drives from the game
 * loop. It uses include/acscalling.h only (no Rust API) and Godot's GDNative C API only.
 * This file: registration, the instance's life, events and call control; media in
 * acs_godot_media.c, Variant helpers in godot_util.c.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acs_godot.h"

/* GDN_EXPORT is empty on Linux; the plugin is built with -fvisibility=hidden, so the entry
 * points Godot looks up are exported explicitly. */
#define PLUGIN_EXPORT GDN_EXPORT __attribute__((visibility("default")))

const godot_gdnative_core_api_struct *api;
static const godot_gdnative_ext_nativescript_api_struct *nsapi;

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

    if (ev->kind == ACS_EVENT_INCOMING_CALL && ev->call != NULL) {
        /* Kept (retained) when no call is in progress, for accept()/reject(); a call that
         * comes in during another is left ringing (it times out on its own). */
        bool idle = self->call == NULL;
        int32_t state = ACS_CALL_STATE_NONE;
        if (!idle && acs_call_get_state(self->call, &state) == ACS_OK) idle = state == ACS_CALL_STATE_DISCONNECTED;
        if (idle && acs_call_retain(ev->call) == ACS_OK) {
            stop_remote_video(self);
            acs_call_release(self->call);
            self->call = ev->call;
        }
        dict_set(&d, "kept", v_bool(self->call == ev->call));
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

/* The incoming call kept by the event callback, or NULL (with the reason recorded). */
static acs_call *incoming_call(acs_godot *self) {
    int32_t state = ACS_CALL_STATE_NONE;
    if (self->call == NULL) {
        refuse(self, ACS_ERR_INVALID_STATE, "no incoming call");
        return NULL;
    }
    acs_status st = acs_call_get_state(self->call, &state);
    if (st != ACS_OK) {
        fail(self, st, "acs_call_get_state");
        return NULL;
    }
    if (state != ACS_CALL_STATE_INCOMING) {
        refuse(self, ACS_ERR_INVALID_STATE, "the call is not ringing here");
        return NULL;
    }
    return self->call;
}

/* accept() -> int: answers the incoming call (incoming_call event) with the engine's audio
 * and sends the game's video. */
METHOD(m_accept) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    acs_call *call = incoming_call(self);
    if (call == NULL) return v_int(ACS_ERR_INVALID_STATE);
    acs_call_options opts;
    acs_status st = ACS_CALL_OPTIONS_INIT(&opts);
    if (st != ACS_OK) return v_int(fail(self, st, "acs_call_options_init"));
    opts.microphone = self->mic;
    opts.speaker = self->speaker;
    st = acs_call_accept(call, &opts);
    if (st != ACS_OK) return v_int(fail(self, st, "acs_call_accept"));
    return v_int(start_outgoing_video(self));
}

/* reject() -> int: declines the incoming call (the caller sees 603). */
METHOD(m_reject) {
    UNUSED_METHOD_ARGS;
    acs_godot *self = user_data;
    acs_call *call = incoming_call(self);
    if (call == NULL) return v_int(ACS_ERR_INVALID_STATE);
    acs_status st = acs_call_reject(call);
    return v_int(st == ACS_OK ? st : fail(self, st, "acs_call_reject"));
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

PLUGIN_EXPORT void godot_gdnative_init(godot_gdnative_init_options *options) {
    api = options->api_struct;
    for (unsigned i = 0; i < api->num_extensions; i++) {
        if (api->extensions[i]->type == GDNATIVE_EXT_NATIVESCRIPT)
            nsapi = (const godot_gdnative_ext_nativescript_api_struct *)api->extensions[i];
    }
}

PLUGIN_EXPORT void godot_gdnative_terminate(godot_gdnative_terminate_options *options) {
    (void)options;
    api = NULL;
    nsapi = NULL;
}

PLUGIN_EXPORT void godot_nativescript_init(void *handle) {
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
        {"accept", m_accept},
        {"reject", m_reject},
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
