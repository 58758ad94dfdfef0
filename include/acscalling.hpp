/**
 * @file acscalling.hpp
 * @brief Header-only C++17 wrapper of the libacscalling C API (acscalling.h).
 *
 * It adds ownership and types, no logic:
 *  - Handles are move-only owners (acs::Client, acs::Agent, acs::Call, ...) whose destructor
 *    calls the matching acs_*_release; `retain(raw)` makes an owner from a borrowed handle
 *    (e.g. one an event lends), `get()` gives the raw handle back for the C API.
 *  - Strings are std::string in and out (the C "caller buffer + needed size" dance is hidden).
 *  - Callbacks are std::function; the C user_data trampolines are hidden.
 *  - Errors are exceptions: every failing C call throws acs::Error, carrying the acs_status
 *    and the library's acs_last_error_message() of that call. (Exceptions, not an
 *    expected-style result: the C API reports every failure the same way, and a call flow
 *    reads best without a check after each step.) Destructors never throw.
 *
 * Covered: client (thread or manual dispatch), device manager (lists, selection, virtual
 * devices, PCM push/pull, device events), agents (options, events, start/join calls, token
 * update), calls (accept/reject/hang up, mute, hold, devices, participants, DTMF, group
 * participants, audio statistics, media statistics and their ACS_EVENT_CALL_MEDIA_STATISTICS
 * interval, starting/stopping a local video stream and a screen share), remote
 * participants, cameras, virtual/pushed local video streams, screen sharing (acs::ScreenSource
 * lists, LocalVideoStream::create_from_screen with acs::ScreenCaptureOptions, share state,
 * ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED's fields in acs::Event). Not covered (use the C API
 * through get()): video renderers and views, remote video streams, camera options and
 * capture formats, audio processing options, the log callback, token refreshers and the
 * frozen first-version statistics structs.
 *
 * Lifetime rules are the C API's: destroy the acs::Client last (it owns the dispatch thread
 * and the storage of the agents' and the device manager's callbacks; its release joins the
 * dispatch thread, after which no callback runs). A callback may call into the library
 * but must not throw: an exception escaping it is swallowed (it cannot cross the C
 * boundary).
 *
 * Compile with -std=c++17 (or later) and link with -lacscalling (pkg-config acscalling or
 * the CMake target acscalling::acscalling).
 */
#ifndef ACSCALLING_HPP
#define ACSCALLING_HPP

#include "acscalling.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

/** The C++ wrapper of libacscalling. */
namespace acs {

/** A failed library call: its acs_status and the library's last error message. */
class Error : public std::runtime_error {
public:
    /**
     * Builds the error of a failed call (reads acs_last_error_message() of this thread).
     * @param status the ACS_ERR_* the call returned
     * @param what the name of the failed operation
     */
    Error(acs_status status, const std::string& what)
        : Error(status, what, last_error_message()) {}

    /** The ACS_ERR_* code. */
    acs_status status() const noexcept { return status_; }

    /** The library's message for this error (acs_last_error_message() when it failed). */
    const std::string& message() const noexcept { return message_; }

    /** acs_last_error_message() of the calling thread as a std::string. */
    static std::string last_error_message() {
        size_t n = acs_last_error_message(nullptr, 0);
        if (n == 0) return std::string();
        std::string s(n, '\0');
        acs_last_error_message(&s[0], n);
        s.resize(n - 1);
        return s;
    }

private:
    Error(acs_status status, const std::string& what, std::string message)
        : std::runtime_error(what + ": " + acs_status_to_string(status) + " (" +
                             std::to_string(status) + ")" + (message.empty() ? "" : ": ") + message),
          status_(status),
          message_(std::move(message)) {}

    acs_status status_;
    std::string message_;
};

/** Implementation details of the wrapper (not part of its API). */
namespace detail {

/** Throws acs::Error unless @p s is ACS_OK. */
inline void check(acs_status s, const char* what) {
    if (s != ACS_OK) throw Error(s, what);
}

/** Reads a string through the "caller buffer + needed size" convention. */
template <typename H, typename F>
std::string get_string(F getter, H* h, const char* what) {
    for (;;) {
        size_t needed = 0;
        acs_status s = getter(h, nullptr, 0, &needed);
        if (s != ACS_OK && s != ACS_ERR_BUFFER_TOO_SMALL) throw Error(s, what);
        if (needed == 0) return std::string();
        std::string out(needed, '\0');
        s = getter(h, &out[0], out.size(), &needed);
        if (s == ACS_ERR_BUFFER_TOO_SMALL) continue;  // it grew in between
        check(s, what);
        out.resize(needed > 0 ? needed - 1 : 0);
        return out;
    }
}

/** A move-only owner of one reference to a C handle. */
template <typename T, acs_status (*Retain)(T*), acs_status (*Release)(T*)>
class Handle {
public:
    /** An empty owner. */
    Handle() noexcept = default;
    /** Adopts one reference (e.g. from a C function's out-parameter). */
    explicit Handle(T* owned) noexcept : p_(owned) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    /** Moves the reference. */
    Handle(Handle&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    /** Releases the held reference and takes @p o's. */
    Handle& operator=(Handle&& o) noexcept {
        if (this != &o) reset(std::exchange(o.p_, nullptr));
        return *this;
    }
    /** Releases the reference. */
    ~Handle() { reset(); }

    /** The raw handle (still owned here). */
    T* get() const noexcept { return p_; }
    /** Gives up ownership: the caller must release the returned handle. */
    T* release() noexcept { return std::exchange(p_, nullptr); }
    /** Releases the held reference and adopts @p owned. */
    void reset(T* owned = nullptr) noexcept {
        T* old = std::exchange(p_, owned);
        if (old) Release(old);
    }
    /** Whether a handle is held. */
    explicit operator bool() const noexcept { return p_ != nullptr; }
    /** Whether this owns @p raw (handles of one object are equal). */
    bool is(const T* raw) const noexcept { return p_ != nullptr && p_ == raw; }

protected:
    /** Adds a reference to a borrowed handle (throws acs::Error on a stale one). */
    static T* add_ref(T* borrowed, const char* what) {
        check(Retain(borrowed), what);
        return borrowed;
    }

    /** The held handle, or an ACS_ERR_INVALID_HANDLE acs::Error for an empty owner. */
    T* must(const char* what) const {
        if (!p_) throw Error(ACS_ERR_INVALID_HANDLE, std::string(what) + " on an empty handle");
        return p_;
    }

private:
    T* p_ = nullptr;
};

/** The state behind one C callback: the std::function and a gate closed by its owner. */
template <typename... Args>
struct CallbackSlot {
    std::function<void(Args...)> fn;
    std::mutex mu;
    bool closed = false;
    std::atomic<std::thread::id> running{std::thread::id()};

    /** Runs fn unless closed; exceptions are swallowed (they cannot cross into C). */
    void call(Args... args) noexcept {
        std::lock_guard<std::mutex> lock(mu);
        if (closed || !fn) return;
        running = std::this_thread::get_id();
        try {
            fn(args...);
        } catch (...) {
        }
        running = std::thread::id();
    }

