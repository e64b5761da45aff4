//! A provider's device client: the client that links with a code (RFC 8628). Usually the
//! provider's own client; Google allows the device flow only to a client of another type
//! ("TVs and Limited Input devices", tests/idp/GOOGLE.md "Device flow"), so its preset may
//! name a second one. An account keeps using the client that linked it: refreshes and
//! revocation go out as that client, with that client's secret.

use crate::provider::Provider;

impl Provider {
    /// This definition as the client that links with a code: the device client's id in place
    /// of the provider's own when there is one.
    pub fn device_client(&self) -> Provider {
        match &self.device_client_id {
            Some(id) => self.as_client(id),
            None => self.clone(),
        }
    }

    /// Whether this definition speaks as its separate device client (so its secret is the
    /// device client's).
    pub fn is_device_client(&self) -> bool {
        self.device_client_id.as_deref() == Some(self.client_id.as_str())
    }

    /// Whether `client_id` is one of this definition's clients.
    pub fn has_client(&self, client_id: &str) -> bool {
        self.client_id == client_id || self.device_client_id.as_deref() == Some(client_id)
    }

    /// This definition as the client `client_id` when that is its device client; else as it
    /// is (a client it does not have is for the caller to refuse, see [`Self::has_client`]).
    pub fn for_client(&self, client_id: &str) -> Provider {
        if self.device_client_id.as_deref() == Some(client_id) {
            self.as_client(client_id)
        } else {
            self.clone()
        }
    }

    fn as_client(&self, client_id: &str) -> Provider {
        Provider {
            client_id: client_id.to_string(),
            ..self.clone()
        }
    }

    /// What is wrong with a stored definition's device client, if anything: one that is
    /// blank, the provider's own client again (Google gives each client one type), or named
    /// without a device authorization endpoint to use it at.
    pub(crate) fn device_client_problem(&self) -> Option<&'static str> {
        let id = self.device_client_id.as_deref()?;
        if id.trim().is_empty() {
            Some("the device client id is empty")
        } else if id == self.client_id {
            Some("the device client must be a separate client (of type \"TVs and Limited Input devices\" for Google), not the provider's own")
        } else if self.device_authorization_endpoint.is_none() {
            Some(
                "a device client needs a device authorization endpoint, and this provider has none",
            )
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::provider::tests::sample;
    use url::Url;

    fn with_device_client() -> crate::provider::Provider {
        let mut p = sample();
        p.device_authorization_endpoint = Some(Url::parse("http://127.0.0.1:4000/device").unwrap());
        p.device_client_id = Some("tv-client".into());
        p
    }

    #[test]
    fn the_device_client_speaks_with_its_own_id_and_accounts_keep_their_client() {
        let p = with_device_client();
        let device = p.device_client();
        assert_eq!(device.client_id, "tv-client");
        assert!(device.is_device_client() && !p.is_device_client());
        assert_eq!(p.for_client("tv-client"), device);
        assert_eq!(p.for_client("client"), p);
        assert!(p.has_client("client") && p.has_client("tv-client") && !p.has_client("other"));
        // Without a separate device client the provider's own links with a code.
        let plain = sample();
        assert_eq!(plain.device_client(), plain);
        assert!(!plain.is_device_client() && !plain.has_client("tv-client"));
    }

    #[test]
    fn a_device_client_must_be_separate_named_and_usable() {
        assert!(with_device_client().validate().is_ok());
        for (id, endpoint, words) in [
            ("  ", true, "empty"),
            ("client", true, "separate client"),
            ("tv-client", false, "device authorization endpoint"),
        ] {
            let mut p = with_device_client();
            p.device_client_id = Some(id.into());
            if !endpoint {
                p.device_authorization_endpoint = None;
            }
            let err = p.validate().unwrap_err().to_string();
            assert!(err.contains(words), "{id}: {err}");
        }
    }
}
