//! Every route a callback URL can arrive by (the OS opening `dev.keyfob.app:...` while Keyfob
//! runs, a second launch's argv forwarded by single-instance, the URL that cold-started the
//! app) ends in [`deliver`], which hands it to the core. The URL never reaches the webview:
//! the UI only hears which link finished and how.
//!
//! Anything arriving here is untrusted input from any local process: the core refuses what
//! it did not start, and a refusal changes nothing.

use tauri::{AppHandle, Manager};

use crate::error::UiError;
use crate::events;
use crate::state::AppState;

/// The private-use scheme Keyfob's redirect URIs use (RFC 8252 section 7.1).
const SCHEME: &str = keyfob_core::APP_ID;

/// Picks callback URLs out of command-line arguments (the first one is the program).
pub fn callbacks_in_args(args: &[String]) -> Vec<String> {
    args.iter()
        .skip(1)
        .filter(|a| is_callback(a))
        .cloned()
        .collect()
}

/// Whether `text` parses as a URL of Keyfob's scheme. Parsed, not string-compared: providers
/// vary slashes and case.
pub fn is_callback(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| u.scheme() == SCHEME)
}

/// Hands callback URLs to the core, each once, and tells the UI how they ended.
pub fn deliver(app: &AppHandle, urls: Vec<String>) {
    for raw in urls {
        // The deep-link plugin re-serializes what argv carries raw, and both routes may
        // deliver the same callback: recognise it by one spelling. The core still gets the
        // URL as it came, so that its own checks (dot segments, say) see what was sent.
        let normalized = match url::Url::parse(&raw) {
            Ok(u) if u.scheme() == SCHEME => u.to_string(),
            _ => continue,
        };
        let state = app.state::<AppState>();
        if !state.first_sight_of_callback(&normalized) {
            continue;
        }
        let url = raw;
        let keyfob = state.keyfob.clone();
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            // Which link is this for? A forged or stale callback matches none: say so, but do
            // not disturb a link the user is still finishing in the browser.
            let link = match keyfob.link_for_callback(&url) {
                Ok(link) => link,
                Err(e) => {
                    let why = keyfob_core::printable(&e.to_string(), false);
                    eprintln!("keyfob: ignored a callback: {why}");
                    events::callback_refused(&app, UiError::from(e));
                    return;
                }
            };
            bring_to_front(&app);
            let result = keyfob.complete_link(&url).await.map_err(UiError::from);
            if let Err(e) = &result {
                let why = keyfob_core::printable(&e.message, false);
                eprintln!("keyfob: link {} failed: {why}", link.id);
            }
            events::link_finished(&app, link.id, result);
        });
    }
}

/// The user was in the browser (or started Keyfob again); bring the window back to show the
/// result, opening it again if it was closed to the tray.
pub fn bring_to_front(app: &AppHandle) {
    crate::window::open(app);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_callbacks_by_parsed_scheme() {
        let args: Vec<String> = [
            "/usr/bin/keyfob-app",
            "--flag",
            "DEV.KEYFOB.APP:/oauth/github?code=x&state=y",
            "https://evil.example/dev.keyfob.app:/oauth",
            "dev.keyfob.app://oauth/google/?code=x",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            callbacks_in_args(&args),
            vec![
                "DEV.KEYFOB.APP:/oauth/github?code=x&state=y".to_string(),
                "dev.keyfob.app://oauth/google/?code=x".to_string()
            ]
        );
        assert!(callbacks_in_args(&args[..1]).is_empty());
    }
}
