// two_party.cpp — Alice calls Bob in one process, through a running acscalling-service.
//
//   two_party --service-url ws://127.0.0.1:8080 --token-a TOKEN_ALICE --token-b TOKEN_BOB
//
// Uses the header-only C++17 wrapper include/acscalling.hpp: move-only owners that call the
// *_release functions, acs::Error exceptions (acs_status + acs_last_error_message),
// std::string in and out, and std::function event callbacks; here they fill an event inbox
// (mutex + condition variable) on the library's event thread.
// Two agents (Alice with a 440 Hz tone microphone, Bob with 660 Hz), pull speakers; Bob
// accepts the incoming call; both hear each other; Alice's media statistics (one line, after
// an ACS_EVENT_CALL_MEDIA_STATISTICS); mute/unmute; hold/resume; hang up.
// With --screen-share (needs an X display: run_screen_share.sh starts Xvfb) it shares a
// screen instead: acs::ScreenSource::list, LocalVideoStream::create_from_screen with
// acs::ScreenCaptureOptions, Call::start_screen_sharing, and Alice's
// ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED (STARTED, then STOPPED) in her inbox.
// With --transfer --token-c TOKEN_CAROL Alice transfers Bob to Carol instead: Bob's agent
// has AgentOptions::answer_transfers, accepts the ACS_EVENT_CALL_TRANSFER_REQUESTED with
// Call::answer_transfer, Carol answers; the events' Event::transfer_target is Carol, Alice's
// call ends with 0/10015 and Bob and Carol hear each other.
// Exit code 0 when every step was verified.

#include "acscalling.hpp"

#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// Collects one agent's events (filled on the library's event thread) and lets the main
// thread wait for one. Its callback() is the agent's acs::EventCallback.
class Inbox {
public:
    explicit Inbox(std::string name) : name_(std::move(name)) {}
    Inbox(const Inbox&) = delete;
    Inbox& operator=(const Inbox&) = delete;

    acs::EventCallback callback() {
        return [this](const acs::Event& e) { push(e); };
    }

    // Waits for an event matching `pred` after those already consumed.
    acs::Event wait(const std::function<bool(const acs::Event&)>& pred, const char* what,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        std::unique_lock<std::mutex> lock(mu_);
        acs::Event found;
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

    acs::Event wait_call_state(const acs::Call& call, int32_t state, const char* what) {
        return wait([&](const acs::Event& e) {
            return e.kind == ACS_EVENT_CALL_STATE_CHANGED && call.is(e.call) && e.state == state;
        }, what);
    }

    // The incoming call, retained in the callback (ownership moves to the caller).
    acs::Call take_incoming() {
        std::lock_guard<std::mutex> lock(mu_);
        return std::move(incoming_);
    }

private:
    void push(const acs::Event& e) {
        std::lock_guard<std::mutex> lock(mu_);
        std::printf("  [%s] event %d state=%d code=%d/%d flag=%d %s\n", name_.c_str(), e.kind,
                    e.state, e.code, e.subcode, e.flag ? 1 : 0, e.message.c_str());
        if (e.kind == ACS_EVENT_INCOMING_CALL) {
            incoming_ = acs::Call::retain(e.call);  // borrowed for the callback: retained to keep it
        }
        events_.push_back(e);
        cv_.notify_all();
    }

    std::string name_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<acs::Event> events_;
    size_t next_ = 0;
    acs::Call incoming_;
};

// Power at `hz` of what `speaker` plays during the next `ms` milliseconds.
float hear(acs::AudioDevice& speaker, float hz, int ms = 1500) {
    std::vector<int16_t> pcm(static_cast<size_t>(ms) * 48);
    while (speaker.pull_pcm(pcm.data(), pcm.size()) == pcm.size()) {
    }  // drop what was played before
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    size_t got = 0;
    while (got < pcm.size()) {
        size_t n = speaker.pull_pcm(pcm.data() + got, pcm.size() - got);
        if (n == 0) break;
        got += n;
    }
    return acs::tone_power(pcm.data(), got, hz);
}

}  // namespace

