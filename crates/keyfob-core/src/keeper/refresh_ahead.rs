//! The per-provider setting for how long before expiry the keeper refreshes: in
//! providers.toml, `refresh_ahead = "off"` or a duration such as `"5m"`; absent means the
//! default rule of [`super::schedule::refresh_at`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// When the keeper refreshes a provider's accounts ahead of expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshAhead {
    /// 10% of the token's lifetime before expiry, within 60 s to 10 min.
    #[default]
    Default,
    /// The keeper leaves the provider's accounts alone (they refresh when used).
    Off,
    /// This long before expiry.
    Lead(Duration),
}

impl RefreshAhead {
    /// Whether this is the default (which providers.toml leaves out).
    pub fn is_default(&self) -> bool {
        *self == RefreshAhead::Default
    }
}

impl FromStr for RefreshAhead {
    type Err = String;

    /// `off`, `default`, or a whole number with a unit: `90s`, `5m`, `1h`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "off" => return Ok(RefreshAhead::Off),
            "default" => return Ok(RefreshAhead::Default),
            _ => {}
        }
        let bad = || {
            format!(
                "\"{s}\" is not a refresh-ahead setting: use \"off\", \"default\" or a duration \
                 such as \"90s\", \"5m\" or \"1h\""
            )
        };
        let unit_at = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = s.split_at(unit_at);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let secs = match unit {
            "s" => Some(n),
            "m" => n.checked_mul(60),
            "h" => n.checked_mul(3600),
            _ => None,
        }
        .ok_or_else(bad)?;
        if secs == 0 {
            return Err(format!("{}; a zero lead is \"off\"", bad()));
        }
        Ok(RefreshAhead::Lead(Duration::from_secs(secs)))
    }
}

impl fmt::Display for RefreshAhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefreshAhead::Default => f.write_str("default"),
            RefreshAhead::Off => f.write_str("off"),
            RefreshAhead::Lead(d) => {
                let secs = d.as_secs();
                if secs % 3600 == 0 {
                    write!(f, "{}h", secs / 3600)
                } else if secs % 60 == 0 {
                    write!(f, "{}m", secs / 60)
                } else {
                    write!(f, "{secs}s")
                }
            }
        }
    }
}

impl Serialize for RefreshAhead {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RefreshAhead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_print_back() {
        for (text, value) in [
            ("off", RefreshAhead::Off),
            ("default", RefreshAhead::Default),
            ("90s", RefreshAhead::Lead(Duration::from_secs(90))),
            ("5m", RefreshAhead::Lead(Duration::from_secs(300))),
            ("1h", RefreshAhead::Lead(Duration::from_secs(3600))),
        ] {
            assert_eq!(text.parse::<RefreshAhead>().unwrap(), value, "{text}");
            assert_eq!(value.to_string(), text);
        }
        assert_eq!(
            "120s".parse::<RefreshAhead>().unwrap().to_string(),
            "2m",
            "printed in the largest whole unit"
        );
    }

    #[test]
    fn bad_settings_say_what_is_accepted() {
        for bad in [
            "",
            "5",
            "m",
            "5 min",
            "-5m",
            "5d",
            "0s",
            "99999999999999999999h",
        ] {
            let e = bad.parse::<RefreshAhead>().unwrap_err();
            assert!(
                e.contains("\"off\", \"default\" or a duration"),
                "{bad}: {e}"
            );
        }
        assert!("0m".parse::<RefreshAhead>().unwrap_err().contains("zero"));
    }
}
