//! The provider definitions file (`providers.toml` in the config dir). No secrets in it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::provider::Provider;
use crate::store::atomic;

#[derive(Debug, Default, Serialize, Deserialize)]
struct ProvidersFile {
    #[serde(default, rename = "provider")]
    providers: Vec<Provider>,
}

/// Reads and writes `providers.toml`.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    path: PathBuf,
}

impl ProviderConfig {
    /// The file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ProviderConfig { path: path.into() }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All configured providers.
    pub fn load(&self) -> Result<Vec<Provider>> {
        let Some(bytes) = atomic::read(&self.path)? else {
            return Ok(Vec::new());
        };
        let text = String::from_utf8(bytes).map_err(|e| self.corrupt(e))?;
        let file: ProvidersFile = toml::from_str(&text).map_err(|e| self.corrupt(e))?;
        // A hand-edited file gets the same checks as one written by Keyfob.
        for provider in &file.providers {
            provider.validate().map_err(|e| self.corrupt(e))?;
        }
        Ok(file.providers)
    }

    /// Replaces the file's content.
    pub fn save(&self, providers: &[Provider]) -> Result<()> {
        let file = ProvidersFile {
            providers: providers.to_vec(),
        };
        let text = toml::to_string_pretty(&file).expect("providers serialize");
        let header =
            "# Keyfob providers. Client secrets are kept in the system keyring, not here.\n";
        atomic::write(&self.path, format!("{header}{text}").as_bytes())
    }

    fn corrupt(&self, reason: impl ToString) -> Error {
        Error::CorruptFile {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::tests::sample;

    #[test]
    fn round_trips_through_toml() {
        let dir = tempfile::tempdir().unwrap();
        let config = ProviderConfig::new(dir.path().join("providers.toml"));
        assert!(config.load().unwrap().is_empty());
        let mut p = sample();
        p.extra_params.insert("prompt".into(), "consent".into());
        config.save(std::slice::from_ref(&p)).unwrap();
        assert_eq!(config.load().unwrap(), vec![p]);
        let text = std::fs::read_to_string(config.path()).unwrap();
        assert!(text.contains("[[provider]]"), "{text}");

        // A hand-edited plain-http endpoint is refused with a message naming the problem.
        std::fs::write(
            config.path(),
            text.replace("http://127.0.0.1:4000/token", "http://example.com/token"),
        )
        .unwrap();
        let err = config.load().unwrap_err().to_string();
        assert!(
            err.contains("token endpoint") && err.contains("https"),
            "{err}"
        );
    }
}
