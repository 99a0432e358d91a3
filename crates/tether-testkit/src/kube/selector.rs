//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, exists, `!exists`) and field selectors on
//! `metadata.name` and `metadata.namespace`.

use serde_json::Value;

/// A selector string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SelectorError {
    /// A label requirement is malformed; `position` is a byte offset into the selector.
    #[error("unable to parse requirement: {problem} at position {position} of {selector:?}")]
    Syntax { selector: String, position: usize, problem: &'static str },
    /// `in` or `notin` with an empty value set.
    #[error("unable to parse requirement: values for {key:?} with 'in' or 'notin' must not be empty")]
    EmptySet { key: String },
    /// A field selector names a field other than `metadata.name` and `metadata.namespace`.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
    /// A field selector term has no operator.
    #[error("invalid selector: '{0}'; can't understand '{0}'")]
    FieldSyntax(String),
}

/// A label requirement's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// One comma-separated term of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    /// Tests the requirement against an object's labels. As in Kubernetes, `!=` and `notin`
    /// match objects that lack the label.
    fn matches(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        let value = labels.and_then(|labels| labels.get(&self.key)).and_then(Value::as_str);
        let listed = |value: &str| self.values.iter().any(|candidate| candidate == value);
        match (self.operator, value) {
            (Operator::Exists, found) => found.is_some(),
            (Operator::DoesNotExist, found) => found.is_none(),
            (Operator::Equals | Operator::In, Some(value)) => listed(value),
            (Operator::Equals | Operator::In, None) => false,
            (Operator::NotEquals | Operator::NotIn, Some(value)) => !listed(value),
            (Operator::NotEquals | Operator::NotIn, None) => true,
        }
    }
}

/// A parsed `labelSelector`; all requirements must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses a selector such as `app=web,env in (a,b),!legacy`. The empty string selects everything.
    ///
    /// # Errors
    ///
    /// [`SelectorError::Syntax`] or [`SelectorError::EmptySet`] for a malformed selector.
    pub fn parse(selector: &str) -> Result<LabelSelector, SelectorError> {
        let mut cursor = Cursor { text: selector, position: 0 };
        let mut requirements = Vec::new();
        cursor.skip_spaces();
        if cursor.at_end() {
            return Ok(LabelSelector::default());
        }
        loop {
            requirements.push(cursor.requirement()?);
            cursor.skip_spaces();
            if cursor.at_end() {
                return Ok(LabelSelector { requirements });
            }
            cursor.expect(',', "expected ','")?;
        }
    }

    /// Tests the selector against an object's `metadata.labels`.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels").and_then(Value::as_object);
        self.requirements.iter().all(|requirement| requirement.matches(labels))
    }
}

