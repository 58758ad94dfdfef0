//! One line of a call's media statistics.

use acscalling::client::MediaStatistics;

fn kbps(bps: u64) -> String {
    format!("{:.1}", bps as f64 / 1000.0)
}

/// Lost packets as a share of those expected.
fn loss(received: u64, lost: i64) -> String {
    let lost = lost.max(0) as u64;
    let expected = received + lost;
    if expected == 0 {
        return "0".into();
    }
    format!("{lost} ({:.1}%)", lost as f64 * 100.0 / expected as f64)
}

/// `rtt 0.4 ms | audio out 33.2 kbps in 32.9 kbps lost 0 jitter 0.5 ms | video …`
pub fn line(s: &MediaStatistics) -> String {
    let rtt = s
        .rtt_ms
        .map(|r| format!("{r:.1} ms"))
        .unwrap_or_else(|| "-".into());
    let mut out = format!(
        "rtt {rtt} | audio out {} kbps in {} kbps lost {} jitter {:.1} ms",
        kbps(s.audio_send_bitrate_bps),
        kbps(s.audio_receive_bitrate_bps),
        loss(s.audio_packets_received, s.audio_packets_lost),
        s.audio_jitter_ms,
    );
    if s.video_packets_sent > 0 {
        out.push_str(&format!(
            " | video out {} kbps {:.0} fps {}x{}",
            kbps(s.video_send_bitrate_bps),
            s.video_send_fps,
            s.video_send_width,
            s.video_send_height
        ));
    }
    if s.video_receive_streams > 0 {
        out.push_str(&format!(
            " | video in {} stream(s) {} kbps lost {} jitter {:.1} ms",
            s.video_receive_streams,
            kbps(s.video_receive_bitrate_bps),
            loss(s.video_packets_received, s.video_packets_lost),
            s.video_jitter_ms
        ));
    }
    out
}

/// The counters since the media started (the end-of-call summary).
pub fn summary(s: &MediaStatistics) -> String {
    format!(
        "audio sent {} packets ({} bytes), received {} packets, lost {}, played {} frames \
         ({} concealed); video sent {} packets, received {} packets",
        s.audio_packets_sent,
        s.audio_bytes_sent,
        s.audio_packets_received,
        loss(s.audio_packets_received, s.audio_packets_lost),
        s.audio_frames_played,
        s.audio_frames_concealed,
        s.video_packets_sent,
        s.video_packets_received
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audio_only_line() {
        let s = MediaStatistics {
            rtt_ms: Some(0.42),
            audio_send_bitrate_bps: 33_250,
            audio_receive_bitrate_bps: 32_900,
            audio_packets_received: 99,
            audio_packets_lost: 1,
            audio_jitter_ms: 0.5,
            ..MediaStatistics::default()
        };
        assert_eq!(
            line(&s),
            "rtt 0.4 ms | audio out 33.2 kbps in 32.9 kbps lost 1 (1.0%) jitter 0.5 ms"
        );
    }

    #[test]
    fn video_appears_when_there_is_some() {
        let s = MediaStatistics {
            video_packets_sent: 10,
            video_send_bitrate_bps: 500_000,
            video_send_fps: 29.7,
            video_send_width: 640,
            video_send_height: 480,
            video_receive_streams: 2,
            video_receive_bitrate_bps: 1_000_000,
            video_packets_received: 100,
            ..MediaStatistics::default()
        };
        let l = line(&s);
        assert!(
            l.starts_with("rtt - | audio out 0.0 kbps in 0.0 kbps lost 0 "),
            "{l}"
        );
        assert!(l.contains("| video out 500.0 kbps 30 fps 640x480"), "{l}");
        assert!(
            l.contains("| video in 2 stream(s) 1000.0 kbps lost 0 (0.0%)"),
            "{l}"
        );
    }
}
