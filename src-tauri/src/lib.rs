//! Keyfob's desktop shell: a Tauri 2 window over `keyfob-core`. It adapts the core to the
//! webview and to the OS (deep links, browser, clipboard) and holds no OAuth logic itself.

#[cfg(target_os = "linux")]
mod appimage;
mod clipboard;
mod commands;
#[cfg(test)]
mod contract;
mod deep_link;
mod error;
mod events;
mod keeper;
mod local_time;
mod notify;
mod state;
mod store_watch;
mod tray;
mod tray_memory;
mod tray_text;
mod views;
mod window;

use tauri::{Manager, RunEvent, WindowEvent};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::clipboard::ClipboardPolicy;
use crate::state::AppState;

/// The argument of the start at login entry: start in the tray, without the window.
const IN_TRAY: &str = "--in-tray";

/// Builds and runs the app; returns on Quit, or when the window closes while Keyfob is not
/// set to stay in the tray.
pub fn run() {
    let app = tauri::Builder::default()
        // First, so that a second launch (the OS handing over a callback URL) is forwarded to
        // the running instance before anything else starts. With its `deep-link` feature the
        // URL also reaches the deep-link plugin; `deliver` handles each URL once.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            deep_link::bring_to_front(app);
            deep_link::deliver(app, deep_link::callbacks_in_args(&argv));
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::Builder::new().arg(IN_TRAY).build())
        .setup(|app| {
            let keyfob = keyfob_core::Keyfob::from_env()?;
            let watched = vec![
                keyfob.paths().accounts_file(),
                keyfob.paths().providers_file(),
            ];
            let settings = keyfob_core::Settings::load(keyfob.paths()).unwrap_or_else(|e| {
                eprintln!("keyfob: using the default settings: {e}");
                keyfob_core::Settings::default()
            });
            let clipboard = ClipboardPolicy::from_env_or(settings.clipboard_clear_seconds);
            app.manage(notify::Announced::new(
                &keyfob.accounts().unwrap_or_default(),
            ));
            app.manage(AppState::new(keyfob, clipboard));
            window::open_relink_on_click(app.handle());
            tray::create(app.handle())?;
            if !std::env::args().any(|a| a == IN_TRAY) {
                window::open(app.handle());
            }
            store_watch::spawn(app.handle().clone(), watched);
            keeper::start(app.handle());
            register_scheme_in_development(app.handle());
            #[cfg(target_os = "linux")]
            appimage::register_scheme(app.handle());

            let handle = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                let urls = event.urls().iter().map(|u| u.to_string()).collect();
                deep_link::deliver(&handle, urls);
            });
            // Started by the OS with a callback URL (Keyfob was not running).
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                let urls = urls.iter().map(|u| u.to_string()).collect();
                deep_link::deliver(app.handle(), urls);
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if window.label() == window::MAIN && matches!(event, WindowEvent::CloseRequested { .. })
            {
                window::closed(window.app_handle());
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::accounts::list_accounts,
            commands::accounts::copy_token,
            commands::accounts::refresh_account,
            commands::accounts::unlink_account,
            commands::accounts::forget_account,
            commands::providers::list_providers,
            commands::providers::save_provider,
            commands::providers::add_openid_provider,
            commands::providers::add_github_provider,
            commands::providers::add_google_provider,
            commands::providers::remove_provider,
            commands::providers::redirect_registrations,
            commands::links::start_link,
            commands::links::cancel_link,
            commands::code_links::start_code_link,
            commands::code_links::open_code_page,
            commands::code_links::copy_code,
            commands::app::app_status,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::settings::take_relink_request,
        ])
        .build(tauri::generate_context!())
        .expect("Keyfob could not start");
    app.run(|app, event| match event {
        RunEvent::ExitRequested { code, api, .. } => {
            let close_to_tray = app.state::<AppState>().settings().close_to_tray;
            if window::stays_in_tray(close_to_tray, code) {
                api.prevent_exit();
            }
        }
        RunEvent::Exit => keeper::stop(app),
        _ => {}
    });
}

/// Installed builds get the scheme from their package (.desktop `x-scheme-handler`, Windows
/// registry, macOS Info.plist), or register it for the user when started from the AppImage
/// (appimage.rs). A development build registers itself at start-up instead, so the browser's
/// redirect finds it.
fn register_scheme_in_development(app: &tauri::AppHandle) {
    #[cfg(all(debug_assertions, any(target_os = "linux", windows)))]
    if let Err(e) = app.deep_link().register_all() {
        eprintln!("keyfob: cannot register the dev.keyfob.app URL scheme: {e}");
    }
    #[cfg(not(all(debug_assertions, any(target_os = "linux", windows))))]
    let _ = app;
}