    /** No call starts after this; waits for a running one unless it is this thread's. */
    void close() noexcept {
        if (running == std::this_thread::get_id()) {
            closed = true;  // called from inside the callback: the lock is ours already
            return;
        }
        std::lock_guard<std::mutex> lock(mu);
        closed = true;
    }
};

/** Keeps the callback slots of a client's objects alive until the client is shut down. */
struct Registry {
    std::mutex mu;
    std::vector<std::shared_ptr<void>> slots;

    void keep(std::shared_ptr<void> slot) {
        std::lock_guard<std::mutex> lock(mu);
        slots.push_back(std::move(slot));
    }
};

}  // namespace detail

class Agent;
class Call;
class RemoteParticipant;

/**
 * A copy of an acs_event. The handles in it are borrowed for the callback that received
 * it: compare them, or make an owner with e.g. acs::Call::retain(event.call) inside the
 * callback.
 */
struct Event {
    int32_t kind = 0;                                 /**< ACS_EVENT_* */
    acs_call_agent* agent = nullptr;                  /**< the agent (borrowed) */
    acs_call* call = nullptr;                         /**< the call, or NULL (borrowed) */
    acs_remote_participant* participant = nullptr;    /**< the participant, or NULL (borrowed) */
    int32_t state = 0;                                /**< new call/participant/connection state */
    int32_t code = 0;                                 /**< end reason code */
    int32_t subcode = 0;                              /**< end reason subcode */
    bool flag = false;                                /**< muted / speaking flag */
    std::string message;                              /**< human-readable detail ("" if none) */
    acs_device_manager* device_manager = nullptr;     /**< device events: the manager (borrowed) */
    acs_audio_device* audio_device = nullptr;         /**< audio device events: the device (borrowed) */
    acs_camera* camera = nullptr;                     /**< camera events: the camera (borrowed) */
    acs_remote_video_stream* remote_video_stream = nullptr; /**< video availability: the stream (borrowed) */
    std::string participant_id;                       /**< raw id of the participant, "" if none */
    uint64_t request_id = 0;                          /**< ACS_EVENT_DTMF_SEND_COMPLETED's request id */
    int32_t dtmf_tone = -1;                           /**< ACS_DTMF_TONE_* of the DTMF events, else -1 */
    /** ACS_VIDEO_STREAM_KIND_* of ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED and
        ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED, else -1 */
    int32_t video_stream_kind = -1;
    /** The stream of ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED (borrowed), or NULL */
    acs_local_video_stream* local_video_stream = nullptr;
    /** ACS_EVENT_PUSH_NOTIFICATION: the push target's url of an (un)registration ("" when all
        targets were unregistered), or the call id of ACS_PUSH_NOTIFICATION_CALL_REFUSED; else "" */
    std::string push_subject;
    /** ACS_EVENT_CALL_TRANSFER_STATE_CHANGED and ACS_EVENT_CALL_TRANSFER_REQUESTED: the raw id
        of the transfer's target ("8:acs:…", "4:+…"); else "" */
    std::string transfer_target;

