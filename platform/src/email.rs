//! Email addresses outside the mail itself: how one is shown in logs and to admins (masked), and the
//! signed token of an unsubscribe link.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// An address as logs and the admin's list show it: the first character of the mailbox, then `***`,
/// then the domain (`john@example.com` → `j***@example.com`). Enough to tell addresses apart when
/// helping a customer, never the whole address.
pub fn mask(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// What is signed: a purpose prefix (so this MAC can never be mistaken for another use of the key)
/// and the lower-cased address.
fn mac(secret: &[u8], address: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"joxai-unsubscribe-v1\n");
    mac.update(address.to_lowercase().as_bytes());
    mac
}

/// The token of an unsubscribe link: the address (hex) and its HMAC-SHA256 (hex), keyed with the
/// deployment's token secret. Needs no database row and never expires: an old email's link still works.
pub fn unsubscribe_token(secret: &[u8], address: &str) -> String {
    let address = address.to_lowercase();
    let signature = mac(secret, &address).finalize().into_bytes();
    format!("{}.{}", hex::encode(address), hex::encode(signature))
}

/// The address a token was made for, or `None` when it was not signed with `secret` (compared in
/// constant time) or is malformed.
pub fn verify_unsubscribe(secret: &[u8], token: &str) -> Option<String> {
    let (address, signature) = token.split_once('.')?;
    let address = String::from_utf8(hex::decode(address).ok()?).ok()?;
    let signature = hex::decode(signature).ok()?;
    mac(secret, &address).verify_slice(&signature).ok()?;
    Some(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_address_keeps_only_the_first_letter_and_the_domain() {
        assert_eq!(mask("john@example.com"), "j***@example.com");
        assert_eq!(mask("ñandú@banco.es"), "ñ***@banco.es");
        assert_eq!(mask("not-an-address"), "***");
    }

    #[test]
    fn a_token_verifies_for_its_address_only_and_only_with_its_key() {
        let key = b"0123456789abcdef0123456789abcdef";
        let token = unsubscribe_token(key, "Ana@Example.com");
        assert_eq!(
            verify_unsubscribe(key, &token).as_deref(),
            Some("ana@example.com")
        );
        assert_eq!(
            verify_unsubscribe(b"another key of enough length!!!!", &token),
            None
        );
        let (_, signature) = token.split_once('.').expect("two parts");
        let forged = format!("{}.{signature}", hex::encode("eve@example.com"));
        assert_eq!(verify_unsubscribe(key, &forged), None);
        for bad in ["", ".", "zz.zz", "abc", &token[..token.len() - 2]] {
            assert_eq!(verify_unsubscribe(key, bad), None, "{bad}");
        }
    }
}
