//! The keeper against the real local provider (short token lifetimes) and the real keyring:
//! it refreshes ahead so that token calls wait on no network, shares one refresh per expiry
//! with concurrent callers, rides out an outage, marks a dead grant once, and refreshes the
//! accounts a suspend left overdue one at a time.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::World;
use keyfob_core::internals::SecretKey;
use keyfob_core::{
    AccountStatus, Attention, Backoff, Clock, Keeper, KeeperControl, KeeperEvent, Keyfob,
};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;

const SECOND: Duration = Duration::from_secs(1);

/// A keeper running on its own `Keyfob` (as another process would), and its events.
struct Running {
    control: KeeperControl,
    events: UnboundedReceiver<KeeperEvent>,
    task: JoinHandle<keyfob_core::Result<()>>,
}

impl Running {
    fn start(kf: Keyfob, keeper: Keeper) -> Running {
        let control = keeper.control();
        let (tx, events) = unbounded_channel();
        let task = tokio::spawn(async move {
            kf.keep(keeper, move |e| {
                eprintln!("EVENT {e}");
                let _ = tx.send(e);
            })
            .await
        });
        Running {
            control,
            events,
            task,
        }
    }

    /// The next event other than `Started`, within `wait`.
    async fn next(&mut self, wait: Duration) -> KeeperEvent {
        loop {
            let event = tokio::time::timeout(wait, self.events.recv())
                .await
                .expect("a keeper event in time")
                .expect("the keeper runs");
            if event != KeeperEvent::Started {
                return event;
            }
        }
    }

    /// Stops the keeper, checks that it ended well, and returns the events not read yet
    /// (but `Started`).
    async fn stop(self) -> Vec<KeeperEvent> {
        self.control.stop();
        let ended = tokio::time::timeout(10 * SECOND, self.task).await;
        ended.expect("stops in time").unwrap().expect("no error");
        let mut rest = Vec::new();
        let mut events = self.events;
        while let Ok(e) = events.try_recv() {
            if e != KeeperEvent::Started {
                rest.push(e);
            }
        }
        rest
    }
}

