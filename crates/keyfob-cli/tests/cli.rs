//! The `keyfob` binary against the real local provider and the real Secret Service.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use keyfob_testkit::{Browser, Consent, Idp};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const KEYFOB: &str = env!("CARGO_BIN_EXE_keyfob");

struct World {
    idp: Idp,
    home: tempfile::TempDir,
}

impl World {
    async fn start(config: Value) -> Result<World> {
        let w = World {
            idp: Idp::start_with(config).await?,
            home: tempfile::tempdir()?,
        };
        let out = w
            .run(&[
                "provider",
                "add",
                "local",
                "--issuer",
                w.idp.issuer(),
                "--client-id",
                keyfob_testkit::NATIVE_CLIENT_ID,
                "--scopes",
                "openid email profile offline_access",
                "--param",
                "prompt=consent",
                "--name",
                "Local IdP",
            ])
            .await?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(w)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(KEYFOB);
        c.args(args)
            .env("KEYFOB_HOME", self.home.path())
            .env_remove("BROWSER")
            .kill_on_drop(true);
        c
    }

    async fn run(&self, args: &[&str]) -> Result<Output> {
        Ok(self.command(args).stdin(Stdio::null()).output().await?)
    }

    /// Links `login`'s account and returns its id, failing with keyfob's messages otherwise.
    async fn linked(&self, login: &str) -> Result<String> {
        let out = self.link(login, Consent::Approve).await?;
        anyhow::ensure!(out.status.success(), "{}", text(&out.stderr));
        Ok(text(&out.stdout).trim().to_string())
    }

