//! The identity guard: checks with STS GetCallerIdentity that the credentials belong to the
//! environment's AWS account before anything is read or changed.

use tether_engine::ProviderError;

use crate::client::AwsProvider;
use crate::error::{AwsError, send};

/// Who the provider's credentials belong to, as STS reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The 12-digit account id.
    pub account: String,
    /// The caller's ARN, e.g. `arn:aws:sts::123456789012:assumed-role/hypershift-cli-role/tether`.
    pub arn: String,
}

/// A failed identity check.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// GetCallerIdentity failed, e.g. because there are no credentials or the role cannot be assumed.
    #[error("cannot find out which AWS account the credentials belong to, so nothing was read or changed")]
    Lookup(#[source] ProviderError),
    /// The credentials belong to another account than the environment file names.
    #[error(
        "the AWS credentials belong to account {actual} ({arn}), but the environment file's `aws.account_id` \
         is {expected}, so nothing was read or changed; use credentials of account {expected} (or set \
         `aws.role_arn` to a role in it), or correct `aws.account_id` if the file is wrong"
    )]
    WrongAccount {
        /// The account the environment file names.
        expected: String,
        /// The account the credentials belong to.
        actual: String,
        /// The caller's ARN.
        arn: String,
    },
}

impl AwsProvider {
    /// Asks STS who the caller is and fails unless its account is `expected_account`.
    ///
    /// # Errors
    /// Returns [`IdentityError::Lookup`] when the call fails (its retries included) and
    /// [`IdentityError::WrongAccount`] when the accounts differ.
    pub async fn verify_account(&self, expected_account: &str) -> Result<CallerIdentity, IdentityError> {
        const OPERATION: &str = "GetCallerIdentity";
        let output = send(OPERATION, self.sts().get_caller_identity().send()).await.map_err(IdentityError::Lookup)?;
        let missing =
            |field| IdentityError::Lookup(AwsError::MissingResponseField { field }.into_provider_error(OPERATION));
        let account = output.account().ok_or_else(|| missing("Account"))?.to_owned();
        let arn = output.arn().ok_or_else(|| missing("Arn"))?.to_owned();

        if account != expected_account {
            return Err(IdentityError::WrongAccount { expected: expected_account.to_owned(), actual: account, arn });
        }
        tracing::debug!(account, arn, "AWS caller identity verified");
        Ok(CallerIdentity { account, arn })
    }
}
