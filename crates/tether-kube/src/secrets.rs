//! Secret handling: sensitive `data` values, their checks, and redaction of API messages.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tether_model::{Address, Attributes, Sensitive, Value};

use crate::error::KubeError;

/// Replaces known secret strings in text that may echo a request, such as an API error message.
#[derive(Debug, Default, Clone)]
pub(crate) struct Redactor {
    /// Secret strings, longest first so that a string inside another is not matched first.
    secrets: Vec<String>,
}

/// The placeholder that replaces a secret in messages.
const REDACTED: &str = "[redacted]";

/// JSON strings inside a decoded secret shorter than this are not redacted on their own,
/// because short values such as `"auths"` would garble every message.
const MIN_NESTED_SECRET_LEN: usize = 8;

impl Redactor {
    /// Builds a redactor for every sensitive value inside the attributes whose plaintext is in memory.
    pub(crate) fn from_attributes(attributes: &Attributes) -> Redactor {
        let mut exposed = Vec::new();
        for value in attributes.values() {
            collect_exposed(value, &mut exposed);
        }
        Redactor::from_secrets(exposed)
    }

    /// Builds a redactor for the given secrets. A secret that is base64 is also redacted in its decoded
    /// form, and a decoded JSON document also by each string inside it (such as a registry token).
    pub(crate) fn from_secrets(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut all = Vec::new();
        for secret in secrets {
            if let Some(decoded) = decode_text(&secret) {
                if let Ok(json) = serde_json::from_str::<serde_json::Value>(&decoded) {
                    collect_json_strings(&json, &mut all);
                }
                all.push(decoded);
            }
            all.push(secret);
        }
        all.retain(|secret| !secret.is_empty());
        all.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        all.dedup();
        Redactor { secrets: all }
    }

    /// Returns the text with every known secret replaced by `[redacted]`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut redacted = text.to_owned();
        for secret in &self.secrets {
            if redacted.contains(secret.as_str()) {
                redacted = redacted.replace(secret.as_str(), REDACTED);
            }
        }
        redacted
    }
}

fn collect_exposed(value: &Value, exposed: &mut Vec<String>) {
    match value {
        Value::Sensitive(secret) => exposed.extend(secret.expose().map(str::to_owned)),
        Value::List(items) => items.iter().for_each(|item| collect_exposed(item, exposed)),
        Value::Map(map) => map.values().for_each(|item| collect_exposed(item, exposed)),
        _ => {}
    }
}

fn collect_json_strings(json: &serde_json::Value, strings: &mut Vec<String>) {
    match json {
        serde_json::Value::String(text) if text.len() >= MIN_NESTED_SECRET_LEN => {
            strings.push(text.clone());
            strings.extend(decode_text(text));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_json_strings(item, strings)),
        serde_json::Value::Object(map) => map.values().for_each(|item| collect_json_strings(item, strings)),
        _ => {}
    }
}

fn decode_text(encoded: &str) -> Option<String> {
    let bytes = STANDARD.decode(encoded).ok()?;
    String::from_utf8(bytes).ok()
}

/// True for the core `v1` Secret.
pub(crate) fn is_secret(api_version: &str, kind: &str) -> bool {
    api_version == "v1" && kind == "Secret"
}

/// Wraps each `data` value of an observed Secret in [`Value::Sensitive`], so that it compares by
/// digest with the desired base64 string and is never shown.
pub(crate) fn protect_secret_data(attributes: &mut Attributes) {
    let Some(Value::Map(data)) = attributes.get_mut("data") else {
        return;
    };
    for value in data.values_mut() {
        if let Value::String(encoded) = value {
            *value = Value::Sensitive(Sensitive::new(encoded));
        }
    }
}

/// Checks that every `data` value of a desired Secret is sensitive and, when its plaintext is in
/// memory, standard padded base64.
///
/// # Errors
/// Returns [`KubeError::InvalidObject`] naming the key, never the value.
pub(crate) fn check_secret_data(address: &Address, attributes: &Attributes) -> Result<(), KubeError> {
    let invalid = |problem: String| KubeError::InvalidObject { address: address.clone(), problem };
    let data = match attributes.get("data") {
        None => return Ok(()),
        Some(Value::Map(data)) => data,
        Some(_) => return Err(invalid("data must be a map".to_owned())),
    };
    for (key, value) in data {
        let Value::Sensitive(secret) = value else {
            return Err(invalid(format!("data.{key} must be a sensitive value, so that plans never show it")));
        };
        if let Some(encoded) = secret.expose()
            && STANDARD.decode(encoded).is_err()
        {
            return Err(invalid(format!("data.{key} is not standard padded base64")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PULL_SECRET: &str = r#"{"auths":{"quay.io":{"auth":"dXNlcjpwYXNzd29yZA=="}}}"#;

    fn pull_secret_base64() -> String {
        STANDARD.encode(PULL_SECRET)
    }

    fn secret_attributes(value: Value) -> Attributes {
        Attributes::from([("data".to_owned(), Value::map([(".dockerconfigjson", value)]))])
    }

    #[test]
    fn redactor_hides_base64_plaintext_and_nested_token() {
        let attributes = secret_attributes(Value::Sensitive(Sensitive::new(&pull_secret_base64())));
        let redactor = Redactor::from_attributes(&attributes);
        let message = format!("a {} b {PULL_SECRET} c dXNlcjpwYXNzd29yZA== d user:password", pull_secret_base64());
        let redacted = redactor.redact(&message);
        assert_eq!(redacted, "a [redacted] b [redacted] c [redacted] d [redacted]");
    }

    #[test]
    fn redactor_without_secrets_keeps_text() {
        assert_eq!(Redactor::default().redact("namespaces \"x\" not found"), "namespaces \"x\" not found");
    }

    #[test]
    fn observed_secret_data_becomes_sensitive() {
        let mut attributes = secret_attributes(Value::string(pull_secret_base64()));
        protect_secret_data(&mut attributes);
        let desired = secret_attributes(Value::Sensitive(Sensitive::new(&pull_secret_base64())));
        assert_eq!(attributes, desired);
        assert!(!format!("{attributes:?}").contains(&pull_secret_base64()));
    }

    #[test]
    fn plain_string_secret_data_is_rejected() {
        let address = Address::cluster("secret", "pull-secret");
        let error = check_secret_data(&address, &secret_attributes(Value::string(pull_secret_base64()))).unwrap_err();
        assert!(error.to_string().contains("data..dockerconfigjson must be a sensitive value"), "{error}");
        assert!(!error.to_string().contains(&pull_secret_base64()), "{error}");
    }

    #[test]
    fn invalid_base64_is_rejected_without_value() {
        let address = Address::cluster("secret", "pull-secret");
        let attributes = secret_attributes(Value::Sensitive(Sensitive::new("not base64!")));
        let error = check_secret_data(&address, &attributes).unwrap_err();
        assert!(error.to_string().contains("not standard padded base64"), "{error}");
        assert!(!error.to_string().contains("not base64!"), "{error}");
    }

    #[test]
    fn valid_secret_data_passes() {
        let address = Address::cluster("secret", "pull-secret");
        let attributes = secret_attributes(Value::Sensitive(Sensitive::new(&pull_secret_base64())));
        assert!(check_secret_data(&address, &attributes).is_ok());
    }
}
