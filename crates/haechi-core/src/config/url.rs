//! The URL check for `target.upstream`, `HAECHI_UPSTREAM` and `auth.plugin.keyMaterial.url`.
//! Deliberately small (scheme, authority, port) and never echoing the URL, which may
//! carry credentials.

use serde_json::Value;

use super::error::ConfigError;

pub(crate) fn upstream_url(value: &Value, path: &str) -> Result<Value, ConfigError> {
    url(value, path, false)
}

pub(crate) fn https_url(value: &Value, path: &str) -> Result<Value, ConfigError> {
    url(value, path, true)
}

fn url(value: &Value, path: &str, https_only: bool) -> Result<Value, ConfigError> {
    let expected = if https_only {
        "expected an https:// URL with a host"
    } else {
        "expected an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000"
    };
    let Value::String(text) = value else {
        return Err(ConfigError::wrong_kind(path, value, expected));
    };
    match url_problem(text, https_only) {
        None => Ok(value.clone()),
        // Never echo the URL: it may carry credentials.
        Some(problem) => Err(ConfigError::invalid(path, problem, expected)),
    }
}

/// What is wrong with a URL, if anything. Deliberately small: scheme, authority, port.
pub(crate) fn url_problem(text: &str, https_only: bool) -> Option<&'static str> {
    if text.trim().is_empty() {
        return Some("an empty string");
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("a URL containing spaces or control characters");
    }
    let rest = strip_prefix_ignore_case(text, "https://").or_else(|| {
        if https_only {
            None
        } else {
            strip_prefix_ignore_case(text, "http://")
        }
    });
    let Some(rest) = rest else {
        return Some(if https_only {
            "a URL that does not start with https://"
        } else {
            "a URL that does not start with http:// or https://"
        });
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Some(
            "a URL with user:password@ credentials (send upstream credentials as headers)",
        );
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Some("a URL with an unterminated [IPv6] host");
        };
        if !host
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            || host.is_empty()
        {
            return Some("a URL with an invalid [IPv6] host");
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Some("a URL with an invalid authority"),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Some("a URL with no host");
    }
    let bracketed = authority.starts_with('[');
    let host_ok = bracketed
        || host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !host_ok {
        return Some("a URL with an invalid host");
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| p <= 65535);
        if !valid {
            return Some("a URL with an invalid port");
        }
    }
    None
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "http://127.0.0.1:9999",
            "https://api.openai.com/v1",
            "HTTP://host",
            "http://[::1]:8080/",
            "http://upstream.local:9000",
        ] {
            assert_eq!(url_problem(ok, false), None, "{ok}");
        }
        for bad in [
            "",
            "%%%not-a-url",
            "ftp://host",
            "http://",
            "http://:80",
            "http://u:p@host",
            "http://host:99999",
            "http://host:",
            "http://ho st",
            "http://[::1",
            "http://a:b:80",
        ] {
            assert!(url_problem(bad, false).is_some(), "{bad}");
        }
        assert!(url_problem("http://keys.example.com", true).is_some());
        assert_eq!(url_problem("https://keys.example.com/jwks", true), None);
    }
}