namespace {

int g_failures = 0;

void verify(bool ok, const std::string& what) {
    std::printf("%s - %s\n", ok ? "ok" : "FAIL", what.c_str());
    if (!ok) ++g_failures;
}

constexpr float kHeard = 0.01f;    // a 0.5-amplitude tone is ~0.125
constexpr float kSilent = 0.002f;

void verify_hears(const char* who, acs::AudioDevice& spk, float hz) {
    float p = hear(spk, hz);
    verify(p > kHeard, std::string(who) + " hears " + std::to_string(static_cast<int>(hz)) +
                           " Hz (power " + std::to_string(p) + ")");
}

void verify_silent(const char* who, acs::AudioDevice& spk, float hz) {
    float p = hear(spk, hz, 1000);
    verify(p < kSilent, std::string(who) + " hears no " + std::to_string(static_cast<int>(hz)) +
                            " Hz (power " + std::to_string(p) + ")");
}

void run(const std::string& url, const std::string& token_a, const std::string& token_b) {
    using acs::Event;
    auto is_connected = [](const Event& e) {
        return e.kind == ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED &&
               (e.state == ACS_AGENT_CONNECTION_CONNECTED ||
                (e.state == ACS_AGENT_CONNECTION_DISCONNECTED && e.code != 0));
    };

    // Declaration order matters: inboxes outlive the agents that call into them, and the
    // client is released last (owners are destroyed in reverse order).
    Inbox alice_inbox("alice"), bob_inbox("bob");
    acs::Client client;
    acs::DeviceManager dm = client.device_manager();
    acs::AudioDevice alice_mic = dm.create_tone_microphone("Alice 440 Hz", 440.0f, 0.5f);
    acs::AudioDevice bob_mic = dm.create_tone_microphone("Bob 660 Hz", 660.0f, 0.5f);
    acs::AudioDevice alice_spk = dm.create_pull_speaker("Alice speaker", 5000);
    acs::AudioDevice bob_spk = dm.create_pull_speaker("Bob speaker", 5000);

    acs::Agent alice = client.create_agent({url, token_a, "Alice", "", alice_inbox.callback()});
    acs::Agent bob = client.create_agent({url, token_b, "Bob", "", bob_inbox.callback()});
    for (Inbox* in : {&alice_inbox, &bob_inbox}) {
        Event e = in->wait(is_connected, "the agent's connection");
        if (e.state != ACS_AGENT_CONNECTION_CONNECTED)
            throw std::runtime_error("an agent could not connect: code " + std::to_string(e.code) + " " + e.message);
    }
    const std::string bob_id = bob.user_id();
    std::printf("Alice calls %s\n", bob_id.c_str());

    acs::CallOptions alice_opts, bob_opts;
    alice_opts.microphone = &alice_mic;
    alice_opts.speaker = &alice_spk;
    bob_opts.microphone = &bob_mic;
    bob_opts.speaker = &bob_spk;

    // Alice calls; Bob accepts the incoming call.
    acs::Call alice_call = alice.start_call({bob_id}, alice_opts);
    bob_inbox.wait([](const Event& e) { return e.kind == ACS_EVENT_INCOMING_CALL; }, "the incoming call");
    acs::Call bob_call = bob_inbox.take_incoming();
    verify(static_cast<bool>(bob_call), "Bob got the incoming call");
    bob_call.accept(bob_opts);
    alice_inbox.wait_call_state(alice_call, ACS_CALL_STATE_CONNECTED, "Alice CONNECTED");
    bob_inbox.wait_call_state(bob_call, ACS_CALL_STATE_CONNECTED, "Bob CONNECTED");
    verify(true, "both calls CONNECTED");
    verify(alice_call.remote_participant(0).identifier() == bob_id, "Alice's remote participant is Bob");

    std::this_thread::sleep_for(std::chrono::seconds(1));
    verify_hears("Alice", alice_spk, 660.0f);
    verify_hears("Bob", bob_spk, 440.0f);

    // Media statistics: a sample every 500 ms, each announced by ACS_EVENT_CALL_MEDIA_STATISTICS
    // in the agent's on_event. The sample is read after the second one (its bitrates are over
    // a whole interval) and printed, then the events stop.
    alice_call.set_media_statistics_interval(500);
    for (int i = 0; i < 2; ++i) {
        alice_inbox.wait([&](const Event& e) { return e.kind == ACS_EVENT_CALL_MEDIA_STATISTICS && alice_call.is(e.call); },
                         "Alice's media statistics event");
    }
    const acs_call_media_statistics st = alice_call.media_statistics();
    alice_call.set_media_statistics_interval(0);
    std::printf("Alice media statistics: rtt %.1f ms; audio sent %" PRIu64 " packets %" PRIu64 " bit/s, "
                "received %" PRIu64 " packets %" PRIu64 " bit/s, lost %" PRId64 ", jitter %.2f ms, "
                "played %" PRIu64 " frames, concealed %" PRIu64 "\n",
                st.rtt_ms, st.audio_packets_sent, st.audio_send_bitrate_bps, st.audio_packets_received,
                st.audio_receive_bitrate_bps, st.audio_packets_lost, st.audio_jitter_ms, st.audio_frames_played,
                st.audio_frames_concealed);
    verify(st.audio_packets_sent > 0 && st.audio_packets_received > 0,
           "Alice's media statistics count audio sent and received");

    // Mute / unmute.
    alice_call.mute();
    bob_inbox.wait([](const Event& e) { return e.kind == ACS_EVENT_PARTICIPANT_MUTE_CHANGED && e.flag; },
                   "Bob sees Alice muted");
    verify(alice_call.is_muted(), "Alice's call is muted");
    verify(true, "Bob sees Alice muted");
    verify_silent("Bob (Alice muted)", bob_spk, 440.0f);
    alice_call.unmute();
    bob_inbox.wait([](const Event& e) { return e.kind == ACS_EVENT_PARTICIPANT_MUTE_CHANGED && !e.flag; },
                   "Bob sees Alice unmuted");
    verify_hears("Bob (Alice unmuted)", bob_spk, 440.0f);

    // Hold / resume.
    alice_call.hold();
    alice_inbox.wait_call_state(alice_call, ACS_CALL_STATE_LOCAL_HOLD, "Alice LOCAL_HOLD");
    bob_inbox.wait_call_state(bob_call, ACS_CALL_STATE_REMOTE_HOLD, "Bob REMOTE_HOLD");
    verify(true, "hold: Alice LOCAL_HOLD, Bob REMOTE_HOLD");
    verify_silent("Bob (on hold)", bob_spk, 440.0f);
    alice_call.resume();
    alice_inbox.wait_call_state(alice_call, ACS_CALL_STATE_CONNECTED, "Alice CONNECTED again");
    bob_inbox.wait_call_state(bob_call, ACS_CALL_STATE_CONNECTED, "Bob CONNECTED again");
    verify(true, "resume: both CONNECTED");
    verify_hears("Bob (resumed)", bob_spk, 440.0f);

    // Hang up.
    alice_call.hang_up();
    Event a = alice_inbox.wait_call_state(alice_call, ACS_CALL_STATE_DISCONNECTED, "Alice DISCONNECTED");
    Event b = bob_inbox.wait_call_state(bob_call, ACS_CALL_STATE_DISCONNECTED, "Bob DISCONNECTED");
    verify(a.code == 0, "Alice DISCONNECTED, reason " + std::to_string(a.code) + "/" + std::to_string(a.subcode));
    verify(true, "Bob DISCONNECTED, reason " + std::to_string(b.code) + "/" + std::to_string(b.subcode));
    verify(alice_call.state() == ACS_CALL_STATE_DISCONNECTED, "Alice's call state is DISCONNECTED");
}  // handles released here, in reverse order of declaration

// Alice shares the first monitor (without the pointer) in a group call with Bob.
void run_screen_share(const std::string& url, const std::string& token_a, const std::string& token_b) {
    using acs::Event;
    std::vector<acs::ScreenSource> sources = acs::ScreenSource::list();
    std::string monitor;
    for (const acs::ScreenSource& s : sources) {
        acs::ScreenGeometry g = s.geometry();
        std::printf("%-24s %-7s %-24s %-12s %ux%u%+d%+d\n", s.id().c_str(),
                    s.kind() == ACS_SCREEN_SOURCE_MONITOR ? "monitor" : "window", s.title().c_str(),
                    s.application().c_str(), g.width, g.height, g.x, g.y);
        if (monitor.empty() && s.kind() == ACS_SCREEN_SOURCE_MONITOR) monitor = s.id();
    }
    verify(!monitor.empty(), "a monitor is listed");
    if (monitor.empty()) return;
    acs::ScreenCaptureOptions opts;
    opts.fps = 5;
    opts.show_cursor = false;

    Inbox alice_inbox("alice"), bob_inbox("bob");
    acs::Client client;
    acs::LocalVideoStream share = acs::LocalVideoStream::create_from_screen(monitor, opts);
    verify(share.source_kind() == ACS_VIDEO_SOURCE_SCREEN, "the stream captures the screen");
    acs::ShareState st = share.share_state();
    verify(st.state == ACS_SHARE_STATE_ACTIVE && st.reason.empty(), "its share state is ACTIVE");
    acs::DeviceManager dm = client.device_manager();
    acs::AudioDevice alice_mic = dm.create_tone_microphone("Alice 440 Hz", 440.0f, 0.5f);
    acs::AudioDevice bob_mic = dm.create_tone_microphone("Bob 660 Hz", 660.0f, 0.5f);
    acs::AudioDevice alice_spk = dm.create_pull_speaker("Alice speaker", 5000);
    acs::AudioDevice bob_spk = dm.create_pull_speaker("Bob speaker", 5000);
    acs::Agent alice = client.create_agent({url, token_a, "Alice", "", alice_inbox.callback()});
    acs::Agent bob = client.create_agent({url, token_b, "Bob", "", bob_inbox.callback()});
    for (Inbox* in : {&alice_inbox, &bob_inbox}) {
        in->wait([](const Event& e) {
            return e.kind == ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED && e.state == ACS_AGENT_CONNECTION_CONNECTED;
        }, "the agent's connection");
    }
    acs::CallOptions alice_opts, bob_opts;
    alice_opts.microphone = &alice_mic;
    alice_opts.speaker = &alice_spk;
    alice_opts.start_muted = true;
    bob_opts.microphone = &bob_mic;
    bob_opts.speaker = &bob_spk;
    bob_opts.start_muted = true;
    const std::string group = "0c0ffee0-5c2e-4e11-9a2b-" + std::to_string(100000000000LL + static_cast<long long>(std::time(nullptr)) % 900000000000LL);
    acs::Call alice_call = alice.join(group, alice_opts);
    acs::Call bob_call = bob.join(group, bob_opts);
    alice_inbox.wait_call_state(alice_call, ACS_CALL_STATE_CONNECTED, "Alice CONNECTED");
    bob_inbox.wait_call_state(bob_call, ACS_CALL_STATE_CONNECTED, "Bob CONNECTED");

    alice_call.start_screen_sharing(share);
    Event started = alice_inbox.wait([&](const Event& e) {
        return e.kind == ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED && alice_call.is(e.call);
    }, "Alice's outgoing video event");
    verify(started.state == ACS_OUTGOING_VIDEO_STATE_STARTED &&
               started.video_stream_kind == ACS_VIDEO_STREAM_KIND_SCREEN_SHARE && share.is(started.local_video_stream),
           "Alice: OUTGOING_VIDEO_STATE_CHANGED STARTED for her screen share stream");
    verify(alice_call.is_sending_video(ACS_VIDEO_STREAM_KIND_SCREEN_SHARE), "Alice sends a screen share");
    bob_inbox.wait([](const Event& e) {
        return e.kind == ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED && e.flag &&
               e.video_stream_kind == ACS_VIDEO_STREAM_KIND_SCREEN_SHARE;
    }, "Bob sees the share available");
    verify(true, "Bob sees Alice's screen share available");

    alice_call.stop_screen_sharing();
    Event stopped = alice_inbox.wait([&](const Event& e) {
        return e.kind == ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED && alice_call.is(e.call);
    }, "Alice's outgoing video event");
    verify(stopped.state == ACS_OUTGOING_VIDEO_STATE_STOPPED &&
               stopped.video_stream_kind == ACS_VIDEO_STREAM_KIND_SCREEN_SHARE,
           "Alice: OUTGOING_VIDEO_STATE_CHANGED STOPPED after stop_screen_sharing");
    bob_inbox.wait([](const Event& e) {
        return e.kind == ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED && !e.flag &&
               e.video_stream_kind == ACS_VIDEO_STREAM_KIND_SCREEN_SHARE;
    }, "Bob sees the share unavailable");
    verify(true, "Bob sees Alice's screen share unavailable");
    alice_call.hang_up();
    bob_call.hang_up();
    alice_inbox.wait_call_state(alice_call, ACS_CALL_STATE_DISCONNECTED, "Alice DISCONNECTED");
    bob_inbox.wait_call_state(bob_call, ACS_CALL_STATE_DISCONNECTED, "Bob DISCONNECTED");
}

// Alice transfers Bob to Carol; Bob's host answers the request (AgentOptions::answer_transfers).
void run_transfer(const std::string& url, const std::string& token_a, const std::string& token_b,
                  const std::string& token_c) {
    using acs::Event;
    Inbox alice_inbox("alice"), bob_inbox("bob"), carol_inbox("carol");
    acs::Client client;
    acs::DeviceManager dm = client.device_manager();
    acs::AudioDevice alice_mic = dm.create_tone_microphone("Alice 440 Hz", 440.0f, 0.5f);
    acs::AudioDevice bob_mic = dm.create_tone_microphone("Bob 660 Hz", 660.0f, 0.5f);
    acs::AudioDevice carol_mic = dm.create_tone_microphone("Carol 880 Hz", 880.0f, 0.5f);
    acs::AudioDevice alice_spk = dm.create_pull_speaker("Alice speaker", 5000);
    acs::AudioDevice bob_spk = dm.create_pull_speaker("Bob speaker", 5000);
    acs::AudioDevice carol_spk = dm.create_pull_speaker("Carol speaker", 5000);

    acs::AgentOptions bob_options{url, token_b, "Bob", "", bob_inbox.callback()};
    verify(!bob_options.answer_transfers, "AgentOptions::answer_transfers defaults to false");
    bob_options.answer_transfers = true;
    acs::Agent alice = client.create_agent({url, token_a, "Alice", "", alice_inbox.callback()});
    acs::Agent bob = client.create_agent(bob_options);
    acs::Agent carol = client.create_agent({url, token_c, "Carol", "", carol_inbox.callback()});
    for (Inbox* in : {&alice_inbox, &bob_inbox, &carol_inbox}) {
        in->wait([](const Event& e) {
            return e.kind == ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED && e.state == ACS_AGENT_CONNECTION_CONNECTED;
        }, "the agent's connection");
    }
    const std::string alice_id = alice.user_id(), bob_id = bob.user_id(), carol_id = carol.user_id();
    acs::CallOptions alice_opts, bob_opts, carol_opts;
    alice_opts.microphone = &alice_mic;
    alice_opts.speaker = &alice_spk;
    bob_opts.microphone = &bob_mic;
    bob_opts.speaker = &bob_spk;
    carol_opts.microphone = &carol_mic;
    carol_opts.speaker = &carol_spk;

    acs::Call alice_call = alice.start_call({bob_id}, alice_opts);
    bob_inbox.wait([](const Event& e) { return e.kind == ACS_EVENT_INCOMING_CALL; }, "the incoming call");
    acs::Call bob_call = bob_inbox.take_incoming();
    bob_call.accept(bob_opts);
    alice_inbox.wait_call_state(alice_call, ACS_CALL_STATE_CONNECTED, "Alice CONNECTED");
    bob_inbox.wait_call_state(bob_call, ACS_CALL_STATE_CONNECTED, "Bob CONNECTED");

    try {
        alice_call.transfer("nobody");
        verify(false, "a malformed target is refused");
    } catch (const acs::Error& e) {
        verify(e.status() == ACS_ERR_INVALID_ARGUMENT, "a malformed target is refused: " + std::string(e.what()));
    }
    alice_call.transfer(carol_id);
    // Bob's side: the transfer's REQUESTED state, then the request to answer.
    auto is_state = [](int32_t state) {
        return [state](const Event& e) { return e.kind == ACS_EVENT_CALL_TRANSFER_STATE_CHANGED && e.state == state; };
    };
    auto both_saw = [&](int32_t state) {
        Event a = alice_inbox.wait(is_state(state), "Alice's transfer event");
        Event b = bob_inbox.wait(is_state(state), "Bob's transfer event");
        verify(alice_call.is(a.call) && a.transfer_target == carol_id && bob_call.is(b.call) &&
                   b.transfer_target == carol_id,
               "transfer state " + std::to_string(state) + " on both sides, transfer_target Carol");
    };
    both_saw(ACS_TRANSFER_STATE_REQUESTED);
    Event req = bob_inbox.wait([](const Event& e) { return e.kind == ACS_EVENT_CALL_TRANSFER_REQUESTED; },
                               "Bob's transfer request");
    verify(bob_call.is(req.call) && req.participant_id == alice_id && req.transfer_target == carol_id,
           "Bob: CALL_TRANSFER_REQUESTED from " + req.participant_id + " to " + req.transfer_target);
    bob_call.answer_transfer(true);
    carol_inbox.wait([](const Event& e) { return e.kind == ACS_EVENT_INCOMING_CALL; }, "Carol's incoming call");
    acs::Call carol_call = carol_inbox.take_incoming();
    carol_call.accept(carol_opts);
    both_saw(ACS_TRANSFER_STATE_TRANSFERRING);
    both_saw(ACS_TRANSFER_STATE_TRANSFERRED);
    Event ended = alice_inbox.wait_call_state(alice_call, ACS_CALL_STATE_DISCONNECTED, "Alice DISCONNECTED");
    verify(ended.code == 0 && ended.subcode == 10015,
           "Alice's call ends with " + std::to_string(ended.code) + "/" + std::to_string(ended.subcode) +
               " (0/10015 TRANSFERRED)");
    carol_inbox.wait_call_state(carol_call, ACS_CALL_STATE_CONNECTED, "Carol CONNECTED");
    verify(bob_call.state() == ACS_CALL_STATE_CONNECTED, "Bob's call goes on");
    verify_hears("Bob", bob_spk, 880.0f);
    verify_hears("Carol", carol_spk, 660.0f);
    carol_call.hang_up();
    bob_inbox.wait_call_state(bob_call, ACS_CALL_STATE_DISCONNECTED, "Bob DISCONNECTED");
}

}  // namespace

