//! Receiver feedback about the video we send, handed to the application: keyframe requests
//! (PLI, FIR) and the reception reports about our video SSRCs (loss → bitrate adaptation).
//!
//! webrtc-rs stops inbound RTCP at the end of its interceptor chain unless an interceptor
//! marks it `DeliverToApplication`. This interceptor sits last, keeps only the packets about
//! our *video* streams (learnt from `bind_local_stream`), and marks them; the marked packets
//! then reach the video track's `poll()` as `TrackLocalEvent::OnRtcpPacket`. Audio feedback
//! is never marked, so the audio track (which nobody polls) gets nothing.

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use std::collections::{HashSet, VecDeque};
use std::time::Instant;

/// What the receiver told us about one of our video streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoFeedback {
    /// Send a keyframe (PLI or FIR).
    KeyframeRequest,
    /// A reception report: fraction of packets lost since the last one (0..=255 = 0..100%).
    /// Packets repaired by retransmission count as received.
    Loss { fraction_lost: u8 },
    /// A NACK: the receiver misses this many of our packets (before repair).
    Nack { packets: u32 },
}

/// Sequence numbers a NACK asks for.
fn nacked_packets(nack: &TransportLayerNack) -> u32 {
    nack.nacks
        .iter()
        .map(|p| 1 + p.lost_packets.count_ones())
        .sum()
}

/// Interprets marked RTCP for the video stream `ssrc` (reception reports arrive as RRs: the
/// interceptor turns the report blocks of SRs into RRs).
pub(super) fn interpret(
    packets: &[Box<dyn rtc::rtcp::Packet>],
    ssrc: u32,
    mut out: impl FnMut(VideoFeedback),
) {
    for p in packets {
        let any = p.as_any();
        if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
            if pli.media_ssrc == ssrc {
                out(VideoFeedback::KeyframeRequest);
            }
        } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
            if fir.media_ssrc == ssrc || fir.fir.iter().any(|e| e.ssrc == ssrc) {
                out(VideoFeedback::KeyframeRequest);
            }
        } else if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
            if nack.media_ssrc == ssrc {
                out(VideoFeedback::Nack {
                    packets: nacked_packets(nack),
                });
            }
        } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
            for r in rr.reports.iter().filter(|r| r.ssrc == ssrc) {
                out(VideoFeedback::Loss {
                    fraction_lost: r.fraction_lost,
                });
            }
        }
    }
}

/// The interceptor (see the module doc).
#[derive(Default)]
pub(super) struct VideoFeedbackInterceptor {
    video_ssrcs: HashSet<u32>,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl VideoFeedbackInterceptor {
    /// The packets of a compound that concern our video streams, narrowed to them.
    fn about_video(
        &self,
        packets: &[Box<dyn rtc::rtcp::Packet>],
    ) -> Vec<Box<dyn rtc::rtcp::Packet>> {
        let mut keep: Vec<Box<dyn rtc::rtcp::Packet>> = Vec::new();
        for p in packets {
            let any = p.as_any();
            if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                if self.video_ssrcs.contains(&pli.media_ssrc) {
                    keep.push(p.clone());
                }
            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                if self.video_ssrcs.contains(&fir.media_ssrc)
                    || fir.fir.iter().any(|e| self.video_ssrcs.contains(&e.ssrc))
                {
                    keep.push(p.clone());
                }
            } else if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
                // The NACK responder before us has answered it; we count it for the rate
                // controller (loss before repair).
                if self.video_ssrcs.contains(&nack.media_ssrc) {
                    keep.push(p.clone());
                }
            } else {
                // Reception reports come in RRs, or in the SRs of a peer that also sends (the
                // SFU). One packet may report on audio and video: keep the video blocks only,
                // as an RR, so the packet is routed to the video track alone.
                let (ssrc, blocks) = if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                    (rr.ssrc, &rr.reports)
                } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
                    (sr.ssrc, &sr.reports)
                } else {
                    continue;
                };
                let reports: Vec<_> = blocks
                    .iter()
                    .filter(|r| self.video_ssrcs.contains(&r.ssrc))
                    .cloned()
                    .collect();
                if !reports.is_empty() {
                    keep.push(Box::new(ReceiverReport {
                        ssrc,
                        reports,
                        profile_extensions: Default::default(),
                    }));
                }
            }
        }
        keep
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for VideoFeedbackInterceptor {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            if !self.video_ssrcs.is_empty() {
                let keep = self.about_video(packets);
                if !keep.is_empty() {
                    msg.message.packet = Packet::Rtcp(keep);
                    msg.message.add(Attribute::DeliverToApplication);
                }
            }
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for VideoFeedbackInterceptor {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        if info.mime_type.to_ascii_lowercase().starts_with("video/") {
            self.video_ssrcs.insert(info.ssrc);
        }
    }
    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.video_ssrcs.remove(&info.ssrc);
    }
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::reception_report::ReceptionReport;

    fn rr(blocks: &[(u32, u8)]) -> Box<dyn rtc::rtcp::Packet> {
        Box::new(ReceiverReport {
            ssrc: 9,
            reports: blocks
                .iter()
                .map(|(ssrc, fraction_lost)| ReceptionReport {
                    ssrc: *ssrc,
                    fraction_lost: *fraction_lost,
                    ..Default::default()
                })
                .collect(),
            profile_extensions: Default::default(),
        })
    }

    #[test]
    fn keeps_only_feedback_about_video_ssrcs() {
        let mut i = VideoFeedbackInterceptor::default();
        i.video_ssrcs.insert(42);
        let packets: Vec<Box<dyn rtc::rtcp::Packet>> = vec![
            rr(&[(7, 10), (42, 64)]),
            Box::new(PictureLossIndication {
                sender_ssrc: 9,
                media_ssrc: 7,
            }),
            Box::new(PictureLossIndication {
                sender_ssrc: 9,
                media_ssrc: 42,
            }),
        ];
        let keep = i.about_video(&packets);
        assert_eq!(keep.len(), 2);
        let mut seen = Vec::new();
        interpret(&keep, 42, |f| seen.push(f));
        assert_eq!(
            seen,
            vec![
                VideoFeedback::Loss { fraction_lost: 64 },
                VideoFeedback::KeyframeRequest
            ]
        );
        assert!(i.about_video(&[rr(&[(7, 1)])]).is_empty());
    }

    #[test]
    fn nacks_about_video_count_the_packets_they_ask_for() {
        use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;
        let mut i = VideoFeedbackInterceptor::default();
        i.video_ssrcs.insert(42);
        let nack = |media_ssrc| -> Box<dyn rtc::rtcp::Packet> {
            Box::new(TransportLayerNack {
                sender_ssrc: 9,
                media_ssrc,
                nacks: vec![
                    NackPair {
                        packet_id: 100,
                        lost_packets: 0b101,
                    },
                    NackPair {
                        packet_id: 200,
                        lost_packets: 0,
                    },
                ],
            })
        };
        let keep = i.about_video(&[nack(7), nack(42)]);
        assert_eq!(keep.len(), 1);
        let mut seen = Vec::new();
        interpret(&keep, 42, |f| seen.push(f));
        assert_eq!(seen, vec![VideoFeedback::Nack { packets: 4 }]);
    }
}
