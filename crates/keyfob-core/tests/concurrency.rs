//! 50 concurrent `access_token` calls on an expired account, from 5 processes of 10 tasks
//! each, cause exactly one refresh at the provider (which revokes the grant on any reuse of
//! a rotated refresh token, so a second refresh would also break the account).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::World;
use keyfob_core::{Keyfob, Paths};
use serde_json::json;

const PROCESSES: usize = 5;
const TASKS: usize = 10;
const WORKER_HOME: &str = "KEYFOB_TEST_WORKER_HOME";
const WORKER_ACCOUNT: &str = "KEYFOB_TEST_WORKER_ACCOUNT";

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_calls_from_five_processes_refresh_once() -> anyhow::Result<()> {
    // The first token lives 1 s; the refreshed one an hour, so the outcome cannot depend on
    // how fast the burst runs.
    let w =
        World::start_with(json!({"ttl": {"AccessToken": 1, "RefreshedAccessToken": 3600}})).await?;
    let account = w.link("local", "alice").await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(account.access_expires_at.unwrap() < time::OffsetDateTime::now_utc());
    let before = w.idp.stats().await?.token.refresh_token;

    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for _ in 0..PROCESSES {
        children.push(
            tokio::process::Command::new(&exe)
                .args([
                    "worker_process",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WORKER_HOME, w.home.path())
                .env(WORKER_ACCOUNT, &account.id)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?,
        );
    }
    let mut tokens = Vec::new();
    for child in children {
        let out = child.wait_with_output().await?;
        let stdout = String::from_utf8(out.stdout)?;
        assert!(
            out.status.success(),
            "worker failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokens.extend(
            stdout
                .lines()
                .filter_map(|l| l.split_once("TOKEN "))
                .map(|(_, t)| t.to_string()),
        );
    }

    assert_eq!(tokens.len(), PROCESSES * TASKS, "every call answered");
    assert_eq!(
        w.idp.stats().await?.token.refresh_token - before,
        1,
        "exactly one refresh"
    );
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "everyone got the one refreshed token");
    let stored =
        w.kf.access_token(&account.id, Duration::from_secs(60))
            .await?;
    assert!(!stored.refreshed);
    assert_eq!(
        keyfob_core::authorize::pkce::fingerprint(stored.token.expose()),
        tokens[0]
    );
    assert!(w.idp.is_active(stored.token.expose()).await?);
    Ok(())
}

/// Not a test on its own: the body of each worker process spawned above.
#[tokio::test(flavor = "multi_thread")]
async fn worker_process() -> anyhow::Result<()> {
    let (Some(home), Some(account)) = (
        std::env::var_os(WORKER_HOME),
        std::env::var_os(WORKER_ACCOUNT),
    ) else {
        return Ok(());
    };
    let kf = std::sync::Arc::new(Keyfob::open(Paths::under(std::path::Path::new(&home))));
    let account = account.to_string_lossy().into_owned();
    let calls: Vec<_> = (0..TASKS)
        .map(|_| {
            let (kf, account) = (kf.clone(), account.clone());
            tokio::spawn(async move { kf.access_token(&account, Duration::from_secs(60)).await })
        })
        .collect();
    for call in calls {
        let token = call.await??;
        // A digest is enough to compare, and keeps the token itself out of the output.
        println!(
            "TOKEN {}",
            keyfob_core::authorize::pkce::fingerprint(token.token.expose())
        );
    }
    Ok(())
}
