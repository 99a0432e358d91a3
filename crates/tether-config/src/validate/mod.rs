//! Validation of a deserialized environment: every rule runs and every problem is collected.
//!
//! Each submodule checks one area and reports through a shared [`Checker`]; rules never stop at the
//! first problem, and a value that fails to parse is left out of the checks that need it parsed.

mod aws;
mod capacity;
mod drift;
mod files;
mod names;
mod networks;
mod pools;
mod releases;
mod routes;
mod scale_from_zero;

use std::ops::Range;
use std::path::Path;

use ipnet::Ipv4Net;

use crate::checked::Route;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::model::Environment;
use crate::secret::PullSecret;
use crate::spans::{KeyPath, SpanIndex};

/// Result of validation: every diagnostic, and the parsed values when all of them parsed.
pub(crate) struct Validation {
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) values: Option<Values>,
}

/// The environment's values in parsed form, for [`crate::Checked`].
pub(crate) struct Values {
    pub(crate) vpc_cidr: Ipv4Net,
    pub(crate) onprem_networks: Vec<Ipv4Net>,
    pub(crate) cluster_network: Ipv4Net,
    pub(crate) service_network: Ipv4Net,
    pub(crate) routes: Vec<Route>,
    pub(crate) pull_secret: PullSecret,
    pub(crate) subnet_router_user_data: Option<String>,
}

/// Runs every rule on `environment`; `base_dir` is where relative file paths resolve.
pub(crate) fn run(environment: &Environment, spans: &SpanIndex, source: &SourceFile, base_dir: &Path) -> Validation {
    let mut checker = Checker { environment, spans, source, found: Vec::new() };

    names::check(&mut checker);
    aws::check(&mut checker);
    pools::check(&mut checker);
    capacity::check(&mut checker);
    releases::check(&mut checker);
    scale_from_zero::check(&mut checker);
    drift::check(&mut checker);
    crate::import_settings::check(&mut checker);
    crate::addons::check(&mut checker, base_dir);
    let networks = networks::check(&mut checker);
    let routes = routes::check(&mut checker, &networks);
    let pull_secret = files::check(&mut checker, base_dir);
    let user_data = files::check_user_data(&mut checker, base_dir);

    let values = match (networks.complete(), routes, pull_secret, user_data) {
        (
            Some((vpc_cidr, onprem_networks, cluster_network, service_network)),
            Some(routes),
            Some(pull_secret),
            Some(subnet_router_user_data),
        ) => Some(Values {
            vpc_cidr,
            onprem_networks,
            cluster_network,
            service_network,
            routes,
            pull_secret,
            subnet_router_user_data,
        }),
        _ => None,
    };
    Validation { diagnostics: checker.found, values }
}

/// A syntax rule for one kind of value: its check, and how to report a value that fails it.
pub(crate) struct SyntaxRule {
    pub(crate) code: &'static str,
    pub(crate) check: fn(&str) -> Result<(), String>,
    /// Label under the offending text, e.g. "not a DNS-1123 label".
    pub(crate) label: &'static str,
    pub(crate) help: &'static str,
}

/// The shared state of one validation run.
pub(crate) struct Checker<'a> {
    pub(crate) environment: &'a Environment,
    pub(crate) spans: &'a SpanIndex,
    source: &'a SourceFile,
    found: Vec<Diagnostic>,
}

impl Checker<'_> {
    /// Records a diagnostic, attaching the file it points into.
    pub(crate) fn report(&mut self, diagnostic: Diagnostic) {
        self.found.push(diagnostic.with_source(self.source));
    }

    /// Returns the span of the value at the key path `keys`.
    pub(crate) fn value_span(&self, keys: &[&str]) -> Option<Range<usize>> {
        self.spans.value(&KeyPath::of(keys))
    }

    /// Checks `value`, called `subject` in messages, against `rule`, and reports a failure at `span`.
    /// Returns true when the value passed.
    pub(crate) fn check_syntax(
        &mut self,
        span: Option<Range<usize>>,
        subject: &str,
        value: &str,
        rule: &SyntaxRule,
    ) -> bool {
        let Err(reason) = (rule.check)(value) else {
            return true;
        };
        let message =
            if value.is_empty() { format!("{subject} is empty") } else { format!("{subject} `{value}` {reason}") };
        self.report(Diagnostic::error(rule.code, message).with_label(span, rule.label).with_help(rule.help));
        false
    }

    /// Checks the value at the key path `keys` against `rule`; see [`Checker::check_syntax`].
    pub(crate) fn check_value(&mut self, keys: &[&str], subject: &str, value: &str, rule: &SyntaxRule) -> bool {
        let span = self.value_span(keys);
        self.check_syntax(span, subject, value, rule)
    }
}
