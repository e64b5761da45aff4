//! What the tray menu says and which entries it has, decided from the account list alone
//! (no Tauri here): [`plan`] lays the menu out, [`TrayAction::parse`] reads back a click.

use keyfob_core::{Account, AccountStatus};
use time::{OffsetDateTime, UtcOffset};

use crate::local_time;

/// One entry of the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// An account: its line, and what can be done with it.
    Account {
        text: String,
        actions: Vec<(String, String)>,
    },
    /// A line that does nothing (no accounts yet).
    Note(String),
    Separator,
    /// A plain command: (menu id, text).
    Command(String, String),
}

/// What a click on a tray menu entry asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    Copy(String),
    Relink(String),
    Open,
    Quit,
}

const OPEN: &str = "open";
const QUIT: &str = "quit";

impl TrayAction {
    /// The action behind a menu id (`None` for an id the menu never had).
    pub fn parse(id: &str) -> Option<Self> {
        match id {
            OPEN => Some(TrayAction::Open),
            QUIT => Some(TrayAction::Quit),
            _ => match id.split_once(':')? {
                ("copy", account) => Some(TrayAction::Copy(account.to_string())),
                ("relink", account) => Some(TrayAction::Relink(account.to_string())),
                _ => None,
            },
        }
    }
}

/// Whether an account asks for the user: its grant is gone, or something was left half done.
pub fn needs_attention(account: &Account) -> bool {
    matches!(account.status, AccountStatus::NeedsRelink { .. }) || account.attention.is_some()
}

/// The menu for `accounts`; `provider_name` names a provider id, `offset` is the local time
/// zone's offset at `now`.
pub fn plan(
    accounts: &[Account],
    provider_name: impl Fn(&str) -> String,
    now: OffsetDateTime,
    offset: UtcOffset,
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = accounts
        .iter()
        .map(|account| Entry::Account {
            text: format!(
                "{} · {} — {}",
                provider_name(&account.provider),
                account.display_name,
                state_text(account, now, offset)
            ),
            actions: account_actions(account),
        })
        .collect();
    if entries.is_empty() {
        entries.push(Entry::Note("No accounts linked".into()));
    }
    entries.push(Entry::Separator);
    entries.push(Entry::Command(OPEN.into(), "Open Keyfob".into()));
    entries.push(Entry::Command(QUIT.into(), "Quit".into()));
    entries
}

/// The tooltip: how many accounts there are and how many need the user.
pub fn tooltip(accounts: &[Account]) -> String {
    let attention = accounts.iter().filter(|a| needs_attention(a)).count();
    let linked = match accounts.len() {
        1 => "1 account".to_string(),
        n => format!("{n} accounts"),
    };
    match attention {
        0 => format!("Keyfob — {linked}"),
        n => format!("Keyfob — {linked}, {n} need attention"),
    }
}

fn account_actions(account: &Account) -> Vec<(String, String)> {
    let id = &account.id;
    match account.status {
        AccountStatus::NeedsRelink { .. } => vec![(format!("relink:{id}"), "Re-link…".into())],
        AccountStatus::Ok => vec![(format!("copy:{id}"), "Copy token".into())],
    }
}

