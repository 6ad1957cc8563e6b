//! Light or dark, following the system unless chosen, and the few colours that carry meaning
//! (error, warning, pass, fail) picked to read on either background.

use egui::{Color32, ThemePreference};

/// Text saying something is wrong (problems, failed imports).
pub fn error(ui: &egui::Ui) -> Color32 {
    ui.visuals().error_fg_color
}

/// Text asking for attention (import notes, a file to be replaced).
pub fn warn(ui: &egui::Ui) -> Color32 {
    ui.visuals().warn_fg_color
}

/// A verdict that holds: pass, improved.
pub fn good(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(60, 170, 90)
    } else {
        Color32::from_rgb(20, 120, 50)
    }
}

/// A verdict that does not: FAIL, regressed.
pub fn bad(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(220, 70, 70)
    } else {
        Color32::from_rgb(180, 30, 30)
    }
}

/// The theme chooser for the right end of the top bar (laid out right to left: the box, then
/// its label before it): System (the default), Light, Dark; egui keeps the choice with the
/// window's memory, so it survives a restart.
pub fn chooser(ui: &mut egui::Ui) {
    let ctx = ui.ctx().clone();
    let mut pref = ctx.options(|o| o.theme_preference);
    let combo = egui::ComboBox::from_id_salt("theme")
        .selected_text(match pref {
            ThemePreference::System => "System",
            ThemePreference::Light => "Light",
            ThemePreference::Dark => "Dark",
        })
        .width(70.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut pref, ThemePreference::System, "System");
            ui.selectable_value(&mut pref, ThemePreference::Light, "Light");
            ui.selectable_value(&mut pref, ThemePreference::Dark, "Dark");
        })
        .response;
    let label = ui.label("Theme");
    combo.labelled_by(label.id);
    if pref != ctx.options(|o| o.theme_preference) {
        ctx.set_theme(pref);
    }
}
