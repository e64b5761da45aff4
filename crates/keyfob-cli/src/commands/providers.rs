//! `keyfob providers` and `keyfob provider add|remove`.

use std::collections::BTreeMap;
use std::io::Read;

use keyfob_core::{ClientAuth, Keyfob, OpenidProviderDraft, ProviderKind, RedirectMode, Secret};

use crate::cli::{split_scopes, AuthArg};
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

/// What `keyfob provider add` was given.
pub struct AddArgs {
    pub id: String,
    pub issuer: String,
    pub client_id: String,
    pub name: Option<String>,
    pub client_secret_stdin: bool,
    pub auth: Option<AuthArg>,
    pub scopes: Option<String>,
    pub params: Vec<String>,
    pub loopback: bool,
}

/// Adds an OpenID provider through discovery.
pub async fn add(kf: &Keyfob, args: AddArgs) -> Result<(), Failure> {
    let secret = if args.client_secret_stdin {
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
        Some(Secret::new(text))
    } else {
        None
    };
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
    };
    let provider = kf.add_openid_provider(draft, secret).await?;
    eprintln!(
        "Added {} ({}). Register these redirect URIs with the provider: {} (desktop app) and http://127.0.0.1{} with any port (command line).",
        provider.name,
        provider.issuer,
        provider.scheme_redirect_uri(),
        provider.redirect_path()
    );
    Ok(())
}

/// Removes a provider.
pub async fn remove(kf: &Keyfob, id: &str) -> Result<(), Failure> {
    kf.remove_provider(id).await?;
    eprintln!("Removed provider {id}.");
    Ok(())
}
