//! `#[tauri::command]` adapters: each converts arguments, calls one core method, converts the
//! result. No OAuth logic lives here. Every command is named once in `names.rs` (which
//! build.rs turns into permissions) and granted in `capabilities/main-window.json`; the
//! contract test fails until all of them agree.

pub mod accounts;
pub mod app;
pub mod code_links;
pub mod links;
// build.rs includes it for the permissions; the app itself only tests against it.
#[cfg(test)]
pub mod names;
pub mod providers;
pub mod settings;
