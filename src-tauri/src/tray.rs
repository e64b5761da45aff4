//! The tray icon and its menu: every account with its expiry and Copy token (or Re-link),
//! then Open Keyfob and Quit. Rebuilt from the profile whenever the account list changes
//! (`store_watch`); the icon carries a mark while an account needs the user.

use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use time::OffsetDateTime;

use crate::commands::accounts::copy_fresh_token;
use crate::local_time;
use crate::state::AppState;
use crate::tray_text::{self, Entry, TrayAction};
use crate::{notify, window};

const TRAY_ID: &str = "keyfob";
const ICON: &[u8] = include_bytes!("../../icons/64x64.png");

/// Puts Keyfob's icon in the tray.
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(false)?)
        .tooltip("Keyfob")
        .on_menu_event(|app, event| act(app, event.id().as_ref()))
        .build(app)?;
    refresh(app);
    Ok(())
}

/// Rebuilds the menu, tooltip and icon from the account list as stored now.
pub fn refresh(app: &AppHandle) {
    if let Err(e) = try_refresh(app) {
        eprintln!("keyfob: cannot update the tray menu: {e}");
    }
}

fn try_refresh(app: &AppHandle) -> Result<(), Box<dyn std::error::Error>> {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return Ok(());
    };
    let state = app.state::<AppState>();
    let accounts = state.keyfob.accounts()?;
    // A providers file that cannot be read still leaves a usable menu, named by ids.
    let providers = state.keyfob.providers().unwrap_or_default();
    let name = |id: &str| {
        providers
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    };
    let plan = tray_text::plan(
        &accounts,
        name,
        OffsetDateTime::now_utc(),
        local_time::offset(),
    );
    tray.set_menu(Some(menu(app, &plan)?))?;
    tray.set_tooltip(Some(tray_text::tooltip(&accounts)))?;
    tray.set_icon(Some(icon(accounts.iter().any(tray_text::needs_attention))?))?;
    Ok(())
}

fn menu(app: &AppHandle, plan: &[Entry]) -> tauri::Result<Menu<Wry>> {
    let menu = Menu::new(app)?;
    for entry in plan {
        let item: Box<dyn IsMenuItem<Wry>> = match entry {
            Entry::Account { text, actions } => {
                let submenu = Submenu::new(app, text, true)?;
                for (id, label) in actions {
                    submenu.append(&MenuItem::with_id(app, id, label, true, None::<&str>)?)?;
                }
                Box::new(submenu)
            }
            Entry::Note(text) => Box::new(MenuItem::new(app, text, false, None::<&str>)?),
            Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
            Entry::Command(id, text) => {
                Box::new(MenuItem::with_id(app, id, text, true, None::<&str>)?)
            }
        };
        menu.append(item.as_ref())?;
    }
    Ok(menu)
}

fn act(app: &AppHandle, id: &str) {
    match TrayAction::parse(id) {
        Some(TrayAction::Open) => window::open(app),
        Some(TrayAction::Quit) => app.exit(0),
        Some(TrayAction::Relink(account)) => window::open_relink(app, account),
        Some(TrayAction::Copy(account)) => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                // The window's Copy, the same way; with no window to show the outcome, a
                // notification says what happened.
                let state = app.state::<AppState>();
                let outcome = copy_fresh_token(&app, &state, &account).await;
                notify::copied(&app, outcome);
            });
        }
        None => eprintln!("keyfob: unknown tray menu entry {id:?}"),
    }
}

fn icon(attention: bool) -> tauri::Result<Image<'static>> {
    let plain = Image::from_bytes(ICON)?;
    if !attention {
        return Ok(plain.to_owned());
    }
    let (width, height) = (plain.width(), plain.height());
    let mut rgba = plain.rgba().to_vec();
    mark_attention(&mut rgba, width, height);
    Ok(Image::new_owned(rgba, width, height))
}

/// The attention mark: an amber dot over the lower right quarter of the icon.
fn mark_attention(rgba: &mut [u8], width: u32, height: u32) {
    const AMBER: [u8; 4] = [0xf5, 0x9e, 0x0b, 0xff];
    let radius = width.min(height) as f32 / 4.0;
    let (cx, cy) = (width as f32 - radius, height as f32 - radius);
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            if dx * dx + dy * dy <= radius * radius {
                let at = ((y * width + x) * 4) as usize;
                rgba[at..at + 4].copy_from_slice(&AMBER);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attention_icon_differs_only_in_its_lower_right_corner() {
        let plain = icon(false).unwrap();
        let marked = icon(true).unwrap();
        let (w, h) = (plain.width(), plain.height());
        assert_eq!((marked.width(), marked.height()), (w, h));
        let pixel = |img: &Image, x: u32, y: u32| {
            let at = ((y * w + x) * 4) as usize;
            img.rgba()[at..at + 4].to_vec()
        };
        assert_eq!(
            pixel(&marked, w - w / 8, h - h / 8),
            [0xf5, 0x9e, 0x0b, 0xff]
        );
        assert_ne!(plain.rgba(), marked.rgba());
        assert_eq!(pixel(&marked, 2, 2), pixel(&plain, 2, 2));
        assert_eq!(pixel(&marked, w / 2, 2), pixel(&plain, w / 2, 2));
    }
}
