//! Attribute values: plain data, references to other resources, and sensitive values.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::Address;

/// One attribute value of a resource.
///
/// The serialized form is plain JSON, except three tagged single-key objects:
/// `{"$ref": {"address": …, "attribute": …}}`, `{"$unknown": true}` and
/// `{"$sensitive": "sha256:…"}`. A sensitive value's plaintext is never serialized.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Value {
    /// JSON `null`.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer. Floats do not occur in the resources tether manages.
    Int(i64),
    /// A string.
    String(String),
    /// An ordered list, compared element by element.
    List(Vec<Value>),
    /// A map with sorted keys.
    Map(BTreeMap<String, Value>),
    /// A value the provider computes when the resource is created.
    Unknown,
    /// An attribute of another resource, known once that resource exists.
    Ref(Reference),
    /// A secret: compared and shown by digest only.
    Sensitive(Sensitive),
}

/// A reference to an attribute of another resource, e.g. the `id` of `aws.vpc.main`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reference {
    /// The referenced resource.
    pub address: Address,
    /// The referenced attribute; `id` is the provider's identifier.
    pub attribute: String,
}

impl Reference {
    /// Creates a reference to the provider identifier of `address`.
    pub fn id(address: &Address) -> Reference {
        Reference { address: address.clone(), attribute: "id".to_owned() }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.address, self.attribute)
    }
}

/// A secret value. Equality, serialization and display use its SHA-256 digest only.
///
/// The plaintext lives in memory for as long as a provider needs to send it, and is absent
/// after deserialization: plans and state never contain it.
#[derive(Clone)]
pub struct Sensitive {
    digest: String,
    plaintext: Option<Arc<str>>,
}

impl Sensitive {
    /// Wraps a secret and computes its digest.
    pub fn new(plaintext: &str) -> Sensitive {
        let digest = format!("sha256:{:x}", Sha256::digest(plaintext.as_bytes()));
        Sensitive { digest, plaintext: Some(Arc::from(plaintext)) }
    }

    /// Creates a sensitive value known only by digest, as read back from a plan or state file.
    pub fn from_digest(digest: String) -> Sensitive {
        Sensitive { digest, plaintext: None }
    }

    /// Returns the digest, `sha256:` followed by 64 hex digits.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Returns the digest shortened for display, e.g. `sha256:1f2e3d4c…`.
    pub fn short_digest(&self) -> String {
        let end = "sha256:".len() + 8;
        match self.digest.get(..end) {
            Some(prefix) => format!("{prefix}…"),
            None => self.digest.clone(),
        }
    }

    /// Returns the plaintext, for a provider about to send it, or `None` when only the digest is known.
    pub fn expose(&self) -> Option<&str> {
        self.plaintext.as_deref()
    }
}

impl PartialEq for Sensitive {
    fn eq(&self, other: &Sensitive) -> bool {
        self.digest == other.digest
    }
}

impl Eq for Sensitive {}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sensitive({})", self.short_digest())
    }
}

/// A value that cannot be sent to an API because part of it is not known yet.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnresolvedValue {
    /// A reference that was not replaced by the referenced value.
    #[error("`{0}` is not known yet")]
    Reference(Reference),
    /// A value only the provider can compute.
    #[error("a value is not known until apply")]
    Unknown,
    /// A secret whose plaintext is not in memory.
    #[error("the sensitive value {0} is only known by its digest")]
    SensitiveDigestOnly(String),
}

