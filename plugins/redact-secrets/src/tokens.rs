//! Credentials recognisable by their own shape: provider key prefixes, JWTs, bearer tokens
//! and PEM private-key blocks.

use crate::scan::{Found, is_token_byte, run_end, word_start};

/// Provider prefixes, the kind they name, the bytes a key body may hold and its shortest body.
/// Lengths are the documented formats' minimums, which keeps ordinary identifiers out.
/// A prefix, its kind, the bytes its body may hold, its shortest body.
type Prefix = (&'static str, &'static str, fn(u8) -> bool, usize);

const PREFIXES: &[Prefix] = &[
    ("sk-ant-", "anthropic-api-key", is_token_byte, 32),
    ("sk-proj-", "openai-api-key", is_token_byte, 32),
    ("sk-svcacct-", "openai-api-key", is_token_byte, 32),
    ("sk-admin-", "openai-api-key", is_token_byte, 32),
    ("sk-", "openai-api-key", alnum, 32),
    ("AKIA", "aws-access-key", is_upper_digit, 16),
    ("ASIA", "aws-access-key", is_upper_digit, 16),
    ("ghp_", "github-token", alnum, 36),
    ("gho_", "github-token", alnum, 36),
    ("ghu_", "github-token", alnum, 36),
    ("ghs_", "github-token", alnum, 36),
    ("ghr_", "github-token", alnum, 36),
    ("github_pat_", "github-token", is_token_byte, 40),
    ("xoxb-", "slack-token", is_token_byte, 20),
    ("xoxp-", "slack-token", is_token_byte, 20),
    ("xoxa-", "slack-token", is_token_byte, 20),
    ("xoxr-", "slack-token", is_token_byte, 20),
    ("xoxs-", "slack-token", is_token_byte, 20),
    ("xapp-", "slack-token", is_token_byte, 20),
    ("https://hooks.slack.com/services/", "slack-webhook", is_path_byte, 20),
    ("sk_live_", "stripe-key", alnum, 16),
    ("sk_test_", "stripe-key", alnum, 16),
    ("rk_live_", "stripe-key", alnum, 16),
    ("rk_test_", "stripe-key", alnum, 16),
    ("whsec_", "stripe-key", alnum, 24),
];

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_upper_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'_' || b == b'-'
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Keys with a provider prefix. A body must mix letters and digits (real keys are random;
/// `sk-learn-...`-like words are not).
pub fn prefixed(text: &str, found: &mut Vec<Found>) {
    for &(prefix, kind, body, min) in PREFIXES {
        for (at, _) in text.match_indices(prefix) {
            if !word_start(text, at) {
                continue;
            }
            let from = at + prefix.len();
            let end = run_end(text, from, body);
            let key = &text.as_bytes()[from..end];
            let exact_aws = kind == "aws-access-key";
            let long_enough = if exact_aws { key.len() == min } else { key.len() >= min };
            // AWS key ids are exactly 20 characters; a longer run is something else.
            if !long_enough || (exact_aws && end < text.len() && is_token_byte(text.as_bytes()[end])) {
                continue;
            }
            if !key.iter().any(u8::is_ascii_digit) || !key.iter().any(u8::is_ascii_alphabetic) {
                continue;
            }
            found.push(Found { start: at, end, kind });
        }
    }
}

/// JSON Web Tokens: three base64url parts, the first two JSON objects (`eyJ`).
pub fn jwts(text: &str, found: &mut Vec<Found>) {
    for (at, _) in text.match_indices("eyJ") {
        if !word_start(text, at) {
            continue;
        }
        let h_end = run_end(text, at, is_b64url);
        if h_end - at < 10
            || text.as_bytes().get(h_end) != Some(&b'.')
            || !text[h_end + 1..].starts_with("eyJ")
        {
            continue;
        }
        let p_end = run_end(text, h_end + 1, is_b64url);
        if p_end - h_end < 10 || text.as_bytes().get(p_end) != Some(&b'.') {
            continue;
        }
        let s_end = run_end(text, p_end + 1, is_b64url);
        if s_end - p_end < 10 {
            continue;
        }
        found.push(Found { start: at, end: s_end, kind: "jwt" });
    }
}

/// `Bearer <token>` (in headers, curl commands, logs): the token is masked, the word kept.
pub fn bearer(text: &str, found: &mut Vec<Found>) {
    let lower = text.to_ascii_lowercase();
    for (at, _) in lower.match_indices("bearer ") {
        if !word_start(text, at) {
            continue;
        }
        let from = at + "bearer ".len();
        let end = run_end(text, from, |b| is_b64url(b) || matches!(b, b'.' | b'~' | b'+' | b'/' | b'='));
        let token = &text.as_bytes()[from..end];
        if token.len() < 16 || !token.iter().any(u8::is_ascii_digit) {
            continue;
        }
        found.push(Found { start: from, end, kind: "bearer-token" });
    }
}

/// PEM private keys, from `-----BEGIN ... PRIVATE KEY-----` to its END line (or the end of
/// the text when it was cut off).
pub fn private_keys(text: &str, found: &mut Vec<Found>) {
    let mut from = 0;
    while let Some(pos) = text[from..].find("-----BEGIN ") {
        let at = from + pos;
        let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
        let header = &text[at..line_end];
        from = at + "-----BEGIN ".len();
        if !header.contains("PRIVATE KEY-----") {
            continue;
        }
        let end = match text[at..].find("-----END ") {
            Some(n) => {
                let end_at = at + n;
                text[end_at + 9..].find("-----").map_or(text.len(), |m| end_at + 9 + m + 5)
            }
            None => text.len(),
        };
        found.push(Found { start: at, end, kind: "private-key" });
        from = end;
    }
}

#[cfg(test)]
mod tests {
    use crate::redact;

    #[test]
    fn provider_keys_are_masked_by_kind() {
        let cases = [
            ("key sk-ant-api03-AbCdEfGh1234567890AbCdEfGh1234567890xyz end", "anthropic-api-key"),
            ("OPENAI=sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78 x", "openai-api-key"),
            ("old sk-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90 x", "openai-api-key"),
            ("id AKIAIOSFODNN7EXAMPLE here", "aws-access-key"),
            ("t ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5 x", "github-token"),
            ("s xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx x", "slack-token"),
            (
                "u https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX x",
                "slack-webhook",
            ),
            ("k sk_live_4eC39HqLyjWDarjtT1zdp7dc x", "stripe-key"),
        ];
        for (text, kind) in cases {
            let (out, found) = redact(text);
            assert_eq!(found.len(), 1, "{text}");
            assert_eq!(found[0].kind, kind, "{text}");
            assert!(out.contains(&format!("[secret: {kind} masked]")), "{out}");
            let secret = &text[found[0].start..found[0].end];
            assert!(!out.contains(secret), "{out}");
        }
    }

    #[test]
    fn jwts_bearer_tokens_and_private_keys() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let (out, _) = redact(&format!("token: {jwt}\n"));
        assert_eq!(out, "token: [secret: jwt masked]\n");
        let (out, _) = redact("curl -H 'Authorization: Bearer abc123def456ghi789jkl' x");
        assert_eq!(out, "curl -H 'Authorization: Bearer [secret: bearer-token masked]' x");
        let pem =
            "a\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nxyz\n-----END RSA PRIVATE KEY-----\nb\n";
        assert_eq!(redact(pem).0, "a\n[secret: private-key masked]\nb\n");
        let public = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n";
        assert!(redact(public).1.is_empty());
    }

    #[test]
    fn look_alikes_are_left_alone() {
        for text in [
            "sk-learn is a package; task-sk-1 and ask-for-help",
            "AKIAIOSFODNN7EXAMPLEXX is too long",
            "Bearer token required",
            "eyJ alone and eyJhbGciOi.notajwt",
            "sk_live_ with nothing",
            "the skeleton sk-abcdefghijklmnopqrstuvwxyzabcdefgh (letters only)",
        ] {
            assert!(redact(text).1.is_empty(), "{text}: {:?}", redact(text).1);
        }
    }
}
