#!/usr/bin/env bash
# Real camera capture test: boots a Debian kernel under QEMU with the vivid V4L2 test driver
# loaded and runs tests/v4l2_capture.rs (its #[ignore]d tests) against /dev/video0 there,
# then the C sample examples-c/video_render with the camera (the C API path). For machines
# without a camera or the right to load kernel modules (containers, CI VMs).
#
#   bash scripts/v4l2-vm-test.sh
#
# Needs root or sudo (apt-get) and Debian's package archive. Nothing is installed from the
# kernel package: it is unpacked into a temporary folder (the .deb is cached in
# <cargo target dir>/v4l2-vm/). Environment:
#   ACS_VM_ACCEL=kvm|tcg   skip the probe (default: KVM when /dev/kvm boots a kernel, else TCG)
#   ACS_VM_TIMEOUT=secs    limit for the VM run (default 480)
#   ACS_VM_KEEP=1          keep the work folder (initramfs, console log)
# Prints "v4l2 VM test: PASS" and exits 0 when the tests passed inside the VM.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
T0=$(date +%s)
say() { echo "== [$(( $(date +%s) - T0 ))s] $*"; }

# --- host packages --------------------------------------------------------------------
PKGS="qemu-system-x86 busybox-static cpio xz-utils zstd binutils python3"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  say "apt-get install$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
CACHE="$TARGET_DIR/v4l2-vm"
WORK=$(mktemp -d /tmp/acs-v4l2-vm.XXXXXX)
if [ "${ACS_VM_KEEP:-0}" = 1 ]; then echo "work folder: $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$CACHE"

# --- the test binary ------------------------------------------------------------------
say "build tests/v4l2_capture.rs"
TEST_BIN=$(cargo test --workspace --test v4l2_capture --no-run --message-format=json \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "v4l2_capture":
        print(m["executable"])')
[ -x "$TEST_BIN" ] || { echo "could not build the v4l2_capture test" >&2; exit 1; }
say "build libacscalling and examples-c/build/video_render"
cargo build --workspace --lib
make -s -C examples-c "$PWD/examples-c/build/video_render"
C_BIN="$PWD/examples-c/build/video_render"

# --- the kernel: linux-image-amd64's versioned dependency, unpacked, not installed -------
apt-cache show linux-image-amd64 >/dev/null 2>&1 || $SUDO apt-get update -qq
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$KPKG" ] || { echo "cannot resolve linux-image-amd64's kernel package" >&2; exit 1; }
DEB=$(ls "$CACHE/${KPKG}_"*.deb 2>/dev/null | head -1 || true)
if [ -z "$DEB" ]; then
  say "apt-get download $KPKG"
  # (An old package list may name a version the archive no longer has: update, try again.)
  (cd "$CACHE" && { apt-get download "$KPKG" 2>/dev/null \
     || { $SUDO apt-get update -qq && apt-get download "$KPKG"; }; } 2>&1 \
     | grep -v "^W: Download is performed unsandboxed" || true)
  DEB=$(ls "$CACHE/${KPKG}_"*.deb 2>/dev/null | head -1 || true)
  [ -n "$DEB" ] || { echo "apt-get download $KPKG failed" >&2; exit 1; }
fi
say "unpack $(basename "$DEB")"
dpkg -x "$DEB" "$WORK/kernel"
VMLINUZ=$(ls "$WORK"/kernel/boot/vmlinuz-* | head -1)
KVER=${VMLINUZ##*/vmlinuz-}

# --- initramfs: busybox, vivid and its dependencies, the test binary and its libraries --
ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,modules}
cp /bin/busybox "$ROOT/bin/busybox"
# vivid's dependency closure from each module's .modinfo "depends=" (the package ships no
# modules.dep), dependencies first; compressed modules (.ko.xz/.zst/.gz) are decompressed
# here, so busybox's insmod loads plain .ko files.
python3 - "$WORK/kernel/lib/modules/$KVER" "$ROOT/modules" vivid > "$ROOT/modules/order" <<'EOF'
import gzip, lzma, os, re, subprocess, sys
moddir, out, top = sys.argv[1:4]
paths = {}
for d, _, files in os.walk(moddir):
    for f in files:
        m = re.match(r"(.+)\.ko(\.xz|\.zst|\.gz)?$", f)
        if m:
            paths[m.group(1).replace("-", "_")] = os.path.join(d, f)
builtin = set()
try:
    for line in open(os.path.join(moddir, "modules.builtin")):
        builtin.add(os.path.basename(line.strip()).split(".ko")[0].replace("-", "_"))
except OSError:
    pass
def read(p):
    if p.endswith(".xz"):
        return lzma.open(p).read()
    if p.endswith(".gz"):
        return gzip.open(p).read()
    if p.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", p], check=True, capture_output=True).stdout
    return open(p, "rb").read()
order = []
def visit(name):
    name = name.replace("-", "_")
    if name in order or name in builtin:
        return
    if name not in paths:
        sys.exit(f"module {name} not found under {moddir}")
    data = read(paths[name])
    for field in data.split(b"\0"):
        if field.startswith(b"depends="):
            for dep in filter(None, field[8:].decode().split(",")):
                visit(dep)
            break
    with open(os.path.join(out, name + ".ko"), "wb") as f:
        f.write(data)
    order.append(name)
visit(top)
print("\n".join(order))
EOF
say "modules: $(tr '\n' ' ' < "$ROOT/modules/order")"
objcopy --strip-debug "$TEST_BIN" "$ROOT/v4l2_capture"
cp "$C_BIN" "$ROOT/video_render"
# The binaries' shared libraries and the dynamic loader, at the paths ldd reports
# (libacscalling.so.0, the soname, as a file without its debug info).
for lib in $( (ldd "$TEST_BIN"; ldd "$C_BIN") | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$ROOT$(dirname "$lib")"
  case "$lib" in
    # Also in /acslib: the VM mounts a tmpfs on /tmp, which hides a checkout under /tmp.
    */libacscalling.so*) objcopy --strip-debug "$lib" "$ROOT$lib"
                         mkdir -p "$ROOT/acslib" && cp "$ROOT$lib" "$ROOT/acslib/" ;;
    *) cp -L "$lib" "$ROOT$lib" ;;
  esac
