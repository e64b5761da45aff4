//! One of Keyfob's files, read whole and replaced atomically: a missing file is empty, a
//! damaged or newer-format one is refused with [`Error::CorruptFile`], and a
//! read-modify-write holds the file's lock so that no other thread or process loses an update.

use std::marker::PhantomData;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::atomic;
use crate::store::lock::FileLock;

/// How a file's content is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON with a top-level `schema` number; a file with another number is refused rather
    /// than misread.
    Json {
        /// The schema version this build writes and reads.
        schema: u32,
    },
    /// TOML a person may edit, opened by a comment.
    Toml {
        /// Comment lines written above the content.
        header: &'static str,
    },
}

/// What a file holds: its `Default` stands for a missing file.
pub trait Content: Default + Serialize + DeserializeOwned {
    /// Why content that parses is still unusable, if it is (a hand-edited file gets the
    /// same checks as one written by Keyfob).
    fn check(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// A file of Keyfob's holding one `T`, with the lock that serializes changes to it.
#[derive(Debug, Clone)]
pub struct VersionedFile<T> {
    path: PathBuf,
    lock: PathBuf,
    format: Format,
    content: PhantomData<fn() -> T>,
}

impl<T: Content> VersionedFile<T> {
    /// The file at `path` in `format`, changed only while holding the lock file `lock`.
    pub fn new(path: PathBuf, lock: PathBuf, format: Format) -> Self {
        VersionedFile {
            path,
            lock,
            format,
            content: PhantomData,
        }
    }

    /// Where the file lives.
    #[cfg(test)]
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The content, or the empty content when the file does not exist yet.
    pub fn load(&self) -> Result<T> {
        let Some(bytes) = atomic::read(&self.path)? else {
            return Ok(T::default());
        };
        self.format
            .decode::<T>(&bytes)
            .and_then(|content| content.check().map(|()| content))
            .map_err(|reason| Error::CorruptFile {
                path: self.path.clone(),
                reason,
            })
    }

    /// Replaces the file (atomically, readable only by the user). A change based on what
    /// the file held goes through [`VersionedFile::modify`] instead.
    pub fn save(&self, content: &T) -> Result<()> {
        atomic::write(&self.path, &self.format.encode(content))
    }

    /// Loads, lets `f` change the content, and saves it, all under the file's lock. When
    /// `f` fails, nothing is written.
    pub fn modify<R>(&self, f: impl FnOnce(&mut T) -> Result<R>) -> Result<R> {
        let _lock = FileLock::acquire(&self.lock)?;
        let mut content = self.load()?;
        let out = f(&mut content)?;
        self.save(&content)?;
        Ok(out)
    }

    /// Rewrites a JSON file of the older schema `from` in this build's, under the file's
    /// lock: `upgrade` turns the old file's fields (all but the schema number) into the
    /// content, or says why it cannot. A missing file, or one of another schema (another
    /// process may have upgraded it meanwhile), is left as it is.
    pub fn upgrade_from(
        &self,
        from: u32,
        upgrade: impl FnOnce(
            serde_json::Map<String, serde_json::Value>,
        ) -> std::result::Result<T, String>,
    ) -> Result<()> {
        let _lock = FileLock::acquire(&self.lock)?;
        let Some(bytes) = atomic::read(&self.path)? else {
            return Ok(());
        };
        let corrupt = |reason: String| Error::CorruptFile {
            path: self.path.clone(),
            reason,
        };
        match serde_json::from_slice::<Schema>(&bytes) {
            Ok(found) if found.schema == from => {}
            _ => return Ok(()),
        }
        let mut fields: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        fields.remove("schema");
        let content = upgrade(fields)
            .and_then(|content| content.check().map(|()| content))
            .map_err(corrupt)?;
        self.save(&content)
    }
}

/// A JSON file as written: the schema number, then the content's fields.
#[derive(Serialize)]
struct Versioned<'a, T> {
    schema: u32,
    #[serde(flatten)]
    content: &'a T,
}

/// The schema number alone, read before the rest.
#[derive(Deserialize)]
struct Schema {
    schema: u32,
}

impl Format {
    /// The bytes to write for `content`.
    fn encode<T: Serialize>(self, content: &T) -> Vec<u8> {
        match self {
            Format::Json { schema } => {
                serde_json::to_vec_pretty(&Versioned { schema, content }).expect("serializes")
            }
            Format::Toml { header } => {
                let text = toml::to_string_pretty(content).expect("serializes");
                format!("{header}{text}").into_bytes()
            }
        }
    }

