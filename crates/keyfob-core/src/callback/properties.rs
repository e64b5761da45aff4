//! Property tests: whatever a web page or another local process sends as a callback, the
//! parser never panics, and nothing but the link's own state completes (or even consumes)
//! the link. A refused callback changes nothing: the link stays waiting, no account appears
//! and no keyring item is written.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::*;
use crate::authorize::pending::PendingStatus;
use crate::link::LinkOptions;
use crate::testing::Fixture;

/// Callback-like strings: anything at all, or a URL whose parts are drawn from what real
/// and forged callbacks hold.
fn raw_callback() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..256)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (prefix(), proptest::collection::vec(param(), 0..6)).prop_map(|(prefix, params)| {
            let query: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
            format!("{prefix}?{}", query.join("&"))
        }),
    ]
}

fn prefix() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("dev.keyfob.app:/oauth/stub".to_string()),
        Just("dev.keyfob.app:/oauth/stub/".to_string()),
        Just("dev.keyfob.app:/oauth/other".to_string()),
        Just("dev.keyfob.app:/oauth/stub/../stub".to_string()),
        Just("http://127.0.0.1:1/oauth/stub".to_string()),
        "[a-z.]{1,12}:/[ -~]{0,24}",
    ]
}

fn param() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("code".to_string()),
        Just("state".to_string()),
        Just("iss".to_string()),
        Just("error".to_string()),
        Just("error_description".to_string()),
        "[a-zA-Z_%]{0,8}",
    ];
    (name, "[ -~]{0,64}")
}

/// How a forged state relates to the real one: near misses of it, never it.
#[derive(Debug, Clone)]
enum Forged {
    Truncated(usize),
    Extended(String),
    Flipped(usize),
    Uppercased,
    Padded,
}

fn forged() -> impl Strategy<Value = Forged> {
    prop_oneof![
        (0usize..64).prop_map(Forged::Truncated),
        "[ -~]{1,8}".prop_map(Forged::Extended),
        (0usize..64).prop_map(Forged::Flipped),
        Just(Forged::Uppercased),
        Just(Forged::Padded),
    ]
}

impl Forged {
    /// The forged state, or `None` when the mutation happens to yield the real one (an
    /// uppercased state without letters).
    fn apply(&self, state: &str) -> Option<String> {
        let forged = match self {
            Forged::Truncated(n) => state[..n % state.len()].to_string(),
            Forged::Extended(tail) => format!("{state}{tail}"),
            Forged::Flipped(i) => {
                let mut bytes = state.as_bytes().to_vec();
                let i = i % bytes.len();
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                String::from_utf8(bytes).expect("ASCII state")
            }
            Forged::Uppercased => state.to_uppercase(),
            // No trimming of values: a padded state is another state.
            Forged::Padded => format!(" {state} "),
        };
        (forged != state).then_some(forged)
    }
}

#[test]
fn no_string_makes_the_parser_panic() {
    let mut runner = TestRunner::new(Config::with_cases(2048));
    runner
        .run(&raw_callback(), |raw| {
            let parsed = ParsedCallback::parse(&raw);
            if raw.len() > MAX_CALLBACK_LEN {
                prop_assert!(matches!(parsed, Err(CallbackError::TooLong(_))));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_repeated_callback_parameter_is_refused() {
    let mut runner = TestRunner::new(Config::with_cases(512));
    let strategy = (
        prop_oneof![
            Just("code"),
            Just("state"),
            Just("iss"),
            Just("error"),
            Just("error_description")
        ],
        "[a-zA-Z0-9]{0,16}",
        "[a-zA-Z0-9]{0,16}",
    );
    runner
        .run(&strategy, |(name, a, b)| {
            let raw = format!("dev.keyfob.app:/oauth/stub?{name}={a}&x=1&{name}={b}");
            prop_assert_eq!(
                ParsedCallback::parse(&raw),
                Err(CallbackError::DuplicateParameter(name))
            );
            Ok(())
        })
        .unwrap();
}

/// One waiting link at the stub provider and its real state, read off the authorization URL
/// as the browser would.
async fn waiting_link(f: &Fixture) -> (String, String) {
    let options = LinkOptions {
        scopes: None,
        loopback_redirect: None,
    };
    let start = f.kf.begin_link("stub", options).await.expect("link begun");
    let state = start
        .authorization_url
        .query_pairs()
        .find(|(n, _)| n == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state in the authorization URL");
    (start.link_id, state)
}

/// Everything a callback could change: the links, the accounts and the keyring items.
fn snapshot(f: &Fixture) -> (Vec<PendingLink>, usize, Vec<String>) {
    let links = f.kf.pending_links().expect("links readable");
    let accounts = f.kf.accounts().expect("accounts readable").len();
    (links, accounts, f.items())
}

#[test]
fn no_callback_without_the_links_state_completes_or_consumes_it() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let f = rt.block_on(Fixture::start());
    let (link_id, state) = rt.block_on(waiting_link(&f));
    let before = snapshot(&f);
    let redirect = before.0[0].redirect_uri.to_string();

    // Arbitrary callbacks, and well-formed ones to the right redirect carrying a near miss
    // of the real state. One fixture for every case: each refusal must leave it untouched
    // for the next.
    let strategy = prop_oneof![
        raw_callback().prop_map(|raw| (raw, None)),
        (forged(), "[a-zA-Z0-9]{1,16}").prop_map(|(forged, code)| (code, Some(forged))),
    ];
    let mut runner = TestRunner::new(Config::with_cases(512));
    runner
        .run(&strategy, |(raw, forged)| {
            let raw = match forged {
                None => raw,
                Some(forged) => match forged.apply(&state) {
                    Some(s) => format!("{redirect}?code={raw}&state={}", encode(&s)),
                    None => return Ok(()),
                },
            };
            prop_assert!(f.kf.link_for_callback(&raw).is_err());
            let result = rt.block_on(f.kf.complete_link(&raw));
            prop_assert!(result.is_err(), "accepted {raw:?}");
            prop_assert_eq!(&snapshot(&f), &before);
            Ok(())
        })
        .unwrap();

    // The control: the real state finds the link, so the refusals above were about the
    // state and not about a link that could never be found.
    let real = format!("{redirect}?code=c&state={}", encode(&state));
    let found =
        f.kf.link_for_callback(&real)
            .expect("the real state finds its link");
    assert_eq!(found.id, link_id);
    assert_eq!(found.status, PendingStatus::Waiting);
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
