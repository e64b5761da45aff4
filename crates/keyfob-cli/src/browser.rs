//! Opening the system browser: `$BROWSER` when set (as xdg-open does), else the platform's
//! opener. The browser's own output never reaches our stdout, which carries data.

use std::io;
use std::process::{Command, Stdio};

/// Starts the browser on `url` without waiting for it.
pub fn open(url: &str) -> io::Result<()> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no browser opener found");
    for mut command in candidates(url) {
        match command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(mut child) => {
                // Reap it in the background; a browser may outlive this process.
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn candidates(url: &str) -> Vec<Command> {
    let mut list = Vec::new();
    if let Some(browsers) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        for browser in browsers
            .to_string_lossy()
            .split(':')
            .filter(|b| !b.is_empty())
        {
            let mut c = Command::new(browser);
            c.arg(url);
            list.push(c);
        }
    }
    if cfg!(target_os = "macos") {
        let mut c = Command::new("open");
        c.arg(url);
        list.push(c);
    } else if cfg!(windows) {
        // rundll32 avoids cmd.exe, which would split the URL at '&'.
        let mut c = Command::new("rundll32");
        c.args(["url.dll,FileProtocolHandler", url]);
        list.push(c);
    } else {
        let mut c = Command::new("xdg-open");
        c.arg(url);
        list.push(c);
        let mut c = Command::new("gio");
        c.args(["open", url]);
        list.push(c);
    }
    list
}
