//! `#[tauri::command]` adapters: each converts arguments, calls one core method, converts the
//! result. No OAuth logic lives here. Every command must also be listed in `build.rs` and
//! granted in `capabilities/main-window.json`, or the webview cannot call it.

pub mod accounts;
pub mod app;
pub mod links;
pub mod providers;
