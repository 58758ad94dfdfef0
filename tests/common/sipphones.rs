//! Third-party SIP software for the PSTN interop tests, started by the test on 127.0.0.1
//! and stopped by its pid: `baresip` as a phone (auto-answer, a sine as its microphone,
//! what it hears dumped to a WAV file) and `kamailio` as the carrier's proxy in front of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::sipp::free_udp_port;

fn temp_dir(prefix: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        free_udp_port()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// What a [`Baresip`] does beyond the plain phone of [`Baresip::start`].
#[derive(Default, Clone)]
pub struct BaresipSecurity {
    /// A TLS listener on `port + 1` with this PEM file (certificate then key), and this
    /// file as its CA for its own TLS connections.
    pub tls_cert_and_key: Option<PathBuf>,
    /// The account's `mediaenc` (`srtp`, `srtp-mand`, …): loads the srtp module.
    pub mediaenc: Option<String>,
}

/// A baresip phone.
pub struct Baresip {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Baresip {
    /// A phone with number `number` (`+1…`) listening on a free port, answering every call
    /// at once, sending a `freq` Hz sine. `commands` run at start (e.g. `/dial sip:…`).
    pub fn start(number: &str, freq: u32, commands: &[&str]) -> Baresip {
        Self::start_secure(number, freq, commands, &BaresipSecurity::default())
    }

    /// [`Self::start`] with TLS and/or SRTP.
    pub fn start_secure(
        number: &str,
        freq: u32,
        commands: &[&str],
        security: &BaresipSecurity,
    ) -> Baresip {
        // The port is free for UDP, but baresip binds TCP on it too (and TLS on port + 1),
        // either of which another test's connection may hold: a few tries.
        let tries = 3;
        let mut last = String::new();
        for _ in 0..tries {
            match Self::launch(number, freq, commands, security) {
                Ok(b) => return b,
                Err(log) => last = log,
            }
        }
        panic!("baresip did not start: {last}");
    }

    fn launch(
        number: &str,
        freq: u32,
        commands: &[&str],
        security: &BaresipSecurity,
    ) -> Result<Baresip, String> {
        let port = free_udp_port();
        let dir = temp_dir("baresip");
        let mut config = format!(
            "poll_method\t\tepoll\n\
             sip_listen\t\t127.0.0.1:{port}\n\
             sip_trans_def\t\tudp\n\
             audio_source\t\tausine,{freq}\n\
             audio_alert\t\taufile,/dev/null\n\
             ausrc_srate\t\t48000\n\
             ausrc_channels\t\t2\n\
             auplay_srate\t\t48000\n\
             module_path\t\t/usr/lib/baresip/modules\n\
             module\t\t\tg711.so\n\
             module\t\t\tausine.so\n\
             module\t\t\taufile.so\n\
             module\t\t\tsndfile.so\n\
             snd_path\t\t{}\n\
             module_app\t\taccount.so\n\
             module_app\t\tmenu.so\n",
            dir.display()
        );
        let mut account_params = String::new();
        if let Some(pem) = &security.tls_cert_and_key {
            config.push_str(&format!(
                "sip_certificate\t\t{}\nsip_cafile\t\t{}\n",
                pem.display(),
                pem.display()
            ));
        }
        if let Some(m) = &security.mediaenc {
            config.push_str("module\t\t\tsrtp.so\n");
            account_params.push_str(&format!(";mediaenc={m}"));
        }
        std::fs::write(dir.join("config"), config).expect("baresip config");
        std::fs::write(
            dir.join("accounts"),
            format!("<sip:{number}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA{account_params}\n"),
        )
        .expect("baresip accounts");
        let log = std::fs::File::create(dir.join("baresip.log")).expect("baresip log");
        let mut cmd = Command::new("baresip");
        cmd.arg("-f").arg(&dir);
        for c in commands {
            cmd.args(["-e", c]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start baresip (Debian package baresip; scripts/setup.sh installs it)");
        let b = Baresip { child, port, dir };
        if super::wait_until(Duration::from_secs(10), || {
            b.log().contains("baresip is ready")
        }) {
            Ok(b)
        } else {
            Err(b.log())
        }
    }

    /// Stops baresip the polite way (SIGTERM): it hangs up its calls (BYE) and quits.
    pub fn terminate(&self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
    }

    /// What baresip printed so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("baresip.log")).unwrap_or_default())
            .replace('\r', "\n")
    }

    /// The audio baresip received (decoded) in its calls so far, at `(rate, samples)`.
    pub fn heard(&self) -> (u32, Vec<i16>) {
        let mut out = Vec::new();
        let mut rate = 8000;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
            .collect();
        files.sort();
        for f in files {
            out.extend(read_wav(&f, &mut rate));
        }
        (rate, out)
    }

    /// Watches the last second of what baresip heard, up to 8 s, until `freq` has more than
    /// `min` power; the powers measured when it never does.
    pub fn hears(&self, freq: f64, min: f64) -> Result<(), Vec<f64>> {
        let mut powers = Vec::new();
        let heard = super::wait_until(Duration::from_secs(8), || {
            let (rate, pcm) = self.heard();
            let tail = &pcm[pcm.len().saturating_sub(rate as usize)..];
            let p = power_at(tail, rate, freq);
            powers.push(p);
            p > min
        });
        heard.then_some(()).ok_or(powers)
    }
}

/// Samples of a (possibly still being written) 16-bit PCM WAV file, first channel.
/// Power of `freq` in `pcm` at `rate` Hz, normalised like `tone_power` (full scale = 1).
pub fn power_at(pcm: &[i16], rate: u32, freq: f64) -> f64 {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (n, v) in pcm.iter().enumerate() {
        let ph = 2.0 * std::f64::consts::PI * freq * n as f64 / f64::from(rate);
        re += f64::from(*v) * ph.cos();
        im += f64::from(*v) * ph.sin();
    }
    let amp = 2.0 * (re * re + im * im).sqrt() / pcm.len().max(1) as f64 / 32768.0;
    amp * amp / 2.0
}

fn read_wav(path: &Path, rate: &mut u32) -> Vec<i16> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    if bytes.len() < 44 || &bytes[0..4] != b"RIFF" {
        return Vec::new();
    }
    let channels = u16::from_le_bytes([bytes[22], bytes[23]]).max(1) as usize;
    *rate = u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
    // Find the "data" chunk; its size may not be final while the call runs.
    let mut i = 12;
    while i + 8 <= bytes.len() {
        let id = &bytes[i..i + 4];
        let size = u32::from_le_bytes([bytes[i + 4], bytes[i + 5], bytes[i + 6], bytes[i + 7]]);
        if id == b"data" {
            return bytes[i + 8..]
                .chunks_exact(2 * channels)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
        }
        i += 8 + size as usize;
    }
    Vec::new()
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("baresip files kept in {}", self.dir.display());
        }
    }
}