int main(int argc, char** argv) {
    std::string url, token_a, token_b, token_c;
    bool screen_share = false, transfer = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--screen-share") screen_share = true;
        else if (arg == "--transfer") transfer = true;
        else if (i + 1 < argc && arg == "--token-c") token_c = argv[++i];
        else if (i + 1 < argc && arg == "--service-url") url = argv[++i];
        else if (i + 1 < argc && arg == "--token-a") token_a = argv[++i];
        else if (i + 1 < argc && arg == "--token-b") token_b = argv[++i];
        else {
            url.clear();
            break;
        }
    }
    if (url.empty() || token_a.empty() || token_b.empty() || (transfer && token_c.empty())) {
        std::fprintf(stderr, "usage: %s --service-url ws://HOST:PORT --token-a TOKEN --token-b TOKEN "
                     "[--screen-share | --transfer --token-c TOKEN]\n", argv[0]);
        return 2;
    }
    std::printf("libacscalling %s\n", acs::version().c_str());
    try {
        if (screen_share) run_screen_share(url, token_a, token_b);
        else if (transfer) run_transfer(url, token_a, token_b, token_c);
        else run(url, token_a, token_b);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    std::printf("%s\n", g_failures == 0 ? "PASS" : "FAIL");
    return g_failures == 0 ? 0 : 1;
}