    /// `keyfob link --no-browser`, with the scripted browser signing in as `login`.
    async fn link(&self, login: &str, consent: Consent) -> Result<Output> {
        let mut child = self
            .command(&["link", "local", "--no-browser"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = String::new();
        let url = loop {
            let line = stderr
                .next_line()
                .await?
                .with_context(|| format!("no URL in: {seen}"))?;
            seen.push_str(&line);
            if let Some(url) = line.trim().strip_prefix("http") {
                break format!("http{url}");
            }
        };
        let redirect = Browser::new().authorize(&url, login, consent).await?;
        let (status, page) = Browser::new().deliver(&redirect).await?;
        let mut rest = String::new();
        while let Some(line) = stderr.next_line().await? {
            rest.push_str(&line);
            rest.push('\n');
        }
        let mut out = child.wait_with_output().await?;
        out.stderr = format!("{seen}\n{rest}\nPAGE {status}: {page}").into_bytes();
        Ok(out)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn link_list_token_header_env_and_unlink() -> Result<()> {
    let w = World::start(json!({})).await?;
    let out = w.link("alice", Consent::Approve).await?;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("PAGE 200") && stderr.contains("alice@example.test is linked"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Linked alice@example.test at Local IdP"),
        "{stderr}"
    );
    let id = text(&out.stdout).trim().to_string();
    assert!(id.starts_with("local-"), "stdout is the account id: {id}");

    let list = w.run(&["list", "--json"]).await?;
    let accounts: Value = serde_json::from_slice(&list.stdout)?;
    assert_eq!(accounts[0]["id"], id.as_str());
    assert_eq!(accounts[0]["display_name"], "alice@example.test");
    let table = text(&w.run(&["list"]).await?.stdout);
    assert!(
        table.starts_with("ID")
            && table.contains("alice@example.test")
            && table.contains("in 59 min"),
        "{table}"
    );

    // Data on stdout only, ending in a newline; the provider accepts the token.
    let before = w.idp.stats().await?.token.total();
    let token = w.run(&["token", "alice@example.test"]).await?;
    assert!(
        token.status.success() && token.stderr.is_empty(),
        "{}",
        text(&token.stderr)
    );
    let token = text(&token.stdout);
    assert!(token.ends_with('\n') && token.trim().lines().count() == 1);
    let token = token.trim().to_string();
    assert!(w.idp.is_active(&token).await?);
    assert_eq!(
        w.idp.stats().await?.token.total(),
        before,
        "a cached token needs no network"
    );

    let header = text(&w.run(&["header", "local"]).await?.stdout);
    assert_eq!(header, format!("Authorization: Bearer {token}\n"));
    let env = text(&w.run(&["env", "local:alice"]).await?.stdout);
    assert_eq!(env, format!("export LOCAL_TOKEN='{token}'\n"));
    let env = text(&w.run(&["env", &id, "--name", "API_TOKEN"]).await?.stdout);
    assert!(env.starts_with("export API_TOKEN='"));

    // --min-valid beyond the token's life forces a refresh.
    let fresh = w.run(&["token", &id, "--min-valid", "2h"]).await?;
    assert!(fresh.status.success(), "{}", text(&fresh.stderr));
    assert_ne!(text(&fresh.stdout).trim(), token);
    assert_eq!(w.idp.stats().await?.token.refresh_token, 1);

    let unlink = w.run(&["unlink", &id]).await?;
    assert!(unlink.status.success());
    assert!(
        text(&unlink.stderr).contains("revoked its tokens"),
        "{}",
        text(&unlink.stderr)
    );
    // The refresh token, then the access token.
    assert_eq!(w.idp.stats().await?.revocation, 2);
    let empty: Value = serde_json::from_slice(&w.run(&["list", "--json"]).await?.stdout)?;
    assert_eq!(empty, json!([]));
    Ok(())
}

/// A provider that cannot revoke right now: the account stays, marked, and the user is told
/// how to retry or to forget it; `--forget` forgets it without asking the provider.
#[tokio::test(flavor = "multi_thread")]
async fn an_unlink_the_provider_cannot_confirm_is_kept_for_a_retry_or_forgotten() -> Result<()> {
    let w = World::start(json!({})).await?;
    let id = w.linked("alice").await?;

    w.idp.fail_next("revocation", "status503", 2).await?;
    let unlink = w.run(&["unlink", &id]).await?;
    let stderr = text(&unlink.stderr);
    assert_eq!(unlink.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("503")
            && stderr.contains(&format!("`keyfob unlink {id}` to try again"))
            && stderr.contains(&format!("`keyfob unlink --forget {id}`")),
        "{stderr}"
    );
    let list = w.run(&["list"]).await?;
    assert!(
        text(&list.stdout).contains("unlink pending"),
        "{}",
        text(&list.stdout)
    );
    assert!(
        text(&list.stderr).contains(&format!("`keyfob unlink --forget {id}`")),
        "{}",
        text(&list.stderr)
    );
    let json: Value = serde_json::from_slice(&w.run(&["list", "--json"]).await?.stdout)?;
    assert_eq!(json[0]["attention"]["kind"], "revocation_pending");

    let revocations = w.idp.stats().await?.revocation;
    let forget = w.run(&["unlink", "--forget", &id]).await?;
    assert!(forget.status.success(), "{}", text(&forget.stderr));
    assert!(
        text(&forget.stderr).contains("without revoking"),
        "{}",
        text(&forget.stderr)
    );
    assert_eq!(
        w.idp.stats().await?.revocation,
        revocations,
        "nothing asked"
    );
    let empty: Value = serde_json::from_slice(&w.run(&["list", "--json"]).await?.stdout)?;
    assert_eq!(empty, json!([]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn link_opens_the_browser_named_by_the_browser_variable() -> Result<()> {
    let w = World::start(json!({})).await?;
    // $BROWSER is a script that writes down its arguments, one a line, then runs this test
    // binary as the browser.
    let script = w.home.path().join("browser.sh");
    let log = w.home.path().join("browser.log");
    let argv = w.home.path().join("browser.argv");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >'{}'\nKEYFOB_TEST_BROWSER_URL=\"$1\" exec '{}' browser_process --exact --ignored --nocapture >'{}' 2>&1\n",
            argv.display(),
            std::env::current_exe()?.display(),
            log.display()
        ),
    )?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;

    let out = tokio::time::timeout(
        Duration::from_secs(60),
        w.command(&["link", "local"])
            .env("BROWSER", &script)
            .stdin(Stdio::null())
            .output(),
    )
    .await??;
    // keyfob exits once it has answered the browser, which may not have written down what
    // it saw yet: give it a moment.
    let mut seen = String::new();
    for _ in 0..100 {
        seen = std::fs::read_to_string(&log).unwrap_or_default();
        if seen.contains("PAGE ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        out.status.success(),
        "{}\nbrowser: {seen}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("http://"),
        "the URL is not printed when the browser opened"
    );
    assert!(seen.contains("PAGE 200"), "{seen}");
    // The browser's command line is world-readable (/proc/PID/cmdline): it holds the one-time
    // start address alone, nothing of the authorization request.
    let argv = std::fs::read_to_string(&argv)?;
    let args: Vec<&str> = argv.lines().collect();
    assert_eq!(args.len(), 1, "{argv}");
    let address = url::Url::parse(args[0])?;
    assert!(keyfob_testkit::is_start_address(&address), "{argv}");
    // The provider by its host and port (a trailing '/' keeps port 4242 from matching 42424).
    let provider = format!("{}/", w.idp.issuer().trim_end_matches('/'));
    for secret in ["state", "nonce", "code_challenge", "client_id", &provider] {
        assert!(
            !argv.contains(secret),
            "{secret} in the browser's argv: {argv}"
        );
    }
    assert_eq!(
        w.run(&["list", "--json"])
            .await
            .map(|o| serde_json::from_slice::<Value>(&o.stdout))??[0]["subject"],
        "browser-user"
    );
    Ok(())
}

/// Not a test on its own but the "system browser" of the test above: ignored, so the pass
/// count stays honest, and run there with `--ignored`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "the system browser of link_opens_the_browser_named_by_the_browser_variable"]
async fn browser_process() -> Result<()> {
    let Ok(url) = std::env::var("KEYFOB_TEST_BROWSER_URL") else {
        return Ok(());
    };
    let browser = Browser::new();
    let redirect = browser
        .authorize(&url, "browser-user", Consent::Approve)
        .await?;
    let (status, _) = browser.deliver(&redirect).await?;
    println!("PAGE {status}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_are_distinct_and_messages_go_to_stderr() -> Result<()> {
    let w = World::start(json!({})).await?;
    let code = |o: &Output| o.status.code().unwrap();

    // 2: usage.
    let o = w.run(&["token", "x", "--min-valid", "soon"]).await?;
    assert_eq!(code(&o), 2);

    // 3: not found, listing candidates.
    let o = w.run(&["token", "nobody"]).await?;
    assert_eq!(code(&o), 3);
    assert!(text(&o.stderr).contains("no account is linked yet") && o.stdout.is_empty());
    assert!(w.link("alice", Consent::Approve).await?.status.success());
    assert!(w.link("bob", Consent::Approve).await?.status.success());
    let o = w.run(&["env", "local:alice", "--name", "1BAD"]).await?;
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty(), "no token printed on a usage error");
    let o = w.run(&["token", "local"]).await?;
    assert_eq!(code(&o), 3);
    assert!(
        text(&o.stderr).contains("matches 2 accounts"),
        "{}",
        text(&o.stderr)
    );
    let o = w.run(&["token", "carol@example.test"]).await?;
    assert_eq!(code(&o), 3);
    assert!(text(&o.stderr).contains("local:alice") && text(&o.stderr).contains("local:bob"));
    let o = w.run(&["link", "nowhere", "--no-browser"]).await?;
    assert_eq!(code(&o), 3);

    // 5: provider errors, with the stored token untouched.
    w.idp.fail_next("token", "status503", 1).await?;
    let o = w
        .run(&["token", "local:alice", "--min-valid", "2h"])
        .await?;
    assert_eq!(code(&o), 5, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("HTTP 503"));

    // 4: the grant is gone.
    let bob = w.run(&["token", "local:bob"]).await?;
    let accounts: Value = serde_json::from_slice(&w.run(&["list", "--json"]).await?.stdout)?;
    let bob_id = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["subject"] == "bob")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(bob.status.success());
    revoke_grant(&w, &bob_id).await?;
    let o = w.run(&["token", "local:bob", "--min-valid", "2h"]).await?;
    assert_eq!(code(&o), 4, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("linked again"));
    let table = text(&w.run(&["list"]).await?.stdout);
    assert!(table.contains("needs re-link"), "{table}");

    // 7: the user said no.
    let o = w.link("carol", Consent::Deny).await?;
    assert_eq!(code(&o), 7, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("access_denied"));

    // 6: no keyring.
    let o = w
        .command(&["token", "local:alice"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .output()
        .await?;
    assert_eq!(code(&o), 6, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("keyring is not available"));

    // An empty profile needs no keyring to be purged.
    let empty = tempfile::tempdir()?;
    let o = Command::new(KEYFOB)
        .args(["purge", "--yes"])
        .env("KEYFOB_HOME", empty.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .output()
        .await?;
    assert!(o.status.success(), "{}", text(&o.stderr));
    Ok(())
}

/// Revokes an account's refresh token at the provider, as a user would in its settings.
async fn revoke_grant(w: &World, account_id: &str) -> Result<()> {
    let paths = keyfob_core::Paths::under(w.home.path());
    let store = keyfob_core::internals::SecretStore::new(paths.keyring_service);
    let refresh = store
        .get(keyfob_core::internals::SecretKey::RefreshToken(
            account_id.to_string(),
        ))
        .await?
        .context("refresh token")?;
    w.idp
        .revoke(refresh.expose(), keyfob_testkit::NATIVE_CLIENT_ID, None)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keeper_the_app_and_cli_processes_refresh_once_together() -> Result<()> {
    // A deadlock must fail the run, not hang it.
    tokio::time::timeout(Duration::from_secs(120), refresh_together())
        .await
        .context("the concurrent refresh did not finish in 120 s")?
}

async fn refresh_together() -> Result<()> {
    let w = World::start(json!({"ttl": {"AccessToken": 1, "RefreshedAccessToken": 3600}})).await?;
    assert!(w.link("alice", Consent::Approve).await?.status.success());
    // The desktop app's side: the same engine, in this process, on the same profile.
    let app = std::sync::Arc::new(keyfob_core::Keyfob::open(keyfob_core::Paths::under(
        w.home.path(),
    )));
    let account = app.accounts()?.remove(0);
    let expires = account.access_expires_at.context("1 s tokens")?;
    while time::OffsetDateTime::now_utc() <= expires {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A slow provider, so that a second refresh would overlap the first, and the keeper
    // below starts while the refresh is in flight.
    w.idp
        .delay_token_endpoint(Duration::from_millis(2000))
        .await?;
    let before = w.idp.stats().await?.token.refresh_token;
    // 20 processes, each with its own runtime, keyring connection and file lock, and 10
    // "Copy token" calls of the app, all at once.
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let mut command = w.command(&["token", "local"]);
            tokio::spawn(async move { command.stdin(Stdio::null()).output().await })
        })
        .collect();
    let copies: Vec<_> = (0..10)
        .map(|_| {
            let (app, id) = (app.clone(), account.id.clone());
            tokio::spawn(async move { app.access_token(&id, Duration::from_secs(60)).await })
        })
        .collect();
    // The keeper (`keyfob keep`, as on a machine without the app) starts while that refresh
    // is in flight and finds the token expired: its turn comes after the refresh, which it
    // must not repeat.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut keep = w
        .command(&["keep"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut keep_log = BufReader::new(keep.stderr.take().unwrap()).lines();
    let mut log = String::new();
    keep_line(
        &mut keep_log,
        "keeping this profile's accounts fresh",
        &mut log,
    )
    .await?;
    assert!(
        copies.iter().any(|c| !c.is_finished()),
        "the keeper started while the refresh was still in flight"
    );
    let mut tokens = Vec::new();
    for run in runs {
        let out = run.await??;
        assert!(out.status.success(), "{}", text(&out.stderr));
        tokens.push(text(&out.stdout).trim().to_string());
    }
    for copy in copies {
        tokens.push(copy.await??.token.expose().to_string());
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "one token for everyone");
    // The keeper takes its turn once the refresh is stored (finding it done), and stops
    // cleanly.
    tokio::time::sleep(Duration::from_secs(1)).await;
    signal(&keep, "-TERM").await?;
    keep_line(&mut keep_log, "stopped", &mut log).await?;
    assert!(keep.wait().await?.success(), "{log}");
    assert!(!log.contains(&tokens[0]), "no token in the keeper's log");
    let stats = w.idp.stats().await?;
    assert_eq!(
        stats.token.refresh_token - before,
        1,
        "exactly one refresh among the keeper, the app and 20 processes\n{log}"
    );
    assert_eq!(
        stats.token_in_flight_max, 1,
        "never two token requests at once"
    );
    Ok(())
}

/// An account's tokens go only where it was linked: a provider changed on disk is refused
/// before anything is sent, and one added back with another client id is refused too.
#[tokio::test(flavor = "multi_thread")]
async fn a_provider_that_no_longer_matches_its_accounts_is_refused() -> Result<()> {
    let w = World::start(json!({})).await?;
    let id = w.linked("alice").await?;
    let providers = w.home.path().join("config/providers.toml");
    let original = std::fs::read_to_string(&providers)?;
    // (The revocation endpoint starts with the token endpoint's URL: the whole line is edited.)
    let line = format!("token_endpoint = \"{}\"", w.idp.token_endpoint());
    assert!(original.contains(&line), "{original}");

    // The token endpoint edited by hand (to a port where nothing listens).
    std::fs::write(
        &providers,
        original.replace(&line, "token_endpoint = \"http://127.0.0.1:9/token\""),
    )?;
    let before = w.idp.stats().await?.token.total();
    let o = w.run(&["token", &id, "--min-valid", "2h"]).await?;
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "provider 'local' no longer matches what account {id} was linked with (the token \
             endpoint), so nothing was sent to it; re-link the account (or unlink it)"
        )),
        "{stderr}"
    );
    assert!(o.stdout.is_empty());
    assert_eq!(w.idp.stats().await?.token.total(), before);

    // The provider removed by hand and added back with another client id.
    std::fs::write(&providers, "")?;
    let o = w
        .run(&[
            "provider",
            "add",
            "local",
            "--issuer",
            w.idp.issuer(),
            "--client-id",
            "another-client",
        ])
        .await?;
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "provider 'local' cannot change the client id while 1 account(s) are linked \
             through it"
        ) && stderr.contains("Unlink those accounts first"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&providers)?, "");

    // Put back as it was linked, the account refreshes again.
    std::fs::write(&providers, &original)?;
    let o = w.run(&["token", &id, "--min-valid", "2h"]).await?;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(w.idp.stats().await?.token.refresh_token, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn providers_and_completions() -> Result<()> {
    let w = World::start(json!({})).await?;
    let list: Value = serde_json::from_slice(&w.run(&["providers", "--json"]).await?.stdout)?;
    assert_eq!(list[0]["id"], "local");
    assert_eq!(list[0]["issuer"], w.idp.issuer());
    let table = text(&w.run(&["providers"]).await?.stdout);
    assert!(table.contains("Local IdP") && table.contains("openid"));
    let dup = w
        .run(&[
            "provider",
            "add",
            "local",
            "--issuer",
            w.idp.issuer(),
            "--client-id",
            "x",
        ])
        .await?;
    assert_eq!(dup.status.code(), Some(2));
    let bad = w
        .run(&[
            "provider",
            "add",
            "bad",
            "--issuer",
            &format!("{}/", w.idp.issuer()),
            "--client-id",
            "x",
        ])
        .await?;
    assert_eq!(bad.status.code(), Some(5), "{}", text(&bad.stderr));
    assert!(text(&bad.stderr).contains("RFC 8414"));
    let completions = w.run(&["completions", "bash"]).await?;
    assert!(completions.status.success() && text(&completions.stdout).contains("keyfob"));
    // purge asks for --yes and removes nothing without it.
    let o = w.run(&["purge"]).await?;
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--yes"));
    assert_eq!(
        serde_json::from_slice::<Value>(&w.run(&["providers", "--json"]).await?.stdout)?[0]["id"],
        "local"
    );
    // A public client has no use for a client secret.
    let o = w.run(&["provider", "secret", "local"]).await?;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("public client"),
        "{}",
        text(&o.stderr)
    );
    // A damaged account list does not stand in the way of a clean slate.
    let accounts_file = w.home.path().join("data/accounts.json");
    std::fs::create_dir_all(accounts_file.parent().unwrap())?;
    std::fs::write(&accounts_file, "not json")?;
    let o = w.run(&["purge"]).await?;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("the accounts (their file cannot be read)"),
        "{}",
        text(&o.stderr)
    );
    let o = w.run(&["purge", "--yes"]).await?;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("is damaged"),
        "{}",
        text(&o.stderr)
    );
    assert!(!accounts_file.exists());
    assert_eq!(
        serde_json::from_slice::<Value>(&w.run(&["providers", "--json"]).await?.stdout)?,
        json!([])
    );
    assert!(!w.home.path().join("config").exists());

    let version = w.run(&["--version"]).await?;
    assert!(text(&version.stdout).starts_with("keyfob "));
    assert!(Path::new(KEYFOB).exists());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn list_reads_no_secret_and_purge_no_revoke_stays_local() -> Result<()> {
    let w = World::start(json!({})).await?;
    let id = w.linked("alice").await?;

    // "keyfob list reads no secret": it works with no session bus, so no keyring at all.
    let no_bus = |args: &[&str]| {
        let mut c = w.command(args);
        c.env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keyfob-test-bus",
        )
        .stdin(Stdio::null());
        c
    };
    let list = no_bus(&["list"]).output().await?;
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert!(text(&list.stdout).contains("alice@example.test"));
    // The same machine without a keyring cannot hand out the token: that does read one.
    let token = no_bus(&["token", "local"]).output().await?;
    assert_eq!(token.status.code(), Some(6), "{}", text(&token.stderr));

    // purge --no-revoke: nothing is asked of the provider, everything here is gone.
    let access = text(&w.run(&["token", "local"]).await?.stdout)
        .trim()
        .to_string();
    let store = keyfob_core::internals::SecretStore::new(
        keyfob_core::Paths::under(w.home.path()).keyring_service,
    );
    let refresh_key = keyfob_core::internals::SecretKey::RefreshToken(id.clone());
    assert!(store.get(refresh_key.clone()).await?.is_some());
    let purge = w.run(&["purge", "--no-revoke", "--yes"]).await?;
    assert!(purge.status.success(), "{}", text(&purge.stderr));
    assert_eq!(w.idp.stats().await?.revocation, 0, "no revocation request");
    assert!(
        w.idp.is_active(&access).await?,
        "still valid at the provider"
    );
    assert!(
        store.get(refresh_key).await?.is_none(),
        "gone from the keyring"
    );
    let list = w.run(&["list", "--json"]).await?;
    assert_eq!(serde_json::from_slice::<Value>(&list.stdout)?, json!([]));
    let providers = w.run(&["providers", "--json"]).await?;
    assert_eq!(
        serde_json::from_slice::<Value>(&providers.stdout)?,
        json!([])
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_other_causes_behind_each_exit_code() -> Result<()> {
    let w = World::start(json!({})).await?;
    let code = |o: &Output| o.status.code().unwrap();

    // 4 without a dead grant: no refresh token (no offline_access), and more validity asked
    // for than the token has.
    let mut child = w
        .command(&["link", "local", "--no-browser", "--scopes", "openid email"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = stderr.next_line().await?.context("no sign-in URL")?;
        if let Some(rest) = line.trim().strip_prefix("http") {
            break format!("http{rest}");
        }
    };
    let browser = Browser::new();
    let callback = browser.authorize(&url, "alice", Consent::Approve).await?;
    assert_eq!(browser.deliver(&callback).await?.0, 200);
    assert!(child.wait().await?.success());
    let o = w.run(&["token", "local", "--min-valid", "2h"]).await?;
    assert_eq!(code(&o), 4, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("cannot be refreshed"));

    // 5 for an answer that is not OAuth at all.
    assert!(w.link("bob", Consent::Approve).await?.status.success());
    w.idp.fail_next("token", "garbage200", 1).await?;
    let o = w.run(&["token", "local:bob", "--min-valid", "2h"]).await?;
    assert_eq!(code(&o), 5, "{}", text(&o.stderr));

    // 7 when nobody signs in in time, and on Ctrl-C; neither leaves a link waiting.
    let o = w
        .run(&["link", "local", "--no-browser", "--timeout", "2s"])
        .await?;
    assert_eq!(code(&o), 7, "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("not completed in time"),
        "{}",
        text(&o.stderr)
    );
    let o = w.run(&["link", "local", "--timeout", "11m"]).await?;
    assert_eq!(code(&o), 2, "at most ten minutes: {}", text(&o.stderr));
    let mut child = w
        .command(&["link", "local", "--no-browser"])
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(line) = stderr.next_line().await? {
        if line.contains("Ctrl-C cancels") {
            break;
        }
    }
    signal(&child, "-INT").await?;
    let mut rest = String::new();
    while let Some(line) = stderr.next_line().await? {
        rest.push_str(&line);
    }
    assert_eq!(child.wait().await?.code(), Some(7), "{rest}");
    assert!(rest.contains("cancelled"), "{rest}");
    let pending = std::fs::read_to_string(w.home.path().join("data/pending.json"))?;
    assert!(!pending.contains("\"waiting\""), "{pending}");

    // 1 for a client secret missing from the keyring, found before anyone signs in.
    let added = w
        .command(&[
            "provider",
            "add",
            "secret",
            "--issuer",
            w.idp.issuer(),
            "--client-id",
            "keyfob-confidential",
            "--client-secret-stdin",
        ])
        .stdin(Stdio::piped())
        .spawn()?;
    let mut added = added;
    tokio::io::AsyncWriteExt::write_all(
        added.stdin.as_mut().unwrap(),
        b"confidential-secret-value\n",
    )
    .await?;
    drop(added.stdin.take());
    assert!(added.wait().await?.success());
    // The keyring lost it (a reset keyring, another machine's copy of the files).
    keyfob_core::internals::SecretStore::new(
        keyfob_core::Paths::under(w.home.path()).keyring_service,
    )
    .delete(keyfob_core::internals::SecretKey::ClientSecret(
        "secret".into(),
    ))
    .await?;
    let o = w.run(&["link", "secret", "--no-browser"]).await?;
    assert_eq!(code(&o), 1, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("keyfob provider secret secret"));

    // 1 for a damaged file, which is named, and nothing is overwritten.
    let accounts = w.home.path().join("data/accounts.json");
    std::fs::write(&accounts, "{ not json")?;
    let o = w.run(&["list"]).await?;
    assert_eq!(code(&o), 1, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("accounts.json") && text(&o.stderr).contains("damaged"));
    assert_eq!(std::fs::read_to_string(&accounts)?, "{ not json");
    Ok(())
}

/// Every process's argv on this machine, to prove a token is in none of them.
fn all_argvs() -> Vec<(u32, Vec<u8>)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            Some((pid, std::fs::read(e.path().join("cmdline")).ok()?))
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The first line `child` prints, with the rest of its stdout left to read.
async fn first_line(child: &mut tokio::process::Child) -> Result<String> {
    let stdout = child.stdout.as_mut().context("stdout piped")?;
    let mut line = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        let n = tokio::io::AsyncReadExt::read(stdout, &mut byte).await?;
        anyhow::ensure!(n == 1, "the command ended before printing a line");
        if byte[0] == b'\n' {
            return Ok(text(&line));
        }
        line.push(byte[0]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_puts_tokens_in_the_environment_only_and_passes_the_status_through() -> Result<()> {
    let w = World::start(json!({})).await?;
    w.linked("alice").await?;
    let token = text(&w.run(&["token", "local"]).await?.stdout)
        .trim()
        .to_string();

    // The child prints its pid and waits: meanwhile no process's argv holds the token, and
    // the child's environment does, under LOCAL_TOKEN and the --name given.
    let mut child = w
        .command(&[
            "exec",
            "local",
            "local:alice",
            "--name",
            "API",
            "--name",
            "ALICE",
            "--",
            "sh",
            "-c",
            "echo $$; read line; exit 7",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = first_line(&mut child).await?;
    let environ = std::fs::read(format!("/proc/{pid}/environ"))?;
    assert!(contains(&environ, &format!("API={token}\0")));
    assert!(contains(&environ, &format!("ALICE={token}\0")));
    let argvs = all_argvs();
    assert!(
        argvs
            .iter()
            .any(|(p, argv)| p.to_string() == pid && contains(argv, "exit 7")),
        "the scan sees the child"
    );
    let leaks: Vec<u32> = argvs
        .into_iter()
        .filter(|(_, argv)| contains(argv, &token))
        .map(|(pid, _)| pid)
        .collect();
    assert!(leaks.is_empty(), "the token is in the argv of {leaks:?}");
    let stdin = child.stdin.as_mut().context("stdin")?;
    tokio::io::AsyncWriteExt::write_all(stdin, b"go\n").await?;
    let out = child.wait_with_output().await?;
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(
        out.stderr.is_empty(),
        "a child's status is no error of Keyfob's"
    );

    // Default names, and a clash refused before anything runs.
    let out = w
        .run(&[
            "exec",
            "local",
            "--",
            "sh",
            "-c",
            "printf %s \"$LOCAL_TOKEN\"",
        ])
        .await?;
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), token.clone())
    );
    let out = w
        .run(&["exec", "local", "local:alice", "--", "sh", "-c", "echo ran"])
        .await?;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty() && text(&out.stderr).contains("both set LOCAL_TOKEN"));

    // A child ended by a signal: 128 + N, as a shell says.
    let out = w
        .run(&["exec", "local", "--", "sh", "-c", "kill -KILL $$"])
        .await?;
    assert_eq!(out.status.code(), Some(128 + 9));
    let out = w.run(&["exec", "local", "--", "/nonexistent/tool"]).await?;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot run '/nonexistent/tool'"));

    // Signals a supervisor sends reach the child, which decides the status. Keyfob runs in
    // a process group of its own, as under a supervisor: no terminal sends these too.
    for (signal, status) in [("TERM", 42), ("INT", 43), ("HUP", 44)] {
        let script =
            format!("trap 'exit {status}' {signal}; echo ready; while :; do sleep 0.05; done");
        let mut child = w
            .command(&["exec", "local", "--", "sh", "-c", &script])
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        assert_eq!(first_line(&mut child).await?, "ready");
        let kill = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().context("pid")?.to_string()])
            .status()?;
        assert!(kill.success());
        let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output()).await??;
        assert_eq!(
            out.status.code(),
            Some(status),
            "SIG{signal}: {}",
            text(&out.stderr)
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_reads_the_header_from_a_pipe_and_passes_its_status_through() -> Result<()> {
    let w = World::start(json!({})).await?;
    w.linked("alice").await?;
    let token = text(&w.run(&["token", "local"]).await?.stdout)
        .trim()
        .to_string();

    // The real curl against the provider's userinfo endpoint: the header is accepted.
    let out = w
        .run(&[
            "curl",
            "local",
            "--",
            "-sS",
            "-f",
            &w.idp.userinfo_endpoint(),
        ])
        .await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let me: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(me["sub"], "alice");

    // A server that holds the request: meanwhile curl's argv names the pipe, never the
    // token, and the request carries the header.
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api", server.local_addr()?);
    let child = w
        .command(&["curl", "local", "--", "-sS", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (mut socket, _) = tokio::time::timeout(Duration::from_secs(20), server.accept()).await??;
    let mut request = vec![0u8; 8192];
    let n = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await?;
    let request = text(&request[..n]);
    assert!(
        request.contains(&format!("Authorization: Bearer {token}\r\n")),
        "{request}"
    );
    let keyfob_pid = child.id().context("pid")?;
    let curl: Vec<(u32, Vec<u8>)> = all_argvs()
        .into_iter()
        .filter(|(_, argv)| contains(argv, &url))
        .collect();
    assert!(
        curl.iter()
            .any(|(pid, argv)| *pid != keyfob_pid && contains(argv, "@/dev/fd/3")),
        "curl is running with the pipe"
    );
    assert!(
        !all_argvs().iter().any(|(_, argv)| contains(argv, &token)),
        "no argv holds the token"
    );
    tokio::io::AsyncWriteExt::write_all(
        &mut socket,
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    )
    .await?;
    drop(socket);
    let out = child.wait_with_output().await?;
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "ok".to_string())
    );

    // curl's own failure is its status: 7, could not connect.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await?
        .local_addr()?;
    let out = w
        .run(&["curl", "local", "--", "-s", &format!("http://{closed}/")])
        .await?;
    assert_eq!(out.status.code(), Some(7));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn token_json_is_one_object_for_sdks() -> Result<()> {
    let w = World::start(json!({})).await?;
    let id = w.linked("alice").await?;
    let out = w.run(&["token", "local", "--json"]).await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let v: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["account"], id.as_str());
    assert_eq!(v["provider"], "local");
    assert_eq!(v["token_type"], "Bearer");
    assert!(
        w.idp
            .is_active(v["access_token"].as_str().context("token")?)
            .await?
    );
    let expires = time::OffsetDateTime::parse(
        v["expires_at"].as_str().context("expires_at")?,
        &time::format_description::well_known::Rfc3339,
    )?;
    assert!(expires > time::OffsetDateTime::now_utc() + time::Duration::minutes(50));
    let scopes: Vec<&str> = v["scopes"]
        .as_array()
        .context("scopes")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        scopes.contains(&"openid") && scopes.contains(&"email"),
        "{scopes:?}"
    );
    Ok(())
}

/// `git` with its global config in the test's home, no prompts, and Keyfob's profile.
fn git(w: &World, dir: &Path, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new("git");
    c.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", w.home.path().join("gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS")
        .env("KEYFOB_HOME", w.home.path())
        .env("GIT_AUTHOR_NAME", "Alice")
        .env("GIT_AUTHOR_EMAIL", "alice@example.test")
        .env("GIT_COMMITTER_NAME", "Alice")
        .env("GIT_COMMITTER_EMAIL", "alice@example.test");
    c
}

fn commit(w: &World, dir: &Path, name: &str) -> Result<()> {
    std::fs::write(dir.join(name), name)?;
    for args in [vec!["add", name], vec!["commit", "-q", "-m", name]] {
        let out = git(w, dir, &args).output()?;
        anyhow::ensure!(out.status.success(), "{}", text(&out.stderr));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn git_clones_and_pushes_with_fresh_tokens_from_the_credential_helper() -> Result<()> {
    let w = World::start(json!({})).await?;
    // The linked access token lives 30 s: the helper, which hands git tokens good for 5
    // minutes, refreshes first.
    w.idp.next_expires_in(json!(30), 1).await?;
    let id = w.linked("alice").await?;
    let server = keyfob_testkit::GitServer::start(w.idp.introspection_endpoint()).await?;

    let setup = w
        .command(&["git", "setup", "--host", &server.base, "local"])
        .env("GIT_CONFIG_GLOBAL", w.home.path().join("gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .await?;
    assert!(setup.status.success(), "{}", text(&setup.stderr));
    let config = std::fs::read_to_string(w.home.path().join("gitconfig"))?;
    assert!(
        config.contains(&format!("[credential \"{}\"]", server.base))
            && config.contains("git-credential --account 'local'"),
        "{config}"
    );

    // Clone: one refresh, and the server saw only the refreshed token.
    let work = tempfile::tempdir()?;
    let out = git(
        &w,
        work.path(),
        &["clone", "-q", &server.repo_url(), "repo"],
    )
    .output()?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(w.idp.stats().await?.token.refresh_token, 1);
    let token = text(&w.run(&["token", "local"]).await?.stdout)
        .trim()
        .to_string();
    let stats = server.stats();
    assert!(stats.served >= 1 && !stats.passwords.is_empty());
    assert!(
        stats.passwords.iter().all(|p| *p == token),
        "only the fresh token was sent"
    );

    // Push: the token is still good, no refresh.
    let repo = work.path().join("repo");
    commit(&w, &repo, "one")?;
    let out = git(&w, &repo, &["push", "-q", "origin", "main"]).output()?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(w.idp.stats().await?.token.refresh_token, 1);

    // The server refuses the token: git erases it, which makes the next `get` refresh
    // instead of handing the same token out again.
    server.refuse(&token);
    commit(&w, &repo, "two")?;
    let out = git(&w, &repo, &["push", "-q", "origin", "main"]).output()?;
    assert!(!out.status.success(), "a revoked token cannot push");
    let out = git(&w, &repo, &["push", "-q", "origin", "main"]).output()?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(w.idp.stats().await?.token.refresh_token, 2);
    let list: Value = serde_json::from_slice(&w.run(&["list", "--json"]).await?.stdout)?;
    assert_eq!(list[0]["id"], id.as_str(), "nothing was deleted");

    // The grant revoked: git fails with Keyfob's message saying to link again.
    let token = text(&w.run(&["token", "local"]).await?.stdout)
        .trim()
        .to_string();
    revoke_grant(&w, &id).await?;
    w.idp
        .revoke(&token, keyfob_testkit::NATIVE_CLIENT_ID, None)
        .await?;
    let _ = git(&w, &repo, &["fetch", "-q"]).output()?;
    let out = git(&w, &repo, &["fetch", "-q"]).output()?;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("keyfob: account") && stderr.contains("must be linked again"),
        "{stderr}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_chooses_among_one_providers_accounts() -> Result<()> {
    let w = World::start(json!({})).await?;
    for login in ["alice", "bob"] {
        let out = w.link(login, Consent::Approve).await?;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let bob = text(&w.run(&["token", "local:bob"]).await?.stdout);
    let alice = text(&w.run(&["token", "local:alice"]).await?.stdout);
    assert_ne!(bob, alice);
    let root = tempfile::tempdir()?;
    let nested = root.path().join("a/b/c");
    std::fs::create_dir_all(&nested)?;
    let in_dir = |dir: &Path, args: &[&str]| {
        let mut c = w.command(args);
        c.current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", w.home.path().join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1");
        c
    };

    // No choice: a bare provider id is ambiguous.
    let out = in_dir(&nested, &["token", "local"]).output().await?;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    // A .keyfob file above settles it, the nearest one wins, and a precise selector still
    // beats it.
    std::fs::write(root.path().join(".keyfob"), "# this tree\nlocal:bob\n")?;
    let out = in_dir(&nested, &["token", "local"]).output().await?;
    assert_eq!(text(&out.stdout), bob, "{}", text(&out.stderr));
    std::fs::write(root.path().join("a/.keyfob"), "local:alice\n")?;
    let out = in_dir(&nested, &["token", "local"]).output().await?;
    assert_eq!(text(&out.stdout), alice);
    let out = in_dir(&nested, &["token", "local:bob"]).output().await?;
    assert_eq!(text(&out.stdout), bob);
    // In a repository, `git config keyfob.account` comes first, for exec too.
    let out = git(&w, &nested, &["init", "-q"]).output()?;
    assert!(out.status.success());
    let out = git(&w, &nested, &["config", "keyfob.account", "local:bob"]).output()?;
    assert!(out.status.success());
    let out = in_dir(
        &nested,
        &["exec", "local", "--", "sh", "-c", "echo \"$LOCAL_TOKEN\""],
    )
    .output()
    .await?;
    assert_eq!(text(&out.stdout), bob, "{}", text(&out.stderr));
    // A choice that names another provider's account, or nobody, says where it came from.
    let out = git(&w, &nested, &["config", "keyfob.account", "nobody"]).output()?;
    assert!(out.status.success());
    let out = in_dir(&nested, &["token", "local"]).output().await?;
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("(chosen by git config keyfob.account)"));
    Ok(())
}

impl World {
    /// Adds provider `dev`: the same provider with linking by code turned on.
    async fn add_device_provider(&self) -> Result<()> {
        let out = self
            .run(&[
                "provider",
                "add",
                "dev",
                "--issuer",
                self.idp.issuer(),
                "--client-id",
                keyfob_testkit::NATIVE_CLIENT_ID,
                "--scopes",
                "openid email profile offline_access",
                "--param",
                "prompt=consent",
                "--device-flow",
            ])
            .await?;
        anyhow::ensure!(out.status.success(), "{}", text(&out.stderr));
        Ok(())
    }

    /// `keyfob link dev --device`, with the scripted browser entering the code it shows as
    /// `login` (on "another device"); returns keyfob's output and the page the browser ended on.
    async fn link_with_code(&self, login: &str, consent: Consent) -> Result<(Output, String)> {
        let mut child = self
            .command(&["link", "dev", "--device"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        while !seen
            .iter()
            .any(|l: &String| l.contains("Waiting for you to enter it"))
        {
            let line = stderr
                .next_line()
                .await?
                .with_context(|| format!("no code in: {seen:?}"))?;
            seen.push(line);
        }
        // The address, then the code, each on its own indented line.
        let shown: Vec<&str> = seen
            .iter()
            .filter(|l| l.starts_with("  ") && !l.trim().is_empty())
            .map(|l| l.trim())
            .collect();
        let (uri, code) = (shown[0], shown[1]);
        let page = Browser::new()
            .enter_device_code(uri, code, login, consent)
            .await?;
        let mut rest = seen.join("\n");
        while let Some(line) = stderr.next_line().await? {
            rest.push('\n');
            rest.push_str(&line);
        }
        let mut out = child.wait_with_output().await?;
        out.stderr = rest.into_bytes();
        Ok((out, page))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn link_with_a_code_entered_on_another_device() -> Result<()> {
    let w = World::start(json!({})).await?;
    // Off unless the provider was added with it.
    let out = w.run(&["link", "local", "--device"]).await?;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("linking with a code is not turned on for provider 'local'"));

    w.add_device_provider().await?;
    let (out, page) = w.link_with_code("alice", Consent::Approve).await?;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}\nPAGE: {page}");
    assert!(
        stderr.contains("enter the code") && stderr.contains("Or scan this"),
        "{stderr}"
    );
    assert!(stderr.contains("Linked alice@example.test"), "{stderr}");
    let id = text(&out.stdout).trim().to_string();
    let token = text(&w.run(&["token", &id]).await?.stdout)
        .trim()
        .to_string();
    assert!(w.idp.is_active(&token).await?);
    // A refresh token came too: the account lives on.
    let fresh = w.run(&["token", &id, "--min-valid", "2h"]).await?;
    assert!(fresh.status.success(), "{}", text(&fresh.stderr));

    // Denied on the other device: nothing linked, and the link says so.
    let (out, _) = w.link_with_code("bob", Consent::Deny).await?;
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the code was denied"),
        "{}",
        text(&out.stderr)
    );
    let accounts: Value = serde_json::from_slice(&w.run(&["list", "--json"]).await?.stdout)?;
    assert_eq!(accounts.as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_nobody_enters_expires_with_nothing_linked() -> Result<()> {
    let w = World::start(json!({"ttl": {"DeviceCode": 2}})).await?;
    w.add_device_provider().await?;
    let out = w.run(&["link", "dev", "--device"]).await?;
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the code expired before it was entered"));
    let accounts: Value = serde_json::from_slice(&w.run(&["list", "--json"]).await?.stdout)?;
    assert_eq!(accounts, json!([]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn status_says_whether_the_keyring_answers_and_where_secrets_are() -> Result<()> {
    let w = World::start(json!({})).await?;
    let id = w.linked("alice").await?;

    let out = w.run(&["status", "--json"]).await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["keyring"]["reachable"], true);
    let secrets = v["accounts"][0]["secrets"].as_array().context("secrets")?;
    let stored: Vec<(&str, bool)> = secrets
        .iter()
        .map(|s| (s["what"].as_str().unwrap_or(""), s["stored"] == true))
        .collect();
    assert_eq!(
        stored,
        [
            ("access_token", true),
            ("refresh_token", true),
            ("id_token", true)
        ]
    );
    assert_eq!(secrets[1]["item"], format!("account/{id}/refresh_token"));
    let token = text(&w.run(&["token", "local"]).await?.stdout)
        .trim()
        .to_string();
    assert!(
        !text(&out.stdout).contains(&token),
        "status shows no secret"
    );
    let out = w.run(&["status"]).await?;
    assert!(
        text(&out.stdout).contains("answering")
            && text(&out.stdout).contains("access, refresh, ID token"),
        "{}",
        text(&out.stdout)
    );

    // No keyring: the accounts are still listed, the secrets unknown, and the exit code says so.
    let out = w
        .command(&["status", "--json"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keyfob-test-bus",
        )
        .stdin(Stdio::null())
        .output()
        .await?;
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["keyring"]["reachable"], false);
    assert!(v["keyring"]["error"].is_string());
    assert_eq!(v["accounts"][0]["id"], id.as_str());
    assert!(v["accounts"][0]["secrets"].is_null());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn link_by_pasting_the_address_a_browser_elsewhere_ended_on() -> Result<()> {
    let w = World::start(json!({})).await?;
    let mut child = w
        .command(&["link", "local", "--paste"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let url = loop {
        let line = stderr
            .next_line()
            .await?
            .with_context(|| format!("no sign-in address in {seen:?}"))?;
        seen.push(line.clone());
        if let Some(rest) = line.trim().strip_prefix("http") {
            break format!("http{rest}");
        }
    };
    // The real authorization URL: this browser is "elsewhere", it cannot use a start address.
    assert!(
        !keyfob_testkit::is_start_address(&url::Url::parse(&url)?),
        "{url}"
    );
    let redirect = Browser::new()
        .authorize(&url, "alice", Consent::Approve)
        .await?;
    let stdin = child.stdin.as_mut().context("stdin")?;

    // A pasted address that is not this link's is refused, and the link still waits.
    let forged = format!(
        "{}?code=forged&state=not-the-state\n",
        redirect.split('?').next().unwrap_or_default()
    );
    tokio::io::AsyncWriteExt::write_all(stdin, forged.as_bytes()).await?;
    loop {
        let line = stderr.next_line().await?.context("the CLI ended")?;
        if line.contains("That address was refused") {
            assert!(line.contains("state"), "{line}");
            break;
        }
    }
    tokio::io::AsyncWriteExt::write_all(stdin, format!("  {redirect}\n").as_bytes()).await?;
    let mut rest = String::new();
    while let Some(line) = stderr.next_line().await? {
        rest.push_str(&line);
        rest.push('\n');
    }
    let out = child.wait_with_output().await?;
    assert!(out.status.success(), "{rest}");
    assert!(rest.contains("Linked alice@example.test"), "{rest}");
    let id = text(&out.stdout).trim().to_string();
    let token = text(&w.run(&["token", &id]).await?.stdout)
        .trim()
        .to_string();
    assert!(w.idp.is_active(&token).await?);
    Ok(())
}

/// Sends `signal` (as kill(1) spells it: "-TERM") to a running child.
async fn signal(child: &tokio::process::Child, signal: &str) -> Result<()> {
    let pid = child.id().context("running")?.to_string();
    let sent = Command::new("kill").args([signal, &pid]).status().await?;
    anyhow::ensure!(sent.success(), "kill {signal} {pid}: {sent}");
    Ok(())
}

/// The next stderr line of `keyfob keep` that contains `needle`, within 15 s; all lines read
/// go to `log`.
async fn keep_line(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    needle: &str,
    log: &mut String,
) -> Result<String> {
    let read = async {
        while let Some(line) = lines.next_line().await? {
            log.push_str(&line);
            log.push('\n');
            if line.contains(needle) {
                return Ok(line);
            }
        }
        anyhow::bail!("keyfob keep ended without saying {needle:?}")
    };
    tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .with_context(|| format!("no {needle:?} line in 15 s"))?
}

/// `keyfob keep` as a process against the real provider: it refreshes ahead of expiry (so
/// `keyfob token` then asks the provider nothing), logs a line per refresh without any token,
/// and SIGTERM, even with a refresh in flight, ends it with status 0, the refresh completed
/// and stored and the keeper lock released.
#[tokio::test(flavor = "multi_thread")]
async fn keep_refreshes_ahead_and_stops_cleanly_on_sigterm() -> Result<()> {
    // 4 s tokens: the keeper refreshes each 2 s before it expires.
    let w = World::start(json!({"ttl": {"AccessToken": 4}})).await?;
    let id = w.linked("alice").await?;
    let mut keep = w
        .command(&["keep"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(keep.stderr.take().unwrap()).lines();
    let mut log = String::new();
    keep_line(
        &mut lines,
        "keeping this profile's accounts fresh",
        &mut log,
    )
    .await?;
    let line = keep_line(&mut lines, "refreshed", &mut log).await?;
    assert!(
        line.starts_with(&format!("keyfob keep: {id}: refreshed; expires ")),
        "{line}"
    );
    assert!(line.contains(", next refresh "), "{line}");
    assert_eq!(w.idp.stats().await?.token.refresh_token, 1);

    // A token asked for now is the keeper's, still valid for 2 s: no request.
    let out = w.run(&["token", &id, "--min-valid", "1s"]).await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    assert_eq!(w.idp.stats().await?.token.refresh_token, 1, "no refresh");

    // The next refresh is due 2 s after the last one; the provider now takes 3 s to answer,
    // and SIGTERM comes while that refresh is in flight (from 2 s to 5 s after the last).
    w.idp
        .delay_token_endpoint(Duration::from_millis(3000))
        .await?;
    tokio::time::sleep(Duration::from_millis(3300)).await;
    signal(&keep, "-TERM").await?;
    keep_line(&mut lines, "stopped", &mut log).await?;
    let status = tokio::time::timeout(Duration::from_secs(10), keep.wait()).await??;
    assert!(status.success(), "{status:?}\n{log}");
    assert!(!log.contains(&token), "no token in the log");

    // The refresh in flight was finished and logged, not cut short: every refresh the
    // provider saw was stored (the provider revokes the grant if a rotated token is lost
    // and the old one reused), and the account is as it should be.
    let refreshes = w.idp.stats().await?.token.refresh_token;
    assert_eq!(refreshes, 2, "{log}");
    assert_eq!(log.matches(": refreshed;").count(), 2, "{log}");
    w.idp.delay_token_endpoint(Duration::ZERO).await?;
    let out = w.run(&["token", &id, "--min-valid", "1h"]).await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: Value = serde_json::from_slice(&w.run(&["list", "--json"]).await?.stdout)?;
    assert_eq!(listed[0]["status"]["state"], "ok", "{listed}");
    assert!(listed[0].get("attention").is_none(), "{listed}");

    // The keeper lock was released: a new keeper starts at once instead of waiting.
    let mut again = w
        .command(&["keep"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(again.stderr.take().unwrap()).lines();
    let first = keep_line(&mut lines, "keyfob keep:", &mut log).await?;
    assert!(first.contains("keeping this profile"), "{first}");
    Ok(())
}

/// The per-provider setting: stored in providers.toml, read by `keyfob keep` (off: no
/// refresh ahead), and a bad value is a usage error that changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn refresh_ahead_is_set_per_provider_and_the_keeper_follows_it() -> Result<()> {
    let w = World::start(json!({"ttl": {"AccessToken": 4}})).await?;
    w.linked("alice").await?;
    let out = w
        .run(&["provider", "refresh-ahead", "local", "2 weeks"])
        .await?;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("\"off\", \"default\" or a duration"));

    let out = w
        .run(&["provider", "refresh-ahead", "local", "off"])
        .await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let toml = std::fs::read_to_string(w.home.path().join("config/providers.toml"))?;
    assert!(toml.contains("refresh_ahead = \"off\""), "{toml}");

    // Chosen when adding a provider too; a bad value adds nothing.
    let issuer = w.idp.issuer().to_string();
    let add = |setting: &'static str| {
        [
            "provider",
            "add",
            "second",
            "--issuer",
            issuer.as_str(),
            "--client-id",
            "x",
            "--refresh-ahead",
            setting,
        ]
    };
    let out = w.run(&add("soon")).await?;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let unchanged = std::fs::read_to_string(w.home.path().join("config/providers.toml"))?;
    assert_eq!(unchanged, toml);
    let out = w.run(&add("90s")).await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let providers: Value = serde_json::from_slice(&w.run(&["providers", "--json"]).await?.stdout)?;
    assert_eq!(providers[1]["id"], "second", "{providers}");
    assert_eq!(providers[1]["refresh_ahead"], "90s", "{providers}");
    let out = w.run(&["provider", "remove", "second"]).await?;
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Past the point the default would refresh at, and past expiry: nothing.
    let mut keep = w
        .command(&["keep"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(w.idp.stats().await?.token.refresh_token, 0);

    // Back to the default, which is absent from the file; the keeper picks it up when woken
    // (here: started again).
    keep.kill().await?;
    let out = w
        .run(&["provider", "refresh-ahead", "local", "default"])
        .await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let toml = std::fs::read_to_string(w.home.path().join("config/providers.toml"))?;
    assert!(!toml.contains("refresh_ahead"), "{toml}");
    let mut keep = w
        .command(&["keep"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(keep.stderr.take().unwrap()).lines();
    keep_line(&mut lines, "refreshed", &mut String::new()).await?;
    assert_eq!(w.idp.stats().await?.token.refresh_token, 1);
    Ok(())
}