    Event() = default;
    /** Copies @p e (reading the appended fields only when its struct_size covers them). */
    explicit Event(const acs_event& e)
        : kind(e.kind), agent(e.agent), call(e.call), participant(e.participant), state(e.state),
          code(e.code), subcode(e.subcode), flag(e.flag), message(e.message ? e.message : ""),
          device_manager(e.device_manager), audio_device(e.audio_device), camera(e.camera),
          remote_video_stream(e.remote_video_stream) {
        if (e.struct_size >= offsetof(acs_event, dtmf_tone) + sizeof(int32_t)) {
            participant_id = e.participant_id ? e.participant_id : "";
            request_id = e.request_id;
            dtmf_tone = e.dtmf_tone;
        }
        if (e.struct_size >= offsetof(acs_event, local_video_stream) + sizeof(void*)) {
            video_stream_kind = e.video_stream_kind;
            local_video_stream = e.local_video_stream;
        }
        if (e.struct_size >= offsetof(acs_event, push_subject) + sizeof(const char*)) {
            push_subject = e.push_subject ? e.push_subject : "";
        }
        if (e.struct_size >= offsetof(acs_event, transfer_target) + sizeof(const char*)) {
            transfer_target = e.transfer_target ? e.transfer_target : "";
        }
    }
};

/** Receives events (on the library's dispatch thread, or inside Client::dispatch_events). */
using EventCallback = std::function<void(const Event&)>;

namespace detail {
using EventSlot = CallbackSlot<const Event&>;

/** The C event callback: forwards to the EventSlot in user_data. */
inline void event_trampoline(void* user_data, const acs_event* e) noexcept {
    if (!e) return;
    try {
        Event ev(*e);
        static_cast<EventSlot*>(user_data)->call(ev);
    } catch (...) {
    }
}
}  // namespace detail

/** Library version string, e.g. "0.1.0" (acs_calling_version()). */
inline std::string version() { return acs_calling_version(); }

/** Name of a status code (acs_status_to_string()). */
inline std::string status_to_string(acs_status s) { return acs_status_to_string(s); }

/** ACS_IDENTIFIER_KIND_* of a raw id (acs_identifier_get_kind()). */
inline int32_t identifier_kind(const std::string& raw_id) {
    int32_t k = 0;
    detail::check(acs_identifier_get_kind(raw_id.c_str(), &k), "acs_identifier_get_kind");
    return k;
}

/** Power at @p frequency_hz of 48 kHz mono PCM (acs_audio_tone_power()). */
inline float tone_power(const int16_t* samples, size_t count, float frequency_hz) {
    float p = 0.0f;
    detail::check(acs_audio_tone_power(samples, count, frequency_hz, &p), "acs_audio_tone_power");
    return p;
}

/** An audio device (acs_audio_device): microphone or speaker, real or virtual. */
class AudioDevice : public detail::Handle<acs_audio_device, acs_audio_device_retain, acs_audio_device_release> {
public:
    using Handle::Handle;
    /** An owner of a borrowed handle (adds a reference). */
    static AudioDevice retain(acs_audio_device* borrowed) {
        return AudioDevice(add_ref(borrowed, "acs_audio_device_retain"));
    }
    /** Stable device id. */
    std::string id() const { return detail::get_string(acs_audio_device_get_id, must("id"), "acs_audio_device_get_id"); }
    /** Display name. */
    std::string name() const { return detail::get_string(acs_audio_device_get_name, must("name"), "acs_audio_device_get_name"); }
    /** ACS_DEVICE_KIND_MICROPHONE or ACS_DEVICE_KIND_SPEAKER. */
    int32_t kind() const {
        int32_t k = 0;
        detail::check(acs_audio_device_get_kind(must("kind"), &k), "acs_audio_device_get_kind");
        return k;
    }
    /** Whether this is the system's default device. */
    bool is_default() const {
        bool b = false;
        detail::check(acs_audio_device_is_default(must("is_default"), &b), "acs_audio_device_is_default");
        return b;
    }
    /** Whether this is a virtual device. */
    bool is_virtual() const {
        bool b = false;
        detail::check(acs_audio_device_is_virtual(must("is_virtual"), &b), "acs_audio_device_is_virtual");
        return b;
    }
    /** Push microphone: queues 48 kHz PCM; returns the frames accepted. */
    size_t push_pcm(const int16_t* samples, size_t frames, uint32_t channels = 1) {
        size_t n = 0;
        detail::check(acs_audio_device_push_pcm(must("push_pcm"), samples, frames, channels, &n), "acs_audio_device_push_pcm");
        return n;
    }
    /** Pull speaker: takes up to @p capacity samples of what it played; returns how many. */
    size_t pull_pcm(int16_t* out, size_t capacity) {
        size_t n = 0;
        detail::check(acs_audio_device_pull_pcm(must("pull_pcm"), out, capacity, &n), "acs_audio_device_pull_pcm");
        return n;
    }
};

/** A camera (acs_camera). */
class Camera : public detail::Handle<acs_camera, acs_camera_retain, acs_camera_release> {
public:
    using Handle::Handle;
    /** An owner of a borrowed handle (adds a reference). */
    static Camera retain(acs_camera* borrowed) { return Camera(add_ref(borrowed, "acs_camera_retain")); }
    /** Stable camera id. */
    std::string id() const { return detail::get_string(acs_camera_get_id, must("id"), "acs_camera_get_id"); }
    /** Display name. */
    std::string name() const { return detail::get_string(acs_camera_get_name, must("name"), "acs_camera_get_name"); }
    /** Whether this is the default camera. */
    bool is_default() const {
        bool b = false;
        detail::check(acs_camera_is_default(must("is_default"), &b), "acs_camera_is_default");
        return b;
    }
};

/** Where a screen source was when listed (acs_screen_source_get_geometry). */
struct ScreenGeometry {
    int32_t x = 0;          /**< left edge, pixels */
    int32_t y = 0;          /**< top edge, pixels */
    uint32_t width = 0;     /**< width, pixels (a window's client area) */
    uint32_t height = 0;    /**< height, pixels */
    bool minimized = false; /**< whether the window was minimised */
};

/** A monitor or window that can be shared (acs_screen_source), as listed by ScreenSource::list. */
class ScreenSource : public detail::Handle<acs_screen_source, acs_screen_source_retain, acs_screen_source_release> {
public:
    using Handle::Handle;
    /** An owner of a borrowed handle (adds a reference). */
    static ScreenSource retain(acs_screen_source* borrowed) {
        return ScreenSource(add_ref(borrowed, "acs_screen_source_retain"));
    }
    /**
     * The monitors and windows of the X display (monitors first), each with a thumbnail
     * fitting @p thumbnail_width x @p thumbnail_height (0 x 0: none, faster).
     * Throws acs::Error (ACS_ERR_DEVICE) when there is no X display.
     */
    static std::vector<ScreenSource> list(uint32_t thumbnail_width = 0, uint32_t thumbnail_height = 0) {
        std::vector<acs_screen_source*> raw(16);
        size_t count = 0;
        for (int tries = 0;; tries++) {
            acs_status s = acs_screen_sources_get(thumbnail_width, thumbnail_height, raw.data(), raw.size(), &count);
            if (s == ACS_ERR_BUFFER_TOO_SMALL && tries < 8) {
                raw.resize(count + 4);  // more sources than room: once more with enough
                continue;
            }
            detail::check(s, "acs_screen_sources_get");
            break;
        }
        std::vector<ScreenSource> out;
        out.reserve(count);
        for (size_t i = 0; i < count; i++) out.emplace_back(raw[i]);
        return out;
    }
    /** The id for LocalVideoStream::create_from_screen (`x11:monitor:<n>`, `x11:window:<xid>`). */
    std::string id() const { return detail::get_string(acs_screen_source_get_id, must("id"), "acs_screen_source_get_id"); }
    /** The monitor's output name or the window's title. */
    std::string title() const {
        return detail::get_string(acs_screen_source_get_title, must("title"), "acs_screen_source_get_title");
    }
    /** The window's application (WM_CLASS class); "" for a monitor. */
    std::string application() const {
        return detail::get_string(acs_screen_source_get_application, must("application"),
                                  "acs_screen_source_get_application");
    }
    /** ACS_SCREEN_SOURCE_MONITOR or ACS_SCREEN_SOURCE_WINDOW. */
    int32_t kind() const {
        int32_t k = 0;
        detail::check(acs_screen_source_get_kind(must("kind"), &k), "acs_screen_source_get_kind");
        return k;
    }
    /** Where it was when listed. */
    ScreenGeometry geometry() const {
        ScreenGeometry g;
        detail::check(acs_screen_source_get_geometry(must("geometry"), &g.x, &g.y, &g.width, &g.height, &g.minimized),
                      "acs_screen_source_get_geometry");
        return g;
    }
    /**
     * The thumbnail as RGBA rows of 4 * @p width bytes; empty (and 0 x 0) when there is
     * none (listed without a thumbnail size, or a minimised window).
     */
    std::vector<uint8_t> thumbnail_rgba(uint32_t& width, uint32_t& height) const {
        width = height = 0;
        acs_status s = acs_screen_source_get_thumbnail(must("thumbnail_rgba"), ACS_PIXEL_FORMAT_RGBA, nullptr, 0, 0,
                                                       &width, &height);
        if (s == ACS_ERR_NOT_FOUND) return {};
        if (s != ACS_ERR_BUFFER_TOO_SMALL) detail::check(s, "acs_screen_source_get_thumbnail");
        std::vector<uint8_t> px(size_t(width) * height * 4);
        detail::check(acs_screen_source_get_thumbnail(get(), ACS_PIXEL_FORMAT_RGBA, px.data(), size_t(width) * 4,
                                                      px.size(), &width, &height),
                      "acs_screen_source_get_thumbnail");
        return px;
    }
};

/** How a screen source is captured (acs_screen_capture_options). */
struct ScreenCaptureOptions {
    uint32_t fps = 15;        /**< frames a second at most (1..=60) */
    bool show_cursor = true;  /**< draw the mouse pointer into the picture */

