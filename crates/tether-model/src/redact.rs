//! Redaction of credentials that AWS and Kubernetes can echo in error messages: signed URLs,
//! session tokens and bearer tokens.

use std::borrow::Cow;

/// Replacement text for a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Markers after which a credential follows, lowercase. Where one marker ends another (`signature=`
/// in `x-amz-signature=`), the longer one is found first because the scan goes left to right.
const MARKERS: [&str; 9] = [
    "x-amz-signature=",
    "x-amz-security-token=",
    "x-amz-credential=",
    "awsaccesskeyid=",
    "signature=",
    "bearer ",
    "authorization: ",
    "token=",
    "x-amz-security-token: ",
];

/// Replaces the value after each credential marker with [`REDACTED`]: the query parameters of a
/// presigned AWS URL (`X-Amz-Signature`, `X-Amz-Security-Token`, `X-Amz-Credential`,
/// `AWSAccessKeyId`, `Signature`), `token=` parameters, `Bearer` tokens and `Authorization`
/// headers. Markers match in any case. A value ends at whitespace, `&`, a quote, a bracket, `<`,
/// `>`, `,` or `;`, except after `Authorization: `, where it runs to the end of the line.
pub fn redact_credentials(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let mut out = String::new();
    let mut copied = 0;
    let mut index = 0;
    while index < text.len() {
        let Some(marker) = MARKERS.iter().find(|marker| lower[index..].starts_with(*marker)) else {
            index += text[index..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let value_start = index + marker.len();
        let value_end = value_start + value_length(&text[value_start..], marker.starts_with("authorization"));
        if value_end > value_start {
            out.push_str(&text[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        index = value_end.max(value_start);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn value_length(rest: &str, to_line_end: bool) -> usize {
    let ends = |character: char| {
        if to_line_end {
            matches!(character, '\n' | '\r')
        } else {
            character.is_whitespace() || "&\"'<>()[]{},;".contains(character)
        }
    };
    rest.find(ends).unwrap_or(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_url_parameters_redacted() {
        let text = "GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE&X-Amz-Signature=abc123def failed";

        let redacted = redact_credentials(text);

        assert_eq!(
            redacted,
            "GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[REDACTED]&X-Amz-Security-Token=[REDACTED]&X-Amz-Signature=[REDACTED] failed"
        );
    }

    #[test]
    fn bearer_token_redacted() {
        let redacted = redact_credentials("401 Unauthorized: invalid Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig, retry");

        assert_eq!(redacted, "401 Unauthorized: invalid Bearer [REDACTED], retry");
    }

    #[test]
    fn authorization_header_redacted_to_line_end() {
        let redacted = redact_credentials("sent Authorization: AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=ff\nnext");

        assert_eq!(redacted, "sent Authorization: [REDACTED]\nnext");
    }

    #[test]
    fn markers_match_any_case() {
        assert_eq!(redact_credentials("x-amz-signature=ABC"), "x-amz-signature=[REDACTED]");
        assert_eq!(redact_credentials("BEARER abc"), "BEARER [REDACTED]");
    }

    #[test]
    fn text_without_credentials_borrowed() {
        let text = "InvalidVpcID.NotFound: The vpc ID 'vpc-123' does not exist; token bucket é";

        assert!(matches!(redact_credentials(text), Cow::Borrowed(_)));
    }

    #[test]
    fn empty_value_left_alone() {
        assert_eq!(redact_credentials("Signature= and token=&x"), "Signature= and token=&x");
    }
}
