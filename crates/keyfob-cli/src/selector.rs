//! `<account>` arguments: an account id, `provider`, `provider:login` or an email address.

use keyfob_core::Account;

use crate::exit::{Failure, NOT_FOUND};
use crate::here::Choice;

/// Finds the one account `selector` names, or explains why it names none or several.
pub fn select<'a>(accounts: &'a [Account], selector: &str) -> Result<&'a Account, Failure> {
    // Most exact first. A provider id is chosen by whoever set Keyfob up, a login or an email
    // by whoever owns the account: a login that spells a provider id must not capture the
    // selector meant for that provider's account.
    let rules: [&dyn Fn(&Account) -> bool; 4] = [
        &|a| a.id == selector,
        &|a| match selector.split_once(':') {
            Some((provider, who)) => a.provider == provider && names(a, who),
            None => false,
        },
        &|a| a.provider == selector,
        &|a| names(a, selector),
    ];
    for rule in rules {
        let found: Vec<&Account> = accounts.iter().filter(|a| rule(a)).collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(one),
            many => {
                return Err(Failure::new(
                    NOT_FOUND,
                    format!(
                        "'{selector}' matches {} accounts; name one of:\n{}",
                        many.len(),
                        candidates(many)
                    ),
                ))
            }
        }
    }
    let message = if accounts.is_empty() {
        format!("no account '{selector}': no account is linked yet (see `keyfob link --help`)")
    } else {
        let all: Vec<&Account> = accounts.iter().collect();
        format!(
            "no account '{selector}'; linked accounts:\n{}",
            candidates(&all)
        )
    };
    Err(Failure::new(NOT_FOUND, message))
}

/// Like [`select`], but a bare provider id that names several accounts is settled by the
/// account chosen for the current directory (`here.rs`), which must be one of them.
pub fn select_here<'a>(accounts: &'a [Account], selector: &str) -> Result<&'a Account, Failure> {
    select_with(accounts, selector, crate::here::chosen_account)
}

fn select_with<'a>(
    accounts: &'a [Account],
    selector: &str,
    chosen: impl FnOnce() -> Option<Choice>,
) -> Result<&'a Account, Failure> {
    let several = accounts.iter().filter(|a| a.provider == selector).count() > 1;
    let an_id = accounts.iter().any(|a| a.id == selector);
    // Only then: a directory's choice costs a `git` run, and the hot path stays without one.
    if several && !an_id {
        if let Some(choice) = chosen() {
            let account = select(accounts, &choice.selector).map_err(|f| {
                Failure::new(
                    f.code,
                    format!("{} (chosen by {})", f.message, choice.origin),
                )
            })?;
            if account.provider != selector {
                return Err(Failure::new(
                    NOT_FOUND,
                    format!(
                        "{} chooses '{}', which is not a '{selector}' account",
                        choice.origin, choice.selector
                    ),
                ));
            }
            return Ok(account);
        }
    }
    select(accounts, selector)
}

/// Logins and emails are compared without case, as GitHub and mail servers treat them.
fn names(a: &Account, who: &str) -> bool {
    a.login
        .as_deref()
        .is_some_and(|l| l.eq_ignore_ascii_case(who))
        || a.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(who))
        || a.display_name.eq_ignore_ascii_case(who)
}

