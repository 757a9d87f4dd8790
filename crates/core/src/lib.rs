//! The livecart app's brain: `update(event, &mut model) -> effects` plus view
//! models, with no Dioxus and no I/O. The app issue fills it in; until then it
//! only fixes the crate's place in the workspace and its dependency rule:
//! `livecart-protocol` and nothing heavy.

pub use livecart_protocol as protocol;