done
cat > "$ROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "ACS-VM: booted $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu(s)"
for m in $(cat /modules/order); do
  opts=""
  # One vivid instance with a video capture node only (/dev/video0); its input 0 is a
  # webcam showing 75% colour bars.
  [ "$m" = vivid ] && opts="n_devs=1 node_types=0x1"
  insmod /modules/$m.ko $opts || echo "ACS-VM: insmod $m failed"
done
ls -l /dev/video* 2>&1
cat /sys/class/video4linux/*/name 2>&1
cd /tmp
start=$(cut -d' ' -f1 /proc/uptime)
RUST_BACKTRACE=1 /v4l2_capture --ignored --test-threads=1 --nocapture
rc=$?
end=$(cut -d' ' -f1 /proc/uptime)
echo "ACS-VM: tests took $start..$end s of uptime"
echo "ACS-VM-RESULT rc=$rc"
# The C API: the device manager's selected camera through acs_local_video_stream_create_from_camera.
LD_LIBRARY_PATH=/acslib /video_render 2 camera > /tmp/c.out
echo "ACS-VM-C-RESULT rc=$?"
sed -n '1,3p;$p' /tmp/c.out
# The same with acs_camera_options (640x480 at 15 fps): it prints what the driver gives.
LD_LIBRARY_PATH=/acslib /video_render 1 camera 640x480@15 > /tmp/c2.out
echo "ACS-VM-C2-RESULT rc=$?"
sed -n '1,3p;$p' /tmp/c2.out
poweroff -f
EOF
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet) > "$WORK/initrd.cpio"
say "initramfs $(du -h "$WORK/initrd.cpio" | cut -f1)"

# --- accelerator ------------------------------------------------------------------------
QEMU=(qemu-system-x86_64 -m 1024 -smp 2 -display none -monitor none -serial stdio -no-reboot
      -kernel "$VMLINUZ")
ACCEL=${ACS_VM_ACCEL:-}
if [ -z "$ACCEL" ]; then
  ACCEL=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    # /dev/kvm can exist where nested virtualisation does not work (the boot hangs): first
    # boot a kernel that only prints a line.
    mkdir -p "$WORK/probe/bin"
    cp /bin/busybox "$WORK/probe/bin/"
    printf '#!/bin/busybox sh\n/bin/busybox echo ACS-KVM-OK\n/bin/busybox poweroff -f\n' > "$WORK/probe/init"
    chmod +x "$WORK/probe/init"
    (cd "$WORK/probe" && find . | cpio -o -H newc --quiet) > "$WORK/probe.cpio"
    if timeout 20 "${QEMU[@]}" -accel kvm -cpu host -initrd "$WORK/probe.cpio" \
         -append 'console=ttyS0 panic=-1 quiet' </dev/null 2>/dev/null | grep -q ACS-KVM-OK; then
      ACCEL=kvm
    else
      say "/dev/kvm does not boot a kernel here: software emulation"
    fi
  fi
fi
case "$ACCEL" in
  kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
  *) ACCEL_ARGS=(-accel tcg) ;;
esac

# --- run --------------------------------------------------------------------------------
say "boot $KVER under QEMU ($ACCEL)"
LOG="$WORK/console.log"
set +e
timeout "${ACS_VM_TIMEOUT:-480}" "${QEMU[@]}" "${ACCEL_ARGS[@]}" -initrd "$WORK/initrd.cpio" \
  -append 'console=ttyS0 panic=-1 quiet loglevel=4' </dev/null 2>&1 | tee "$LOG"
set -e
RC=$(sed -n 's/.*ACS-VM-RESULT rc=\([0-9]*\).*/\1/p' "$LOG" | tail -1)
C_RC=$(sed -n 's/.*ACS-VM-C-RESULT rc=\([0-9]*\).*/\1/p' "$LOG" | tail -1)
# The C sample rendered the camera: the left edge of vivid's bars is 75% white.
C_OK=$(python3 - "$LOG" <<'EOF'
import re, sys
log = open(sys.argv[1], errors="replace").read()
log = log.split("ACS-VM-C2-RESULT")[0]  # the first run only (the second is 4:3 in a 16:9 view)
px = re.findall(r"counter \(none\) \d+ centre-left RGBA (\d+),(\d+),(\d+),255", log)
print("yes" if "camera v4l2:/dev/video0" in log and px
      and all(abs(int(c) - 191) <= 15 for c in px[-1]) else "no")
EOF
)
C2_RC=$(sed -n 's/.*ACS-VM-C2-RESULT rc=\([0-9]*\).*/\1/p' "$LOG" | tail -1)
C2_OK=no
grep -q "^captures [A-Z0-9]* 640x480 at 1[45]\.[0-9] fps" "$LOG" && C2_OK=yes
say "done"
fail=""
[ "$RC" = 0 ] || fail="the Rust tests: exit code ${RC:-none (the VM did not finish)}"
if [ "$C_RC" != 0 ] || [ "$C_OK" != yes ]; then
  fail="$fail${fail:+; }the C sample with the camera: exit code ${C_RC:-none}, picture as expected: $C_OK"
fi
if [ "$C2_RC" != 0 ] || [ "$C2_OK" != yes ]; then
  fail="$fail${fail:+; }the C sample with camera options 640x480@15: exit code ${C2_RC:-none}, captures 640x480 at 15 fps: $C2_OK"
fi
if [ -z "$fail" ]; then
  echo "v4l2 VM test: PASS ($(( $(date +%s) - T0 )) s)"
else
  echo "v4l2 VM test: FAIL ($fail)" >&2
  exit 1
fi
