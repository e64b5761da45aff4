//! How a secret too large for one keyring item is laid out across several: the pure half of
//! `secrets.rs`, which does the reading and writing.
//!
//! Windows' Credential Manager refuses a credential over 2,560 bytes, and the access tokens
//! of Entra ID or Bitbucket exceed it. A secret over [`MAX_ITEM`] bytes is therefore stored
//! as numbered parts under a fresh generation id (`<name>#<generation>/<index>`), and the
//! secret's own item holds only a small header naming that generation, the number of parts
//! and the SHA-256 of the whole value. The layout is the same on every platform, so the
//! Secret Service tests exercise it.
//!
//! The invariant: the secret's own item is the only one ever overwritten, and one item's
//! write is atomic, so it always names a complete set of parts. A write puts every part of
//! the new generation first, then the header (the commit point), and deletes the old
//! generation's parts last; parts are never rewritten in place. A crash before the header
//! leaves the old value readable (and unreferenced parts, which purge's sweep removes); a
//! crash after it leaves the new one. A reader checks the digest, so even a reader racing a
//! writer, or a damaged keyring, never gets a spliced token: it retries or gets an error.

use sha2::{Digest, Sha256};

/// The most bytes Keyfob puts in one keyring item: well under Windows' 2,560-byte limit, even
/// were a store to widen text to UTF-16.
pub const MAX_ITEM: usize = 1_024;

/// How a header item begins. A value that itself begins so is always split, so a single item
/// that begins so is never a whole value: old, unsplit secrets still read as they are.
const HEADER_PREFIX: &str = "keyfob-split/1 ";

/// What the secret's own item says about a split value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Names this write's parts; fresh for every write.
    pub generation: String,
    /// How many parts there are.
    pub parts: usize,
    /// The SHA-256 of the whole value, in lowercase hex.
    pub digest: String,
}

impl Header {
    /// The header item's content.
    pub fn encode(&self) -> String {
        format!(
            "{HEADER_PREFIX}{} {} {}",
            self.generation, self.parts, self.digest
        )
    }

    /// The header in a secret's own item; `None` when the item holds a whole value.
    pub fn parse(item: &[u8]) -> Option<Header> {
        let text = std::str::from_utf8(item)
            .ok()?
            .strip_prefix(HEADER_PREFIX)?;
        let mut fields = text.split(' ');
        let generation = fields.next()?.to_string();
        let parts = fields.next()?.parse().ok()?;
        let digest = fields.next()?.to_string();
        let well_formed = fields.next().is_none()
            && !generation.is_empty()
            && generation.bytes().all(|b| b.is_ascii_hexdigit())
            && parts > 0
            && digest.len() == 64;
        well_formed.then_some(Header {
            generation,
            parts,
            digest,
        })
    }

    /// The item names of this header's parts, in order.
    pub fn part_names(&self, user: &str) -> Vec<String> {
        (0..self.parts)
            .map(|i| format!("{user}#{}/{i}", self.generation))
            .collect()
    }

    /// The value its parts make, if they are the ones it names (the digest matches).
    pub fn join(&self, parts: &[Vec<u8>]) -> Option<Vec<u8>> {
        let value = parts.concat();
        (parts.len() == self.parts && digest(&value) == self.digest).then_some(value)
    }
}

/// How one value is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout<'a> {
    /// In the secret's own item, as it is.
    Whole(&'a str),
    /// In parts, with this header in the secret's own item.
    Split {
        /// What the secret's own item will say.
        header: Header,
        /// The parts, in order; none over [`MAX_ITEM`] bytes, each valid UTF-8.
        parts: Vec<&'a str>,
    },
}

/// How `value` is stored; `generation` names its parts should it be split.
pub fn layout(value: &str, generation: String) -> Layout<'_> {
    if value.len() <= MAX_ITEM && !value.starts_with(HEADER_PREFIX) {
        return Layout::Whole(value);
    }
    let parts = parts(value);
    Layout::Split {
        header: Header {
            generation,
            parts: parts.len(),
            digest: digest(value.as_bytes()),
        },
        parts,
    }
}

