//! Secrets by their place: a password in a URL's user info, a value assigned to a key named
//! like a secret in a config line, an env file, JSON or YAML.

use crate::scan::{Found, run_end};

/// Key names whose value is a secret when the name ends with them (`DB_PASSWORD`,
/// `client_secret`, `"apiKey"`), compared in lower case without `_` and `-`.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "apikey",
    "secretkey",
    "accesskey",
    "privatekey",
    "authtoken",
    "accesstoken",
    "refreshtoken",
    "token",
];

/// Names ending like a secret that are not one.
const NOT_SECRET: &[&str] =
    &["nopasswd", "maxtoken", "numtoken", "tokentype", "secretname", "passwordfile", "pwdfile", "secretref"];

/// `scheme://user:password@host`: the password is masked, user and host kept.
pub fn url_passwords(text: &str, found: &mut Vec<Found>) {
    for (at, _) in text.match_indices("://") {
        let from = at + 3;
        let end = run_end(text, from, |b| {
            !matches!(b, b'/' | b'@' | b' ' | b'\n' | b'\t' | b'"' | b'\'' | b'<' | b'>')
        });
        if text.as_bytes().get(end) != Some(&b'@') {
            continue;
        }
        let Some(colon) = text[from..end].find(':').map(|c| from + c) else { continue };
        let password = &text[colon + 1..end];
        if placeholder(password) || password.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        found.push(Found { start: colon + 1, end, kind: "password" });
    }
}

/// `name = value`, `name: value`, `"name": "value"`, `export NAME=value` with a secret-like
/// name: the value is masked.
pub fn assignments(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'=' && b != b':' {
            i += 1;
            continue;
        }
        let op = i;
        i += 1;
        // `==`, `:=`-less comparisons and `::` paths are code, not assignments.
        if bytes.get(op + 1).is_some_and(|&n| n == b'=' || n == b':')
            || (op > 0 && matches!(bytes[op - 1], b'=' | b'!' | b'<' | b'>' | b':'))
        {
            continue;
        }
        let Some(name) = name_before(text, op) else { continue };
        if !secret_name(name) {
            continue;
        }
        if let Some((start, end)) = value_after(text, op + 1) {
            found.push(Found { start, end, kind: "password" });
        }
    }
}

/// The key name ending just before `op` (quotes and blanks skipped).
fn name_before(text: &str, op: usize) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut end = op;
    while end > 0 && bytes[end - 1] == b' ' {
        end -= 1;
    }
    if end > 0 && matches!(bytes[end - 1], b'"' | b'\'') {
        end -= 1;
    }
    let mut start = end;
    while start > 0
        && (bytes[start - 1].is_ascii_alphanumeric() || matches!(bytes[start - 1], b'_' | b'-' | b'.'))
    {
        start -= 1;
    }
    (start < end).then(|| &text[start..end])
}

fn secret_name(name: &str) -> bool {
    // `config.password` keeps its last segment.
    let last = name.rsplit('.').next().unwrap_or(name);
    let folded: String =
        last.chars().filter(|c| *c != '_' && *c != '-').map(|c| c.to_ascii_lowercase()).collect();
    SECRET_NAMES.iter().any(|s| folded.ends_with(s)) && !NOT_SECRET.iter().any(|s| folded.ends_with(s))
}

/// The value after an assignment operator: a quoted string, or a bare word to the end of the
/// line. `None` for what is code or a placeholder rather than a secret.
fn value_after(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut start = from;
    while start < bytes.len() && bytes[start] == b' ' {
        start += 1;
    }
    let quote = *bytes.get(start)?;
    let (vstart, vend) = if quote == b'"' || quote == b'\'' {
        let close = text[start + 1..].find(char::from(quote))? + start + 1;
        (start + 1, close)
    } else {
        let end = run_end(text, start, |b| {
            !matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b',' | b';' | b'}' | b'&' | b'`' | b'"' | b'\'')
        });
        (start, end)
    };
    let value = &text[vstart..vend];
    if value.len() < 6 || value.contains('\n') || placeholder(value) || value.starts_with(['?', '-', '=']) {
        return None;
    }
    let bare = !(quote == b'"' || quote == b'\'');
    // Code (`password = get_password()`, `token: self.token`, `secret=os.environ[...]`) and
    // counts (`max_tokens: 4096`) are not secrets.
    if bare
        && (value.contains(['(', ')', '[', ']', '{', '}', '.', '$'])
            || value.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if bare
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !value.bytes().any(|b| b.is_ascii_digit())
    {
        // A lone identifier (`password=password`, `"per_token": per_token`): a variable.
        return None;
    }
    Some((vstart, vend))
}

/// Values that stand for a secret without being one.
fn placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    v.is_empty()
        || v.starts_with('$')
        || v.starts_with('<')
        || v.starts_with("{{")
        || v.starts_with('%')
        || v.bytes().all(|b| b == b'*' || b == b'x' || b == b'X' || b == b'.')
        || v.contains("***")
        || ["masked", "token", "secret", "password", "your", "example", "placeholder", "dummy", "fake"]
            .iter()
            .any(|w| l.contains(w))
        || matches!(
            l.as_str(),
            "null"
                | "none"
                | "true"
                | "false"
                | "changeme"
                | "required"
                | "optional"
                | "string"
                | "str"
                | "read"
                | "write"
        )
}

#[cfg(test)]
mod tests {
    use crate::redact;

    #[test]
    fn passwords_in_urls_and_config_lines() {
        assert_eq!(
            redact("DATABASE_URL=postgres://app:s3cr3t-pw@db:5432/app\n").0,
            "DATABASE_URL=postgres://app:[secret: password masked]@db:5432/app\n"
        );
        assert_eq!(redact("DB_PASSWORD=hunter2!\n").0, "DB_PASSWORD=[secret: password masked]\n");
        assert_eq!(
            redact("  \"client_secret\": \"a8f9Kq2\",\n").0,
            "  \"client_secret\": \"[secret: password masked]\",\n"
        );
        assert_eq!(
            redact("password: 'correct horse battery'\n").0,
            "password: '[secret: password masked]'\n"
        );
        assert_eq!(
            redact("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8sZ1a9Lk\n").0,
            "aws_secret_access_key = [secret: password masked]\n"
        );
    }

    #[test]
    fn code_counts_and_placeholders_are_not_secrets() {
        for text in [
            "password = request.form['password']",
            "if password == stored:",
            "max_tokens: 4096",
            "token = get_token()",
            "self.token = token",
            "PASSWORD=${DB_PASSWORD}",
            "password: <your password>",
            "secret_name: prod-db",
            "https://example.com:8080/path",
            "git@github.com:owner/repo.git",
            "api_key: ****",
            "num_tokens=120",
            "std::env::var(\"TOKEN\")",
            "\"bytes_per_token\": bytes_per_token,",
            "  - Token: gho_************************************",
            "flutter ALL= NOPASSWD:/bin/chown -R flutter /builds",
            "tokenAuth := &transporthttp.TokenAuth{Token: \"my-token\"}",
            "command: tunnel run --token ${CLOUDFLARE_TUNNEL_TOKEN:?set CLOUDFLARE_TUNNEL_TOKEN}",
            "without `id-token: write` to the job",
            "GITHUB_PERSONAL_ACCESS_TOKEN: \"your-token\"",
        ] {
            assert!(redact(text).1.is_empty(), "{text}: {:?}", redact(text).1);
        }
    }
}