    /** The C struct, initialised to its defaults first. */
    acs_screen_capture_options to_c() const {
        acs_screen_capture_options o;
        detail::check(ACS_SCREEN_CAPTURE_OPTIONS_INIT(&o), "acs_screen_capture_options_init_sized");
        o.fps = fps;
        o.show_cursor = show_cursor;
        return o;
    }
};

/** Where a screen share's source stands (LocalVideoStream::share_state). */
struct ShareState {
    int32_t state = ACS_SHARE_STATE_ACTIVE; /**< ACS_SHARE_STATE_* */
    std::string reason;                      /**< why it is paused or ended ("" while active) */
};

/** A local video stream (acs_local_video_stream) to send with Call::start_video. */
class LocalVideoStream
    : public detail::Handle<acs_local_video_stream, acs_local_video_stream_retain, acs_local_video_stream_release> {
public:
    using Handle::Handle;
    /** An owner of a borrowed handle (adds a reference). */
    static LocalVideoStream retain(acs_local_video_stream* borrowed) {
        return LocalVideoStream(add_ref(borrowed, "acs_local_video_stream_retain"));
    }
    /** A virtual test-pattern camera. */
    static LocalVideoStream create_virtual(uint32_t width, uint32_t height, uint32_t fps) {
        acs_local_video_stream* s = nullptr;
        detail::check(acs_local_video_stream_create_virtual(width, height, fps, &s), "acs_local_video_stream_create_virtual");
        return LocalVideoStream(s);
    }
    /** A stream of frames the host pushes (C: acs_local_video_stream_push_frame). */
    static LocalVideoStream create_pushed() {
        acs_local_video_stream* s = nullptr;
        detail::check(acs_local_video_stream_create_pushed(&s), "acs_local_video_stream_create_pushed");
        return LocalVideoStream(s);
    }
    /** A stream from a camera. */
    static LocalVideoStream create_from_camera(const Camera& camera) {
        acs_local_video_stream* s = nullptr;
        detail::check(acs_local_video_stream_create_from_camera(camera.get(), &s), "acs_local_video_stream_create_from_camera");
        return LocalVideoStream(s);
    }
    /**
     * A stream capturing screen source @p source_id (ScreenSource::id) as @p options ask.
     * Share it with Call::start_screen_sharing. Throws acs::Error: ACS_ERR_DEVICE without an
     * X display or such a source, ACS_ERR_INVALID_ARGUMENT for a malformed id or rate.
     */
    static LocalVideoStream create_from_screen(const std::string& source_id,
                                               const ScreenCaptureOptions& options = ScreenCaptureOptions()) {
        acs_screen_capture_options o = options.to_c();
        acs_local_video_stream* s = nullptr;
        detail::check(acs_local_video_stream_create_from_screen_with_options(source_id.c_str(), &o, &s),
                      "acs_local_video_stream_create_from_screen_with_options");
        return LocalVideoStream(s);
    }
    /** Captures screen source @p source_id instead (the current source stays if it cannot). */
    void switch_source_screen(const std::string& source_id, const ScreenCaptureOptions& options = ScreenCaptureOptions()) {
        acs_screen_capture_options o = options.to_c();
        detail::check(acs_local_video_stream_switch_source_screen_with_options(must("switch_source_screen"),
                                                                              source_id.c_str(), &o),
                      "acs_local_video_stream_switch_source_screen_with_options");
    }
    /** The screen source's state and why (throws ACS_ERR_INVALID_STATE when not a screen). */
    ShareState share_state() const {
        ShareState st;
        for (;;) {
            size_t needed = 0;
            acs_status q = acs_local_video_stream_get_share_state(must("share_state"), &st.state, nullptr, 0, &needed);
            if (q != ACS_ERR_BUFFER_TOO_SMALL) detail::check(q, "acs_local_video_stream_get_share_state");
            if (needed <= 1) return st;
            std::string buf(needed, '\0');
            acs_status s = acs_local_video_stream_get_share_state(get(), &st.state, &buf[0], buf.size(), &needed);
            if (s == ACS_ERR_BUFFER_TOO_SMALL) continue;  // the reason changed in between
            detail::check(s, "acs_local_video_stream_get_share_state");
            buf.resize(needed > 0 ? needed - 1 : 0);
            st.reason = buf;
            return st;
        }
    }
    /** ACS_VIDEO_SOURCE_*. */
    int32_t source_kind() const {
        int32_t k = 0;
        detail::check(acs_local_video_stream_get_source_kind(must("source_kind"), &k), "acs_local_video_stream_get_source_kind");
        return k;
    }
    /** Frames produced so far. */
    uint64_t frame_count() const {
        uint64_t n = 0;
        detail::check(acs_local_video_stream_get_frame_count(must("frame_count"), &n), "acs_local_video_stream_get_frame_count");
        return n;
    }
};

/** Options of DeviceManager::create_* and friends are plain arguments; this is the manager. */
class DeviceManager
    : public detail::Handle<acs_device_manager, acs_device_manager_retain, acs_device_manager_release> {
public:
    DeviceManager() noexcept = default;
    /** Adopts @p owned; device-event callbacks keep their storage in @p registry. */
    DeviceManager(acs_device_manager* owned, std::shared_ptr<detail::Registry> registry) noexcept
        : Handle(owned), registry_(std::move(registry)) {}
    /** Moves the reference and the callback. */
    DeviceManager(DeviceManager&&) noexcept = default;
    /** Closes this owner's device-event callback, releases, and takes @p o's. */
    DeviceManager& operator=(DeviceManager&& o) noexcept {
        if (this != &o) {
            close_callback();
            Handle::operator=(std::move(o));
            registry_ = std::move(o.registry_);
            slot_ = std::move(o.slot_);
        }
        return *this;
    }
    /** Closes this owner's device-event callback, then releases the reference. */
    ~DeviceManager() { close_callback(); }

    /** Microphones: system devices, then the virtual ones. */
    std::vector<AudioDevice> microphones() const { return list(acs_device_manager_get_microphones, "acs_device_manager_get_microphones"); }
    /** Speakers: system devices, then the virtual ones. */
    std::vector<AudioDevice> speakers() const { return list(acs_device_manager_get_speakers, "acs_device_manager_get_speakers"); }
    /** Cameras (the virtual camera is always there). */
    std::vector<Camera> cameras() const {
        for (;;) {
            size_t n = 0;
            acs_status s = acs_device_manager_get_cameras(must("cameras"), nullptr, 0, &n);
            if (s != ACS_OK && s != ACS_ERR_BUFFER_TOO_SMALL) throw Error(s, "acs_device_manager_get_cameras");
            std::vector<acs_camera*> raw(n);
            size_t got = 0;
            s = acs_device_manager_get_cameras(get(), raw.data(), raw.size(), &got);
            if (s == ACS_ERR_BUFFER_TOO_SMALL) continue;
            detail::check(s, "acs_device_manager_get_cameras");
            std::vector<Camera> out;
            for (size_t i = 0; i < got; ++i) out.emplace_back(raw[i]);
            return out;
        }
    }
    /** Selects the microphone calls use by default. */
    void set_microphone(const AudioDevice& d) { detail::check(acs_device_manager_set_microphone(must("set_microphone"), d.get()), "acs_device_manager_set_microphone"); }
    /** Selects the speaker calls use by default. */
    void set_speaker(const AudioDevice& d) { detail::check(acs_device_manager_set_speaker(must("set_speaker"), d.get()), "acs_device_manager_set_speaker"); }
    /** Selects the camera. */
    void set_camera(const Camera& c) { detail::check(acs_device_manager_set_camera(must("set_camera"), c.get()), "acs_device_manager_set_camera"); }
    /** The selected microphone. */
    AudioDevice selected_microphone() const {
        acs_audio_device* d = nullptr;
        detail::check(acs_device_manager_get_selected_microphone(must("selected_microphone"), &d), "acs_device_manager_get_selected_microphone");
        return AudioDevice(d);
    }
    /** The selected speaker. */
    AudioDevice selected_speaker() const {
        acs_audio_device* d = nullptr;
        detail::check(acs_device_manager_get_selected_speaker(must("selected_speaker"), &d), "acs_device_manager_get_selected_speaker");
        return AudioDevice(d);
    }
    /** A virtual microphone playing a sine tone. */
    AudioDevice create_tone_microphone(const std::string& name, float frequency_hz, float amplitude = 0.5f) {
        acs_audio_device* d = nullptr;
        detail::check(acs_device_manager_create_tone_microphone(must("create_tone_microphone"), name.c_str(), frequency_hz, amplitude, &d),
                      "acs_device_manager_create_tone_microphone");
        return AudioDevice(d);
    }
    /** A virtual microphone playing a WAV file. */
    AudioDevice create_wav_microphone(const std::string& name, const std::string& path, bool looped) {
        acs_audio_device* d = nullptr;
        detail::check(acs_device_manager_create_wav_microphone(must("create_wav_microphone"), name.c_str(), path.c_str(), looped, &d),
                      "acs_device_manager_create_wav_microphone");
        return AudioDevice(d);
    }
    /** A virtual microphone fed with AudioDevice::push_pcm. */
    AudioDevice create_push_microphone(const std::string& name) {
        acs_audio_device* d = nullptr;
        detail::check(acs_device_manager_create_push_microphone(must("create_push_microphone"), name.c_str(), &d),
                      "acs_device_manager_create_push_microphone");
        return AudioDevice(d);
    }
    /** A virtual speaker writing a WAV file. */
    AudioDevice create_wav_speaker(const std::string& name, const std::string& path) {
        acs_audio_device* d = nullptr;
        detail::check(acs_device_manager_create_wav_speaker(must("create_wav_speaker"), name.c_str(), path.c_str(), &d),
                      "acs_device_manager_create_wav_speaker");
        return AudioDevice(d);
    }
    /** A virtual speaker read with AudioDevice::pull_pcm, buffering @p capacity_ms. */
    AudioDevice create_pull_speaker(const std::string& name, uint32_t capacity_ms = 5000) {
        acs_audio_device* d = nullptr;
        detail::check(acs_device_manager_create_pull_speaker(must("create_pull_speaker"), name.c_str(), capacity_ms, &d),
                      "acs_device_manager_create_pull_speaker");
        return AudioDevice(d);
    }
    /** Removes a virtual device. */
    void remove_device(const AudioDevice& d) {
        detail::check(acs_device_manager_remove_device(must("remove_device"), d.get()), "acs_device_manager_remove_device");
    }
    /** Re-lists the system devices; returns how many were added or removed. */
    size_t refresh_devices() {
        size_t n = 0;
        detail::check(acs_device_manager_refresh_devices(must("refresh_devices"), &n), "acs_device_manager_refresh_devices");
        return n;
    }
    /**
     * Receives the device events (ACS_EVENT_AUDIO_DEVICE_*, ACS_EVENT_CAMERA_*); an empty
     * function removes the callback. Only the DeviceManager owner that set it may replace it.
     */
    void set_event_callback(EventCallback fn) {
        must("set_event_callback");
        close_callback();
        if (!fn) return;
        auto slot = std::make_shared<detail::EventSlot>();
        slot->fn = std::move(fn);
        if (registry_) registry_->keep(slot);
        detail::check(acs_device_manager_set_event_callback(must("set_event_callback"), detail::event_trampoline, slot.get()),
                      "acs_device_manager_set_event_callback");
        slot_ = std::move(slot);
    }

private:
    void close_callback() noexcept {
        if (!slot_) return;
        if (get()) acs_device_manager_set_event_callback(get(), nullptr, nullptr);
        slot_->close();
        slot_.reset();
    }

    std::vector<AudioDevice> list(acs_status (*fn)(acs_device_manager*, acs_audio_device**, size_t, size_t*),
                                  const char* what) const {
        for (;;) {
            size_t n = 0;
            acs_status s = fn(must(what), nullptr, 0, &n);
            if (s != ACS_OK && s != ACS_ERR_BUFFER_TOO_SMALL) throw Error(s, what);
            std::vector<acs_audio_device*> raw(n);
            size_t got = 0;
            s = fn(get(), raw.data(), raw.size(), &got);
            if (s == ACS_ERR_BUFFER_TOO_SMALL) continue;  // a device appeared in between
            detail::check(s, what);
            std::vector<AudioDevice> out;
            for (size_t i = 0; i < got; ++i) out.emplace_back(raw[i]);
            return out;
        }
    }

    std::shared_ptr<detail::Registry> registry_;
    std::shared_ptr<detail::EventSlot> slot_;
};

/** A remote participant of a call (acs_remote_participant). */
class RemoteParticipant
    : public detail::Handle<acs_remote_participant, acs_remote_participant_retain, acs_remote_participant_release> {
public:
    using Handle::Handle;
    /** An owner of a borrowed handle (adds a reference). */
    static RemoteParticipant retain(acs_remote_participant* borrowed) {
        return RemoteParticipant(add_ref(borrowed, "acs_remote_participant_retain"));
    }
    /** Raw id, e.g. "8:acs:<uuid>" or "4:+15551234567". */
    std::string identifier() const {
        return detail::get_string(acs_remote_participant_get_identifier, must("identifier"), "acs_remote_participant_get_identifier");
    }
    /** Display name ("" if none). */
    std::string display_name() const {
        return detail::get_string(acs_remote_participant_get_display_name, must("display_name"), "acs_remote_participant_get_display_name");
    }
    /** ACS_IDENTIFIER_KIND_*. */
    int32_t identifier_kind() const {
        int32_t k = 0;
        detail::check(acs_remote_participant_get_identifier_kind(must("identifier_kind"), &k), "acs_remote_participant_get_identifier_kind");
        return k;
    }
    /** ACS_PARTICIPANT_STATE_*. */
    int32_t state() const {
        int32_t s = 0;
        detail::check(acs_remote_participant_get_state(must("state"), &s), "acs_remote_participant_get_state");
        return s;
    }
    /** ACS_ROOM_ROLE_* (ACS_ROOM_ROLE_NONE outside rooms). */
    int32_t role() const {
        int32_t r = ACS_ROOM_ROLE_NONE;
        detail::check(acs_remote_participant_get_role(must("role"), &r), "acs_remote_participant_get_role");
        return r;
    }
    /** Whether the participant is muted. */
    bool is_muted() const {
        bool b = false;
        detail::check(acs_remote_participant_is_muted(must("is_muted"), &b), "acs_remote_participant_is_muted");
        return b;
    }
    /** Whether the participant is speaking. */
    bool is_speaking() const {
        bool b = false;
        detail::check(acs_remote_participant_is_speaking(must("is_speaking"), &b), "acs_remote_participant_is_speaking");
        return b;
    }
    /** End reason (code, subcode) once the participant left. */
    std::pair<int32_t, int32_t> end_reason() const {
        int32_t c = 0, s = 0;
        detail::check(acs_remote_participant_get_end_reason(must("end_reason"), &c, &s), "acs_remote_participant_get_end_reason");
        return {c, s};
    }
};

/** Options for starting, joining or accepting a call (acs_call_options). */
struct CallOptions {
    const AudioDevice* microphone = nullptr;  /**< microphone, or NULL for the selection */
    const AudioDevice* speaker = nullptr;     /**< speaker, or NULL for the selection */
    bool start_muted = false;                 /**< join with the microphone muted */
    std::string alternate_caller_id;          /**< phone calls: caller id "4:+1555…" ("" = default) */

