//! A git smart-HTTP server (the real `git http-backend` behind a small HTTP front) that
//! accepts only requests whose Basic password the local provider's introspection says is an
//! active token: git's credential helper is tested against the real git on both ends.

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::idp::{CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET};

/// What the server answered.
#[derive(Debug, Default, Clone)]
pub struct GitServerStats {
    /// Requests with an active token, served by git.
    pub served: u32,
    /// Requests refused: no credentials, or a token that is not active.
    pub refused: u32,
    /// The passwords it was sent, in order.
    pub passwords: Vec<String>,
    /// Tokens it refuses even while the provider says they are active (a resource server's
    /// own verdict: a token it has revoked or whose scopes it no longer accepts).
    refused_tokens: Vec<String>,
}

/// A running server with one repository, `repo.git`, holding one commit.
pub struct GitServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stats: Arc<Mutex<GitServerStats>>,
    task: tokio::task::JoinHandle<()>,
    _root: tempfile::TempDir,
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GitServer {
    /// Starts a server whose passwords are checked at `introspection_endpoint`.
    pub async fn start(introspection_endpoint: String) -> Result<GitServer> {
        let root = tempfile::tempdir()?;
        init_repo(root.path()).await?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let stats = Arc::new(Mutex::new(GitServerStats::default()));
        let shared = Arc::new(Shared {
            root: root.path().to_path_buf(),
            introspection_endpoint,
            http: reqwest::Client::new(),
            stats: stats.clone(),
        });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(&shared, stream).await;
                });
            }
        });
        Ok(GitServer {
            base,
            stats,
            task,
            _root: root,
        })
    }

    /// The repository's URL.
    pub fn repo_url(&self) -> String {
        format!("{}/repo.git", self.base)
    }

    /// Refuses `token` from now on, whatever the provider says of it.
    pub fn refuse(&self, token: &str) {
        self.stats
            .lock()
            .unwrap()
            .refused_tokens
            .push(token.to_string());
    }

    /// What it has answered so far.
    pub fn stats(&self) -> GitServerStats {
        self.stats.lock().unwrap().clone()
    }
}

struct Shared {
    root: std::path::PathBuf,
    introspection_endpoint: String,
    http: reqwest::Client,
    stats: Arc<Mutex<GitServerStats>>,
}

async fn git(dir: &std::path::Path, args: &[&str]) -> Result<()> {
    let out = tokio::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .await?;
    if !out.status.success() {
        bail!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

async fn init_repo(root: &std::path::Path) -> Result<()> {
    git(root, &["init", "-q", "--bare", "-b", "main", "repo.git"]).await?;
    git(
        &root.join("repo.git"),
        &["config", "http.receivepack", "true"],
    )
    .await?;
    let work = root.join("seed");
    std::fs::create_dir(&work)?;
    std::fs::write(work.join("README"), "seed\n")?;
    git(&work, &["init", "-q", "-b", "main"]).await?;
    git(&work, &["add", "README"]).await?;
    git(
        &work,
        &[
            "-c",
            "user.name=Seed",
            "-c",
            "user.email=seed@example.test",
            "commit",
            "-q",
            "-m",
            "seed",
        ],
    )
    .await?;
    git(&work, &["push", "-q", "../repo.git", "main"]).await?;
    Ok(())
}

/// One request per connection (`Connection: close`), which git's libcurl handles.
async fn serve(shared: &Shared, mut stream: TcpStream) -> Result<()> {
    let (head, body) = read_request(&mut stream).await?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let password = header("authorization").and_then(basic_password);
    let blocked = password
        .as_ref()
        .is_some_and(|p| shared.stats.lock().unwrap().refused_tokens.contains(p));
    let active = match &password {
        Some(p) if !blocked => shared.is_active(p).await.unwrap_or(false),
        _ => false,
    };
    {
        let mut stats = shared.stats.lock().unwrap();
        stats.passwords.extend(password.clone());
        if active {
            stats.served += 1;
        } else {
            stats.refused += 1;
        }
    }
    if !active {
        let body = "authentication required\n";
        let response = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
        return Ok(());
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut cgi = tokio::process::Command::new("git");
    cgi.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_USER", "keyfob-test")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, var) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
    ] {
        if let Some(v) = header(name) {
            cgi.env(var, v);
        }
    }
    let mut child = cgi.spawn()?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let out = child.wait_with_output().await?;
    let _ = feed.await;
    let split = find(&out.stdout, b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| find(&out.stdout, b"\n\n").map(|i| (i, 2)))
        .context("CGI answer without headers")?;
    let cgi_head = String::from_utf8_lossy(&out.stdout[..split.0]).to_string();
    let cgi_body = &out.stdout[split.0 + split.1..];
    let mut status = "200 OK".to_string();
    let mut response = String::new();
    for line in cgi_head.lines() {
        match line.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            Some(_) => response.push_str(&format!("{line}\r\n")),
            None => {}
        }
    }
    let head = format!(
        "HTTP/1.1 {status}\r\n{response}Content-Length: {}\r\nConnection: close\r\n\r\n",
        cgi_body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(cgi_body).await?;
    Ok(())
}

impl Shared {
    async fn is_active(&self, token: &str) -> Result<bool> {
        let value: serde_json::Value = self
            .http
            .post(&self.introspection_endpoint)
            .basic_auth(CONFIDENTIAL_CLIENT_ID, Some(CONFIDENTIAL_CLIENT_SECRET))
            .form(&[("token", token)])
            .send()
            .await?
            .json()
            .await?;
        Ok(value["active"].as_bool() == Some(true))
    }
}

fn basic_password(value: &str) -> Option<String> {
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_string())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The head, and a body of `Content-Length` bytes or in chunks.
async fn read_request(stream: &mut TcpStream) -> Result<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let end = loop {
        if let Some(i) = find(&data, b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            bail!("connection closed in the head");
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..end]).to_string();
    let mut rest = data[end + 4..].to_vec();
    let lower = head.to_ascii_lowercase();
    let length = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    if let Some(length) = length {
        while rest.len() < length {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                bail!("connection closed in the body");
            }
            rest.extend_from_slice(&buf[..n]);
        }
        rest.truncate(length);
        return Ok((head, rest));
    }
    if lower.contains("transfer-encoding: chunked") {
        let mut body = Vec::new();
        loop {
            while find(&rest, b"\r\n").is_none() {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    bail!("connection closed in a chunk");
                }
                rest.extend_from_slice(&buf[..n]);
            }
            let line_end = find(&rest, b"\r\n").unwrap();
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..line_end])
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim(),
                16,
            )?;
            while rest.len() < line_end + 2 + size + 2 {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    bail!("connection closed in a chunk");
                }
                rest.extend_from_slice(&buf[..n]);
            }
            body.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest.drain(..line_end + 2 + size + 2);
            if size == 0 {
                return Ok((head, body));
            }
        }
    }
    Ok((head, rest))
}
