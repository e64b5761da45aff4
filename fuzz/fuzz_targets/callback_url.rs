//! Any string as a callback URL: parsing and validating it against a waiting link never
//! panics, and never yields a code unless the URL is the link's redirect carrying one.
#![no_main]

use keyfob_core::internals::ParsedCallback;
use keyfob_core::{PendingLink, PendingStatus};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = ParsedCallback::parse(raw) else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let link = PendingLink {
        id: "link".into(),
        provider: "fuzz".into(),
        issuer: "https://issuer.example".into(),
        iss_required: true,
        redirect_uri: Url::parse("dev.keyfob.app:/oauth/fuzz").unwrap(),
        scopes: vec![],
        state_fingerprint: String::new(),
        created_at: now,
        expires_at: now + time::Duration::minutes(10),
        status: PendingStatus::Waiting,
    };
    if parsed.validate(&link, now).is_ok() {
        // Only the link's own redirect, with the issuer it requires, gets this far.
        assert_eq!(parsed.iss.as_deref(), Some("https://issuer.example"));
        assert!(raw.trim().starts_with("dev.keyfob.app:/oauth/fuzz"));
    }
});
