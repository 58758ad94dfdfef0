//! Video of a call through the C ABI: remote participants' video streams (availability,
//! subscribe/unsubscribe, decoder counters) and the call's outgoing video counters.

use super::handles::{
    self, acs_call, acs_local_video_stream, acs_remote_participant, acs_remote_video_stream,
    acs_video_renderer, Object,
};
use super::sized::{check_out, extensible, init_out, init_sized, write_out};
use super::status::*;
use super::strings::*;
use crate::error::Error;
use crate::protocol::VideoStreamKind;
use std::ffi::c_char;

/// A camera (real, virtual or host-pushed frames).
pub const ACS_VIDEO_STREAM_KIND_VIDEO: i32 = 0;
/// A screen or window share.
pub const ACS_VIDEO_STREAM_KIND_SCREEN_SHARE: i32 = 1;
/// Most remote camera streams received at once; one more subscription is
/// ACS_ERR_LIMIT_REACHED.
pub const ACS_MAX_INCOMING_VIDEO_STREAMS: i32 = 6;
const _: () = assert!(ACS_MAX_INCOMING_VIDEO_STREAMS as usize == crate::protocol::VIDEO_SLOTS);

pub(crate) fn stream_kind(kind: i32) -> FfiResult<VideoStreamKind> {
    match kind {
        ACS_VIDEO_STREAM_KIND_VIDEO => Ok(VideoStreamKind::Video),
        ACS_VIDEO_STREAM_KIND_SCREEN_SHARE => Ok(VideoStreamKind::ScreenShare),
        k => Err(Error::InvalidArgument(format!(
            "video stream kind {k} is not ACS_VIDEO_STREAM_KIND_VIDEO (0) or _SCREEN_SHARE (1)"
        ))
        .into()),
    }
}

/// Counters of a received (subscribed) video stream. Set struct_size (or call
/// acs_video_receive_stats_init) before acs_remote_video_stream_get_stats.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct acs_video_receive_stats {
    /// Set by the host: sizeof(acs_video_receive_stats) as it was compiled (0 counts as the
    /// first version's size). The library writes no more, and sets it to what it wrote.
    pub struct_size: u32,
    /// RTP packets received.
    pub packets: u64,
    /// Packets dropped because the decoder fell behind.
    pub packets_dropped: u64,
    /// Frames decoded.
    pub frames_decoded: u64,
    /// Frames lost (incomplete, or undecodable until the next keyframe).
    pub frames_lost: u64,
    /// Keyframe requests (PLI) sent to the sender.
    pub keyframe_requests: u64,
    /// Time spent decoding, in microseconds.
    pub decode_micros: u64,
}

/// Counters of the call's outgoing video stream. Set struct_size (or call
/// acs_video_send_stats_init) before acs_call_get_video_send_stats.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct acs_video_send_stats {
    /// Set by the host: sizeof(acs_video_send_stats) as it was compiled (0 counts as the
    /// size before nacked_packets and last_loss_estimate were appended). The library writes
    /// no more, and sets it to what it wrote.
    pub struct_size: u32,
    /// Frames encoded.
    pub frames_encoded: u64,
    /// Frames the transport could not take (not connected, congested).
    pub frames_dropped: u64,
    /// Frames skipped by the encoder (busy, or above the frame rate).
    pub frames_skipped: u64,
    /// Keyframes encoded.
    pub keyframes: u64,
    /// Keyframe requests (PLI/FIR) from the receivers.
    pub keyframe_requests: u64,
    /// Encoded bytes sent.
    pub bytes: u64,
    /// Current bitrate target (adapted from the receivers' loss reports).
    pub bitrate_bps: u32,
    /// Reception reports (RTCP) received.
    pub loss_reports: u64,
    /// The loss fraction of the last reception report (0..=255, RTCP's fraction lost).
    pub last_fraction_lost: u8,
    /// Width of the encoded frames, in pixels.
    pub width: u32,
    /// Height of the encoded frames, in pixels.
    pub height: u32,
    /// Time spent encoding, in microseconds.
    pub encode_micros: u64,
    /// Packets the receivers asked to retransmit (RTCP NACK).
    pub nacked_packets: u64,
    /// The loss the bitrate control last acted on (0..=255): the larger of the last
    /// report's (after retransmission) and the NACKed share of the packets sent since the
    /// report before (before retransmission).
    pub last_loss_estimate: u8,
}

extensible!(acs_video_receive_stats, first_version_ends_with: decode_micros,
    defaults: acs_video_receive_stats::default());
// nacked_packets and last_loss_estimate were appended after encode_micros. (The layout
// before loss_reports was inserted, in 0.1.0 development, cannot be read: it is refused.)
extensible!(acs_video_send_stats, first_version_ends_with: encode_micros,
    defaults: acs_video_send_stats::default());

/// Fills `stats` for acs_remote_video_stream_get_stats: struct_size set, the rest 0.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_VIDEO_RECEIVE_STATS_INIT(p)
/// (acs_video_receive_stats_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_video_receive_stats_init(
    stats: *mut acs_video_receive_stats,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(stats, "stats") })
}