fn candidates(accounts: &[&Account]) -> String {
    accounts
        .iter()
        .map(|a| {
            format!(
                "  {:<24} {}:{}",
                a.id,
                a.provider,
                a.login.as_deref().unwrap_or(&a.display_name)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use keyfob_core::AccountStatus;

    pub(crate) fn account(id: &str, provider: &str, login: &str, email: Option<&str>) -> Account {
        Account {
            id: id.into(),
            provider: provider.into(),
            issuer: format!("https://{provider}"),
            linked_with: None,
            subject: id.into(),
            display_name: email.unwrap_or(login).into(),
            email: email.map(String::from),
            login: Some(login.into()),
            scopes: vec![],
            access_expires_at: None,
            has_refresh_token: false,
            refresh_expires_at: None,
            linked_at: time::OffsetDateTime::UNIX_EPOCH,
            refreshed_at: None,
            access_issued_at: None,
            status: AccountStatus::Ok,
            attention: None,
        }
    }

    fn accounts() -> Vec<Account> {
        vec![
            account("github-1", "github", "octocat", None),
            account("google-1", "google", "ann", Some("ann@example.com")),
            account("google-2", "google", "bob", Some("bob@example.com")),
        ]
    }

    #[test]
    fn selects_by_id_provider_login_and_email() {
        let all = accounts();
        assert_eq!(select(&all, "google-2").unwrap().id, "google-2");
        assert_eq!(select(&all, "github").unwrap().id, "github-1");
        assert_eq!(select(&all, "github:octocat").unwrap().id, "github-1");
        assert_eq!(select(&all, "github:Octocat").unwrap().id, "github-1");
        assert_eq!(select(&all, "google:bob").unwrap().id, "google-2");
        assert_eq!(
            select(&all, "google:ann@example.com").unwrap().id,
            "google-1"
        );
        assert_eq!(select(&all, "ANN@example.com").unwrap().id, "google-1");
    }

    #[test]
    fn a_directorys_choice_settles_a_bare_provider_id_only() {
        let all = accounts();
        let choice = |s: &str| {
            let s = s.to_string();
            move || {
                Some(Choice {
                    selector: s,
                    origin: ".keyfob".into(),
                })
            }
        };
        assert_eq!(
            select_with(&all, "google", choice("bob")).unwrap().id,
            "google-2"
        );
        assert_eq!(
            select_with(&all, "google", choice("google-1")).unwrap().id,
            "google-1"
        );
        // Anything more precise than a bare provider id wins over the directory.
        assert_eq!(
            select_with(&all, "google:ann", choice("bob")).unwrap().id,
            "google-1"
        );
        assert_eq!(
            select_with(&all, "google-1", choice("bob")).unwrap().id,
            "google-1"
        );
        // A provider with one account needs no choice (and runs no lookup).
        let never = || -> Option<Choice> { panic!("looked up") };
        assert_eq!(select_with(&all, "github", never).unwrap().id, "github-1");
        // A choice of another provider's account, or of nobody, is an error naming its origin.
        let err = select_with(&all, "google", choice("octocat")).unwrap_err();
        assert!(
            err.message.contains(".keyfob chooses 'octocat'"),
            "{}",
            err.message
        );
        let err = select_with(&all, "google", choice("carol")).unwrap_err();
        assert!(
            err.message.contains("(chosen by .keyfob)"),
            "{}",
            err.message
        );
        // No choice: still ambiguous.
        assert!(select_with(&all, "google", || None).is_err());
    }

    #[test]
    fn a_provider_id_wins_over_a_login_that_spells_it() {
        let mut all = accounts();
        all.push(account("work-1", "work", "alice", None));
        all.push(account("github-2", "github", "work", None));
        assert_eq!(select(&all, "work").unwrap().id, "work-1");
        // The login still selects with its provider, or when no provider has that id.
        assert_eq!(select(&all, "github:work").unwrap().id, "github-2");
        assert_eq!(select(&all, "octocat").unwrap().id, "github-1");
    }

    #[test]
    fn ambiguous_and_unknown_selectors_list_candidates() {
        let all = accounts();
        let err = select(&all, "google").unwrap_err();
        assert_eq!(err.code, NOT_FOUND);
        assert!(
            err.message.contains("matches 2 accounts")
                && err.message.contains("google-1")
                && err.message.contains("google-2"),
            "{}",
            err.message
        );
        let err = select(&all, "gitlab").unwrap_err();
        assert!(
            err.message.contains("no account 'gitlab'") && err.message.contains("github-1"),
            "{}",
            err.message
        );
        let err = select(&[], "x").unwrap_err();
        assert!(
            err.message.contains("no account is linked yet"),
            "{}",
            err.message
        );
    }
}
