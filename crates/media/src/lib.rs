//! Every GStreamer pipeline of livecart lives here: the low-latency player and
//! the demo publisher. The media issue (#3) fills it in; the crate exists now
//! so the workspace has its final shape.