/// As acs_video_receive_stats_init, into the host's struct of `size` bytes
/// (ACS_VIDEO_RECEIVE_STATS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_video_receive_stats_init_sized(
    stats: *mut acs_video_receive_stats,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(stats, size, "stats") })
}

/// Fills `stats` for acs_call_get_video_send_stats: struct_size set, the rest 0.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_VIDEO_SEND_STATS_INIT(p)
/// (acs_video_send_stats_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_video_send_stats_init(stats: *mut acs_video_send_stats) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(stats, "stats") })
}

/// As acs_video_send_stats_init, into the host's struct of `size` bytes
/// (ACS_VIDEO_SEND_STATS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_video_send_stats_init_sized(
    stats: *mut acs_video_send_stats,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(stats, size, "stats") })
}

/// The participant's stream of `kind` (ACS_VIDEO_STREAM_KIND_*), available or not (+1
/// reference: release it). The same stream yields the same handle.
#[no_mangle]
pub unsafe extern "C" fn acs_remote_participant_get_video_stream(
    participant: *mut acs_remote_participant,
    kind: i32,
    out_stream: *mut *mut acs_remote_video_stream,
) -> acs_status {
    guard(|| {
        need(out_stream, "out_stream")?;
        let p = handles::participant(participant)?;
        let s = p.video_stream(stream_kind(kind)?);
        out(
            out_stream,
            handles::acquire(Object::RemoteVideoStream(s)),
            "out_stream",
        )
    })
}

/// Adds a reference.
#[no_mangle]
pub extern "C" fn acs_remote_video_stream_retain(s: *mut acs_remote_video_stream) -> acs_status {
    guard(|| handles::retain(s, handles::Kind::RemoteVideoStream))
}

/// Drops a reference (NULL is accepted). Releasing does not unsubscribe.
#[no_mangle]
pub extern "C" fn acs_remote_video_stream_release(s: *mut acs_remote_video_stream) -> acs_status {
    guard(|| handles::release(s, handles::Kind::RemoteVideoStream).map(|_| ()))
}

/// The stream's kind (ACS_VIDEO_STREAM_KIND_*).
#[no_mangle]
pub unsafe extern "C" fn acs_remote_video_stream_get_kind(
    s: *mut acs_remote_video_stream,
    out_kind: *mut i32,
) -> acs_status {
    guard(|| {
        let st = handles::remote_video_stream(s)?;
        out(out_kind, video_stream_kind(st.kind()), "out_kind")
    })
}

/// The stream's id within its participant (1 camera, 2 screen share).
#[no_mangle]
pub unsafe extern "C" fn acs_remote_video_stream_get_id(
    s: *mut acs_remote_video_stream,
    out_id: *mut u32,
) -> acs_status {
    guard(|| out(out_id, handles::remote_video_stream(s)?.id(), "out_id"))
}

/// Whether the participant sends the stream now.
#[no_mangle]
pub unsafe extern "C" fn acs_remote_video_stream_is_available(
    s: *mut acs_remote_video_stream,
    out_available: *mut bool,
) -> acs_status {
    guard(|| {
        let st = handles::remote_video_stream(s)?;
        out(out_available, st.is_available(), "out_available")
    })
}

/// Whether this client receives the stream (it holds one of the video receive slots).
#[no_mangle]
pub unsafe extern "C" fn acs_remote_video_stream_is_subscribed(
    s: *mut acs_remote_video_stream,
    out_subscribed: *mut bool,
) -> acs_status {
    guard(|| {
        let st = handles::remote_video_stream(s)?;
        out(out_subscribed, st.is_subscribed(), "out_subscribed")
    })
}

/// Raw id of the participant who sends the stream.
#[no_mangle]
pub unsafe extern "C" fn acs_remote_video_stream_get_participant_id(
    s: *mut acs_remote_video_stream,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let st = handles::remote_video_stream(s)?;
        str_out(st.participant_id(), buf, capacity, needed)
    })
}

/// Starts receiving the stream (decoded frames go to its renderers). A no-op when
/// subscribed. ACS_ERR_INVALID_STATE when the stream is not available or the call ended;
/// ACS_ERR_LIMIT_REACHED when ACS_MAX_INCOMING_VIDEO_STREAMS cameras (or one screen share)
/// are already received — unsubscribe one first.
#[no_mangle]
pub extern "C" fn acs_remote_video_stream_subscribe(s: *mut acs_remote_video_stream) -> acs_status {
    guard(|| Ok(handles::remote_video_stream(s)?.subscribe()?))
}

/// Stops receiving the stream (a no-op when not subscribed).
#[no_mangle]
pub extern "C" fn acs_remote_video_stream_unsubscribe(
    s: *mut acs_remote_video_stream,
) -> acs_status {
    guard(|| Ok(handles::remote_video_stream(s)?.unsubscribe()?))
}

