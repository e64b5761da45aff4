//! 50 concurrent `access_token` calls on an expired account, from 5 processes of 10 tasks
//! each, cause exactly one refresh at the provider (which revokes the grant on any reuse of
//! a rotated refresh token, so a second refresh would also break the account).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::World;
use keyfob_core::{Keyfob, Paths};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PROCESSES: usize = 5;
const TASKS: usize = 10;
const WORKER_HOME: &str = "KEYFOB_TEST_WORKER_HOME";
const WORKER_ACCOUNT: &str = "KEYFOB_TEST_WORKER_ACCOUNT";

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_calls_from_five_processes_refresh_once() -> anyhow::Result<()> {
    // A deadlock must fail the run, not hang it.
    tokio::time::timeout(Duration::from_secs(120), burst())
        .await
        .map_err(|_| anyhow::anyhow!("the concurrent refresh did not finish in 120 s"))?
}

async fn burst() -> anyhow::Result<()> {
    // The first token lives 1 s; the refreshed one an hour, so the outcome cannot depend on
    // how fast the burst runs.
    let w =
        World::start_with(json!({"ttl": {"AccessToken": 1, "RefreshedAccessToken": 3600}})).await?;
    let account = w.link("local", "alice").await?;
    let expires = account.access_expires_at.unwrap();
    while time::OffsetDateTime::now_utc() <= expires {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A slow token endpoint: a second refresh started before the first one ended would
    // overlap it, and the server would see two requests at once.
    w.idp
        .delay_token_endpoint(Duration::from_millis(300))
        .await?;
    let before = w.idp.stats().await?.token.refresh_token;

    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for _ in 0..PROCESSES {
        let mut child = tokio::process::Command::new(&exe)
            .args([
                "worker_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WORKER_HOME, w.home.path())
            .env(WORKER_ACCOUNT, &account.id)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        // Start barrier: every worker has its Keyfob open before any of them calls.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        while let Some(line) = lines.next_line().await? {
            if line.contains("READY") {
                break;
            }
        }
        children.push((child, lines));
    }
    for (child, _) in &mut children {
        child.stdin.as_mut().unwrap().write_all(b"go\n").await?;
    }
    let mut tokens = Vec::new();
    for (mut child, mut lines) in children {
        drop(child.stdin.take());
        while let Some(line) = lines.next_line().await? {
            if let Some((_, t)) = line.split_once("TOKEN ") {
                tokens.push(t.to_string());
            }
        }
        let out = child.wait_with_output().await?;
        assert!(
            out.status.success(),
            "worker failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    assert_eq!(tokens.len(), PROCESSES * TASKS, "every call answered");
    let stats = w.idp.stats().await?;
    assert_eq!(stats.token.refresh_token - before, 1, "exactly one refresh");
    assert_eq!(
        stats.token_in_flight_max, 1,
        "never two token requests at once"
    );
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "everyone got the one refreshed token");
    let stored =
        w.kf.access_token(&account.id, Duration::from_secs(60))
            .await?;
    assert!(!stored.refreshed);
    assert_eq!(keyfob_core::fingerprint(stored.token.expose()), tokens[0]);
    assert!(w.idp.is_active(stored.token.expose()).await?);
    Ok(())
}

/// Not a test on its own but the body of each worker process spawned above: ignored, so
/// the pass count stays honest, and run there with `--ignored`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "the body of the worker processes"]
async fn worker_process() -> anyhow::Result<()> {
    let (Some(home), Some(account)) = (
        std::env::var_os(WORKER_HOME),
        std::env::var_os(WORKER_ACCOUNT),
    ) else {
        return Ok(());
    };
    let kf = std::sync::Arc::new(Keyfob::open(Paths::under(std::path::Path::new(&home))));
    let account = account.to_string_lossy().into_owned();
    println!("READY");
    // Wait for the parent's "go", which it sends once every worker is ready.
    tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await??;
    let calls: Vec<_> = (0..TASKS)
        .map(|_| {
            let (kf, account) = (kf.clone(), account.clone());
            tokio::spawn(async move { kf.access_token(&account, Duration::from_secs(60)).await })
        })
        .collect();
    for call in calls {
        let token = call.await??;
        // A digest is enough to compare, and keeps the token itself out of the output.
        println!("TOKEN {}", keyfob_core::fingerprint(token.token.expose()));
    }
    Ok(())
}
