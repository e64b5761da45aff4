//! `keyfob provider google|github` against their local reproductions.

use std::process::Stdio;

use anyhow::Result;
use keyfob_testkit::{Browser, Consent, Idp};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const KEYFOB: &str = env!("CARGO_BIN_EXE_keyfob");

fn keyfob(home: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(KEYFOB);
    c.args(args)
        .env("KEYFOB_HOME", home)
        .env_remove("BROWSER")
        .kill_on_drop(true);
    c
}

/// Runs `keyfob ARGS` with `input` on stdin.
async fn run_with_stdin(
    home: &std::path::Path,
    args: &[&str],
    input: &str,
) -> Result<std::process::Output> {
    let mut child = keyfob(home, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .await?;
    Ok(child.wait_with_output().await?)
}

/// `keyfob link PROVIDER --no-browser` with the scripted browser signing in.
pub async fn link(
    home: &std::path::Path,
    provider: &str,
    login: &str,
) -> Result<std::process::Output> {
    let mut child = keyfob(home, &["link", provider, "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = stderr
            .next_line()
            .await?
            .ok_or_else(|| anyhow::anyhow!("no sign-in URL"))?;
        if let Some(rest) = line.trim().strip_prefix("http") {
            break format!("http{rest}");
        }
    };
    let browser = Browser::new();
    let redirect = browser.authorize(&url, login, Consent::Approve).await?;
    let (status, body) = browser.deliver(&redirect).await?;
    anyhow::ensure!(status == 200, "{body}");
    Ok(child.wait_with_output().await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn google_preset_from_the_command_line() -> Result<()> {
    let idp = Idp::start_with(json!({"google": true, "ttl": {"AccessToken": 30}})).await?;
    let home = tempfile::tempdir()?;
    let added = run_with_stdin(
        home.path(),
        &[
            "provider",
            "google",
            "--issuer",
            idp.issuer(),
            "--client-id",
            "google-desktop.apps.googleusercontent.test",
            "--client-secret-stdin",
        ],
        "google-desktop-secret\n",
    )
    .await?;
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let providers: Value = serde_json::from_slice(
        &keyfob(home.path(), &["providers", "--json"])
            .output()
            .await?
            .stdout,
    )?;
    assert_eq!(providers[0]["flavor"], "google");
    assert_eq!(providers[0]["extra_params"]["access_type"], "offline");

    let out = link(home.path(), "google", "ann").await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = keyfob(home.path(), &["token", "google", "--min-valid", "5m"])
        .output()
        .await?;
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    assert!(
        idp.is_active(String::from_utf8(token.stdout)?.trim())
            .await?
    );
    assert_eq!(idp.stats().await?.token.refresh_token, 1);

    // The client secret can be replaced from the command line: a wrong one makes the next
    // refresh fail at the provider, the right one heals it. A provider that authenticates
    // with a secret cannot lose it.
    let removed = keyfob(home.path(), &["provider", "secret", "google", "--remove"])
        .output()
        .await?;
    assert_eq!(removed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&removed.stderr).contains("needs a client secret"));
    for (secret, works) in [
        ("not-the-secret\n", false),
        ("google-desktop-secret\n", true),
    ] {
        let set = run_with_stdin(home.path(), &["provider", "secret", "google"], secret).await?;
        let said = String::from_utf8_lossy(&set.stderr);
        assert!(
            set.status.success() && said.contains("Stored the client secret"),
            "{said}"
        );
        let token = keyfob(home.path(), &["token", "google", "--min-valid", "5m"])
            .output()
            .await?;
        let said = String::from_utf8_lossy(&token.stderr);
        if works {
            assert!(token.status.success(), "{said}");
        } else {
            assert_eq!(token.status.code(), Some(5), "{said}");
            assert!(said.contains("invalid_client"), "{said}");
        }
    }
    assert_eq!(idp.stats().await?.token.refresh_token, 3);

    let unlink = keyfob(home.path(), &["unlink", "ann@example.test"])
        .output()
        .await?;
    assert!(String::from_utf8_lossy(&unlink.stderr).contains("revoked its tokens"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn presets_without_a_client_id_explain_what_to_register() -> Result<()> {
    let home = tempfile::tempdir()?;
    if keyfob_core::provider::presets::GITHUB_CLIENT_ID.is_some() {
        return Ok(()); // a distributor build has one baked in
    }
    let out = keyfob(home.path(), &["provider", "github"])
        .output()
        .await?;
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("register an OAuth App") && text.contains("--client-id"),
        "{text}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn github_preset_from_the_command_line() -> Result<()> {
    let github = keyfob_testkit::GitHubFake::start().await?;
    let home = tempfile::tempdir()?;
    let added = run_with_stdin(
        home.path(),
        &[
            "provider",
            "github",
            "--enterprise",
            github.base(),
            "--id",
            "github",
            "--client-id",
            keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_ID,
            "--client-secret-stdin",
        ],
        &format!("{}\n", keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_SECRET),
    )
    .await?;
    let stderr = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success(), "{stderr}");
    assert!(
        stderr.contains("http://127.0.0.1/oauth/github (any port works"),
        "{stderr}"
    );

    let out = link(home.path(), "github", "octocat").await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(
        &keyfob(home.path(), &["list", "--json"])
            .output()
            .await?
            .stdout,
    )?;
    assert_eq!(list[0]["login"], "octocat");
    assert_eq!(list[0]["access_expires_at"], Value::Null);
    let table = String::from_utf8(keyfob(home.path(), &["list"]).output().await?.stdout)?;
    assert!(table.contains("never"), "{table}");

    let header = keyfob(home.path(), &["header", "github:octocat"])
        .output()
        .await?;
    assert!(String::from_utf8(header.stdout)?.starts_with("Authorization: Bearer gho_"));
    let env = keyfob(home.path(), &["env", "github"]).output().await?;
    assert!(String::from_utf8(env.stdout)?.starts_with("export GITHUB_TOKEN='gho_"));

    let unlink = keyfob(home.path(), &["unlink", "github"]).output().await?;
    assert!(String::from_utf8_lossy(&unlink.stderr).contains("revoked its tokens"));
    assert_eq!(github.stats().await?.delete_grant, 1);
    Ok(())
}
