//! `keyfob check`: ask each provider whether an account's token still works.

use keyfob_core::Keyfob;

use crate::exit::Failure;
use crate::selector::select;
use crate::terminal::clean;

/// Checks the selected account, or every account; exits with the first failure's code.
pub async fn run(kf: &Keyfob, selector: Option<&str>) -> Result<(), Failure> {
    let accounts = kf.accounts()?;
    let chosen = match selector {
        Some(selector) => vec![select(&accounts, selector)?],
        None => accounts.iter().collect(),
    };
    if chosen.is_empty() {
        eprintln!("No account is linked yet. Link one with `keyfob link <provider>`.");
        return Ok(());
    }
    let mut first_failure: Option<Failure> = None;
    for account in chosen {
        let who = format!(
            "{} ({})",
            clean(&account.display_name),
            clean(&account.provider)
        );
        let checkable = kf
            .provider(&account.provider)
            .map(|p| p.userinfo_endpoint.is_some())
            .unwrap_or(true);
        if !checkable && selector.is_none() {
            // Nothing to ask: not a failure of the account.
            eprintln!("{who}: not checked; its provider has no userinfo endpoint to ask.");
            continue;
        }
        match kf.check_account(&account.id).await {
            Ok(_) => eprintln!("{who}: the provider accepts its token."),
            Err(e) => {
                let failure = Failure::from(e);
                eprintln!("{who}: {}", clean(&failure.message));
                first_failure.get_or_insert(failure);
            }
        }
    }
    match first_failure {
        // Each account's problem is already printed; the code says the worst came first.
        Some(failure) => Err(Failure::new(failure.code, "some accounts need attention")),
        None => Ok(()),
    }
}