    /** The C struct; valid while this object lives. */
    acs_call_options to_c() const {
        acs_call_options o;
        detail::check(ACS_CALL_OPTIONS_INIT(&o), "acs_call_options_init_sized");
        o.microphone = microphone ? microphone->get() : nullptr;
        o.speaker = speaker ? speaker->get() : nullptr;
        o.start_muted = start_muted;
        o.alternate_caller_id = alternate_caller_id.empty() ? nullptr : alternate_caller_id.c_str();
        return o;
    }
};

/** A call (acs_call). */
class Call : public detail::Handle<acs_call, acs_call_retain, acs_call_release> {
public:
    using Handle::Handle;
    /** An owner of a borrowed handle (adds a reference), e.g. ACS_EVENT_INCOMING_CALL's call. */
    static Call retain(acs_call* borrowed) { return Call(add_ref(borrowed, "acs_call_retain")); }

    /** Accepts an incoming call. */
    void accept(const CallOptions& options = CallOptions()) {
        acs_call_options o = options.to_c();
        detail::check(acs_call_accept(must("accept"), &o), "acs_call_accept");
    }
    /** Rejects an incoming call. */
    void reject() { detail::check(acs_call_reject(must("reject")), "acs_call_reject"); }
    /** Hangs up (for everyone: ends a group call for all). */
    void hang_up(bool for_everyone = false) { detail::check(acs_call_hang_up(must("hang_up"), for_everyone), "acs_call_hang_up"); }
    /** Mutes the microphone. */
    void mute() { detail::check(acs_call_mute(must("mute")), "acs_call_mute"); }
    /** Unmutes the microphone. */
    void unmute() { detail::check(acs_call_unmute(must("unmute")), "acs_call_unmute"); }
    /** Puts the call on hold. */
    void hold() { detail::check(acs_call_hold(must("hold")), "acs_call_hold"); }
    /** Resumes a held call. */
    void resume() { detail::check(acs_call_resume(must("resume")), "acs_call_resume"); }
    /** Switches the microphone. */
    void set_microphone(const AudioDevice& d) { detail::check(acs_call_set_microphone(must("set_microphone"), d.get()), "acs_call_set_microphone"); }
    /** Switches the speaker. */
    void set_speaker(const AudioDevice& d) { detail::check(acs_call_set_speaker(must("set_speaker"), d.get()), "acs_call_set_speaker"); }
    /** ACS_CALL_STATE_*. */
    int32_t state() const {
        int32_t s = 0;
        detail::check(acs_call_get_state(must("state"), &s), "acs_call_get_state");
        return s;
    }
    /** ACS_CALL_DIRECTION_*. */
    int32_t direction() const {
        int32_t d = 0;
        detail::check(acs_call_get_direction(must("direction"), &d), "acs_call_get_direction");
        return d;
    }
    /** Whether the microphone is muted. */
    bool is_muted() const {
        bool b = false;
        detail::check(acs_call_is_muted(must("is_muted"), &b), "acs_call_is_muted");
        return b;
    }
    /** Whether this is a group call. */
    bool is_group_call() const {
        bool b = false;
        detail::check(acs_call_is_group_call(must("is_group_call"), &b), "acs_call_is_group_call");
        return b;
    }
    /** End reason (code, subcode) once disconnected. */
    std::pair<int32_t, int32_t> end_reason() const {
        int32_t c = 0, s = 0;
        detail::check(acs_call_get_end_reason(must("end_reason"), &c, &s), "acs_call_get_end_reason");
        return {c, s};
    }
    /** The call id ("" until the service assigned one). */
    std::string id() const { return detail::get_string(acs_call_get_id, must("id"), "acs_call_get_id"); }
    /** The remote participants now. */
    std::vector<RemoteParticipant> remote_participants() const {
        size_t n = 0;
        detail::check(acs_call_get_remote_participant_count(must("remote_participants"), &n), "acs_call_get_remote_participant_count");
        std::vector<RemoteParticipant> out;
        for (size_t i = 0; i < n; ++i) {
            acs_remote_participant* p = nullptr;
            acs_status s = acs_call_get_remote_participant(get(), i, &p);
            if (s == ACS_ERR_NOT_FOUND || s == ACS_ERR_INVALID_ARGUMENT) break;  // one left meanwhile
            detail::check(s, "acs_call_get_remote_participant");
            out.emplace_back(p);
        }
        return out;
    }
    /** The remote participant at @p index. */
    RemoteParticipant remote_participant(size_t index) const {
        acs_remote_participant* p = nullptr;
        detail::check(acs_call_get_remote_participant(must("remote_participant"), index, &p), "acs_call_get_remote_participant");
        return RemoteParticipant(p);
    }
    /** Adds a participant (group calls). */
    RemoteParticipant add_participant(const std::string& raw_id) {
        acs_remote_participant* p = nullptr;
        detail::check(acs_call_add_participant(must("add_participant"), raw_id.c_str(), &p), "acs_call_add_participant");
        return RemoteParticipant(p);
    }
    /** Removes a participant (group calls). */
    void remove_participant(const RemoteParticipant& p) {
        detail::check(acs_call_remove_participant(must("remove_participant"), p.get()), "acs_call_remove_participant");
    }
    /**
     * Transfers the other participant of this 1:1 call to @p target ("8:acs:…" or "4:+…").
     * Returns at once (acs::Error with ACS_ERR_INVALID_ARGUMENT for a malformed id);
     * ACS_EVENT_CALL_TRANSFER_STATE_CHANGED follows here and on the transferee's side:
     * REQUESTED, TRANSFERRING, then TRANSFERRED (this call ends with 0/10015) or FAILED with
     * the reason, the call going on (acs_call_transfer).
     */
    void transfer(const std::string& target) {
        detail::check(acs_call_transfer(must("transfer"), target.c_str()), "acs_call_transfer");
    }
    /**
     * Answers the transfer request of this call (ACS_EVENT_CALL_TRANSFER_REQUESTED) when the
     * agent was created with AgentOptions::answer_transfers: @p accept lets the target ring;
     * a refusal fails the transfer with 603/10017 (acs_call_answer_transfer).
     */
    void answer_transfer(bool accept) {
        detail::check(acs_call_answer_transfer(must("answer_transfer"), accept), "acs_call_answer_transfer");
    }
    /**
     * Admits @p p, waiting in this room's lobby (ACS_PARTICIPANT_STATE_IN_LOBBY), as an
     * attendee. acs::Error with ACS_ERR_NOT_FOUND when it is not waiting in the lobby; a
     * refusal by the service (403) arrives as ACS_EVENT_CALL_ACTION_FAILED (acs_call_admit).
     */
    void admit(const RemoteParticipant& p) {
        detail::check(acs_call_admit(must("admit"), p.get()), "acs_call_admit");
    }
    /** Admits everyone waiting in the lobby (nobody waiting is not an error; acs_call_admit_all). */
    void admit_all() {
        detail::check(acs_call_admit_all(must("admit_all")), "acs_call_admit_all");
    }
    /**
     * Turns @p p away from the lobby: its call ends with 403/10018
     * (acs_call_reject_participant).
     */
    void reject_participant(const RemoteParticipant& p) {
        detail::check(acs_call_reject_participant(must("reject_participant"), p.get()), "acs_call_reject_participant");
    }
    /**
     * Mutes @p p: it gets ACS_EVENT_CALL_MUTED_BY_OTHERS and is not heard until it unmutes
     * (a room's consumer may not). In a room only organizers and presenters may (refusal:
     * ACS_EVENT_CALL_ACTION_FAILED 403; acs_call_mute_participant).
     */
    void mute_participant(const RemoteParticipant& p) {
        detail::check(acs_call_mute_participant(must("mute_participant"), p.get()), "acs_call_mute_participant");
    }
    /** Mutes every other user in the call (acs_call_mute_all_remote_participants). */
    void mute_all_remote_participants() {
        detail::check(acs_call_mute_all_remote_participants(must("mute_all_remote_participants")),
                      "acs_call_mute_all_remote_participants");
    }
    /** Sends an ACS_DTMF_TONE_*; returns the request id of its ACS_EVENT_DTMF_SEND_COMPLETED. */
    uint64_t send_dtmf(int32_t tone) {
        uint64_t id = 0;
        detail::check(acs_call_send_dtmf(must("send_dtmf"), tone, &id), "acs_call_send_dtmf");
        return id;
    }
    /** Audio counters of the call. */
    acs_call_audio_statistics audio_statistics() const {
        acs_call_audio_statistics st;
        detail::check(ACS_CALL_AUDIO_STATISTICS_INIT(&st), "acs_call_audio_statistics_init_sized");
        detail::check(acs_call_get_audio_statistics(must("audio_statistics"), &st), "acs_call_get_audio_statistics");
        return st;
    }
    /**
     * The call's newest media statistics sample (RTT, audio and video packets, loss, jitter,
     * bitrates; see acs_call_media_statistics). Throws an ACS_ERR_INVALID_STATE acs::Error
     * before the first sample (when that comes: acs_call_get_media_statistics). Inside an
     * event callback, read it for the event's borrowed call with
     * acs::Call::retain(event.call).media_statistics().
     */
    acs_call_media_statistics media_statistics() const {
        acs_call_media_statistics st;
        detail::check(ACS_CALL_MEDIA_STATISTICS_INIT(&st), "acs_call_media_statistics_init_sized");
        detail::check(acs_call_get_media_statistics(must("media_statistics"), &st), "acs_call_get_media_statistics");
        return st;
    }
    /**
     * Samples the media statistics every @p interval_ms (at least 100) and raises
     * ACS_EVENT_CALL_MEDIA_STATISTICS for this call after each sample, through the agent's
     * AgentOptions::on_event (read the sample with media_statistics()); 0 stops the events
     * (acs_call_set_media_statistics_interval).
     */
    void set_media_statistics_interval(uint32_t interval_ms) {
        detail::check(acs_call_set_media_statistics_interval(must("set_media_statistics_interval"), interval_ms),
                      "acs_call_set_media_statistics_interval");
    }
    /** Sends @p stream as the call's video. */
    void start_video(const LocalVideoStream& stream) {
        detail::check(acs_call_start_video(must("start_video"), stream.get()), "acs_call_start_video");
    }
    /**
     * Shares @p stream as the call's screen share; ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED
     * says whether the service accepted it (STARTED) or not (FAILED with the reason).
     */
    void start_screen_sharing(const LocalVideoStream& stream) {
        detail::check(acs_call_start_screen_sharing(must("start_screen_sharing"), stream.get()),
                      "acs_call_start_screen_sharing");
    }
    /** Stops the screen share (stop_video(ACS_VIDEO_STREAM_KIND_SCREEN_SHARE)). */
    void stop_screen_sharing() { stop_video(ACS_VIDEO_STREAM_KIND_SCREEN_SHARE); }
    /** Stops sending video of ACS_VIDEO_STREAM_KIND_*. */
    void stop_video(int32_t kind = ACS_VIDEO_STREAM_KIND_VIDEO) {
        detail::check(acs_call_stop_video(must("stop_video"), kind), "acs_call_stop_video");
    }
    /** Whether video of ACS_VIDEO_STREAM_KIND_* is being sent. */
    bool is_sending_video(int32_t kind = ACS_VIDEO_STREAM_KIND_VIDEO) const {
        bool b = false;
        detail::check(acs_call_is_sending_video(must("is_sending_video"), kind, &b), "acs_call_is_sending_video");
        return b;
    }
};

/** Options of Client::create_agent (acs_call_agent_options). */
struct AgentOptions {
    std::string service_url;          /**< e.g. "ws://127.0.0.1:8080" */
    std::string token;                /**< access token from the service's identity API */
    std::string display_name;         /**< name the others see ("" = none) */
    std::string ca_certificate_path;  /**< PEM CA of a private wss:// service ("" = none) */
    EventCallback on_event;           /**< every event of the agent and its calls (may be empty) */
    /** The host answers transfer requests itself (ACS_EVENT_CALL_TRANSFER_REQUESTED, then
        Call::answer_transfer); false (the default): the library accepts them at once */
    bool answer_transfers = false;
};

/** A signed-in user (acs_call_agent): places and receives calls. */
class Agent : public detail::Handle<acs_call_agent, acs_call_agent_retain, acs_call_agent_release> {
public:
    Agent() noexcept = default;
    /** Adopts @p owned whose C callback (if any) is @p slot. */
    Agent(acs_call_agent* owned, std::shared_ptr<detail::EventSlot> slot) noexcept
        : Handle(owned), slot_(std::move(slot)) {}
    /** Moves the reference and the callback. */
    Agent(Agent&&) noexcept = default;
    /** Stops this owner's callback, releases, and takes @p o's reference and callback. */
    Agent& operator=(Agent&& o) noexcept {
        if (this != &o) {
            close_callback();
            Handle::operator=(std::move(o));
            slot_ = std::move(o.slot_);
        }
        return *this;
    }
    /** Stops this owner's event callback (waiting for a running one), then releases. */
    ~Agent() { close_callback(); }

