//! What every pipeline shares: starting GStreamer, the error type (with the
//! package to install for a missing element), the capture clock.

/// Errors from building or running a pipeline, in words a user can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MediaError {
    #[error("GStreamer could not start: {0}")]
    Init(String),
    #[error("the GStreamer element {0:?} is missing: install {pkg} (`./dev deps` installs every package livecart needs)", pkg = debian_package(.0))]
    MissingElement(String),
    #[error("pipeline error: {0}")]
    Pipeline(String),
}

/// The Debian/Ubuntu package that ships a GStreamer element we use, so a
/// missing one is reported as the package to install.
#[must_use]
pub fn debian_package(element: &str) -> &'static str {
    match element {
        "textoverlay" | "clockoverlay" | "timeoverlay" | "ximagesink" => "gstreamer1.0-x",
        "x264enc" => "gstreamer1.0-plugins-ugly",
        "avdec_h264" | "avenc_aac" => "gstreamer1.0-libav",
        "flvmux" | "flvdemux" | "souphttpsrc" | "jpegenc" | "autoaudiosink" | "aacparse"
        | "hlsdemux2" => "gstreamer1.0-plugins-good",
        "h264parse" | "fakeaudiosink" | "srtsrc" | "srtsink" | "mpegtsmux" | "rtmpsrc"
        | "hlssink2" => "gstreamer1.0-plugins-bad",
        _ => "gstreamer1.0-plugins-base",
    }
}

/// Initialises GStreamer once per process; cheap to call again.
#[cfg(feature = "gst")]
pub fn init() -> Result<(), MediaError> {
    gstreamer::init().map_err(|e| MediaError::Init(e.to_string()))
}

#[cfg(feature = "gst")]
pub(crate) fn unix_ns_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
