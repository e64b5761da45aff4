//! `keyfob providers` and `keyfob provider add|remove`.

use std::collections::BTreeMap;
use std::io::Read;

use keyfob_core::{
    ClientAuth, GithubOptions, GoogleDeviceClient, GoogleOptions, Keyfob, OpenidProviderDraft,
    Provider, ProviderKind, RedirectMode, Secret, SecretUpdate,
};
use keyfob_core::{Preset, PresetClient, RefreshAhead};

use crate::cli::{split_scopes, AddArgs, AuthArg, GithubArgs, GoogleArgs};
use crate::exit::{Failure, USAGE};
use crate::table;

/// Lists configured providers.
pub fn list(kf: &Keyfob, json: bool) -> Result<(), Failure> {
    let providers = kf.providers()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&providers).expect("providers serialize")
        );
        return Ok(());
    }
    if providers.is_empty() {
        eprintln!("No provider is configured. Add one with `keyfob provider add` (see --help).");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = providers
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                p.name.clone(),
                match p.kind {
                    ProviderKind::Openid => "openid".into(),
                    ProviderKind::Oauth2 => "oauth2".into(),
                },
                p.issuer.clone(),
                p.client_id.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["ID", "NAME", "KIND", "ISSUER", "CLIENT ID"], &rows)
    );
    Ok(())
}

/// Adds an OpenID provider through discovery.
pub async fn add(kf: &Keyfob, args: AddArgs) -> Result<(), Failure> {
    let secret = read_secret(args.client_secret_stdin)?;
    let client_auth = match (args.auth, &secret) {
        (Some(AuthArg::Basic), _) => ClientAuth::Basic,
        (Some(AuthArg::Post), _) => ClientAuth::Post,
        (Some(AuthArg::None), _) => ClientAuth::None,
        (None, Some(_)) => ClientAuth::Basic,
        (None, None) => ClientAuth::None,
    };
    let mut extra_params = BTreeMap::new();
    for p in &args.params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| Failure::new(USAGE, format!("--param '{p}' is not KEY=VALUE")))?;
        extra_params.insert(k.to_string(), v.to_string());
    }
    let draft = OpenidProviderDraft {
        name: args.name.unwrap_or_else(|| args.id.clone()),
        id: args.id,
        issuer: args.issuer,
        client_id: args.client_id,
        client_auth,
        scopes: args.scopes.as_deref().map(split_scopes),
        extra_params,
        redirect: if args.loopback {
            RedirectMode::Loopback
        } else {
            RedirectMode::Scheme
        },
        device_flow: args.device_flow,
        refresh_ahead: args.refresh_ahead,
    };
    let provider = kf.add_openid_provider(draft, secret).await?;
    eprintln!(
        "Added {} ({}). {}",
        provider.name,
        provider.issuer,
        to_register(&provider)
    );
    Ok(())
}

/// Adds the GitHub preset.
pub async fn add_github(kf: &Keyfob, args: GithubArgs) -> Result<(), Failure> {
    let PresetClient {
        id: client_id,
        secret,
    } = preset_client(
        Preset::Github,
        args.client_id.as_deref(),
        read_secret(args.client_secret_stdin)?,
        "an OAuth App",
    )?;
    let mut options = match (&args.enterprise, &args.web, &args.api) {
        (Some(base), _, _) => GithubOptions::enterprise(base, client_id)?,
        (None, Some(web), Some(api)) => {
            let mut o = GithubOptions::github_com(client_id);
            o.web = parse_url(web)?;
            o.api = parse_url(api)?;
            o
        }
        _ => GithubOptions::github_com(client_id),
    };
    if let Some(id) = args.id {
        options.id = id;
    }
    if args.github_app {
        options = options.github_app();
    }
    if args.scheme {
        options.redirect = RedirectMode::Scheme;
    }
    if args.loopback_port.is_some() {
        options.loopback_port = args.loopback_port;
    }
    options.device_flow = args.device_flow;
    let provider = kf.add_github(options, secret).await?;
    eprintln!("Added {}. {}", provider.name, to_register(&provider));
    Ok(())
}

/// Adds the Google preset.
pub async fn add_google(kf: &Keyfob, args: GoogleArgs) -> Result<(), Failure> {
    let GoogleArgs {
        client_id,
        client_secret_stdin,
        device_client_id,
        device_client_secret_stdin,
        issuer,
        scheme,
    } = args;
    let mut secrets = read_secrets(client_secret_stdin, device_client_secret_stdin)?;
    let device_secret = if device_client_secret_stdin {
        secrets.pop()
    } else {
        None
    };
    let PresetClient {
        id: client_id,
        secret,
    } = preset_client(
        Preset::Google,
        client_id.as_deref(),
        secrets.pop(),
        "a Desktop app OAuth client",
    )?;
    let mut options = GoogleOptions::new(client_id);
    // clap makes the id and the secret come together.
    options.device_client = device_client_id
        .zip(device_secret)
        .map(|(id, secret)| GoogleDeviceClient { id, secret });
    if let Some(issuer) = issuer {
        options.issuer = issuer;
    }
    if scheme {
        options.redirect = RedirectMode::Scheme;
    }
    let provider = kf.add_google(options, secret).await?;
    eprintln!("Added {}. {}", provider.name, to_register(&provider));
    if provider.device_client_id.is_some() {
        eprintln!(
            "Linking with a code (keyfob link {} --device) goes through the device client.",
            provider.id
        );
    }
    Ok(())
}