/// A position in a label selector being parsed.
struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.text[self.position..]
    }

    fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start();
        self.position = self.text.len() - trimmed.len();
    }

    fn error(&self, problem: &'static str) -> SelectorError {
        SelectorError::Syntax { selector: self.text.to_string(), position: self.position, problem }
    }

    fn expect(&mut self, expected: char, problem: &'static str) -> Result<(), SelectorError> {
        if self.peek() == Some(expected) {
            self.position += expected.len_utf8();
            Ok(())
        } else {
            Err(self.error(problem))
        }
    }

    /// Reads characters allowed in label keys and values: ASCII letters, digits, `-_./`.
    fn word(&mut self) -> &str {
        let start = self.position;
        let length = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
            .unwrap_or(self.rest().len());
        self.position += length;
        &self.text[start..self.position]
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        self.skip_spaces();
        let negated = self.peek() == Some('!');
        if negated {
            self.position += 1;
            self.skip_spaces();
        }
        let key = self.word().to_string();
        if key.is_empty() {
            return Err(self.error("expected a label key"));
        }
        self.skip_spaces();

        let ends_here = self.at_end() || self.peek() == Some(',');
        if negated {
            return match ends_here {
                true => Ok(Requirement { key, operator: Operator::DoesNotExist, values: Vec::new() }),
                false => Err(self.error("expected ',' or the end after '!key'")),
            };
        }
        if ends_here {
            return Ok(Requirement { key, operator: Operator::Exists, values: Vec::new() });
        }
        self.operator_and_values(key)
    }

    fn operator_and_values(&mut self, key: String) -> Result<Requirement, SelectorError> {
        let operator = if let Some(rest) = self.rest().strip_prefix("==") {
            self.position = self.text.len() - rest.len();
            Operator::Equals
        } else if let Some(rest) = self.rest().strip_prefix("!=") {
            self.position = self.text.len() - rest.len();
            Operator::NotEquals
        } else if let Some(rest) = self.rest().strip_prefix('=') {
            self.position = self.text.len() - rest.len();
            Operator::Equals
        } else {
            match self.word() {
                "in" => Operator::In,
                "notin" => Operator::NotIn,
                _ => return Err(self.error("expected '=', '==', '!=', 'in' or 'notin'")),
            }
        };
        self.skip_spaces();

        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => vec![self.word().to_string()],
        };
        if values.is_empty() {
            return Err(SelectorError::EmptySet { key });
        }
        Ok(Requirement { key, operator, values })
    }

    /// Reads `(a, b, c)`.
    fn value_set(&mut self) -> Result<Vec<String>, SelectorError> {
        self.expect('(', "expected '(' after 'in' or 'notin'")?;
        let mut values = Vec::new();
        loop {
            self.skip_spaces();
            if values.is_empty() && self.peek() == Some(')') {
                self.position += 1;
                return Ok(values);
            }
            values.push(self.word().to_string());
            self.skip_spaces();
            match self.peek() {
                Some(',') => self.position += 1,
                Some(')') => {
                    self.position += 1;
                    return Ok(values);
                }
                _ => return Err(self.error("expected ',' or ')' in a value set")),
            }
        }
    }
}

/// A field selector term's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldOperator {
    Equals,
    NotEquals,
}

/// A parsed `fieldSelector` over `metadata.name` and `metadata.namespace`; all terms must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSelector {
    terms: Vec<(String, FieldOperator, String)>,
}

