/*
 * acs_godot.h — what the files of the Godot plugin share: the instance struct, the
 * GDNative API pointer, Variant/argument helpers and the status-checking macros.
 * (Internal to the plugin; built with -fvisibility=hidden, only the GDNative entry points
 * are exported.)
 */
#ifndef ACS_GODOT_H
#define ACS_GODOT_H

#include <gdnative_api_struct.gen.h>
#include <pthread.h>

#include "acscalling.h"

extern const godot_gdnative_core_api_struct *api;

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

/* Variant helpers (godot_util.c). */
godot_variant v_int(int64_t value);
godot_variant v_real(double value);
godot_variant v_bool(bool value);
godot_variant v_string(const char *utf8);
void dict_set(godot_dictionary *d, const char *key, godot_variant value);
void print_line(const char *text);
acs_status fail(acs_godot *self, acs_status st, const char *what);
acs_status refuse(acs_godot *self, acs_status st, const char *why);
bool arg_is(godot_variant **args, int n, int i, godot_variant_type type);
char *arg_utf8(godot_variant **args, int n, int i);

/* Checks a status: on failure records it and returns it from the calling function. */
#define CHECK(self, expr, what)                       \
    do {                                              \
        acs_status st_ = (expr);                      \
        if (st_ != ACS_OK) return fail(self, st_, what); \
    } while (0)

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

/* A NativeScript method: (owner, method data, instance, argument count, arguments). */
#define METHOD_EXTERN(name) \
    godot_variant name(godot_object *obj, void *method_data, void *user_data, int n, godot_variant **args)
#define METHOD(name) \
    static godot_variant name(godot_object *obj, void *method_data, void *user_data, int n, godot_variant **args)
#define UNUSED_METHOD_ARGS \
    (void)obj;             \
    (void)method_data;     \
    (void)n;               \
    (void)args

/* Remote video (acs_godot_media.c). */
void stop_remote_video(acs_godot *self);
acs_status start_remote_video(acs_godot *self, acs_remote_video_stream *stream);

/* The media methods (acs_godot_media.c). */
METHOD_EXTERN(m_push_audio);
METHOD_EXTERN(m_pull_audio);
METHOD_EXTERN(m_tone_power);
METHOD_EXTERN(m_push_video);
METHOD_EXTERN(m_set_remote_view_size);
METHOD_EXTERN(m_take_remote_frame);
METHOD_EXTERN(m_frame_info);

#endif /* ACS_GODOT_H */
