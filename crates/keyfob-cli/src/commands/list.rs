//! `keyfob list`: accounts, without reading any secret.

use keyfob_core::{AccountStatus, Keyfob};

use crate::exit::Failure;
use crate::{attention, table, when};

/// Prints the linked accounts.
pub fn run(kf: &Keyfob, json: bool) -> Result<(), Failure> {
    let accounts = kf.accounts()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&accounts).expect("accounts serialize")
        );
        return Ok(());
    }
    if accounts.is_empty() {
        eprintln!("No account is linked yet. Link one with `keyfob link <provider>` (see `keyfob providers`).");
        return Ok(());
    }
    let now = time::OffsetDateTime::now_utc();
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                a.provider.clone(),
                a.display_name.clone(),
                a.scopes.join(" "),
                when::expiry(a.access_expires_at, now),
                match (&a.status, &a.attention) {
                    (AccountStatus::NeedsRelink { .. }, _) => "needs re-link".into(),
                    (AccountStatus::Ok, Some(mark)) => attention::label(mark).into(),
                    (AccountStatus::Ok, None) => "ok".into(),
                },
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &["ID", "PROVIDER", "IDENTITY", "SCOPES", "EXPIRES", "STATUS"],
            &rows
        )
    );
    for advice in accounts.iter().filter_map(attention::advice) {
        eprintln!("{advice}");
    }
    Ok(())
}
