//! `keyfob link PROVIDER --device`: link with a code entered on any device (RFC 8628), for
//! SSH sessions, servers and containers without a browser.

use keyfob_core::{DevicePrompt, Keyfob};
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;

use crate::commands::link::report_linked;
use crate::exit::{Failure, LINK};
use crate::terminal::clean;

/// Links an account at `provider` with a user code; prints its id on stdout.
pub async fn run(kf: &Keyfob, provider: &str, scopes: Option<Vec<String>>) -> Result<(), Failure> {
    let name = kf.provider(provider)?.name;
    kf.check_keyring().await?;
    let mut interrupt = crate::interrupt::Interrupt::watch()?;
    let show = |prompt: &DevicePrompt| eprintln!("{}", instructions(prompt, &name));
    let account = tokio::select! {
        result = kf.link_with_code(provider, scopes, show) => result?,
        _ = interrupt.recv() => {
            return Err(Failure::new(LINK, "cancelled; nothing was linked"));
        }
    };
    report_linked(&account, &name);
    Ok(())
}

/// What the user reads: where to go, the code, and a QR code of the address with the code
/// filled in when the provider gives one (for a phone).
fn instructions(prompt: &DevicePrompt, name: &str) -> String {
    let minutes = (prompt.expires_at - time::OffsetDateTime::now_utc())
        .whole_minutes()
        .max(1);
    let mut text = format!(
        "To link your {} account, open this address on any device:\n\n  {}\n\nand enter the code:\n\n  {}\n",
        clean(name),
        prompt.verification_uri,
        clean(&prompt.user_code)
    );
    if let Some(complete) = &prompt.verification_uri_complete {
        if let Some(qr) = qr(complete.as_str()) {
            text.push_str(&format!(
                "\nOr scan this to open it with the code filled in:\n\n{qr}\n"
            ));
        }
    }
    text.push_str(&format!(
        "\nWaiting for you to enter it (the code expires in {minutes} min; Ctrl-C cancels)..."
    ));
    text
}

fn qr(data: &str) -> Option<String> {
    let code = QrCode::new(data.as_bytes()).ok()?;
    Some(code.render::<Dense1x2>().quiet_zone(true).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instructions_name_the_address_the_code_and_a_qr_code_when_there_is_one() {
        let prompt = DevicePrompt {
            user_code: "WDJB-MJHT".into(),
            verification_uri: "https://example.com/device".parse().unwrap(),
            verification_uri_complete: None,
            expires_at: time::OffsetDateTime::now_utc() + time::Duration::minutes(15),
        };
        let text = instructions(&prompt, "Example");
        assert!(text.contains("https://example.com/device") && text.contains("WDJB-MJHT"));
        assert!(!text.contains("scan"));
        let with_qr = DevicePrompt {
            verification_uri_complete: Some("https://example.com/device?c=WDJB".parse().unwrap()),
            ..prompt
        };
        let text = instructions(&with_qr, "Example");
        assert!(text.contains("scan") && text.contains('▀'), "{text}");
    }
}
