//! Keyfob's desktop shell: a Tauri 2 window over `keyfob-core`. It adapts the core to the
//! webview and to the OS (deep links, browser, clipboard) and holds no OAuth logic itself.

mod clipboard;
mod commands;
#[cfg(test)]
mod contract;
mod deep_link;
mod error;
mod events;
mod state;
mod store_watch;
mod views;

use tauri::Manager;
use tauri_plugin_deep_link::DeepLinkExt;

use crate::clipboard::ClipboardPolicy;
use crate::state::AppState;

/// Builds and runs the app; returns when the last window closes.
pub fn run() {
    tauri::Builder::default()
        // First, so that a second launch (the OS handing over a callback URL) is forwarded to
        // the running instance before anything else starts. With its `deep-link` feature the
        // URL also reaches the deep-link plugin; `deliver` handles each URL once.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            deep_link::bring_to_front(app);
            deep_link::deliver(app, deep_link::callbacks_in_args(&argv));
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            let keyfob = keyfob_core::Keyfob::from_env()?;
            let watched = vec![
                keyfob.paths().accounts_file(),
                keyfob.paths().providers_file(),
            ];
            app.manage(AppState::new(keyfob, ClipboardPolicy::from_env()));
            store_watch::spawn(app.handle().clone(), watched);
            register_scheme_in_development(app.handle());

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
        ])
        .run(tauri::generate_context!())
        .expect("Keyfob could not start");
}

/// Installed builds get the scheme from their package (.desktop `x-scheme-handler`, Windows
/// registry, macOS Info.plist). A development build registers itself at start-up instead, so
/// the browser's redirect finds it.
fn register_scheme_in_development(app: &tauri::AppHandle) {
    #[cfg(all(debug_assertions, any(target_os = "linux", windows)))]
    if let Err(e) = app.deep_link().register_all() {
        eprintln!("keyfob: cannot register the dev.keyfob.app URL scheme: {e}");
    }
    #[cfg(not(all(debug_assertions, any(target_os = "linux", windows))))]
    let _ = app;
}
