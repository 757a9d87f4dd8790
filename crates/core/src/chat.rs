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

    /// A join or a resync: the snapshot's latest lines, at once.
    pub fn on_snapshot(&mut self, lines: &[ChatMessage], now: i64) {
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
