// two_party.cpp — Alice calls Bob in one process, through a running acscalling-service.
//
//   two_party --service-url ws://127.0.0.1:8080 --token-a TOKEN_ALICE --token-b TOKEN_BOB
//
// Shows a small C++17 RAII layer over the C API: unique handles whose deleters call the
// *_release functions, exceptions built from acs_status + acs_last_error_message, and an
// event inbox (mutex + condition variable) filled by the library's event thread.
// Two agents (Alice with a 440 Hz tone microphone, Bob with 660 Hz), pull speakers; Bob
// accepts the incoming call; both hear each other; mute/unmute; hold/resume; hang up.
// Exit code 0 when every step was verified.

#include "acscalling.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace acs {

// ---- errors -------------------------------------------------------------------------

class Error : public std::runtime_error {
public:
    Error(acs_status status, const std::string& what)
        : std::runtime_error(what + ": " + acs_status_to_string(status) + " (" +
                             std::to_string(status) + "): " + last_message()),
          status_(status) {}
    acs_status status() const noexcept { return status_; }

    static std::string last_message() {
        size_t n = acs_last_error_message(nullptr, 0);
        std::string s(n, '\0');
        if (n > 0) {
            acs_last_error_message(s.data(), n);
            s.resize(n - 1);
        }
        return s;
    }

private:
    acs_status status_;
};

inline void check(acs_status s, const char* what) {
    if (s != ACS_OK) throw Error(s, what);
}

// ---- handles ------------------------------------------------------------------------

template <typename T, acs_status (*Release)(T*)>
struct Releaser {
    void operator()(T* p) const noexcept { Release(p); }
};

using Client = std::unique_ptr<acs_call_client, Releaser<acs_call_client, acs_call_client_release>>;
using DeviceManager = std::unique_ptr<acs_device_manager, Releaser<acs_device_manager, acs_device_manager_release>>;
using Device = std::unique_ptr<acs_audio_device, Releaser<acs_audio_device, acs_audio_device_release>>;
using Agent = std::unique_ptr<acs_call_agent, Releaser<acs_call_agent, acs_call_agent_release>>;
using Call = std::unique_ptr<acs_call, Releaser<acs_call, acs_call_release>>;
using Participant = std::unique_ptr<acs_remote_participant, Releaser<acs_remote_participant, acs_remote_participant_release>>;

// Reads a string through the "caller buffer + needed size" convention.
template <typename T>
std::string get_string(acs_status (*getter)(T*, char*, size_t, size_t*), T* h, const char* what) {
    size_t needed = 0;
    acs_status s = getter(h, nullptr, 0, &needed);
    if (s != ACS_ERR_BUFFER_TOO_SMALL && s != ACS_OK) throw Error(s, what);
    std::string out(needed, '\0');
    check(getter(h, out.data(), out.size(), &needed), what);
    out.resize(needed > 0 ? needed - 1 : 0);
    return out;
}

inline Client make_client() {
    acs_call_client* c = nullptr;
    check(acs_call_client_create(nullptr, &c), "acs_call_client_create");
    return Client(c);
}

inline DeviceManager device_manager(acs_call_client* c) {
    acs_device_manager* dm = nullptr;
    check(acs_call_client_get_device_manager(c, &dm), "acs_call_client_get_device_manager");
    return DeviceManager(dm);
}

inline Device tone_microphone(acs_device_manager* dm, const std::string& name, float hz) {
    acs_audio_device* d = nullptr;
    check(acs_device_manager_create_tone_microphone(dm, name.c_str(), hz, 0.5f, &d), "create_tone_microphone");
    return Device(d);
}

inline Device pull_speaker(acs_device_manager* dm, const std::string& name) {
    acs_audio_device* d = nullptr;
    check(acs_device_manager_create_pull_speaker(dm, name.c_str(), 5000, &d), "create_pull_speaker");
    return Device(d);
}

// ---- events -------------------------------------------------------------------------