    /** The signed-in user's raw id. */
    std::string user_id() const { return detail::get_string(acs_call_agent_get_user_id, must("user_id"), "acs_call_agent_get_user_id"); }
    /** ACS_AGENT_CONNECTION_*. */
    int32_t connection_state() const {
        int32_t s = 0;
        detail::check(acs_call_agent_get_connection_state(must("connection_state"), &s), "acs_call_agent_get_connection_state");
        return s;
    }
    /** Replaces the token (same user) before it expires. */
    void update_token(const std::string& token) {
        detail::check(acs_call_agent_update_token(must("update_token"), token.c_str()), "acs_call_agent_update_token");
    }
    /**
     * Registers @p url (`http://host[:port]/path`) as a push target of the user, with @p secret
     * (16 to 256 bytes) as the key of the notifications' HMAC-SHA256. Returns at once;
     * ACS_EVENT_PUSH_NOTIFICATION (ACS_PUSH_NOTIFICATION_REGISTERED or _REGISTRATION_FAILED)
     * follows (acs_call_agent_register_push_notification).
     */
    void register_push_notification(const std::string& url, const std::string& secret) {
        detail::check(acs_call_agent_register_push_notification(must("register_push_notification"), url.c_str(), secret.c_str()),
                      "acs_call_agent_register_push_notification");
    }
    /**
     * Removes the push target @p url, or every target of the user when @p url is empty.
     * Returns at once; ACS_EVENT_PUSH_NOTIFICATION (ACS_PUSH_NOTIFICATION_UNREGISTERED or
     * _UNREGISTRATION_FAILED) follows (acs_call_agent_unregister_push_notification).
     */
    void unregister_push_notification(const std::string& url = std::string()) {
        detail::check(acs_call_agent_unregister_push_notification(must("unregister_push_notification"),
                                                                   url.empty() ? nullptr : url.c_str()),
                      "acs_call_agent_unregister_push_notification");
    }
    /**
     * Hands the agent a push notification: @p payload is the body the service POSTed,
     * @p secret the one its target was registered with. Throws acs::Error with
     * ACS_ERR_UNAUTHORIZED (forged), ACS_ERR_TIMEOUT (stale), ACS_ERR_INVALID_ARGUMENT
     * (malformed, another user's) or ACS_ERR_INVALID_STATE (handled before in this process);
     * then the call arrives as ACS_EVENT_INCOMING_CALL, or ACS_EVENT_PUSH_NOTIFICATION with
     * ACS_PUSH_NOTIFICATION_CALL_REFUSED says why not (acs_call_agent_handle_push_notification).
     */
    void handle_push_notification(const std::string& payload, const std::string& secret) {
        detail::check(acs_call_agent_handle_push_notification(must("handle_push_notification"), payload.c_str(), secret.c_str()),
                      "acs_call_agent_handle_push_notification");
    }
    /** Calls one or more raw ids (users, phone numbers, "8:echo123"). */
    Call start_call(const std::vector<std::string>& participant_ids, const CallOptions& options = CallOptions()) {
        std::vector<const char*> ids;
        ids.reserve(participant_ids.size());
        for (const auto& id : participant_ids) ids.push_back(id.c_str());
        acs_call_options o = options.to_c();
        acs_call* c = nullptr;
        detail::check(acs_call_agent_start_call(must("start_call"), ids.data(), ids.size(), &o, &c), "acs_call_agent_start_call");
        return Call(c);
    }
    /** Joins the group call @p group_id (a UUID). */
    Call join(const std::string& group_id, const CallOptions& options = CallOptions()) {
        acs_call_options o = options.to_c();
        acs_call* c = nullptr;
        detail::check(acs_call_agent_join(must("join"), group_id.c_str(), &o, &c), "acs_call_agent_join");
        return Call(c);
    }
    /**
     * Joins the room @p locator — its id or its link "http(s)://<service>/meet/<id>" (POST
     * /rooms). The call is ACS_CALL_STATE_IN_LOBBY while an unlisted user waits to be
     * admitted; refusals end it (403 outside the window or not listed, 404 unknown,
     * 403/10018 turned away, 408/10019 the lobby timeout; acs_call_agent_join_room).
     */
    Call join_room(const std::string& locator, const CallOptions& options = CallOptions()) {
        acs_call_options o = options.to_c();
        acs_call* c = nullptr;
        detail::check(acs_call_agent_join_room(must("join_room"), locator.c_str(), &o, &c), "acs_call_agent_join_room");
        return Call(c);
    }
    /** The agent's calls now. */
    std::vector<Call> calls() const {
        size_t n = 0;
        detail::check(acs_call_agent_get_call_count(must("calls"), &n), "acs_call_agent_get_call_count");
        std::vector<Call> out;
        for (size_t i = 0; i < n; ++i) {
            acs_call* c = nullptr;
            acs_status s = acs_call_agent_get_call(get(), i, &c);
            if (s == ACS_ERR_NOT_FOUND || s == ACS_ERR_INVALID_ARGUMENT) break;  // one ended meanwhile
            detail::check(s, "acs_call_agent_get_call");
            out.emplace_back(c);
        }
        return out;
    }

private:
    void close_callback() noexcept {
        if (!slot_) return;
        if (get()) acs_call_agent_set_event_callback(get(), nullptr, nullptr);
        slot_->close();
        slot_.reset();
    }

