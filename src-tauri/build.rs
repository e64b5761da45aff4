//! Generates the Tauri context and the app's permission manifest.

fn main() {
    // Listing the app's commands here makes Tauri generate one `allow-<command>` permission per
    // command and refuse every command a capability does not grant; without the list every
    // app command would be callable from the webview.
    let commands = &[
        "list_accounts",
        "copy_token",
        "refresh_account",
        "unlink_account",
        "list_providers",
        "save_provider",
        "add_openid_provider",
        "add_github_provider",
        "add_google_provider",
        "remove_provider",
        "redirect_registrations",
        "start_link",
        "cancel_link",
        "app_status",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri-build failed (does ui/dist exist? run `npm run build --prefix ui` first)");
}