/// "expires 14:05", "expired 14:05", "expires 3 Dec 14:05", "needs re-link".
fn state_text(account: &Account, now: OffsetDateTime, offset: UtcOffset) -> String {
    if let AccountStatus::NeedsRelink { .. } = account.status {
        return "needs re-link".into();
    }
    if account.attention.is_some() {
        return "needs attention".into();
    }
    let Some(expires) = account.access_expires_at else {
        return "does not expire".into();
    };
    let verb = if expires <= now { "expired" } else { "expires" };
    let local = expires.to_offset(offset);
    let clock = local_time::clock(local);
    if local.date() == now.to_offset(offset).date() {
        format!("{verb} {clock}")
    } else {
        format!("{verb} {} {clock}", local_time::day(local))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyfob_core::Attention;
    use time::macros::{datetime, offset};

    fn account(id: &str, name: &str, expires: Option<OffsetDateTime>) -> Account {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "provider": id.split('-').next().unwrap(),
            "issuer": "https://issuer.example",
            "linked_with": null,
            "subject": "1",
            "display_name": name,
            "scopes": [],
            "access_expires_at": expires.map(|e| e.format(&time::format_description::well_known::Rfc3339).unwrap()),
            "has_refresh_token": true,
            "linked_at": "2026-11-30T10:00:00Z",
            "status": {"state": "ok"},
        }))
        .unwrap()
    }

    fn names(id: &str) -> String {
        match id {
            "github" => "GitHub".into(),
            other => other.to_string(),
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-11-30 12:00 UTC);

    #[test]
    fn lists_accounts_with_their_expiry_in_local_time_then_open_and_quit() {
        let accounts = [
            account("github-1", "alice", Some(datetime!(2026-11-30 13:05 UTC))),
            account("local-2", "bob@example.test", None),
        ];
        let menu = plan(&accounts, names, NOW, offset!(+1));
        assert_eq!(
            menu,
            vec![
                Entry::Account {
                    text: "GitHub · alice — expires 14:05".into(),
                    actions: vec![("copy:github-1".into(), "Copy token".into())],
                },
                Entry::Account {
                    text: "local · bob@example.test — does not expire".into(),
                    actions: vec![("copy:local-2".into(), "Copy token".into())],
                },
                Entry::Separator,
                Entry::Command("open".into(), "Open Keyfob".into()),
                Entry::Command("quit".into(), "Quit".into()),
            ]
        );
    }

    #[test]
    fn says_expired_and_names_another_day() {
        let past = account("github-1", "alice", Some(datetime!(2026-11-30 11:59 UTC)));
        let tomorrow = account("github-2", "carol", Some(datetime!(2026-12-01 09:30 UTC)));
        let menu = plan(&[past, tomorrow], names, NOW, offset!(UTC));
        let texts: Vec<_> = menu
            .iter()
            .filter_map(|e| match e {
                Entry::Account { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            [
                "GitHub · alice — expired 11:59",
                "GitHub · carol — expires 1 Dec 09:30"
            ]
        );
    }

    #[test]
    fn an_account_needing_re_link_offers_the_re_link_and_counts_in_the_tooltip() {
        let mut gone = account("github-1", "alice", Some(datetime!(2026-11-30 13:05 UTC)));
        gone.status = AccountStatus::NeedsRelink {
            reason: "revoked".into(),
        };
        let fine = account("local-2", "bob", None);
        assert!(needs_attention(&gone) && !needs_attention(&fine));
        let menu = plan(&[gone.clone(), fine.clone()], names, NOW, offset!(UTC));
        assert_eq!(
            menu[0],
            Entry::Account {
                text: "GitHub · alice — needs re-link".into(),
                actions: vec![("relink:github-1".into(), "Re-link…".into())],
            }
        );
        assert_eq!(
            tooltip(&[gone, fine.clone()]),
            "Keyfob — 2 accounts, 1 need attention"
        );
        assert_eq!(tooltip(&[fine]), "Keyfob — 1 account");
    }

    #[test]
    fn an_attention_mark_shows() {
        let mut marked = account("local-2", "bob", None);
        marked.attention = Some(Attention::RevocationPending {
            reason: "HTTP 503".into(),
        });
        assert!(needs_attention(&marked));
        let menu = plan(&[marked], names, NOW, offset!(UTC));
        assert!(
            matches!(&menu[0], Entry::Account { text, .. } if text.ends_with("needs attention"))
        );
    }

    #[test]
    fn no_accounts_says_so() {
        let menu = plan(&[], names, NOW, offset!(UTC));
        assert_eq!(menu[0], Entry::Note("No accounts linked".into()));
        assert_eq!(menu.len(), 4);
    }

    #[test]
    fn reads_back_menu_ids() {
        assert_eq!(TrayAction::parse("open"), Some(TrayAction::Open));
        assert_eq!(TrayAction::parse("quit"), Some(TrayAction::Quit));
        assert_eq!(
            TrayAction::parse("copy:github-1"),
            Some(TrayAction::Copy("github-1".into()))
        );
        assert_eq!(
            TrayAction::parse("relink:a:b"),
            Some(TrayAction::Relink("a:b".into()))
        );
        assert_eq!(TrayAction::parse("other:x"), None);
        assert_eq!(TrayAction::parse("nothing"), None);
    }
}
