//! Generates the Tauri context and the app's permission manifest.

include!("src/commands/names.rs");

fn main() {
    println!("cargo:rerun-if-changed=src/commands/names.rs");
    // Listing the app's commands makes Tauri generate one `allow-<command>` permission per
    // command and refuse every command a capability does not grant; without the list every
    // app command would be callable from the webview.
    let commands = COMMANDS;
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri-build failed (does ui/dist exist? run `npm run build --prefix ui` first)");
}
