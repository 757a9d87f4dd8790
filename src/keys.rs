//! The key presses GTK hands the webview, counted (Linux): a tap's read of
//! a field waits until the page has seen as many keydowns (`livecart_ui::take_input`),
//! and the test harness taps once its keys arrived (`control`).

/// Key presses GTK has handed the webview so far (Linux) live in the shared
/// screens' `livecart_ui::KEYS_HANDED`. A tap can reach the page before keys
/// typed ahead of it (WebKit queues keys and clicks apart); the page waits
/// until it has seen this many keydowns before it reads a field for the tap
/// (assets/inputs.js).
#[cfg(target_os = "linux")]
use livecart_ui::KEYS_HANDED;

/// Key presses handed to the webview so far (for the test harness: it
/// taps once the keys it typed have reached the app, as a person's would).
pub fn keys_handed() -> u64 {
    #[cfg(target_os = "linux")]
    return KEYS_HANDED.load(std::sync::atomic::Ordering::SeqCst);
    #[cfg(not(target_os = "linux"))]
    0
}

/// Starts counting the key presses handed to the webview (once per window).
pub fn count_keys() {
    #[cfg(target_os = "linux")]
    {
        use dioxus::desktop::wry::WebViewExtUnix;
        use gtk::prelude::WidgetExt;
        livecart_ui::COUNTS_KEYS.store(true, std::sync::atomic::Ordering::SeqCst);
        dioxus::desktop::window()
            .webview
            .webview()
            .connect_key_press_event(|_, _| {
                KEYS_HANDED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                gtk::glib::Propagation::Proceed
            });
    }
}
