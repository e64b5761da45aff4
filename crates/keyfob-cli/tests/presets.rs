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

/// `keyfob providers --json`.
async fn providers_json(home: &std::path::Path) -> Result<Value> {
    let out = keyfob(home, &["providers", "--json"]).output().await?;
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// `keyfob provider github` for the fake, with extra arguments; its messages.
async fn add_github_fake(
    home: &std::path::Path,
    github: &keyfob_testkit::GitHubFake,
    app: (&str, &str),
    extra: &[&str],
) -> Result<String> {
    let mut args = vec![
        "provider",
        "github",
        "--enterprise",
        github.base(),
        "--id",
        "github",
        "--client-id",
        app.0,
        "--client-secret-stdin",
    ];
    args.extend_from_slice(extra);
    let added = run_with_stdin(home, &args, &format!("{}\n", app.1)).await?;
    anyhow::ensure!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    Ok(String::from_utf8_lossy(&added.stderr).into_owned())
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
    let providers = providers_json(home.path()).await?;
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
async fn google_links_with_a_code_through_its_device_client() -> Result<()> {
    let idp = Idp::start_with(json!({
        "google": true, "googleDeviceInterval": 1, "ttl": {"AccessToken": 30}
    }))
    .await?;
    let home = tempfile::tempdir()?;
    let mut args = vec![
        "provider",
        "google",
        "--issuer",
        idp.issuer(),
        "--client-id",
        "google-desktop.apps.googleusercontent.test",
        "--client-secret-stdin",
        "--device-client-id",
        keyfob_testkit::GOOGLE_DEVICE_CLIENT_ID,
        "--device-client-secret-stdin",
    ];
    // One secret on stdin for two: refused, nothing added.
    let one = run_with_stdin(home.path(), &args, "google-desktop-secret\n").await?;
    assert_eq!(one.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&one.stderr).contains("two client secrets"));
    assert!(providers_json(home.path())
        .await?
        .as_array()
        .unwrap()
        .is_empty());
    let both = format!(
        "google-desktop-secret\n{}\n",
        keyfob_testkit::GOOGLE_DEVICE_CLIENT_SECRET
    );
    let added = run_with_stdin(home.path(), &args, &both).await?;
    let said = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success(), "{said}");
    assert!(said.contains("goes through the device client"), "{said}");
    let providers = providers_json(home.path()).await?;
    assert_eq!(
        providers[0]["device_client_id"],
        keyfob_testkit::GOOGLE_DEVICE_CLIENT_ID
    );

    let (out, _page) = link_with_code(home.path(), "google", "dan", Consent::Approve).await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The account refreshes as the device client.
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

    // Without a device client the Google preset does not link with a code.
    args.truncate(7);
    let plain = tempfile::tempdir()?;
    let added = run_with_stdin(plain.path(), &args, "google-desktop-secret\n").await?;
    assert!(added.status.success());
    let out = keyfob(plain.path(), &["link", "google", "--device"])
        .output()
        .await?;
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("linking with a code is not turned on"),
        "{said}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn presets_without_a_client_id_explain_what_to_register() -> Result<()> {
    let home = tempfile::tempdir()?;
    if keyfob_core::Preset::Github.has_built_in_client() {
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
    let oauth_app = (
        keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_ID,
        keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_SECRET,
    );
    let stderr = add_github_fake(home.path(), &github, oauth_app, &[]).await?;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_github_app_links_from_the_command_line_with_iss() -> Result<()> {
    // GitHub Apps match callbacks exactly: register the port the CLI will listen on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let github = keyfob_testkit::GitHubFake::start_with(json!({"apps": [{
        "client_id": keyfob_testkit::GITHUB_APP_CLIENT_ID,
        "client_secret": keyfob_testkit::GITHUB_APP_CLIENT_SECRET,
        "kind": "github_app", "expiring": true,
        "callback_urls": [format!("http://127.0.0.1:{port}/oauth/github")],
    }]}))
    .await?;
    let home = tempfile::tempdir()?;
    let port_arg = port.to_string();
    add_github_fake(
        home.path(),
        &github,
        (
            keyfob_testkit::GITHUB_APP_CLIENT_ID,
            keyfob_testkit::GITHUB_APP_CLIENT_SECRET,
        ),
        &["--github-app", "--loopback-port", &port_arg],
    )
    .await?;
    let out = link(home.path(), "github", "octocat").await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = keyfob(home.path(), &["token", "github"]).output().await?;
    assert!(String::from_utf8(token.stdout)?.starts_with("ghu_"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn check_marks_a_token_github_revoked_and_a_relink_heals_it() -> Result<()> {
    // One place per user, app and scope set instead of GitHub's ten: the next sign-in of
    // the same app anywhere revokes this profile's token.
    let github = keyfob_testkit::GitHubFake::start_with(json!({"token_limit": 1})).await?;
    let oauth_app = (
        keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_ID,
        keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_SECRET,
    );
    let home = tempfile::tempdir()?;
    let elsewhere = tempfile::tempdir()?;
    for h in [home.path(), elsewhere.path()] {
        add_github_fake(h, &github, oauth_app, &[]).await?;
    }
    assert!(link(home.path(), "github", "octocat")
        .await?
        .status
        .success());
    let check = keyfob(home.path(), &["check"]).output().await?;
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{stderr}");
    assert!(stderr.contains("accepts its token"), "{stderr}");

    assert!(link(elsewhere.path(), "github", "octocat")
        .await?
        .status
        .success());
    let check = keyfob(home.path(), &["check", "github"]).output().await?;
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("Bad credentials") && stderr.contains("ten tokens"),
        "{stderr}"
    );
    let table = String::from_utf8(keyfob(home.path(), &["list"]).output().await?.stdout)?;
    assert!(table.contains("needs re-link"), "{table}");
    let token = keyfob(home.path(), &["token", "github"]).output().await?;
    assert_eq!(token.status.code(), Some(4));

    assert!(link(home.path(), "github", "octocat")
        .await?
        .status
        .success());
    let check = keyfob(home.path(), &["check"]).output().await?;
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn ghe_com_enterprises_get_their_api_subdomain() -> Result<()> {
    let home = tempfile::tempdir()?;
    let added = run_with_stdin(
        home.path(),
        &[
            "provider",
            "github",
            "--enterprise",
            "https://octocorp.ghe.com",
            "--client-id",
            "Iv1.abc",
            "--client-secret-stdin",
        ],
        "secret\n",
    )
    .await?;
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let providers = providers_json(home.path()).await?;
    let p = &providers[0];
    assert_eq!(p["id"], "github-enterprise");
    assert_eq!(
        p["authorization_endpoint"],
        "https://octocorp.ghe.com/login/oauth/authorize"
    );
    assert_eq!(p["userinfo_endpoint"], "https://api.octocorp.ghe.com/user");
    assert_eq!(
        p["revocation_endpoint"],
        "https://api.octocorp.ghe.com/applications/Iv1.abc/grant"
    );
    let bad = run_with_stdin(
        home.path(),
        &[
            "provider",
            "github",
            "--enterprise",
            "https://octocorp.ghe.com/sub",
            "--id",
            "other",
            "--client-id",
            "x",
            "--client-secret-stdin",
        ],
        "secret\n",
    )
    .await?;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("without a port or path"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn preset_options_without_an_id_take_the_documented_defaults() -> Result<()> {
    let home = tempfile::tempdir()?;
    let add = |args: &'static [&'static str]| {
        let home = home.path().to_path_buf();
        async move {
            let mut all = vec!["provider"];
            all.extend_from_slice(args);
            all.push("--client-secret-stdin");
            let out = run_with_stdin(&home, &all, "secret\n").await?;
            anyhow::ensure!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Ok::<_, anyhow::Error>(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    let app = add(&["github", "--client-id", "Iv1.app", "--github-app"]).await?;
    assert!(
        app.contains("http://127.0.0.1:47213/oauth/github")
            && app.contains("dev.keyfob.app:/oauth/github"),
        "both callback URLs to register: {app}"
    );
    add(&[
        "github",
        "--client-id",
        "Ov.x",
        "--enterprise",
        "https://ghe.example.com",
    ])
    .await?;
    // Google's endpoints come from discovery: the local Google-like provider stands in.
    let idp = Idp::start_with(json!({"google": true})).await?;
    let mut args = vec![
        "provider",
        "google",
        "--client-id",
        "g.apps.googleusercontent.com",
    ];
    args.extend([
        "--scheme",
        "--issuer",
        idp.issuer(),
        "--client-secret-stdin",
    ]);
    let google = run_with_stdin(home.path(), &args, "secret\n").await?;
    assert!(
        google.status.success(),
        "{}",
        String::from_utf8_lossy(&google.stderr)
    );
    let providers = providers_json(home.path()).await?;
    let by_id = |id: &str| {
        providers
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no provider {id} in {providers}"))
    };
    let github = by_id("github");
    assert_eq!(github["redirect"], "scheme");
    assert_eq!(github["loopback_port"], 47213);
    let ghe = by_id("github-enterprise");
    assert_eq!(
        ghe["userinfo_endpoint"],
        "https://ghe.example.com/api/v3/user"
    );
    assert_eq!(ghe["redirect"], "loopback");
    assert_eq!(by_id("google")["redirect"], "scheme");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_github_unlink_sends_the_user_to_the_settings_page() -> Result<()> {
    let github = keyfob_testkit::GitHubFake::start().await?;
    let home = tempfile::tempdir()?;
    let oauth_app = (
        keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_ID,
        keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_SECRET,
    );
    add_github_fake(home.path(), &github, oauth_app, &[]).await?;
    assert!(link(home.path(), "github", "octocat")
        .await?
        .status
        .success());
    // A wrong client secret: GitHub refuses to delete the grant.
    let set = run_with_stdin(home.path(), &["provider", "secret", "github"], "wrong\n").await?;
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let unlink = keyfob(home.path(), &["unlink", "github"]).output().await?;
    let stderr = String::from_utf8_lossy(&unlink.stderr);
    assert!(unlink.status.success(), "the local part is done: {stderr}");
    assert!(
        stderr.contains("could not revoke")
            && stderr.contains(&format!("{}/settings/applications", github.base())),
        "{stderr}"
    );
    Ok(())
}

/// `keyfob link PROVIDER --device`, the scripted browser entering the code it shows as
/// `login`; keyfob's output and the page the browser ended on.
async fn link_with_code(
    home: &std::path::Path,
    provider: &str,
    login: &str,
    consent: Consent,
) -> Result<(std::process::Output, String)> {
    let mut child = keyfob(home, &["link", provider, "--device"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut shown = Vec::new();
    while let Some(line) = stderr.next_line().await? {
        if line.contains("Waiting for you to enter it") {
            break;
        }
        if line.starts_with("  ") && !line.trim().is_empty() {
            shown.push(line.trim().to_string());
        }
    }
    anyhow::ensure!(shown.len() >= 2, "no address and code in {shown:?}");
    let page = Browser::new()
        .enter_device_code(&shown[0], &shown[1], login, consent)
        .await?;
    let mut rest = String::new();
    while let Some(line) = stderr.next_line().await? {
        rest.push_str(&line);
        rest.push('\n');
    }
    let mut out = child.wait_with_output().await?;
    out.stderr = rest.into_bytes();
    Ok((out, page))
}

#[tokio::test(flavor = "multi_thread")]
async fn github_links_with_a_code_where_the_app_allows_it() -> Result<()> {
    let oauth_app = (
        keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_ID,
        keyfob_testkit::GITHUB_OAUTH_APP_CLIENT_SECRET,
    );
    // The app's "Enable Device Flow" box unticked: GitHub says so, and so does Keyfob.
    let github = keyfob_testkit::GitHubFake::start().await?;
    let home = tempfile::tempdir()?;
    add_github_fake(home.path(), &github, oauth_app, &["--device-flow"]).await?;
    let out = keyfob(home.path(), &["link", "github", "--device"])
        .output()
        .await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("turn on \"Enable Device Flow\""),
        "{stderr}"
    );

    // Ticked, with a 1 s interval; the first poll is told to slow down.
    let github = keyfob_testkit::GitHubFake::start_with(json!({
        "device_interval": 1,
        "apps": [{
            "client_id": oauth_app.0, "client_secret": oauth_app.1, "kind": "oauth_app",
            "device_flow": true, "callback_urls": [keyfob_testkit::GITHUB_LOOPBACK_CALLBACK],
        }],
    }))
    .await?;
    let home = tempfile::tempdir()?;
    add_github_fake(home.path(), &github, oauth_app, &["--device-flow"]).await?;
    github.slow_down_next_poll().await?;
    let (out, page) = link_with_code(home.path(), "github", "octocat", Consent::Approve).await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\nPAGE: {page}");
    assert!(page.contains("you're all set"), "{page}");
    let stats = github.stats().await?;
    assert_eq!(
        stats.device.slow_down, 1,
        "after slow_down Keyfob waited the longer interval, so it was not told again"
    );
    assert!(stats.token.device_code >= 2, "{stats:?}");
    let header = keyfob(home.path(), &["header", "github:octocat"])
        .output()
        .await?;
    assert!(String::from_utf8(header.stdout)?.starts_with("Authorization: Bearer gho_"));

    // Cancelled on GitHub's page: nothing more is linked.
    let (out, _) = link_with_code(home.path(), "github", "hubot", Consent::Deny).await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("the code was denied"), "{stderr}");
    let list: Value = serde_json::from_slice(
        &keyfob(home.path(), &["list", "--json"])
            .output()
            .await?
            .stdout,
    )?;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    Ok(())
}
