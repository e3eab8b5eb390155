//! Where the secret lies inside a credential match: the value of a `key = value` assignment,
//! the password of a `scheme://user:password@host` URL. Shared by the matching engine (which
//! reports that span) and the rules (which validate it).

use std::ops::Range;

/// The value of a `key = value` match: its trailing run of credential characters.
pub(crate) fn assigned_value(matched: &[u8]) -> &[u8] {
    let run = matched
        .iter()
        .rev()
        .take_while(|&&b| b.is_ascii_alphanumeric() || b"._~+/-".contains(&b))
        .count();
    &matched[matched.len() - run..]
}

/// Where the password lies in a `scheme://user:password@h` match: after the first `:` of
/// the userinfo, up to the `@` that ends it (the last one: the host part holds none).
pub(crate) fn url_password(matched: &[u8]) -> Range<usize> {
    let userinfo = memchr::memmem::find(matched, b"://").map_or(0, |i| i + 3);
    let colon = memchr::memchr(b':', &matched[userinfo..]).map_or(userinfo, |i| userinfo + i + 1);
    let at = memchr::memrchr(b'@', matched).unwrap_or(matched.len());
    colon..at.max(colon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_value_is_the_trailing_run() {
        assert_eq!(assigned_value(b"password = 'hunter2hunter2'"), b"");
        assert_eq!(
            assigned_value(b"password = 'hunter2hunter2"),
            b"hunter2hunter2"
        );
        assert_eq!(assigned_value(b"token:abc/def+ghi=="), b"");
        assert_eq!(assigned_value(b"token:abc/def+ghi"), b"abc/def+ghi");
    }

    #[test]
    fn url_password_is_the_userinfo_after_the_first_colon() {
        fn part(m: &str) -> &str {
            &m[url_password(m.as_bytes())]
        }
        assert_eq!(part("postgres://app:s3cr3t@d"), "s3cr3t");
        assert_eq!(part("redis://:pa:ss@h"), "pa:ss");
        assert_eq!(part("mongodb+srv://u:p%40ss@c"), "p%40ss");
    }
}