/// Decoder counters of the stream (zeros when not subscribed), written up to
/// out_stats->struct_size.
#[no_mangle]
pub unsafe extern "C" fn acs_remote_video_stream_get_stats(
    s: *mut acs_remote_video_stream,
    out_stats: *mut acs_video_receive_stats,
) -> acs_status {
    guard(|| {
        // SAFETY: NULL or the host's struct of struct_size bytes.
        unsafe { check_out(out_stats, "out_stats") }?;
        let st = handles::remote_video_stream(s)?.stats();
        let v = acs_video_receive_stats {
            struct_size: std::mem::size_of::<acs_video_receive_stats>() as u32,
            packets: st.packets,
            packets_dropped: st.packets_dropped,
            frames_decoded: st.frames_decoded,
            frames_lost: st.frames_lost,
            keyframe_requests: st.keyframe_requests,
            decode_micros: st.decode_micros,
        };
        // SAFETY: as above.
        unsafe { write_out(out_stats, v, "out_stats") }
    })
}

/// Sends `stream` (virtual camera, pushed frames or a camera) as the call's camera video.
/// Starting another stream replaces it; switching the stream's source
/// (acs_local_video_stream_switch_source_*) keeps the call's video going with the new
/// picture. The call keeps its own reference to the stream. The others get
/// ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED. If the service does not confirm
/// within 40 s (the modality timeout) the video stops again.
#[no_mangle]
pub extern "C" fn acs_call_start_video(
    call: *mut acs_call,
    stream: *mut acs_local_video_stream,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let s = handles::local_video_stream(stream)?;
        Ok(c.start_video(&s)?)
    })
}

/// Shares `stream` as the call's screen share (one per call, received by the others in
/// their screen-share slot), e.g. a game engine's render pushed as frames.
#[no_mangle]
pub extern "C" fn acs_call_start_screen_sharing(
    call: *mut acs_call,
    stream: *mut acs_local_video_stream,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let s = handles::local_video_stream(stream)?;
        Ok(c.start_screen_sharing(&s)?)
    })
}

/// Creates a renderer of a remote stream (add views with acs_video_renderer_create_view)
/// and subscribes to the stream if needed, so its frames start to arrive. Fails like
/// acs_remote_video_stream_subscribe (not available, ACS_ERR_LIMIT_REACHED).
#[no_mangle]
pub unsafe extern "C" fn acs_video_renderer_create_for_remote_stream(
    stream: *mut acs_remote_video_stream,
    out_renderer: *mut *mut acs_video_renderer,
) -> acs_status {
    guard(|| {
        need(out_renderer, "out_renderer")?;
        let s = handles::remote_video_stream(stream)?;
        s.subscribe()?;
        super::video::renderer_out(s.frames(), out_renderer)
    })
}

/// Stops sending the call's stream of `kind` (a no-op when it is not sent); the others see
/// it become unavailable.
#[no_mangle]
pub extern "C" fn acs_call_stop_video(call: *mut acs_call, kind: i32) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        Ok(c.stop_video(stream_kind(kind)?)?)
    })
}

/// Whether the call sends a stream of `kind`.
#[no_mangle]
pub unsafe extern "C" fn acs_call_is_sending_video(
    call: *mut acs_call,
    kind: i32,
    out_sending: *mut bool,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        out(
            out_sending,
            c.is_sending_video(stream_kind(kind)?),
            "out_sending",
        )
    })
}

/// Encoder counters of the call's outgoing stream of `kind`, written up to
/// out_stats->struct_size (a host compiled before nacked_packets was appended gets the
/// fields it knows); ACS_ERR_INVALID_STATE when it sends none.
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_video_send_stats(
    call: *mut acs_call,
    kind: i32,
    out_stats: *mut acs_video_send_stats,
) -> acs_status {
    guard(|| {
        // SAFETY: NULL or the host's struct of struct_size bytes.
        unsafe { check_out(out_stats, "out_stats") }?;
        let c = handles::call(call)?;
        let st = c
            .video_send_stats(stream_kind(kind)?)
            .ok_or_else(|| Error::InvalidState("the call sends no such video".into()))?;
        let v = acs_video_send_stats {
            struct_size: std::mem::size_of::<acs_video_send_stats>() as u32,
            frames_encoded: st.frames_encoded,
            frames_dropped: st.frames_dropped,
            frames_skipped: st.frames_skipped,
            keyframes: st.keyframes,
            keyframe_requests: st.keyframe_requests,
            bytes: st.bytes,
            bitrate_bps: st.bitrate_bps,
            loss_reports: st.loss_reports,
            last_fraction_lost: st.last_fraction_lost,
            width: st.width,
            height: st.height,
            encode_micros: st.encode_micros,
            nacked_packets: st.nacked_packets,
            last_loss_estimate: st.last_loss_estimate,
        };
        // SAFETY: as above.
        unsafe { write_out(out_stats, v, "out_stats") }
    })
}

use super::numbering::c_numbers;

c_numbers! {
    /// ACS_VIDEO_STREAM_KIND_* of a video stream kind.
    video_stream_kind(VideoStreamKind) {
        VideoStreamKind::Video => ACS_VIDEO_STREAM_KIND_VIDEO,
        VideoStreamKind::ScreenShare => ACS_VIDEO_STREAM_KIND_SCREEN_SHARE,
    }
}
