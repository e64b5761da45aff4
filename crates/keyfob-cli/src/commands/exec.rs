//! `keyfob exec ACCOUNT... -- COMMAND`: runs a command with each account's fresh token in its
//! environment only, and exits with the command's status.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

use keyfob_core::{Account, Keyfob};

use crate::child;
use crate::commands::token::{check_variable, default_variable, plain};
use crate::exit::{Failure, USAGE};
use crate::selector::select_here;

/// Runs `command` with the selected accounts' tokens in `<PROVIDER>_TOKEN` (or `names`,
/// one per account, in order).
pub async fn run(
    kf: &Keyfob,
    selectors: &[String],
    names: &[String],
    min_valid: Duration,
    command: &[OsString],
) -> Result<(), Failure> {
    let accounts = kf.accounts()?;
    let chosen: Vec<&Account> = selectors
        .iter()
        .map(|s| select_here(&accounts, s))
        .collect::<Result<_, _>>()?;
    let providers: Vec<&str> = chosen.iter().map(|a| a.provider.as_str()).collect();
    // Every name is settled before any keyring read or refresh.
    let variables = variables(&providers, names)?;
    let mut env = Vec::new();
    for (account, variable) in chosen.iter().zip(variables) {
        let fresh = kf.access_token_of(account, min_valid).await?;
        env.push((variable, plain(&fresh.token)?.to_string()));
    }
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Failure::new(USAGE, "name the command to run after `--`"))?;
    let status = child::run(program, args, &env, None).await?;
    Failure::exit_with(child::exit_code(status))
}

/// The variable each account's token goes into: the given names in order, else
/// `<PROVIDER>_TOKEN`. Two accounts may not share one.
fn variables(providers: &[&str], names: &[String]) -> Result<Vec<String>, Failure> {
    if !names.is_empty() && names.len() != providers.len() {
        return Err(Failure::new(
            USAGE,
            format!(
                "{} accounts but {} --name: give one --name per account, in the same order",
                providers.len(),
                names.len()
            ),
        ));
    }
    let variables: Vec<String> = if names.is_empty() {
        providers.iter().map(|p| default_variable(p)).collect()
    } else {
        names.to_vec()
    };
    let mut seen = BTreeMap::new();
    for (i, v) in variables.iter().enumerate() {
        check_variable(v)?;
        if let Some(first) = seen.insert(v.clone(), i) {
            return Err(Failure::new(
                USAGE,
                format!(
                    "accounts {} and {} would both set {v}: give each a --name",
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(variables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_gets_its_own_variable() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            variables(&["github", "my-idp"], &[]).unwrap(),
            names(&["GITHUB_TOKEN", "MY_IDP_TOKEN"])
        );
        assert_eq!(
            variables(&["github", "github"], &names(&["A", "B"])).unwrap(),
            names(&["A", "B"])
        );
        let clash = variables(&["github", "github"], &[]).unwrap_err();
        assert!(
            clash.message.contains("both set GITHUB_TOKEN"),
            "{}",
            clash.message
        );
        assert!(variables(&["github"], &names(&["A", "B"])).is_err());
        assert!(variables(&["github"], &names(&["1X"])).is_err());
        assert!(variables(&["github", "google"], &names(&["X", "X"])).is_err());
    }
}