    /// The content of `bytes`, or why they are not a valid file.
    fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> std::result::Result<T, String> {
        match self {
            Format::Json { schema } => {
                // The number first: a newer Keyfob's file need not parse as this one's.
                let found: Schema = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                if found.schema != schema {
                    return Err(format!(
                        "schema version {} (this Keyfob reads {schema})",
                        found.schema
                    ));
                }
                serde_json::from_slice(bytes).map_err(|e| e.to_string())
            }
            Format::Toml { .. } => {
                let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
                toml::from_str(text).map_err(|e| e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Tally {
        count: u32,
        #[serde(default)]
        names: Vec<String>,
    }

    impl Content for Tally {
        fn check(&self) -> std::result::Result<(), String> {
            match self.count {
                666 => Err("an unlucky count".into()),
                _ => Ok(()),
            }
        }
    }

    const JSON: Format = Format::Json { schema: 3 };
    const TOML: Format = Format::Toml {
        header: "# A tally.\n",
    };

    fn file(dir: &Path, name: &str, format: Format) -> VersionedFile<Tally> {
        VersionedFile::new(
            dir.join(name),
            dir.join("locks").join(format!("{name}.lock")),
            format,
        )
    }

    fn sample() -> Tally {
        Tally {
            count: 2,
            names: vec!["a".into(), "b \"quoted\"".into()],
        }
    }

    #[test]
    fn json_round_trips_with_its_schema_number_first() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path(), "tally.json", JSON);
        f.save(&sample()).unwrap();
        assert_eq!(f.load().unwrap(), sample());
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert!(
            text.starts_with("{\n  \"schema\": 3,\n  \"count\": 2,"),
            "{text}"
        );
    }

    #[test]
    fn toml_round_trips_under_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path(), "tally.toml", TOML);
        f.save(&sample()).unwrap();
        assert_eq!(f.load().unwrap(), sample());
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert!(text.starts_with("# A tally.\ncount = 2\n"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn files_and_their_folder_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = file(&dir.path().join("data"), "tally.json", JSON);
        f.save(&sample()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(f.path()), 0o600);
        assert_eq!(mode(&dir.path().join("data")), 0o700);
    }

    #[test]
    fn a_missing_file_is_empty_and_is_not_created_by_reading() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            file(dir.path(), "tally.json", JSON),
            file(dir.path(), "tally.toml", TOML),
        ] {
            assert_eq!(f.load().unwrap(), Tally::default());
            assert!(!f.path().exists());
        }
    }

    #[test]
    fn a_damaged_file_is_refused_naming_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                file(dir.path(), "tally.json", JSON),
                &b"{nope"[..],
                "key must be a string at line 1 column 2",
            ),
            (
                file(dir.path(), "tally.json", JSON),
                br#"{"count": 1}"#,
                "missing field `schema` at line 1 column 12",
            ),
            (
                file(dir.path(), "tally.json", JSON),
                br#"{"schema": 3, "count": "many"}"#,
                "invalid type: string \"many\", expected u32 at line 1 column 29",
            ),
            (
                file(dir.path(), "tally.toml", TOML),
                b"count = \xff",
                "invalid utf-8 sequence of 1 bytes from index 8",
            ),
            (
                file(dir.path(), "tally.toml", TOML),
                b"# A tally.\nnames = []\n",
                "TOML parse error at line 1, column 1\n  |\n1 | # A tally.\n  | ^^^^^^^^^^\nmissing field `count`\n",
            ),
            // Parsed, but refused by the content's own check.
            (
                file(dir.path(), "tally.toml", TOML),
                b"count = 666\n",
                "an unlucky count",
            ),
        ];
        for (f, bytes, reason) in cases {
            std::fs::write(f.path(), bytes).unwrap();
            let err = f.load().unwrap_err();
            assert!(
                matches!(&err, Error::CorruptFile { path, reason: r } if path == f.path() && r == reason),
                "{err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "{} is damaged or from a newer Keyfob: {reason}",
                    f.path().display()
                )
            );
        }
    }

    #[test]
    fn another_schema_is_refused_before_its_content_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path(), "tally.json", JSON);
        // A newer Keyfob may have changed the shape too: the number is what gets reported.
        std::fs::write(f.path(), br#"{"schema": 4, "count": {"by_day": []}}"#).unwrap();
        let err = f.load().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{} is damaged or from a newer Keyfob: schema version 4 (this Keyfob reads 3)",
                f.path().display()
            )
        );
        // Nor is it overwritten by a change.
        assert!(f
            .modify(|t| {
                t.count += 1;
                Ok(())
            })
            .is_err());
        assert!(std::fs::read_to_string(f.path())
            .unwrap()
            .contains("by_day"));
    }

    #[test]
    fn a_failed_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path(), "tally.json", JSON);
        f.save(&sample()).unwrap();
        let err = f.modify(|t| {
            t.count = 99;
            Err::<(), _>(Error::LinkNotFound("x".into()))
        });
        assert!(matches!(err, Err(Error::LinkNotFound(_))));
        assert_eq!(f.load().unwrap(), sample());
    }

    #[test]
    fn changes_from_many_threads_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        for (name, format) in [("tally.json", JSON), ("tally.toml", TOML)] {
            let handles: Vec<_> = (0..8)
                .map(|thread| {
                    // Each thread its own handle, as separate processes would have.
                    let f = file(dir.path(), name, format);
                    std::thread::spawn(move || {
                        for i in 0..10 {
                            f.modify(|t| {
                                t.count += 1;
                                t.names.push(format!("{thread}-{i}"));
                                Ok(())
                            })
                            .unwrap();
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            let tally = file(dir.path(), name, format).load().unwrap();
            assert_eq!(tally.count, 80, "{name}");
            assert_eq!(tally.names.len(), 80, "{name}");
        }
    }
}
