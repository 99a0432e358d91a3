//! Typed reads of a request's attributes, with errors that name the resource and the attribute.

use std::collections::BTreeMap;

use tether_engine::ProviderError;
use tether_model::{Address, Attributes, Value};

use crate::error::AwsError;

/// A resource's attributes, read for one API operation.
///
/// Every read error is a permanent [`ProviderError`] named after that operation, because the
/// request was rejected before AWS saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttributeReader<'a> {
    address: &'a Address,
    attributes: &'a Attributes,
    operation: &'static str,
}

impl<'a> AttributeReader<'a> {
    pub(crate) fn new(address: &'a Address, attributes: &'a Attributes, operation: &'static str) -> Self {
        AttributeReader { address, attributes, operation }
    }

    /// Reads a required string attribute.
    pub(crate) fn string(&self, name: &str) -> Result<&'a str, ProviderError> {
        match self.attributes.get(name) {
            Some(Value::String(text)) => Ok(text),
            Some(_) => Err(self.invalid(name, "a string")),
            None => Err(self.missing(name)),
        }
    }

    /// Reads a string attribute that may be absent or null.
    pub(crate) fn optional_string(&self, name: &str) -> Result<Option<&'a str>, ProviderError> {
        match self.attributes.get(name) {
            Some(Value::String(text)) => Ok(Some(text)),
            Some(Value::Null) | None => Ok(None),
            Some(_) => Err(self.invalid(name, "a string")),
        }
    }

    /// Reads a required boolean attribute.
    pub(crate) fn bool(&self, name: &str) -> Result<bool, ProviderError> {
        match self.attributes.get(name) {
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(self.invalid(name, "a boolean")),
            None => Err(self.missing(name)),
        }
    }

    /// Reads a required list attribute.
    pub(crate) fn list(&self, name: &str) -> Result<&'a [Value], ProviderError> {
        match self.attributes.get(name) {
            Some(Value::List(items)) => Ok(items),
            Some(_) => Err(self.invalid(name, "a list")),
            None => Err(self.missing(name)),
        }
    }

    /// Reads a required list of strings.
    pub(crate) fn string_list(&self, name: &str) -> Result<Vec<String>, ProviderError> {
        self.list(name)?
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(|| self.invalid(name, "a list of strings")))
            .collect()
    }

    /// Reads a required map of strings, such as `tags`.
    pub(crate) fn string_map(&self, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let Some(value) = self.attributes.get(name) else {
            return Err(self.missing(name));
        };
        let Some(map) = value.as_map() else {
            return Err(self.invalid(name, "a map of strings"));
        };
        map.iter()
            .map(|(key, item)| match item.as_str() {
                Some(text) => Ok((key.clone(), text.to_owned())),
                None => Err(self.invalid(name, "a map of strings")),
            })
            .collect()
    }

    /// Returns the resource's address.
    pub(crate) fn address(&self) -> &'a Address {
        self.address
    }

    /// Wraps `error` as a permanent error of this reader's operation.
    pub(crate) fn reject(&self, error: AwsError) -> ProviderError {
        error.into_provider_error(self.operation)
    }

    /// Builds the error for an attribute whose value is not what `expected` describes.
    pub(crate) fn invalid(&self, name: &str, expected: &str) -> ProviderError {
        AwsError::InvalidAttribute {
            address: self.address.clone(),
            attribute: name.to_owned(),
            expected: expected.to_owned(),
        }
        .into_provider_error(self.operation)
    }

    fn missing(&self, name: &str) -> ProviderError {
        AwsError::MissingAttribute { address: self.address.clone(), attribute: name.to_owned() }
            .into_provider_error(self.operation)
    }
}

/// Rejects an update that changes any of `names`, which AWS cannot change in place.
///
/// Without observed attributes (`before` is `None`) there is nothing to compare, so it passes.
///
/// # Errors
/// Returns [`AwsError::ImmutableAttribute`] for the first attribute that differs.
pub(crate) fn ensure_unchanged(
    address: &Address,
    before: Option<&Attributes>,
    after: &Attributes,
    names: &[&str],
    operation: &'static str,
) -> Result<(), ProviderError> {
    let Some(before) = before else {
        return Ok(());
    };
    for name in names {
        if before.get(*name) != after.get(*name) {
            let error = AwsError::ImmutableAttribute { address: address.clone(), attribute: (*name).to_owned() };
            return Err(error.into_provider_error(operation));
        }
    }
    Ok(())
}

/// True when `name` differs between the observed and the desired attributes, or nothing was observed.
pub(crate) fn changed(before: Option<&Attributes>, after: &Attributes, name: &str) -> bool {
    before.is_none_or(|before| before.get(name) != after.get(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes() -> Attributes {
        Attributes::from([
            ("cidr_block".to_owned(), Value::from("10.0.0.0/16")),
            ("enable_dns_support".to_owned(), Value::Bool(true)),
            ("tags".to_owned(), Value::map([("Name", Value::from("main"))])),
        ])
    }

    #[test]
    fn typed_reads_succeed() {
        let address = Address::aws("vpc", "main");
        let attributes = attributes();
        let reader = AttributeReader::new(&address, &attributes, "CreateVpc");
        assert_eq!(reader.string("cidr_block").unwrap(), "10.0.0.0/16");
        assert!(reader.bool("enable_dns_support").unwrap());
        assert_eq!(reader.string_map("tags").unwrap()["Name"], "main");
        assert_eq!(reader.optional_string("absent").unwrap(), None);
    }

    #[test]
    fn wrong_type_names_attribute() {
        let address = Address::aws("vpc", "main");
        let attributes = attributes();
        let reader = AttributeReader::new(&address, &attributes, "CreateVpc");
        let error = reader.bool("cidr_block").unwrap_err();
        assert_eq!(error.operation, "CreateVpc");
        assert!(!error.retryable);
        assert!(error.source.to_string().contains("`cidr_block` of aws.vpc.main"), "{}", error.source);
    }

    #[test]
    fn missing_attribute_named() {
        let address = Address::aws("vpc", "main");
        let attributes = attributes();
        let reader = AttributeReader::new(&address, &attributes, "CreateVpc");
        let error = reader.string("vpc_id").unwrap_err();
        assert_eq!(error.source.to_string(), "aws.vpc.main has no attribute `vpc_id`");
    }

    #[test]
    fn immutable_change_rejected() {
        let address = Address::aws("vpc", "main");
        let before = attributes();
        let mut after = attributes();
        after.insert("cidr_block".to_owned(), Value::from("10.1.0.0/16"));
        assert!(ensure_unchanged(&address, Some(&before), &after, &["cidr_block"], "ModifyVpcAttribute").is_err());
        assert!(ensure_unchanged(&address, None, &after, &["cidr_block"], "ModifyVpcAttribute").is_ok());
        assert!(changed(Some(&before), &after, "cidr_block"));
        assert!(!changed(Some(&before), &after, "tags"));
    }
}
