//! Formatting shared by the screens' view models: money, countdowns,
//! counts, times.

use livecart_protocol::Money;

/// `1299 USD` minor → "$12.99"; other currencies as "12.99 EUR".
pub fn price(m: &Money) -> String {
    let shown = m.to_string();
    match shown.strip_suffix(" USD") {
        Some(amount) => format!("${amount}"),
        None => shown,
    }
}

/// "04:59" / "1:02:03" for a countdown of `ms`.
pub fn countdown(ms: i64) -> String {
    let s = (ms.max(0) + 999) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

pub(super) fn stock_left(n: u32) -> Option<String> {
    match n {
        0 => Some("Sold out".to_owned()),
        1..=10 => Some(format!("Only {n} left")),
        _ => None,
    }
}

/// 12000 → "12,000".
pub(super) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// "just now", "3 min ago", "2 h ago", else the date.
pub(super) fn ago(at: jiff::Timestamp, now_ms: i64) -> String {
    let s = (now_ms - at.as_millisecond()) / 1_000;
    match s {
        ..60 => "just now".to_owned(),
        60..3_600 => format!("{} min ago", s / 60),
        3_600..86_400 => format!("{} h ago", s / 3_600),
        _ => at.strftime("%b %-d").to_string(),
    }
}

/// 950 → "950", 1_240 → "1.2k", 18_600 → "18.6k", 2_300_000 → "2.3M".
pub fn compact(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3).replace(".0k", "k"),
        _ => format!("{:.1}M", n as f64 / 1e6).replace(".0M", "M"),
    }
}

/// The animation (assets/gifts/<name>.svg and its CSS) for a gift name.
pub fn gift_animation(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}
