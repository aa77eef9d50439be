//! Microsoft Entra ID's password policy for cloud users, checked before any
//! request so a bad password never reaches Graph (and is never echoed).

/// Symbols Entra ID accepts in a password (besides letters, digits, space).
pub const SYMBOLS: &str = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<>";

/// The rule as one sentence, for error messages and the schema description.
pub const RULE: &str = "8-256 characters from A-Z, a-z, 0-9, space and @ # $ % ^ & * - _ ! + = [ ] { } | \\ : ' , . ? / ` ~ \" ( ) ; < >, \
with at least three of: lowercase, uppercase, digit, symbol";

/// Checks `password` against the policy. On failure, says which part of the
/// rule is not met (never the password or its characters).
pub fn check(password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < 8 {
        return Err("it is shorter than 8 characters".into());
    }
    if len > 256 {
        return Err("it is longer than 256 characters".into());
    }
    let (mut lower, mut upper, mut digit, mut symbol) = (false, false, false, false);
    for c in password.chars() {
        match c {
            'a'..='z' => lower = true,
            'A'..='Z' => upper = true,
            '0'..='9' => digit = true,
            ' ' => {}
            c if SYMBOLS.contains(c) => symbol = true,
            _ => return Err("it contains a character Entra ID does not allow".into()),
        }
    }
    let kinds = [lower, upper, digit, symbol].iter().filter(|&&k| k).count();
    if kinds < 3 {
        return Err(format!(
            "it uses only {kinds} of the four kinds (lowercase, uppercase, digit, symbol)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_of_four() {
        assert!(check("Abcdefg1").is_ok());
        assert!(check("abcdef1!").is_ok());
        assert!(check("ABCDEF1!").is_ok());
        assert!(check("Abcdefg!").is_ok());
        assert!(check("Correct Horse 9").is_ok());
        assert!(check(&format!("Aa1{}", "x".repeat(253))).is_ok());
    }

    #[test]
    fn rejects_policy_violations() {
        assert!(check("Abc1!").unwrap_err().contains("shorter"));
        assert!(
            check(&format!("Aa1{}", "x".repeat(254)))
                .unwrap_err()
                .contains("longer")
        );
        assert!(check("abcdefgh").unwrap_err().contains("only 1"));
        assert!(check("abcdefg1").unwrap_err().contains("only 2"));
        assert!(check("Abcdefg1é").unwrap_err().contains("character"));
        assert!(check("Abcdefg1\t").unwrap_err().contains("character"));
    }

    #[test]
    fn errors_never_contain_the_password() {
        for p in ["Secr", "secretsecret", "Sécret12"] {
            let e = check(p).unwrap_err();
            assert!(!e.contains(p), "{e}");
        }
    }
}
