//! Client tokens that make RunInstances and CreateNatGateway idempotent across retries.

use sha2::{Digest, Sha256};
use tether_model::{Address, Attributes};

/// AWS's maximum client-token length, in ASCII characters.
const MAX_TOKEN_LENGTH: usize = 64;

const TOKEN_PREFIX: &str = "tether-";

/// Derives a client token from the environment, the address and the desired attributes.
///
/// The same create, retried, sends the same token, so AWS returns the resource of the first
/// attempt instead of making a second one. The attributes are part of the digest because AWS
/// rejects a known token sent with other parameters (`IdempotentParameterMismatch`), which a
/// replacement with new attributes would otherwise hit. `superseded` is the id of a terminated
/// or deleted resource that an earlier token returned, so a re-create gets a fresh token.
///
/// NOTE: moto 5.2.5 stores client tokens but does not deduplicate on them, so the tests run
/// neither AWS's deduplication nor the `superseded` path.
pub(crate) fn client_token(
    environment: &str,
    address: &Address,
    attributes: &Attributes,
    superseded: Option<&str>,
) -> String {
    // unwrap: serde_json fails only on non-string map keys or a failing `Serialize` impl, and
    // `Attributes` has string keys and `Value` serializes infallibly.
    let attributes_json = serde_json::to_string(attributes).unwrap();

    let mut hasher = Sha256::new();
    for part in [environment, &address.to_string(), &attributes_json, superseded.unwrap_or_default()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = format!("{:x}", hasher.finalize());
    let mut token = format!("{TOKEN_PREFIX}{digest}");
    token.truncate(MAX_TOKEN_LENGTH);
    token
}

#[cfg(test)]
mod tests {
    use tether_model::Value;

    use super::*;

    #[test]
    fn token_fits_aws_limit() {
        let address = Address::aws("instance", &"a".repeat(200));
        let token = client_token(&"e".repeat(200), &address, &Attributes::new(), None);
        assert_eq!(token.len(), MAX_TOKEN_LENGTH);
        assert!(token.is_ascii());
    }

    #[test]
    fn token_stable_for_same_request() {
        let address = Address::aws("instance", "router");
        let attributes = Attributes::from([("ami".to_owned(), Value::from("ami-1"))]);
        assert_eq!(client_token("dev", &address, &attributes, None), client_token("dev", &address, &attributes, None));
    }

    #[test]
    fn token_changes_with_inputs() {
        let address = Address::aws("instance", "router");
        let attributes = Attributes::from([("ami".to_owned(), Value::from("ami-1"))]);
        let other = Attributes::from([("ami".to_owned(), Value::from("ami-2"))]);
        let base = client_token("dev", &address, &attributes, None);
        assert_ne!(base, client_token("prod", &address, &attributes, None));
        assert_ne!(base, client_token("dev", &address, &other, None));
        assert_ne!(base, client_token("dev", &address, &attributes, Some("i-0123")));
    }
}
