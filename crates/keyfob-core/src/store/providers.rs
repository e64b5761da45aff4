//! The provider definitions file (`providers.toml` in the config dir): TOML, so that a
//! person can read and edit it. No secrets in it.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::paths::Paths;
use crate::provider::Provider;
use crate::store::file::{Content, Format, VersionedFile};

const HEADER: &str =
    "# Keyfob providers. Client secrets are kept in the system keyring, not here.\n";

/// What `providers.toml` holds: `[[provider]]` tables.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ProvidersFile {
    #[serde(default, rename = "provider")]
    providers: Vec<Provider>,
}

impl Content for ProvidersFile {
    fn check(&self) -> std::result::Result<(), String> {
        self.providers
            .iter()
            .try_for_each(|p| p.validate())
            .map_err(|e| e.to_string())
    }
}

/// Reads and writes `providers.toml`.
#[derive(Debug, Clone)]
pub struct ProviderStore {
    file: VersionedFile<ProvidersFile>,
}

impl ProviderStore {
    /// The providers file of the profile at `paths`.
    pub fn new(paths: &Paths) -> Self {
        ProviderStore {
            file: VersionedFile::new(
                paths.providers_file(),
                paths.lock_file("providers"),
                Format::Toml { header: HEADER },
            ),
        }
    }

    /// All configured providers, each checked as if it had just been added.
    pub fn load(&self) -> Result<Vec<Provider>> {
        Ok(self.file.load()?.providers)
    }

    /// Replaces the file's content; a change based on it goes through [`ProviderStore::modify`].
    /// Only tests write a whole file (a provider set up without touching the keyring).
    #[cfg(any(test, feature = "internals"))]
    pub fn save(&self, providers: &[Provider]) -> Result<()> {
        self.file.save(&ProvidersFile {
            providers: providers.to_vec(),
        })
    }

    /// A read-modify-write of the providers under the file's lock.
    pub fn modify<T>(&self, f: impl FnOnce(&mut Vec<Provider>) -> Result<T>) -> Result<T> {
        self.file.modify(|file| f(&mut file.providers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::tests::sample;

    #[test]
    fn round_trips_through_toml() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let config = ProviderStore::new(&paths);
        assert!(config.load().unwrap().is_empty());
        let mut p = sample();
        p.extra_params.insert("prompt".into(), "consent".into());
        config.save(std::slice::from_ref(&p)).unwrap();
        assert_eq!(config.load().unwrap(), vec![p]);
        let text = std::fs::read_to_string(paths.providers_file()).unwrap();
        assert!(text.contains("[[provider]]"), "{text}");

        // A hand-edited plain-http endpoint is refused with a message naming the problem.
        std::fs::write(
            paths.providers_file(),
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
