//! A headless "system browser" for scripts and benchmarks: use it as `$BROWSER`. It opens
//! Keyfob's one-time start address, signs in on the local provider's pages as
//! `$KEYFOB_BROWSER_LOGIN` (default "demo"), approves, and follows the redirect to Keyfob's
//! loopback listener.

use anyhow::{Context, Result};
use keyfob_testkit::{Browser, Consent};

#[tokio::main]
async fn main() -> Result<()> {
    let url = std::env::args()
        .nth(1)
        .context("usage: browser <start address or authorization URL>")?;
    let login = std::env::var("KEYFOB_BROWSER_LOGIN").unwrap_or_else(|_| "demo".into());
    let browser = Browser::new();
    let redirect = browser.authorize(&url, &login, Consent::Approve).await?;
    let (status, _) = browser.deliver(&redirect).await?;
    anyhow::ensure!(status == 200, "the loopback listener answered {status}");
    Ok(())
}