impl FieldSelector {
    /// Parses `metadata.name=x,metadata.namespace!=y`. The empty string selects everything.
    ///
    /// # Errors
    ///
    /// [`SelectorError::UnsupportedField`] for other fields, [`SelectorError::FieldSyntax`] for a term without an operator.
    pub fn parse(selector: &str) -> Result<FieldSelector, SelectorError> {
        let mut terms = Vec::new();
        for term in selector.split(',').map(str::trim).filter(|term| !term.is_empty()) {
            let (field, operator, value) = if let Some((field, value)) = term.split_once("!=") {
                (field, FieldOperator::NotEquals, value)
            } else if let Some((field, value)) = term.split_once("==") {
                (field, FieldOperator::Equals, value)
            } else if let Some((field, value)) = term.split_once('=') {
                (field, FieldOperator::Equals, value)
            } else {
                return Err(SelectorError::FieldSyntax(term.to_string()));
            };
            let field = field.trim();
            if field != "metadata.name" && field != "metadata.namespace" {
                return Err(SelectorError::UnsupportedField(field.to_string()));
            }
            terms.push((field.to_string(), operator, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    /// Builds the selector `metadata.name=<name>`, which a GET with `watch=true` on an object implies.
    pub fn name(name: &str) -> FieldSelector {
        FieldSelector { terms: vec![("metadata.name".to_string(), FieldOperator::Equals, name.to_string())] }
    }

    /// Adds the terms of another selector.
    pub fn and(mut self, other: FieldSelector) -> FieldSelector {
        self.terms.extend(other.terms);
        self
    }

    /// Tests the selector against an object; a cluster-scoped object's namespace is the empty string.
    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(field, operator, expected)| {
            let pointer = if field == "metadata.name" { "/metadata/name" } else { "/metadata/namespace" };
            let actual = object.pointer(pointer).and_then(Value::as_str).unwrap_or("");
            match operator {
                FieldOperator::Equals => actual == expected,
                FieldOperator::NotEquals => actual != expected,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labelled(labels: Value) -> Value {
        json!({"metadata": {"name": "x", "labels": labels}})
    }

    fn selects(selector: &str, labels: Value) -> bool {
        let parsed = LabelSelector::parse(selector).unwrap_or_else(|error| panic!("{selector}: {error}"));
        parsed.matches(&labelled(labels))
    }

    #[test]
    fn equality_operators() {
        assert!(selects("app=web", json!({"app": "web"})));
        assert!(selects("app==web", json!({"app": "web"})));
        assert!(!selects("app=web", json!({"app": "db"})));
        assert!(selects("app!=web", json!({"app": "db"})));
        assert!(selects("app!=web", json!({})), "!= matches a missing label");
        assert!(!selects("app!=web", json!({"app": "web"})));
    }

    #[test]
    fn set_operators() {
        assert!(selects("env in (a,b)", json!({"env": "b"})));
        assert!(selects("env in ( a , b )", json!({"env": "a"})));
        assert!(!selects("env in (a,b)", json!({"env": "c"})));
        assert!(!selects("env in (a,b)", json!({})));
        assert!(selects("env notin (a,b)", json!({"env": "c"})));
        assert!(selects("env notin (a,b)", json!({})), "notin matches a missing label");
        assert!(!selects("env notin (a,b)", json!({"env": "a"})));
    }

    #[test]
    fn existence_operators() {
        assert!(selects("app", json!({"app": ""})));
        assert!(!selects("app", json!({})));
        assert!(selects("!app", json!({"other": "x"})));
        assert!(!selects("! app", json!({"app": "x"})));
    }

    #[test]
    fn conjunction_and_prefixed_keys() {
        let selector = "app.kubernetes.io/managed-by=tether,env in (prod),!legacy";
        assert!(selects(selector, json!({"app.kubernetes.io/managed-by": "tether", "env": "prod"})));
        assert!(!selects(selector, json!({"app.kubernetes.io/managed-by": "tether", "env": "prod", "legacy": "1"})));
        assert_eq!(LabelSelector::parse(selector).map(|s| s.requirements.len()), Ok(3));
    }

    #[test]
    fn empty_selector_matches_all() {
        assert!(selects("", json!({})));
        assert!(selects("  ", json!({"a": "b"})));
    }

    #[test]
    fn empty_value_allowed() {
        assert!(selects("app=", json!({"app": ""})));
        assert!(!selects("app=", json!({"app": "x"})));
    }

    #[test]
    fn malformed_selectors() {
        for selector in ["=x", "app=web,", "app in a,b", "app in (a,b", "app in ()", "app >= 1", "!app=x", "a b"] {
            assert!(LabelSelector::parse(selector).is_err(), "{selector} should not parse");
        }
    }

    #[test]
    fn field_selector_terms() {
        let object = json!({"metadata": {"name": "ai", "namespace": "clusters"}});
        let select = |selector: &str| FieldSelector::parse(selector).map(|s| s.matches(&object));
        assert_eq!(select("metadata.name=ai"), Ok(true));
        assert_eq!(select("metadata.name==ai,metadata.namespace=clusters"), Ok(true));
        assert_eq!(select("metadata.name!=ai"), Ok(false));
        assert_eq!(select("metadata.namespace=other"), Ok(false));
        assert_eq!(select(""), Ok(true));
    }

    #[test]
    fn field_selector_errors() {
        assert_eq!(
            FieldSelector::parse("spec.replicas=1"),
            Err(SelectorError::UnsupportedField("spec.replicas".to_string()))
        );
        assert_eq!(FieldSelector::parse("metadata.name"), Err(SelectorError::FieldSyntax("metadata.name".to_string())));
    }

    #[test]
    fn cluster_scoped_namespace_is_empty() {
        let object = json!({"metadata": {"name": "99-worker"}});
        assert_eq!(FieldSelector::parse("metadata.namespace=").map(|s| s.matches(&object)), Ok(true));
    }
}