/// A kamailio started with one of the configurations in `tests/kamailio/`.
pub struct Kamailio {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Kamailio {
    /// The proxy (`proxy.cfg`) forwarding every new call to `127.0.0.1:phone_port`.
    pub fn start(phone_port: u16) -> Kamailio {
        Self::start_cfg("proxy.cfg", &[("@PHONE_PORT@", &phone_port.to_string())])
    }

    /// Kamailio with `tests/kamailio/<name>`, its `@KAM_PORT@` and the given placeholders
    /// replaced.
    pub fn start_cfg(name: &str, vars: &[(&str, &str)]) -> Kamailio {
        // Its port may be taken between our check and its bind (other tests run beside):
        // then again on another.
        for attempt in 1.. {
            let k = Self::start_once(name, vars);
            let log = k.log();
            if !log.contains("already in use") || attempt >= 5 {
                assert!(
                    log.contains("SO_RCVBUF is finally"),
                    "kamailio did not start: {log}"
                );
                return k;
            }
            eprintln!("kamailio could not bind its port (attempt {attempt}), again");
        }
        unreachable!()
    }

    fn start_once(name: &str, vars: &[(&str, &str)]) -> Kamailio {
        let port = free_udp_port();
        let dir = temp_dir("kamailio");
        let template = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/kamailio")
                .join(name),
        )
        .unwrap_or_else(|e| panic!("tests/kamailio/{name}: {e}"));
        let mut cfg = template.replace("@KAM_PORT@", &port.to_string());
        for (k, v) in vars {
            cfg = cfg.replace(k, v);
        }
        let cfg_path = dir.join(name);
        std::fs::write(&cfg_path, cfg).expect("kamailio config");
        let log = std::fs::File::create(dir.join("kamailio.log")).expect("kamailio log");
        let child = Command::new("kamailio")
            .arg("-f")
            .arg(&cfg_path)
            .args(["-DD", "-E", "-P"])
            .arg(dir.join("kamailio.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start kamailio (Debian package kamailio; scripts/setup.sh installs it)");
        let k = Kamailio { child, port, dir };
        super::wait_until(Duration::from_secs(10), || {
            let log = k.log();
            log.contains("SO_RCVBUF is finally") || log.contains("already in use")
        });
        // A bind failure may follow the buffer line: give it a moment to show.
        std::thread::sleep(Duration::from_millis(100));
        k
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        // -DD keeps kamailio in the foreground, with its children in our process group
        // of its own: stop the main process, which stops the others.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let end = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