fn refreshed(event: &KeeperEvent) -> &str {
    match event {
        KeeperEvent::Refreshed { account, .. } => account,
        other => panic!("expected a refresh, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keeper_refreshes_ahead_so_token_calls_wait_on_no_network() -> anyhow::Result<()> {
    // 6 s tokens: refreshed at half their life, 3 s before expiry (2 s before the callers
    // below would refresh themselves: room for a slow machine).
    let w = World::start_with(json!({"ttl": {"AccessToken": 6}})).await?;
    let id = w.link("local", "alice").await?.id;
    let mut keeper = Running::start(w.reopen(), Keeper::new());

    // A caller that wants a token valid for 1 s, ten times a second, over three lifetimes:
    // it never has to wait for a refresh, since the keeper always refreshed first.
    let caller = w.reopen();
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < 12 * SECOND {
        let fresh = caller.access_token(&id, SECOND).await?;
        assert!(!fresh.refreshed, "call {calls} waited on a refresh");
        calls += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut refreshes = 0;
    while let Ok(event) = keeper.events.try_recv() {
        if event != KeeperEvent::Started {
            assert_eq!(refreshed(&event), id);
            refreshes += 1;
        }
    }
    let rest = keeper.stop().await;
    let refreshes = refreshes + rest.len() as u64;
    assert!(refreshes >= 3, "about every 3 s: {refreshes}");
    assert_eq!(
        w.idp.stats().await?.token.refresh_token,
        refreshes,
        "every refresh at the provider was the keeper's, over {calls} calls"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keeper_and_concurrent_callers_refresh_once_per_expiry() -> anyhow::Result<()> {
    let w = World::start_with(json!({"ttl": {"AccessToken": 4}})).await?;
    let id = w.link("local", "alice").await?.id;
    // A slow provider: two refreshes of one token would overlap at the provider.
    w.idp
        .delay_token_endpoint(Duration::from_millis(300))
        .await?;
    let keeper = Running::start(w.reopen(), Keeper::new());

    // 20 callers, each its own profile handle (so only the lock file orders them), asking
    // for 2 s of validity: they want a refresh at the very moment the keeper does.
    let caller_refreshes = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let (kf, id, count) = (w.reopen(), id.clone(), caller_refreshes.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                while started.elapsed() < 10 * SECOND {
                    let fresh = kf.access_token(&id, 2 * SECOND).await?;
                    if fresh.refreshed {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    // Each refresh's issue time as the profile records it: a token refreshed twice would
    // show two issue times a provider round trip apart.
    let issued = {
        let kf = w.reopen();
        let id = id.clone();
        tokio::spawn(async move {
            let mut seen: Vec<OffsetDateTime> = Vec::new();
            let started = Instant::now();
            while started.elapsed() < 10 * SECOND {
                let at = kf.account(&id)?.access_issued_at.expect("recorded");
                if seen.last() != Some(&at) {
                    seen.push(at);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            anyhow::Ok(seen)
        })
    };
    for caller in callers {
        caller.await??;
    }
    let issued = issued.await??;
    let events = keeper.stop().await;
    let keeper_refreshes = events
        .iter()
        .filter(|e| matches!(e, KeeperEvent::Refreshed { .. }))
        .count();
    assert!(
        events
            .iter()
            .all(|e| matches!(e, KeeperEvent::Refreshed { .. } | KeeperEvent::Started)),
        "{events:?}"
    );

    let stats = w.idp.stats().await?;
    let refreshes = stats.token.refresh_token as usize;
    assert_eq!(
        refreshes,
        keeper_refreshes + caller_refreshes.load(Ordering::SeqCst),
        "each refresh at the provider was reported by the one that made it"
    );
    // A token lives 4 s and is refreshed once 2 s are left (plus the slow provider): over
    // 10 s that is 4 to 6 refreshes. Callers that each refreshed would make dozens.
    assert!((3..=7).contains(&refreshes), "{refreshes} refreshes");
    // One refresh per expiry: each token lived until 2 s were left (about 2 s after it was
    // asked for), never replaced again right away.
    let lives: Vec<_> = issued.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        lives
            .iter()
            .all(|l| *l >= time::Duration::milliseconds(1500)),
        "{lives:?}"
    );
    assert_eq!(stats.token_in_flight_max, 1, "never two refreshes at once");
    // The provider revokes the grant when a rotated refresh token is reused: still fine.
    assert_eq!(w.kf.account(&id)?.status, AccountStatus::Ok);
    assert!(
        !w.reopen()
            .access_token(&id, Duration::ZERO)
            .await?
            .refreshed
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_keeps_the_tokens_and_the_keeper_recovers_with_backoff() -> anyhow::Result<()> {
    let w = World::start_with(json!({"ttl": {"AccessToken": 6}})).await?;
    let id = w.link("local", "alice").await?.id;
    let keys = [
        SecretKey::AccessToken(id.clone()),
        SecretKey::RefreshToken(id.clone()),
    ];
    let mut before = Vec::new();
    for key in &keys {
        before.push(w.secret(key.clone()).await?);
    }
    w.idp.fail_next("token", "status503", 3).await?;
    let backoff = Backoff {
        first: Duration::from_millis(200),
        cap: Duration::from_millis(500),
    };
    let mut keeper = Running::start(w.reopen(), Keeper::new().with_backoff(backoff));

    let mut retries = Vec::new();
    let mut first_since = None;
    for failure in 1..=3 {
        let event = keeper.next(10 * SECOND).await;
        let KeeperEvent::Failed {
            account,
            reason,
            since,
            retry_at,
        } = event
        else {
            panic!("failure {failure}: {event:?}");
        };
        assert_eq!(account, id);
        assert!(reason.contains("503"), "{reason}");
        assert_eq!(
            *first_since.get_or_insert(since),
            since,
            "failing since the first"
        );
        retries.push(retry_at);
        // The tokens stay as they were; the account shows the failure.
        for (key, old) in keys.iter().zip(&before) {
            assert_eq!(&w.secret(key.clone()).await?, old);
        }
        let marked = w.kf.account(&id)?;
        assert_eq!(marked.status, AccountStatus::Ok);
        assert!(matches!(
            marked.attention,
            Some(Attention::RefreshFailing { since: s, .. }) if s == since
        ));
    }
    // Waits grow: 100-200 ms, 200-400 ms, then capped at 250-500 ms.
    let gaps: Vec<_> = retries.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= time::Duration::milliseconds(150)),
        "{gaps:?}"
    );

    assert_eq!(refreshed(&keeper.next(10 * SECOND).await), id);
    let healed = w.kf.account(&id)?;
    assert_eq!(
        healed.attention, None,
        "a refresh that works clears the mark"
    );
    assert_eq!(w.idp.stats().await?.token.refresh_token, 1);
    keeper.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_grant_is_marked_once_and_never_tried_again() -> anyhow::Result<()> {
    let w = World::start_with(json!({"ttl": {"AccessToken": 4}})).await?;
    let id = w.link("local", "alice").await?.id;
    let refresh = w
        .secret(SecretKey::RefreshToken(id.clone()))
        .await?
        .unwrap();
    w.idp
        .revoke(refresh.expose(), keyfob_testkit::NATIVE_CLIENT_ID, None)
        .await?;

    let mut keeper = Running::start(w.reopen(), Keeper::new());
    match keeper.next(10 * SECOND).await {
        KeeperEvent::NeedsRelink { account, reason } => {
            assert_eq!(account, id);
            assert!(reason.contains("linked again"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        w.kf.account(&id)?.status,
        AccountStatus::NeedsRelink { .. }
    ));
    // Past the token's expiry and more: no second request, no second event.
    tokio::time::sleep(5 * SECOND).await;
    keeper.control.replan();
    tokio::time::sleep(SECOND).await;
    assert_eq!(w.idp.stats().await?.token.refresh_token, 1);
    assert_eq!(keeper.stop().await, []);
    Ok(())
}

/// The system clock, whose timer a test can stall as a suspended machine stalls the
/// monotonic clock: a sleep that ends while suspended ends only after the resume.
#[derive(Debug, Default)]
struct SuspendableClock {
    suspended: AtomicBool,
    resumed: tokio::sync::Notify,
}

impl Clock for SuspendableClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            tokio::time::sleep(duration).await;
            while self.suspended.load(Ordering::SeqCst) {
                let resumed = self.resumed.notified();
                if !self.suspended.load(Ordering::SeqCst) {
                    break;
                }
                resumed.await;
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_suspend_overdue_accounts_are_refreshed_one_at_a_time() -> anyhow::Result<()> {
    // The first tokens live 5 s (due after 2.5 s, well after the three links); refreshed
    // ones an hour, so that each account is refreshed once after the resume.
    let mut w =
        World::start_with(json!({"ttl": {"AccessToken": 5, "RefreshedAccessToken": 3600}})).await?;
    let mut ids = Vec::new();
    for login in ["alice", "bob", "carol"] {
        // A new browser each: the provider's session would sign the last user in again.
        w.browser = keyfob_testkit::Browser::new();
        ids.push(w.link("local", login).await?.id);
    }
    w.idp
        .delay_token_endpoint(Duration::from_millis(300))
        .await?;
    let clock = Arc::new(SuspendableClock::default());
    // The machine sleeps before the first refresh is due, and wakes once all three tokens
    // have expired.
    clock.suspended.store(true, Ordering::SeqCst);
    let mut keeper = Running::start(w.reopen(), Keeper::new().with_clock(clock.clone()));
    tokio::time::sleep(6 * SECOND).await;
    assert_eq!(w.idp.stats().await?.token.refresh_token, 0, "asleep");
    for id in &ids {
        assert!(w.kf.account(id)?.access_expires_at < Some(OffsetDateTime::now_utc()));
    }
    clock.suspended.store(false, Ordering::SeqCst);
    clock.resumed.notify_waiters();

    // Three refreshes at the provider, never two at once.
    let started = Instant::now();
    let stats = loop {
        let stats = w.idp.stats().await?;
        if stats.token.refresh_token >= 3 || started.elapsed() > 10 * SECOND {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(stats.token_in_flight_max, 1, "one at a time, no burst");
    assert_eq!(stats.token.refresh_token, 3);
    let mut order = Vec::new();
    for _ in &ids {
        order.push(refreshed(&keeper.next(10 * SECOND).await).to_string());
    }
    assert_eq!(order, ids, "overdue accounts in the order they fell due");
    let distinct: std::collections::HashSet<_> = order.iter().collect();
    assert_eq!(distinct.len(), 3);
    keeper.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_keeper_waits_and_takes_over_when_the_first_stops() -> anyhow::Result<()> {
    let w = World::start_with(json!({"ttl": {"AccessToken": 4}})).await?;
    let id = w.link("local", "alice").await?.id;
    let first = Running::start(w.reopen(), Keeper::new());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = Running::start(w.reopen(), Keeper::new());
    assert_eq!(second.events.recv().await, Some(KeeperEvent::Waiting));
    // Only the first refreshes meanwhile.
    tokio::time::sleep(3 * SECOND).await;
    assert!(
        second.events.try_recv().is_err(),
        "the second waits silently"
    );
    let first_events = first.stop().await;
    assert_eq!(first_events.len(), 1, "{first_events:?}");
    assert_eq!(refreshed(&first_events[0]), id);
    assert_eq!(
        tokio::time::timeout(5 * SECOND, second.events.recv()).await?,
        Some(KeeperEvent::Started)
    );
    assert_eq!(refreshed(&second.next(10 * SECOND).await), id);
    second.stop().await;
    Ok(())
}
