//! What the CLI says about an account's attention mark: a short label for tables, and the
//! commands that settle it.

use keyfob_core::{Account, Attention};

/// The STATUS cell of a marked account.
pub fn label(attention: &Attention) -> &'static str {
    match attention {
        Attention::RefreshTokenNotStored { .. } => "refresh token lost",
        Attention::RevocationPending { .. } => "unlink pending",
        Attention::RefreshFailing { .. } => "refresh failing",
    }
}

/// What happened to `account` and the commands that settle it; `None` when unmarked.
pub fn advice(account: &Account) -> Option<String> {
    let attention = account.attention.as_ref()?;
    let id = &account.id;
    let what_to_do = match attention {
        Attention::RefreshTokenNotStored { .. } => {
            format!("Run `keyfob link {}` to link it again.", account.provider)
        }
        Attention::RevocationPending { .. } => format!(
            "Run `keyfob unlink {id}` to try again, or `keyfob unlink --forget {id}` to forget \
             it here without revoking."
        ),
        Attention::RefreshFailing { .. } => {
            format!("Check the network or the provider; `keyfob token {id}` tries again at once.")
        }
    };
    Some(format!(
        "{id}: {} {what_to_do}",
        crate::terminal::clean(&capitalized(&attention.advice()))
    ))
}

fn capitalized(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_account_gets_the_commands_that_settle_it() {
        let mut account = crate::selector::tests::account("gh-1", "github", "octocat", None);
        assert_eq!(advice(&account), None);
        account.attention = Some(Attention::RevocationPending {
            reason: "HTTP 503".into(),
        });
        let said = advice(&account).unwrap();
        assert!(
            said.starts_with("gh-1: Unlinking could not revoke"),
            "{said}"
        );
        assert!(said.contains("at the provider: HTTP 503."), "{said}");
        assert!(said.contains("`keyfob unlink --forget gh-1`"), "{said}");
        account.attention = Some(Attention::RefreshTokenNotStored {
            reason: "locked".into(),
        });
        assert!(advice(&account).unwrap().contains("`keyfob link github`"));
        account.attention = Some(Attention::RefreshFailing {
            since: time::OffsetDateTime::UNIX_EPOCH,
            reason: "HTTP 503".into(),
        });
        let said = advice(&account).unwrap();
        assert!(said.starts_with("gh-1: Refreshing it ahead of expiry has failed since 1970-01-01 00:00:00 UTC: HTTP 503."), "{said}");
        assert!(
            said.contains("`keyfob token gh-1` tries again at once"),
            "{said}"
        );
        assert_eq!(
            label(account.attention.as_ref().unwrap()),
            "refresh failing"
        );
    }
}
