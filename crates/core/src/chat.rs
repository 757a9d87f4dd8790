//! The chat as a viewer reads it. A quiet room's lines show as they come;
//! a flood (the demo's snack room: 200 lines a second) is sampled to a pace
//! a person can read — a few lines at once, then [`CHAT_PER_SECOND`] — with
//! the newest lines kept and the ones in between skipped. Nothing moves
//! while the viewer reads older lines or has a line picked (to report it):
//! new lines count into "N new messages" instead. The viewer's own lines
//! are never skipped.

use livecart_protocol::rest::ChatMessage;
use livecart_protocol::{MessageId, UserId};
use std::collections::VecDeque;

/// Lines from others shown per second at most, once the burst is used.
pub const CHAT_PER_SECOND: i64 = 4;
/// Lines that may show at once after a quiet moment.
pub const CHAT_BURST: u32 = 3;
/// Lines kept on screen (scrolling back reaches this far).
pub const CHAT_SHOWN: usize = 50;
/// Lines waiting their turn in a flood; older waiting lines are skipped, so
/// what shows is never more than about a second old.
pub const CHAT_WAITING: usize = CHAT_PER_SECOND as usize;

const STEP_MS: i64 = 1000 / CHAT_PER_SECOND;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chat {
    /// On screen, oldest first.
    pub shown: VecDeque<ChatMessage>,
    /// Arrived, waiting for the pace (or for the viewer to come back down).
    waiting: VecDeque<ChatMessage>,
    /// The viewer's own lines that arrived while the list was held.
    mine_waiting: Vec<ChatMessage>,
    /// Lines that may show now without waiting (refills at the pace).
    tokens: u32,
    /// When the next token comes (ms).
    refill_at: i64,
    /// The viewer scrolled up to older lines.
    pub scrolled_back: bool,
    /// The line the viewer picked (its Report chip is showing).
    pub selected: Option<MessageId>,
    /// Lines that came while the list was held.
    pub unread: u32,
    /// Lines skipped to keep the pace (for the debug overlay and tests).
    pub skipped: u64,
}

impl Chat {
    pub fn new() -> Self {
        Self {
            tokens: CHAT_BURST,
            ..Self::default()
        }
    }

    /// Nothing on screen moves: the viewer reads or is about to report.
    pub fn held(&self) -> bool {
        self.scrolled_back || self.selected.is_some()
    }

    /// A join or a resync: the snapshot's latest lines, at once — unless
    /// the viewer is reading back or has a line picked: then what they read
    /// stays (and the line they picked), and the snapshot's lines not on
    /// screen wait, counted as new. (A flood on a busy machine can cost the
    /// room socket a resync; it replaced the lines under the reader and lost
    /// the line being reported.)
    pub fn on_snapshot(&mut self, lines: &[ChatMessage], now: i64) {
        if self.held() {
            for line in lines {
                let known = |m: &ChatMessage| m.id == line.id;
                if !self.shown.iter().any(known) && !self.waiting.iter().any(known) {
                    self.unread += 1;
                    self.wait(line.clone());
                }
            }
            return;
        }
        self.shown = lines
            .iter()
            .skip(lines.len().saturating_sub(CHAT_SHOWN))
            .cloned()
            .collect();
        self.waiting.clear();
        self.unread = 0;
        self.tokens = CHAT_BURST;
        self.refill_at = now + STEP_MS;
    }

    /// A new line; `mine` when the viewer sent it.
    pub fn on_line(&mut self, line: ChatMessage, mine: bool, now: i64) {
        self.refill(now);
        if self.held() {
            self.unread += 1;
            if mine {
                self.mine_waiting.push(line);
            } else {
                self.wait(line);
            }
            return;
        }
        if mine {
            self.show(line);
        } else if self.waiting.is_empty() && self.tokens > 0 {
            self.tokens -= 1;
            self.show(line);
        } else {
            self.wait(line);
        }
    }

    fn wait(&mut self, line: ChatMessage) {
        self.waiting.push_back(line);
        while self.waiting.len() > CHAT_WAITING {
            self.waiting.pop_front();
            self.skipped += 1;
        }
    }

    fn show(&mut self, line: ChatMessage) {
        self.shown.push_back(line);
        while self.shown.len() > CHAT_SHOWN {
            self.shown.pop_front();
        }
    }