impl Value {
    /// Creates a string value.
    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// Creates a map value from key-value pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(key, value)| (key.into(), value)).collect())
    }

    /// Creates a reference to another resource's provider identifier.
    pub fn reference_to_id(address: &Address) -> Value {
        Value::Ref(Reference::id(address))
    }

    /// Returns the string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// Returns the integer inside, if this is an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(number) => Some(*number),
            _ => None,
        }
    }

    /// Returns the map inside, if this is a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    /// Follows map keys, e.g. `["spec", "platform", "aws"]`.
    pub fn get_path(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(self, |value, key| value.as_map()?.get(*key))
    }

    /// True when this value or anything inside it is a reference or unknown.
    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown | Value::Ref(_) => false,
            Value::List(items) => items.iter().all(Value::is_known),
            Value::Map(map) => map.values().all(Value::is_known),
            _ => true,
        }
    }

    /// Calls `visit` on every reference inside this value.
    pub fn for_each_reference(&self, visit: &mut impl FnMut(&Reference)) {
        match self {
            Value::Ref(reference) => visit(reference),
            Value::List(items) => items.iter().for_each(|item| item.for_each_reference(visit)),
            Value::Map(map) => map.values().for_each(|item| item.for_each_reference(visit)),
            _ => {}
        }
    }

    /// Replaces every reference for which `resolve` returns a value.
    pub fn resolve_references(&self, resolve: &impl Fn(&Reference) -> Option<Value>) -> Value {
        match self {
            Value::Ref(reference) => resolve(reference).unwrap_or_else(|| self.clone()),
            Value::List(items) => Value::List(items.iter().map(|item| item.resolve_references(resolve)).collect()),
            Value::Map(map) => {
                Value::Map(map.iter().map(|(key, item)| (key.clone(), item.resolve_references(resolve))).collect())
            }
            _ => self.clone(),
        }
    }

    /// Converts plain JSON into a value. Floats become strings; they do not occur in
    /// the objects tether manages.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(flag) => Value::Bool(*flag),
            serde_json::Value::Number(number) => match number.as_i64() {
                Some(integer) => Value::Int(integer),
                None => Value::String(number.to_string()),
            },
            serde_json::Value::String(text) => Value::String(text.clone()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => {
                Value::Map(map.iter().map(|(key, item)| (key.clone(), Value::from_json(item))).collect())
            }
        }
    }

    /// Converts a fully known value into the JSON an API receives. Sensitive values are
    /// exposed in the result: call this only to build a request body.
    ///
    /// # Errors
    /// Returns an error for a reference, an unknown value, or a secret known only by digest.
    pub fn to_wire_json(&self) -> Result<serde_json::Value, UnresolvedValue> {
        Ok(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(flag) => serde_json::Value::Bool(*flag),
            Value::Int(number) => serde_json::Value::from(*number),
            Value::String(text) => serde_json::Value::String(text.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_wire_json).collect::<Result<_, _>>()?)
            }
            Value::Map(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(key, item)| Ok((key.clone(), item.to_wire_json()?)))
                    .collect::<Result<_, UnresolvedValue>>()?,
            ),
            Value::Unknown => return Err(UnresolvedValue::Unknown),
            Value::Ref(reference) => return Err(UnresolvedValue::Reference(reference.clone())),
            Value::Sensitive(secret) => match secret.expose() {
                Some(plaintext) => serde_json::Value::String(plaintext.to_owned()),
                None => return Err(UnresolvedValue::SensitiveDigestOnly(secret.short_digest())),
            },
        })
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::String(text)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Value {
        Value::Bool(flag)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Value {
        Value::Int(number)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::List(items)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(flag) => serializer.serialize_bool(*flag),
            Value::Int(number) => serializer.serialize_i64(*number),
            Value::String(text) => serializer.serialize_str(text),
            Value::List(items) => items.serialize(serializer),
            Value::Map(map) => map.serialize(serializer),
            Value::Unknown => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("$unknown", &true)?;
                map.end()
            }
            Value::Ref(reference) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("$ref", reference)?;
                map.end()
            }
            Value::Sensitive(secret) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("$sensitive", secret.digest())?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        let json = serde_json::Value::deserialize(deserializer)?;
        Value::from_tagged_json(json).map_err(D::Error::custom)
    }
}

impl Value {
    fn from_tagged_json(json: serde_json::Value) -> Result<Value, String> {
        match json {
            serde_json::Value::Array(items) => {
                Ok(Value::List(items.into_iter().map(Value::from_tagged_json).collect::<Result<_, _>>()?))
            }
            serde_json::Value::Object(map) if map.len() == 1 => {
                // unwrap: the map has exactly one entry.
                let (key, inner) = map.into_iter().next().unwrap();
                match key.as_str() {
                    "$unknown" => Ok(Value::Unknown),
                    "$ref" => serde_json::from_value(inner).map(Value::Ref).map_err(|error| error.to_string()),
                    "$sensitive" => match inner {
                        serde_json::Value::String(digest) if digest.starts_with("sha256:") => {
                            Ok(Value::Sensitive(Sensitive::from_digest(digest)))
                        }
                        _ => Err("`$sensitive` must be a `sha256:` digest".to_owned()),
                    },
                    _ => Ok(Value::map([(key, Value::from_tagged_json(inner)?)])),
                }
            }
            serde_json::Value::Object(map) => Ok(Value::Map(
                map.into_iter()
                    .map(|(key, item)| Ok((key, Value::from_tagged_json(item)?)))
                    .collect::<Result<_, String>>()?,
            )),
            plain => Ok(Value::from_json(&plain)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_serializes_digest_only() {
        let value = Value::Sensitive(Sensitive::new("hunter2"));
        let json = serde_json::to_string(&value).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.starts_with(r#"{"$sensitive":"sha256:"#), "{json}");
    }

    #[test]
    fn sensitive_debug_hides_plaintext() {
        let debug = format!("{:?}", Sensitive::new("hunter2"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn sensitive_equality_uses_digest() {
        let original = Sensitive::new("hunter2");
        let read_back = Sensitive::from_digest(original.digest().to_owned());
        assert_eq!(original, read_back);
        assert_ne!(original, Sensitive::new("hunter3"));
    }

    #[test]
    fn tagged_values_round_trip() {
        let value = Value::map([
            ("vpc_id", Value::reference_to_id(&Address::aws("vpc", "main"))),
            ("token", Value::Sensitive(Sensitive::new("s3cret"))),
            ("later", Value::Unknown),
            ("cidr", Value::string("10.1.0.0/16")),
            ("count", Value::Int(2)),
        ]);
        let json = serde_json::to_string(&value).unwrap();
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn wire_json_refuses_references() {
        let value = Value::map([("vpc_id", Value::reference_to_id(&Address::aws("vpc", "main")))]);
        assert!(matches!(value.to_wire_json(), Err(UnresolvedValue::Reference(_))));
    }

    #[test]
    fn resolve_replaces_known_references() {
        let vpc = Address::aws("vpc", "main");
        let value = Value::List(vec![Value::reference_to_id(&vpc), Value::from("x")]);
        let resolved =
            value.resolve_references(&|reference| (reference.address == vpc).then(|| Value::from("vpc-123")));
        assert_eq!(resolved, Value::List(vec![Value::from("vpc-123"), Value::from("x")]));
        assert!(resolved.is_known());
    }
}
