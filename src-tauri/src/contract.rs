//! The window's contract, declared once in Rust: the TypeScript types of everything that
//! crosses IPC are generated from the Rust types into ui/src/types.ts, and the command list
//! (`commands::names::COMMANDS`) is checked against the handler, the capability and the
//! window's client. Both tests fail on drift; `KEYFOB_WRITE_TYPES=1 cargo test -p keyfob-app
//! contract` rewrites the generated file.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ts_rs::{Config, TS};

use crate::commands::{accounts, app, code_links, links, names::COMMANDS, providers, settings};
use crate::{error, events, views};

const HEADER: &str = "\
// Generated from the Rust types that cross IPC (src-tauri/src/contract.rs); do not edit.
// Regenerate with `KEYFOB_WRITE_TYPES=1 cargo test -p keyfob-app contract`.
// Metadata only: no token, code, state or callback URL ever crosses into the webview.
";

/// Every type the window sends or receives, in the order the file declares them.
fn declarations() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls = [
        // keyfob-core's, sent as they are.
        keyfob_core::AccountStatus::decl(&cfg),
        keyfob_core::Attention::decl(&cfg),
        keyfob_core::Account::decl(&cfg),
        keyfob_core::Binding::decl(&cfg),
        keyfob_core::ProviderKind::decl(&cfg),
        keyfob_core::ClientAuth::decl(&cfg),
        keyfob_core::RedirectMode::decl(&cfg),
        keyfob_core::Flavor::decl(&cfg),
        keyfob_core::Provider::decl(&cfg),
        keyfob_core::RedirectRegistration::decl(&cfg),
        // The shell's own.
        views::ProviderView::decl(&cfg),
        error::UiErrorKind::decl(&cfg),
        error::UiError::decl(&cfg),
        links::LinkStarted::decl(&cfg),
        code_links::CodeLinkStarted::decl(&cfg),
        events::LinkOutcome::decl(&cfg),
        events::Notice::decl(&cfg),
        events::ClipboardExpired::decl(&cfg),
        accounts::Copied::decl(&cfg),
        accounts::RevocationOutcome::decl(&cfg),
        accounts::Unlinked::decl(&cfg),
        app::AppStatus::decl(&cfg),
        settings::SettingsForm::decl(&cfg),
        providers::SecretInput::decl(&cfg),
        providers::OpenidProviderInput::decl(&cfg),
        providers::GithubProviderInput::decl(&cfg),
        providers::GoogleProviderInput::decl(&cfg),
        providers::RegistrationQuery::decl(&cfg),
    ];
    let mut out = String::from(HEADER);
    for decl in decls {
        out.push('\n');
        out.push_str("export ");
        out.push_str(decl.trim());
        out.push('\n');
    }
    out
}

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn ui_types_are_generated_from_the_rust_types() {
    let generated = declarations();
    if std::env::var_os("KEYFOB_WRITE_TYPES").is_some() {
        std::fs::write(repo_file("ui/src/types.ts"), &generated).expect("write ui/src/types.ts");
        return;
    }
    assert!(
        read("ui/src/types.ts") == generated,
        "ui/src/types.ts is not what the Rust types generate; run \
         `KEYFOB_WRITE_TYPES=1 cargo test -p keyfob-app contract` and commit the result"
    );
}

/// The quoted names that follow each `marker` in `text` (`invoke<T>('name'`, `listen('name'`).
fn quoted_after(text: &str, marker: &str) -> BTreeSet<String> {
    text.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = &text[at + marker.len()..];
            let rest = rest.strip_prefix('<').map_or(Some(rest), |r| {
                // Skip a type argument, which may itself hold angle brackets.
                let mut depth = 1;
                let end = r
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '<' => 1,
                            '>' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .map(|(i, _)| i + 1)?;
                Some(&r[end..])
            })?;
            let rest = rest.strip_prefix("('")?;
            Some(rest[..rest.find('\'')?].to_string())
        })
        .collect()
}

#[test]
fn every_command_is_handled_granted_and_the_only_ones_called() {
    let declared: BTreeSet<String> = COMMANDS.iter().map(|c| c.to_string()).collect();
    assert_eq!(declared.len(), COMMANDS.len(), "a command is listed twice");

    let lib = read("src-tauri/src/lib.rs");
    let list = lib
        .split_once("generate_handler![")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("lib.rs has a generate_handler! list")
        .0;
    let handled: BTreeSet<String> = list
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.rsplit("::").next().unwrap_or(p).to_string())
        .collect();
    assert_eq!(
        handled, declared,
        "lib.rs handles other commands than names.rs lists"
    );

    let capability: serde_json::Value =
        serde_json::from_str(&read("src-tauri/capabilities/main-window.json")).expect("JSON");
    let granted: BTreeSet<String> = capability["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    assert_eq!(
        granted, declared,
        "the capability grants other commands than names.rs lists"
    );

    let api = read("ui/src/api.ts");
    let called = quoted_after(&api, "invoke");
    assert_eq!(
        called, declared,
        "ui/src/api.ts calls other commands than names.rs lists"
    );

    let listened = quoted_after(&api, "listen");
    let emitted: BTreeSet<String> = [
        events::ACCOUNTS_CHANGED,
        events::LINK_FINISHED,
        events::CALLBACK_REFUSED,
        events::CLIPBOARD_EXPIRED,
        events::RELINK_REQUESTED,
    ]
    .map(String::from)
    .into();
    assert_eq!(
        listened, emitted,
        "ui/src/api.ts listens to other events than the shell sends"
    );
}

#[test]
fn the_parsers_of_this_test_see_what_they_should() {
    let text = "invoke<Account[]>('list_accounts'); invoke<Map<A, B>>('x', {}); invoke('y')";
    assert_eq!(
        quoted_after(text, "invoke"),
        ["list_accounts", "x", "y"].map(String::from).into()
    );
}