    std::shared_ptr<detail::EventSlot> slot_;
};

/** Options of acs::Client (acs_call_client_options; the log callback is not wrapped). */
struct ClientOptions {
    int32_t dispatch_mode = ACS_DISPATCH_THREAD;  /**< ACS_DISPATCH_THREAD or ACS_DISPATCH_MANUAL */
};

/** The library instance (acs_call_client): runtime, dispatch thread, device manager. */
class Client : public detail::Handle<acs_call_client, acs_call_client_retain, acs_call_client_release> {
public:
    /** Creates a client. */
    explicit Client(const ClientOptions& options = ClientOptions()) : registry_(std::make_shared<detail::Registry>()) {
        acs_call_client_options o;
        detail::check(ACS_CALL_CLIENT_OPTIONS_INIT(&o), "acs_call_client_options_init_sized");
        o.dispatch_mode = options.dispatch_mode;
        acs_call_client* c = nullptr;
        detail::check(acs_call_client_create(&o, &c), "acs_call_client_create");
        reset(c);
    }
    /** Moves the reference and the callbacks' storage. */
    Client(Client&&) noexcept = default;
    /** Shuts this client down (the last reference), then takes @p o's. */
    Client& operator=(Client&& o) noexcept {
        if (this != &o) {
            reset(o.release());
            registry_ = std::move(o.registry_);
        }
        return *this;
    }
    /** Releases the client (joining its dispatch thread), then the callbacks' storage. */
    ~Client() { reset(); }

