//! Render coalescing: the view model is built and handed to the screen at
//! most once a frame, however many events arrive (a chat flood is 200
//! messages a second; the screen needs 30 pictures).

/// One frame at 30 renders a second.
pub const FRAME_MS: i64 = 33;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameClock {
    last: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// Build and show the view now.
    Now,
    /// Changes are waiting: render at this time (ms), unless already due.
    At(i64),
}

impl FrameClock {
    /// The model changed at `now`: when should the screen see it?
    pub fn changed(&self, now: i64) -> Render {
        match self.last {
            Some(last) if now < last + FRAME_MS => Render::At(last + FRAME_MS),
            _ => Render::Now,
        }
    }

    /// The view was built at `now`.
    pub fn rendered(&mut self, now: i64) {
        self.last = Some(now);
    }
}
