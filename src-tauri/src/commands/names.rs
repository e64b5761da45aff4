// Included by build.rs as well as compiled into the app, so plain comments only.

/// Every command the window may call, listed once. build.rs makes an `allow-<name>`
/// permission of each (Tauri refuses the others); the contract test (`contract.rs`) checks
/// that lib.rs handles exactly these, that the capability grants exactly these, and that
/// ui/src/api.ts calls nothing else.
pub const COMMANDS: &[&str] = &[
    "list_accounts",
    "copy_token",
    "refresh_account",
    "unlink_account",
    "forget_account",
    "list_providers",
    "save_provider",
    "add_openid_provider",
    "add_github_provider",
    "add_google_provider",
    "remove_provider",
    "redirect_registrations",
    "start_link",
    "cancel_link",
    "start_code_link",
    "open_code_page",
    "copy_code",
    "app_status",
    "get_settings",
    "save_settings",
    "take_relink_request",
];