// A copy of an acs_event that outlives the callback. `call` is only compared, never used.
struct Event {
    int32_t kind;
    acs_call* call;
    int32_t state, code, subcode;
    bool flag;
    std::string message;
};

// Collects one agent's events (filled on the library's event thread) and lets the main
// thread wait for one.
class Inbox {
public:
    explicit Inbox(std::string name) : name_(std::move(name)) {}
    Inbox(const Inbox&) = delete;
    Inbox& operator=(const Inbox&) = delete;

    static void callback(void* user_data, const acs_event* e) noexcept {
        static_cast<Inbox*>(user_data)->push(e);
    }

    // Waits for an event matching `pred` after those already consumed.
    Event wait(const std::function<bool(const Event&)>& pred, const char* what,
               std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        std::unique_lock<std::mutex> lock(mu_);
        Event found{};
        bool ok = cv_.wait_for(lock, timeout, [&] {
            for (; next_ < events_.size(); ++next_) {
                if (pred(events_[next_])) {
                    found = events_[next_++];
                    return true;
                }
            }
            return false;
        });
        if (!ok) throw std::runtime_error(name_ + ": timed out waiting for " + what);
        return found;
    }

    Event wait_call_state(acs_call* call, int32_t state, const char* what) {
        return wait([&](const Event& e) {
            return e.kind == ACS_EVENT_CALL_STATE_CHANGED && e.call == call && e.state == state;
        }, what);
    }

    // The incoming call, retained in the callback (ownership moves to the caller).
    Call take_incoming() {
        std::lock_guard<std::mutex> lock(mu_);
        return std::move(incoming_);
    }

private:
    void push(const acs_event* e) {
        std::lock_guard<std::mutex> lock(mu_);
        Event ev{e->kind, e->call, e->state, e->code, e->subcode, e->flag, e->message ? e->message : ""};
        std::printf("  [%s] event %d state=%d code=%d/%d flag=%d %s\n", name_.c_str(), e->kind,
                    e->state, e->code, e->subcode, e->flag ? 1 : 0, ev.message.c_str());
        if (e->kind == ACS_EVENT_INCOMING_CALL && acs_call_retain(e->call) == ACS_OK) {
            incoming_.reset(e->call);  // borrowed for the callback: retained to keep it
        }
        events_.push_back(std::move(ev));
        cv_.notify_all();
    }

    std::string name_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Event> events_;
    size_t next_ = 0;
    Call incoming_;
};

inline Agent make_agent(acs_call_client* c, const std::string& url, const std::string& token,
                        const char* display_name, Inbox& inbox) {
    acs_call_agent_options o;
    check(ACS_CALL_AGENT_OPTIONS_INIT(&o), "ACS_CALL_AGENT_OPTIONS_INIT");
    o.service_url = url.c_str();
    o.token = token.c_str();
    o.display_name = display_name;
    o.event_callback = &Inbox::callback;
    o.event_user_data = &inbox;
    acs_call_agent* a = nullptr;
    check(acs_call_client_create_call_agent(c, &o, &a), "acs_call_client_create_call_agent");
    return Agent(a);
}

// Power at `hz` of what `speaker` plays during the next `ms` milliseconds.
inline float hear(acs_audio_device* speaker, float hz, int ms = 1500) {
    std::vector<int16_t> pcm(static_cast<size_t>(ms) * 48);
    size_t n = 0;
    do {  // drop what was played before
        check(acs_audio_device_pull_pcm(speaker, pcm.data(), pcm.size(), &n), "pull_pcm");
    } while (n == pcm.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    size_t got = 0;
    while (got < pcm.size()) {
        check(acs_audio_device_pull_pcm(speaker, pcm.data() + got, pcm.size() - got, &n), "pull_pcm");
        if (n == 0) break;
        got += n;
    }
    float p = 0.0f;
    check(acs_audio_tone_power(pcm.data(), got, hz, &p), "acs_audio_tone_power");
    return p;
}

}  // namespace acs

