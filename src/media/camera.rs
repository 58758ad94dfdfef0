//! Cameras: Linux V4L2 capture nodes, listed from sysfs (`/sys/class/video4linux`), and the
//! virtual camera (a moving test pattern with a frame counter) that every machine has. A
//! local video stream made from a V4L2 camera captures from it
//! ([`crate::media::video::v4l2`]); one made from the virtual camera sends the pattern.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

struct CameraInner {
    id: String,
    name: String,
    path: PathBuf,
    is_default: bool,
    is_virtual: bool,
}

/// Id of the virtual camera.
pub const VIRTUAL_CAMERA_ID: &str = "virtual:test-pattern";

static VIRTUAL: LazyLock<Camera> = LazyLock::new(|| {
    Camera(Arc::new(CameraInner {
        id: VIRTUAL_CAMERA_ID.to_string(),
        name: "Virtual Camera (test pattern)".to_string(),
        path: PathBuf::new(),
        is_default: false,
        is_virtual: true,
    }))
});

/// The virtual camera (always listed, after the system's cameras).
pub fn virtual_camera() -> Camera {
    VIRTUAL.clone()
}

/// A camera. Cheap to clone (Arc inside).
#[derive(Clone)]
pub struct Camera(Arc<CameraInner>);

impl Camera {
    /// Stable id: `v4l2:/dev/videoN`.
    pub fn id(&self) -> String {
        self.0.id.clone()
    }

    /// The name the driver gives (e.g. "Integrated Camera: Integrated C").
    pub fn name(&self) -> String {
        self.0.name.clone()
    }

    /// The device node.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Whether this is the system's default camera (the first capture node).
    pub fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// Whether this is the virtual camera.
    pub fn is_virtual(&self) -> bool {
        self.0.is_virtual
    }
}

impl std::fmt::Debug for Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Camera")
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .finish()
    }
}

/// The system's cameras, in node order; empty when there are none or sysfs is unreadable.
pub fn system_cameras() -> Vec<Camera> {
    cameras_in(Path::new("/sys/class/video4linux"), Path::new("/dev"))
}

/// Cameras listed under `sysfs` (a video4linux class folder) with their nodes in `dev`.
/// V4L2 drivers expose extra nodes (metadata) with an `index` other than 0: those are skipped.
pub(crate) fn cameras_in(sysfs: &Path, dev: &Path) -> Vec<Camera> {
    let Ok(entries) = std::fs::read_dir(sysfs) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, String, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let node = e.file_name().to_string_lossy().to_string();
            let n: u32 = node.strip_prefix("video")?.parse().ok()?;
            let index = std::fs::read_to_string(e.path().join("index")).unwrap_or_default();
            if index.trim().parse::<u32>().unwrap_or(0) != 0 {
                return None;
            }
            let name = std::fs::read_to_string(e.path().join("name"))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            Some((n, node, name))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .enumerate()
        .map(|(i, (_, node, name))| {
            let path = dev.join(&node);
            Camera(Arc::new(CameraInner {
                id: format!("v4l2:{}", path.display()),
                name: if name.is_empty() { node } else { name },
                path,
                is_default: i == 0,
                is_virtual: false,
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_nodes_are_listed_in_order_metadata_nodes_skipped() {
        let root = std::env::temp_dir().join(format!("acs-v4l-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (node, name, index) in [
            ("video2", "USB Cam", "0"),
            ("video0", "Integrated Camera", "0"),
            ("video1", "Integrated Camera", "1"),
        ] {
            let d = root.join(node);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("name"), format!("{name}\n")).unwrap();
            std::fs::write(d.join("index"), index).unwrap();
        }
        std::fs::create_dir_all(root.join("not-a-camera")).unwrap();
        let cams = cameras_in(&root, Path::new("/dev"));
        let ids: Vec<_> = cams.iter().map(Camera::id).collect();
        assert_eq!(ids, ["v4l2:/dev/video0", "v4l2:/dev/video2"]);
        assert_eq!(cams[0].name(), "Integrated Camera");
        assert!(cams[0].is_default() && !cams[1].is_default());
        assert!(cameras_in(&root.join("missing"), Path::new("/dev")).is_empty());
        let _ = std::fs::remove_dir_all(&root);
    }
}