/// What to register at the provider, in the core's words (`Provider::redirect_registrations`).
fn to_register(provider: &Provider) -> String {
    let registrations = provider.redirect_registrations();
    if registrations.is_empty() {
        return "It needs no redirect URI registered: Desktop app clients accept any loopback port."
            .into();
    }
    let list: Vec<String> = registrations
        .iter()
        .map(|r| {
            let who = match (r.app, r.cli) {
                (true, true) => "the desktop app and the keyfob command",
                (true, false) => "the desktop app",
                _ => "the keyfob command",
            };
            let port = if r.any_port { "any port works, " } else { "" };
            format!("{} ({port}for {who})", r.uri)
        })
        .collect();
    format!(
        "Register {} at the provider: {}.",
        if list.len() == 1 {
            "this redirect URI"
        } else {
            "these redirect URIs"
        },
        list.join(" and ")
    )
}

/// The client given on the command line, else the one built in (the core's rule), else a
/// usage error that says what to register.
fn preset_client(
    preset: Preset,
    id: Option<&str>,
    secret: Option<Secret>,
    what: &str,
) -> Result<PresetClient, Failure> {
    preset.client(id, secret).ok_or_else(|| {
        let provider = preset.name();
        Failure::new(
            USAGE,
            format!("this build has no {provider} client id built in: register {what} (see the README) and pass --client-id"),
        )
    })
}

fn parse_url(text: &str) -> Result<url::Url, Failure> {
    url::Url::parse(text).map_err(|e| Failure::new(USAGE, format!("'{text}' is not a URL: {e}")))
}

/// Secrets from standard input, one a line, for each flag that is set (in their order).
fn read_secrets(first: bool, second: bool) -> Result<Vec<Secret>, Failure> {
    if !(first && second) {
        return Ok(read_secret(first || second)?.into_iter().collect());
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| {
        Failure::new(
            USAGE,
            format!("cannot read the client secrets from stdin: {e}"),
        )
    })?;
    secret_lines(&text)
}

/// Exactly two non-empty lines: the Desktop app client's secret, then the device client's.
fn secret_lines(text: &str) -> Result<Vec<Secret>, Failure> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    match lines.as_slice() {
        [first, second] if !first.is_empty() && !second.is_empty() => {
            Ok(vec![Secret::new(*first), Secret::new(*second)])
        }
        _ => Err(Failure::new(
            USAGE,
            "stdin must hold two client secrets, one a line: the Desktop app client's, then the device client's",
        )),
    }
}

fn read_secret(from_stdin: bool) -> Result<Option<Secret>, Failure> {
    if !from_stdin {
        return Ok(None);
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| {
        Failure::new(
            USAGE,
            format!("cannot read the client secret from stdin: {e}"),
        )
    })?;
    let text = text.trim_end_matches(['\r', '\n']).to_string();
    if text.is_empty() {
        return Err(Failure::new(USAGE, "the client secret on stdin is empty"));
    }
    Ok(Some(Secret::new(text)))
}

/// Sets a provider's client secret from standard input, or removes it.
pub async fn secret(kf: &Keyfob, id: &str, remove: bool) -> Result<(), Failure> {
    let provider = kf.provider(id)?;
    if !remove && provider.client_auth == ClientAuth::None {
        return Err(Failure::new(
            USAGE,
            format!(
                "{id} signs in as a public client (no client authentication), so it would never \
                 use a client secret; add the provider again with --auth basic or --auth post \
                 to use one"
            ),
        ));
    }
    let update = if remove {
        SecretUpdate::Remove
    } else {
        match read_secret(true)? {
            Some(secret) => SecretUpdate::Set(secret),
            None => return Err(Failure::new(USAGE, "no client secret on standard input")),
        }
    };
    kf.save_provider(provider, update).await?;
    if remove {
        eprintln!("Removed the client secret of {id}.");
    } else {
        eprintln!("Stored the client secret of {id} in the keyring.");
    }
    Ok(())
}

/// Sets how long before expiry the keeper refreshes a provider's accounts.
pub async fn refresh_ahead(kf: &Keyfob, id: &str, setting: RefreshAhead) -> Result<(), Failure> {
    let mut provider = kf.provider(id)?;
    provider.refresh_ahead = setting;
    kf.save_provider(provider, SecretUpdate::Keep).await?;
    let what = match setting {
        RefreshAhead::Off => "the keeper no longer refreshes its accounts ahead".to_string(),
        RefreshAhead::Default => {
            "the keeper refreshes its accounts when 10% of a token's lifetime is left".to_string()
        }
        RefreshAhead::Lead(_) => format!("the keeper refreshes its accounts {setting} ahead"),
    };
    // A running keeper reads the providers again when it next wakes (at most a minute).
    eprintln!("{id}: {what}.");
    Ok(())
}

/// Removes a provider.
pub async fn remove(kf: &Keyfob, id: &str) -> Result<(), Failure> {
    kf.remove_provider(id).await?;
    eprintln!("Removed provider {id}.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_secrets_on_stdin_are_two_non_empty_lines() {
        let both = secret_lines("desktop\r\ndevice\n").unwrap();
        let exposed: Vec<&str> = both.iter().map(Secret::expose).collect();
        assert_eq!(exposed, ["desktop", "device"]);
        for bad in [
            "desktop\n",
            "desktop\n\ndevice\n",
            "\ndevice\n",
            "a\nb\nc\n",
            "",
        ] {
            let err = secret_lines(bad).unwrap_err();
            assert!(
                err.message.contains("two client secrets"),
                "{bad:?}: {}",
                err.message
            );
        }
    }
}