namespace {

int g_failures = 0;

void verify(bool ok, const std::string& what) {
    std::printf("%s - %s\n", ok ? "ok" : "FAIL", what.c_str());
    if (!ok) ++g_failures;
}

constexpr float kHeard = 0.01f;    // a 0.5-amplitude tone is ~0.125
constexpr float kSilent = 0.002f;

void verify_hears(const char* who, acs_audio_device* spk, float hz) {
    float p = acs::hear(spk, hz);
    verify(p > kHeard, std::string(who) + " hears " + std::to_string(static_cast<int>(hz)) +
                           " Hz (power " + std::to_string(p) + ")");
}

void verify_silent(const char* who, acs_audio_device* spk, float hz) {
    float p = acs::hear(spk, hz, 1000);
    verify(p < kSilent, std::string(who) + " hears no " + std::to_string(static_cast<int>(hz)) +
                            " Hz (power " + std::to_string(p) + ")");
}

void run(const std::string& url, const std::string& token_a, const std::string& token_b) {
    using namespace acs;
    auto is_connected = [](const Event& e) {
        return e.kind == ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED &&
               (e.state == ACS_AGENT_CONNECTION_CONNECTED ||
                (e.state == ACS_AGENT_CONNECTION_DISCONNECTED && e.code != 0));
    };

    // Declaration order matters: inboxes outlive the agents that call into them, and the
    // client is released last (unique_ptrs are destroyed in reverse order).
    Inbox alice_inbox("alice"), bob_inbox("bob");
    Client client = make_client();
    DeviceManager dm = device_manager(client.get());
    Device alice_mic = tone_microphone(dm.get(), "Alice 440 Hz", 440.0f);
    Device bob_mic = tone_microphone(dm.get(), "Bob 660 Hz", 660.0f);
    Device alice_spk = pull_speaker(dm.get(), "Alice speaker");
    Device bob_spk = pull_speaker(dm.get(), "Bob speaker");

    Agent alice = make_agent(client.get(), url, token_a, "Alice", alice_inbox);
    Agent bob = make_agent(client.get(), url, token_b, "Bob", bob_inbox);
    for (Inbox* in : {&alice_inbox, &bob_inbox}) {
        Event e = in->wait(is_connected, "the agent's connection");
        if (e.state != ACS_AGENT_CONNECTION_CONNECTED)
            throw std::runtime_error("an agent could not connect: code " + std::to_string(e.code) + " " + e.message);
    }
    const std::string bob_id = get_string(acs_call_agent_get_user_id, bob.get(), "get_user_id");
    std::printf("Alice calls %s\n", bob_id.c_str());

    acs_call_options alice_opts, bob_opts;
    check(ACS_CALL_OPTIONS_INIT(&alice_opts), "ACS_CALL_OPTIONS_INIT");
    alice_opts.microphone = alice_mic.get();
    alice_opts.speaker = alice_spk.get();
    check(ACS_CALL_OPTIONS_INIT(&bob_opts), "ACS_CALL_OPTIONS_INIT");
    bob_opts.microphone = bob_mic.get();
    bob_opts.speaker = bob_spk.get();

    // Alice calls; Bob accepts the incoming call.
    const char* callee[] = {bob_id.c_str()};
    acs_call* raw = nullptr;
    check(acs_call_agent_start_call(alice.get(), callee, 1, &alice_opts, &raw), "start_call");
    Call alice_call(raw);
    bob_inbox.wait([](const Event& e) { return e.kind == ACS_EVENT_INCOMING_CALL; }, "the incoming call");
    Call bob_call = bob_inbox.take_incoming();
    verify(bob_call != nullptr, "Bob got the incoming call");
    check(acs_call_accept(bob_call.get(), &bob_opts), "accept");
    alice_inbox.wait_call_state(alice_call.get(), ACS_CALL_STATE_CONNECTED, "Alice CONNECTED");
    bob_inbox.wait_call_state(bob_call.get(), ACS_CALL_STATE_CONNECTED, "Bob CONNECTED");
    verify(true, "both calls CONNECTED");
    {
        acs_remote_participant* p = nullptr;
        check(acs_call_get_remote_participant(alice_call.get(), 0, &p), "get_remote_participant");
        Participant bob_seen(p);
        verify(get_string(acs_remote_participant_get_identifier, bob_seen.get(), "get_identifier") == bob_id,
               "Alice's remote participant is Bob");
    }

    std::this_thread::sleep_for(std::chrono::seconds(1));
    verify_hears("Alice", alice_spk.get(), 660.0f);
    verify_hears("Bob", bob_spk.get(), 440.0f);

    // Mute / unmute.
    check(acs_call_mute(alice_call.get()), "mute");
    bob_inbox.wait([](const Event& e) { return e.kind == ACS_EVENT_PARTICIPANT_MUTE_CHANGED && e.flag; },
                   "Bob sees Alice muted");
    verify(true, "Bob sees Alice muted");
    verify_silent("Bob (Alice muted)", bob_spk.get(), 440.0f);
    check(acs_call_unmute(alice_call.get()), "unmute");
    bob_inbox.wait([](const Event& e) { return e.kind == ACS_EVENT_PARTICIPANT_MUTE_CHANGED && !e.flag; },
                   "Bob sees Alice unmuted");
    verify_hears("Bob (Alice unmuted)", bob_spk.get(), 440.0f);

    // Hold / resume.
    check(acs_call_hold(alice_call.get()), "hold");
    alice_inbox.wait_call_state(alice_call.get(), ACS_CALL_STATE_LOCAL_HOLD, "Alice LOCAL_HOLD");
    bob_inbox.wait_call_state(bob_call.get(), ACS_CALL_STATE_REMOTE_HOLD, "Bob REMOTE_HOLD");
    verify(true, "hold: Alice LOCAL_HOLD, Bob REMOTE_HOLD");
    verify_silent("Bob (on hold)", bob_spk.get(), 440.0f);
    check(acs_call_resume(alice_call.get()), "resume");
    alice_inbox.wait_call_state(alice_call.get(), ACS_CALL_STATE_CONNECTED, "Alice CONNECTED again");
    bob_inbox.wait_call_state(bob_call.get(), ACS_CALL_STATE_CONNECTED, "Bob CONNECTED again");
    verify(true, "resume: both CONNECTED");
    verify_hears("Bob (resumed)", bob_spk.get(), 440.0f);

    // Hang up.
    check(acs_call_hang_up(alice_call.get(), false), "hang_up");
    Event a = alice_inbox.wait_call_state(alice_call.get(), ACS_CALL_STATE_DISCONNECTED, "Alice DISCONNECTED");
    Event b = bob_inbox.wait_call_state(bob_call.get(), ACS_CALL_STATE_DISCONNECTED, "Bob DISCONNECTED");
    verify(a.code == 0, "Alice DISCONNECTED, reason " + std::to_string(a.code) + "/" + std::to_string(a.subcode));
    verify(true, "Bob DISCONNECTED, reason " + std::to_string(b.code) + "/" + std::to_string(b.subcode));
}  // handles released here, in reverse order of declaration

}  // namespace

int main(int argc, char** argv) {
    std::string url, token_a, token_b;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 < argc && arg == "--service-url") url = argv[++i];
        else if (i + 1 < argc && arg == "--token-a") token_a = argv[++i];
        else if (i + 1 < argc && arg == "--token-b") token_b = argv[++i];
        else {
            url.clear();
            break;
        }
    }
    if (url.empty() || token_a.empty() || token_b.empty()) {
        std::fprintf(stderr, "usage: %s --service-url ws://HOST:PORT --token-a TOKEN --token-b TOKEN\n", argv[0]);
        return 2;
    }
    std::printf("libacscalling %s\n", acs_calling_version());
    try {
        run(url, token_a, token_b);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    std::printf("%s\n", g_failures == 0 ? "PASS" : "FAIL");
    return g_failures == 0 ? 0 : 1;
}
