//! Keyboard shortcuts: the keys that stand for the busiest clicks (save, run, stop, find a run).

use egui::{Key, KeyboardShortcut, Modifiers};

use super::{Msg, Screen};

/// Ctrl+S (⌘S on a Mac): save the open scenario.
pub const SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
/// Ctrl+Enter: run the open scenario.
pub const RUN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter);
/// Ctrl+F: the run list's filter.
pub const FIND: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::F);

/// The messages this frame's shortcuts stand for, taken out of the input before any widget sees
/// them (Ctrl+Enter must not also break a line in the TOML editor). Esc stops a run only while
/// one runs: otherwise it is left to text fields and dialogs.
pub fn shortcuts(ctx: &egui::Context, running: bool) -> Vec<Msg> {
    ctx.input_mut(|i| {
        let mut msgs = Vec::new();
        if i.consume_shortcut(&SAVE) {
            msgs.push(Msg::Save);
        }
        if i.consume_shortcut(&RUN) && !running {
            msgs.push(Msg::Run);
        }
        if i.consume_shortcut(&FIND) {
            msgs.push(Msg::Goto(Screen::Runs));
            msgs.push(Msg::FindRuns);
        }
        if running && i.consume_key(Modifiers::NONE, Key::Escape) {
            msgs.push(Msg::Stop);
        }
        msgs
    })
}