    /// Tokens come back one a step; a full bucket waits for its first use
    /// (the next token is a step after it).
    fn refill(&mut self, now: i64) {
        while self.tokens < CHAT_BURST && self.refill_at <= now {
            self.tokens += 1;
            self.refill_at += STEP_MS;
        }
        if self.tokens >= CHAT_BURST {
            self.refill_at = now + STEP_MS;
        }
    }

    /// Moves waiting lines on screen as the pace allows.
    pub fn advance(&mut self, now: i64) {
        self.refill(now);
        if self.held() {
            return;
        }
        for line in std::mem::take(&mut self.mine_waiting) {
            self.show(line);
        }
        while self.tokens > 0
            && let Some(line) = self.waiting.pop_front()
        {
            self.tokens -= 1;
            self.show(line);
        }
    }

    /// When a waiting line can show next.
    pub fn next_deadline(&self) -> Option<i64> {
        (!self.held() && !self.waiting.is_empty()).then_some(self.refill_at)
    }

    pub fn remove(&mut self, id: MessageId) {
        self.shown.retain(|m| m.id != id);
        self.waiting.retain(|m| m.id != id);
        self.mine_waiting.retain(|m| m.id != id);
        if self.selected == Some(id) {
            self.selected = None;
        }
    }

    pub fn scrolled(&mut self, at_bottom: bool) {
        self.scrolled_back = !at_bottom;
        if at_bottom {
            self.unread = 0;
        }
    }

    /// Picks a line (its Report chip shows) or lets go of it (`None`).
    pub fn select(&mut self, line: Option<MessageId>) {
        self.selected = line.filter(|id| self.shown.iter().any(|m| m.id == *id));
        if !self.held() {
            // Let go at the newest lines: the list moves on, nothing to count.
            self.unread = 0;
        }
    }

    /// The viewer sent a line: back to the newest lines, where it will show.
    pub fn follow(&mut self) {
        self.scrolled_back = false;
        self.selected = None;
        self.unread = 0;
    }

    /// Whether `user` wrote this line.
    pub fn is_mine(line: &ChatMessage, me: Option<UserId>) -> bool {
        me.is_some_and(|me| line.user.id == me)
    }
}

#[cfg(test)]
mod tests {
    use super::Chat;
    use livecart_protocol::rest::{ChatMessage, UserRef};
    use livecart_protocol::{MessageId, UserId};

    fn line(n: u8) -> ChatMessage {
        ChatMessage {
            id: MessageId::from_parts(u64::from(n), [n; 10]),
            user: UserRef {
                id: UserId::from_parts(1, [1; 10]),
                name: "ben".into(),
            },
            text: format!("line {n}"),
            sent_at: jiff::Timestamp::UNIX_EPOCH,
            client_id: None,
        }
    }

    fn texts(c: &Chat) -> Vec<String> {
        c.shown.iter().map(|m| m.text.clone()).collect()
    }

    #[test]
    fn a_resync_while_a_line_is_picked_keeps_the_lines_and_the_pick() {
        let mut c = Chat::new();
        let first: Vec<_> = (1..=5).map(line).collect();
        c.on_snapshot(&first, 0);
        c.select(Some(first[2].id));
        // The socket resyncs: the snapshot's window has moved on.
        let later: Vec<_> = (3..=9).map(line).collect();
        c.on_snapshot(&later, 100);
        assert_eq!(
            texts(&c),
            ["line 1", "line 2", "line 3", "line 4", "line 5"]
        );
        assert_eq!(
            c.selected,
            Some(first[2].id),
            "the picked line stays picked"
        );
        assert_eq!(c.unread, 4, "lines 6 to 9 counted as new");
        // Let go: the newest lines come at the pace, none twice.
        c.select(None);
        for ms in [10_000, 10_250, 10_500] {
            c.advance(ms);
        }
        let shown = texts(&c);
        let mut unique = shown.clone();
        unique.dedup();
        assert_eq!(shown, unique);
        assert_eq!(shown.last().map(String::as_str), Some("line 9"));
    }

    #[test]
    fn a_resync_while_not_reading_back_shows_the_snapshot() {
        let mut c = Chat::new();
        c.on_snapshot(&(1..=5).map(line).collect::<Vec<_>>(), 0);
        c.on_snapshot(&(6..=7).map(line).collect::<Vec<_>>(), 100);
        assert_eq!(texts(&c), ["line 6", "line 7"]);
    }
}
