//! Small text helpers every plugin needs: OData literals, URL encoding,
//! e-mail address validation.

/// Escapes `value` for use inside an OData single-quoted string literal
/// (single quotes are doubled). Returns the content only, without quotes.
pub fn odata_escape(value: &str) -> String {
    value.replace('\'', "''")
}

/// `value` as a complete OData string literal: `'O''Brien'`.
pub fn odata_string(value: &str) -> String {
    format!("'{}'", odata_escape(value))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn push_pct(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 0xf) as usize] as char);
}

/// Percent-encodes one URL path segment (an id or a UPN): everything but
/// RFC 3986 unreserved characters and `@` is encoded, so `/`, `?`, `#`, `%`
/// and spaces can never change the path. A segment of only dots (`.`, `..`)
/// is encoded entirely so it can never mean "this" or "parent" directory.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 8);
    if !segment.is_empty() && segment.bytes().all(|b| b == b'.') {
        for b in segment.bytes() {
            push_pct(&mut out, b);
        }
        return out;
    }
    for b in segment.bytes() {
        if is_unreserved(b) || b == b'@' {
            out.push(b as char);
        } else {
            push_pct(&mut out, b);
        }
    }
    out
}

/// Percent-encodes a query-string key or value (everything but unreserved
/// characters and `$`, so `$filter` stays readable).
pub fn encode_query_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if is_unreserved(b) || b == b'$' {
            out.push(b as char);
        } else {
            push_pct(&mut out, b);
        }
    }
    out
}

/// Builds `k1=v1&k2=v2` with both sides encoded.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&encode_query_component(k));
        out.push('=');
        out.push_str(&encode_query_component(v));
    }
    out
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are). Returns
/// `None` when the result is not UTF-8.
pub fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Characters allowed unquoted in an RFC 5322 local part (`atext`).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Whether `addr` is an RFC 5322-style addr-spec: `local@domain`, with a
/// dot-atom local part (no quoted strings, no comments, no display name) of
/// at most 64 characters and a DNS domain of at least two labels.
pub fn is_valid_email(addr: &str) -> bool {
    if addr.len() > 254 {
        return false;
    }
    let Some((local, domain)) = addr.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return false;
    }
    if !local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
    {
        return false;
    }
    is_valid_domain(domain)
}

/// Whether `domain` is a DNS host name of at least two labels (letters,
/// digits, hyphens; a label neither starts nor ends with a hyphen; the top
/// label is not all digits).
pub fn is_valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.iter().all(label_ok) && !labels[labels.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// Formats 128 random bits as a version-4 UUID string.
pub fn uuid_v4(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 §5), e.g. for opaque paging cursors.
pub fn base64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes base64url (padding optional); `None` on any invalid input.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let val = |c: u8| B64.iter().position(|&x| x == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odata_quotes_are_doubled() {
        assert_eq!(odata_escape("O'Brien"), "O''Brien");
        assert_eq!(odata_string("a''b"), "'a''''b'");
        assert_eq!(odata_string("plain"), "'plain'");
    }

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(encode_path_segment("ann@contoso.com"), "ann@contoso.com");
        assert_eq!(encode_path_segment("a/b"), "a%2Fb");
        assert_eq!(encode_path_segment(".."), "%2E%2E");
        assert_eq!(encode_path_segment("."), "%2E");
        assert_eq!(encode_path_segment("a..b"), "a..b");
        assert_eq!(encode_path_segment("%2e%2e"), "%252e%252e");
        assert_eq!(encode_path_segment("x?y#z w"), "x%3Fy%23z%20w");
        assert_eq!(encode_path_segment("o'b@x.com"), "o%27b@x.com");
    }

    #[test]
    fn query_is_encoded() {
        assert_eq!(
            encode_query(&[
                ("$filter", "userPrincipalName eq 'a&b@x.com'"),
                ("$top", "5")
            ]),
            "$filter=userPrincipalName%20eq%20%27a%26b%40x.com%27&$top=5"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("ann%40contoso.com").unwrap(),
            "ann@contoso.com"
        );
        assert_eq!(percent_decode("100%").unwrap(), "100%");
        assert_eq!(percent_decode("%zz").unwrap(), "%zz");
        assert_eq!(percent_decode("%C3%A9").unwrap(), "é");
        assert!(percent_decode("%FF").is_none());
    }

    #[test]
    fn emails() {
        for ok in [
            "ann@contoso.com",
            "ann.lee+tag@mail.contoso.co.uk",
            "o'brien@contoso.com",
            "x@xn--bcher-kva.example",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "ann",
            "ann@",
            "@contoso.com",
            "ann@contoso",
            "ann@@contoso.com",
            "a@b@contoso.com",
            ".ann@contoso.com",
            "ann.@contoso.com",
            "an..n@contoso.com",
            "ann lee@contoso.com",
            "\"ann\"@contoso.com",
            "Ann <ann@contoso.com>",
            "ann@-contoso.com",
            "ann@contoso-.com",
            "ann@contoso..com",
            "ann@contoso.123",
            "ann@con_toso.com",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        let long_local = format!("{}@contoso.com", "a".repeat(65));
        assert!(!is_valid_email(&long_local));
    }

    #[test]
    fn base64url_round_trip() {
        for data in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0xff, 0xfe, 0x00],
        ] {
            let enc = base64url_encode(data);
            assert!(!enc.contains(['+', '/', '=']));
            assert_eq!(base64url_decode(&enc).unwrap(), data);
        }
        assert_eq!(base64url_encode(b"foobar"), "Zm9vYmFy");
        assert!(base64url_decode("a").is_none());
        assert!(base64url_decode("a*b=").is_none());
    }

    #[test]
    fn uuid_shape() {
        let u = uuid_v4(u64::MAX, 0);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(&u[19..20], "8");
        assert_eq!(u.matches('-').count(), 4);
    }
}