/// A fresh generation id.
pub fn new_generation() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// `value` cut into pieces of at most [`MAX_ITEM`] bytes, at character boundaries so that a
/// store that wants text gets text.
fn parts(mut value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    while !value.is_empty() {
        let mut end = value.len().min(MAX_ITEM);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        let (part, rest) = value.split_at(end);
        parts.push(part);
        value = rest;
    }
    parts
}

fn digest(value: &[u8]) -> String {
    Sha256::digest(value)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_stay_whole_and_large_ones_are_split_under_the_limit() {
        assert_eq!(layout("token", "g".into()), Layout::Whole("token"));
        let edge = "x".repeat(MAX_ITEM);
        assert_eq!(layout(&edge, "g".into()), Layout::Whole(&edge));

        let big = "ab".repeat(5_000);
        let Layout::Split { header, parts } = layout(&big, "0a".into()) else {
            panic!("not split");
        };
        assert_eq!(parts.len(), 10);
        assert_eq!(header.parts, 10);
        assert!(parts.iter().all(|p| p.len() <= MAX_ITEM));
        assert!(header.encode().len() < 128, "the header is small");
        let bytes: Vec<Vec<u8>> = parts.iter().map(|p| p.as_bytes().to_vec()).collect();
        assert_eq!(header.join(&bytes).unwrap(), big.as_bytes());
        assert_eq!(
            header.part_names("account/a/access_token")[9],
            "account/a/access_token#0a/9"
        );
    }

    #[test]
    fn parts_end_at_character_boundaries() {
        let value = format!("a{}", "é".repeat(MAX_ITEM));
        let Layout::Split { parts, .. } = layout(&value, "1".into()) else {
            panic!("not split");
        };
        assert_eq!(parts.concat(), value);
        assert!(parts.iter().all(|p| p.len() <= MAX_ITEM));
        assert_eq!(parts[0].len(), MAX_ITEM - 1, "backed off one byte");
    }

    // A value that looks like a header is split, so that reading never mistakes it.
    #[test]
    fn a_value_that_looks_like_a_header_is_split() {
        let header = Header {
            generation: "ab".into(),
            parts: 1,
            digest: "0".repeat(64),
        };
        let lookalike = header.encode();
        assert_eq!(Header::parse(lookalike.as_bytes()), Some(header));
        assert!(matches!(
            layout(&lookalike, "cd".into()),
            Layout::Split { .. }
        ));
    }

    #[test]
    fn only_a_well_formed_header_is_one() {
        let digest = "f".repeat(64);
        for whole in [
            "token".to_string(),
            format!("keyfob-split/1 zz 2 {digest}"),
            format!("keyfob-split/1 ab 0 {digest}"),
            format!("keyfob-split/1 ab 2 {digest} extra"),
            "keyfob-split/1 ab 2 short".to_string(),
        ] {
            assert_eq!(Header::parse(whole.as_bytes()), None, "{whole}");
        }
        assert_eq!(Header::parse(&[0xff, 0xfe]), None);
    }

    #[test]
    fn parts_of_another_write_do_not_join() {
        let (a, b) = ("a".repeat(3_000), "b".repeat(3_000));
        let (Layout::Split { header, .. }, Layout::Split { parts, .. }) =
            (layout(&a, "1".into()), layout(&b, "2".into()))
        else {
            panic!("not split");
        };
        let mut spliced: Vec<Vec<u8>> = parts.iter().map(|p| p.as_bytes().to_vec()).collect();
        assert_eq!(header.join(&spliced), None, "another value's parts");
        spliced[0] = a.as_bytes()[..MAX_ITEM].to_vec();
        assert_eq!(header.join(&spliced), None, "a mix of both");
        spliced.pop();
        assert_eq!(header.join(&spliced), None, "one part short");
    }
}