    /** Signs a user in; events go to @p options.on_event. */
    Agent create_agent(const AgentOptions& options) {
        acs_call_agent_options o;
        detail::check(ACS_CALL_AGENT_OPTIONS_INIT(&o), "acs_call_agent_options_init_sized");
        o.service_url = options.service_url.c_str();
        o.token = options.token.c_str();
        o.display_name = options.display_name.empty() ? nullptr : options.display_name.c_str();
        o.ca_certificate_path = options.ca_certificate_path.empty() ? nullptr : options.ca_certificate_path.c_str();
        o.answer_transfers = options.answer_transfers;
        std::shared_ptr<detail::EventSlot> slot;
        if (options.on_event) {
            slot = std::make_shared<detail::EventSlot>();
            slot->fn = options.on_event;
            registry_->keep(slot);
            o.event_callback = detail::event_trampoline;
            o.event_user_data = slot.get();
        }
        acs_call_agent* a = nullptr;
        detail::check(acs_call_client_create_call_agent(must("create_agent"), &o, &a), "acs_call_client_create_call_agent");
        return Agent(a, std::move(slot));
    }
    /** The client's device manager. */
    DeviceManager device_manager() const {
        acs_device_manager* dm = nullptr;
        detail::check(acs_call_client_get_device_manager(must("device_manager"), &dm), "acs_call_client_get_device_manager");
        return DeviceManager(dm, registry_);
    }
    /** Manual dispatch: delivers queued events here, waiting up to @p timeout_ms; returns how many. */
    uint32_t dispatch_events(uint32_t timeout_ms) {
        uint32_t n = 0;
        detail::check(acs_call_client_dispatch_events(must("dispatch_events"), timeout_ms, &n), "acs_call_client_dispatch_events");
        return n;
    }

private:
    std::shared_ptr<detail::Registry> registry_;
};

}  // namespace acs

#endif  // ACSCALLING_HPP
