//! `keyfob status [--json]`: whether the keyring answers, and for every account where its
//! secrets live and which are there. Exits 6 when the keyring does not answer, so scripts
//! and health checks can tell.

use keyfob_core::{Account, Keyfob, SecretPlace, KEYRING_NAME};
use serde_json::json;

use crate::exit::{Failure, KEYRING};
use crate::{attention, table};

/// Prints the keyring's state and each account's secrets.
pub async fn run(kf: &Keyfob, as_json: bool) -> Result<(), Failure> {
    let accounts = kf.accounts()?;
    let keyring = kf.check_keyring().await.map_err(|e| e.to_string());
    let mut places = Vec::new();
    for account in &accounts {
        // Without a keyring, where the secrets would be is still worth saying.
        let found = match &keyring {
            Ok(()) => Some(kf.secret_places(account).await?),
            Err(_) => None,
        };
        places.push(found);
    }
    if as_json {
        println!("{}", report_json(&accounts, &places, &keyring));
    } else {
        print!("{}", report_text(&accounts, &places, &keyring));
        for advice in accounts.iter().filter_map(attention::advice) {
            eprintln!("{advice}");
        }
    }
    match keyring {
        Ok(()) => Ok(()),
        Err(reason) => Err(Failure::new(KEYRING, reason)),
    }
}

fn report_json(
    accounts: &[Account],
    places: &[Option<Vec<SecretPlace>>],
    keyring: &Result<(), String>,
) -> String {
    let accounts: Vec<_> = accounts
        .iter()
        .zip(places)
        .map(|(a, p)| {
            json!({
                "id": a.id,
                "provider": a.provider,
                "display_name": a.display_name,
                "status": a.status,
                "attention": a.attention,
                "secrets": p,
            })
        })
        .collect();
    let value = json!({
        "keyring": {
            "name": KEYRING_NAME,
            "reachable": keyring.is_ok(),
            "error": keyring.as_ref().err(),
        },
        "accounts": accounts,
    });
    serde_json::to_string_pretty(&value).expect("status serializes")
}

fn report_text(
    accounts: &[Account],
    places: &[Option<Vec<SecretPlace>>],
    keyring: &Result<(), String>,
) -> String {
    let mut text = match keyring {
        Ok(()) => format!("Keyring: {KEYRING_NAME}, answering.\n"),
        Err(reason) => format!("Keyring: {KEYRING_NAME}, not answering: {reason}\n"),
    };
    if accounts.is_empty() {
        text.push_str("No account is linked yet.\n");
        return text;
    }
    if let Some(service) = places.iter().flatten().flatten().map(|p| &p.service).next() {
        text.push_str(&format!(
            "Secrets are keyring items of service '{service}'.\n"
        ));
    }
    text.push('\n');
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .zip(places)
        .map(|(a, p)| {
            let secrets = match p {
                None => "unknown (no keyring)".to_string(),
                Some(p) => stored_list(p),
            };
            vec![
                a.id.clone(),
                a.provider.clone(),
                a.display_name.clone(),
                secrets,
            ]
        })
        .collect();
    text.push_str(&table::render(
        &["ID", "PROVIDER", "IDENTITY", "IN THE KEYRING"],
        &rows,
    ));
    text
}

/// `access, refresh, ID token`, or what is missing.
fn stored_list(places: &[SecretPlace]) -> String {
    let name = |what: &str| what.trim_end_matches("_token").replace("id", "ID");
    let stored: Vec<String> = places
        .iter()
        .filter(|p| p.stored)
        .map(|p| name(p.what))
        .collect();
    if stored.is_empty() {
        "nothing".into()
    } else {
        format!("{} token", stored.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(what: &'static str, stored: bool) -> SecretPlace {
        SecretPlace {
            what,
            service: "keyfob".into(),
            item: format!("account/a/{what}"),
            stored,
        }
    }

    #[test]
    fn the_stored_secrets_are_named_shortly() {
        let all = [
            place("access_token", true),
            place("refresh_token", true),
            place("id_token", true),
        ];
        assert_eq!(stored_list(&all), "access, refresh, ID token");
        let some = [
            place("access_token", true),
            place("refresh_token", false),
            place("id_token", false),
        ];
        assert_eq!(stored_list(&some), "access token");
        assert_eq!(stored_list(&[place("access_token", false)]), "nothing");
    }
}
