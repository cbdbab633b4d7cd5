//! ICE credentials (RFC 8445 §5.3, RFC 8839 §5.4): their grammar and their
//! generation, in one place for every layer. The agent draws its
//! credentials here from its seeded RNG; the `sdp` crate's
//! TransportDescriptionFactory draws them here from the OS CSPRNG, through
//! the same [`fill_ice_chars`].

use crate::error::Error;
/// The random-number trait the generators take (rand_core's), re-exported
/// so that callers can implement or name it without depending on rand_core.
pub use rand_core::RngCore;

/// The ICE characters (RFC 8839 `ice-char`: `ALPHA / DIGIT / "+" / "/"`), 64
/// of them.
pub const ICE_CHARS: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Length of generated ufrags (RFC 8445 asks for at least 4 characters, 24
/// bits of entropy: libwebrtc's 4; we use 8).
pub const ICE_UFRAG_LENGTH: usize = 8;

/// Length of generated passwords (at least 22 characters, 128 bits).
pub const ICE_PWD_LENGTH: usize = 24;

/// RFC 8839 `ice-char`.
#[inline]
pub fn is_ice_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// An `ice-ufrag`: 4 to 256 `ice-char`s (RFC 8839 §5.4).
pub fn is_ice_ufrag(s: &str) -> bool {
    (4..=256).contains(&s.len()) && s.bytes().all(is_ice_char)
}

/// An `ice-pwd`: 22 to 256 `ice-char`s (RFC 8839 §5.4).
pub fn is_ice_pwd(s: &str) -> bool {
    (22..=256).contains(&s.len()) && s.bytes().all(is_ice_char)
}

/// Fills `out` with random ICE characters: one byte from `rng` each, mapped
/// by its low six bits (256 is a multiple of 64, so every character is
/// equally likely).
///
/// ```
/// use ice::credentials::{fill_ice_chars, is_ice_pwd, RngCore};
///
/// // Any RngCore will do; a fixed one shows the mapping.
/// struct Counting(u8);
/// impl RngCore for Counting {
///     fn next_u32(&mut self) -> u32 { 0 }
///     fn next_u64(&mut self) -> u64 { 0 }
///     fn fill_bytes(&mut self, dst: &mut [u8]) {
///         for b in dst { *b = self.0; self.0 = self.0.wrapping_add(63); }
///     }
/// }
/// let mut out = [0u8; 22];
/// fill_ice_chars(&mut Counting(0), &mut out);
/// assert!(out.starts_with(b"A/+"));
/// assert!(is_ice_pwd(std::str::from_utf8(&out).unwrap()));
/// ```
pub fn fill_ice_chars(rng: &mut dyn RngCore, out: &mut [u8]) {
    rng.fill_bytes(out);
    for b in out {
        *b = ICE_CHARS[usize::from(*b & 63)];
    }
}

/// ICE credentials: username fragment and password (RFC 8445 §5.3).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// Username fragment: at least 4 ice-chars.
    pub ufrag: String,
    /// Password: at least 22 ice-chars.
    pub pwd: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("ufrag", &self.ufrag)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Validated credentials (RFC 8445 §5.3: ice-chars, ufrag 4–256, pwd 22–256).
    pub fn new(ufrag: &str, pwd: &str) -> Result<Credentials, Error> {
        if !is_ice_ufrag(ufrag) || !is_ice_pwd(pwd) {
            return Err(Error::InvalidCredentials);
        }
        Ok(Credentials {
            ufrag: ufrag.to_string(),
            pwd: pwd.to_string(),
        })
    }

    /// Random credentials ([`ICE_UFRAG_LENGTH`]-char ufrag,
    /// [`ICE_PWD_LENGTH`]-char pwd) from `rng`, by [`fill_ice_chars`].
    pub fn random(rng: &mut dyn RngCore) -> Credentials {
        let mut chars = [0u8; ICE_UFRAG_LENGTH + ICE_PWD_LENGTH];
        fill_ice_chars(rng, &mut chars);
        // ICE characters are ASCII.
        let text = |b: &[u8]| b.iter().map(|&c| char::from(c)).collect();
        let (ufrag, pwd) = chars.split_at(ICE_UFRAG_LENGTH);
        Credentials {
            ufrag: text(ufrag),
            pwd: text(pwd),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn random_credentials_are_valid_and_differ() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let a = Credentials::random(&mut rng);
        let b = Credentials::random(&mut rng);
        assert_eq!(
            (a.ufrag.len(), a.pwd.len()),
            (ICE_UFRAG_LENGTH, ICE_PWD_LENGTH)
        );
        assert_eq!(Credentials::new(&a.ufrag, &a.pwd).unwrap(), a);
        assert_ne!(a, b);
    }

    #[test]
    fn grammar() {
        assert!(is_ice_ufrag("a+/9") && !is_ice_ufrag("abc") && !is_ice_ufrag("ab-d"));
        assert!(is_ice_ufrag(&"a".repeat(256)) && !is_ice_ufrag(&"a".repeat(257)));
        assert!(is_ice_pwd(&"a".repeat(22)) && !is_ice_pwd(&"a".repeat(21)));
        assert!(Credentials::new("abcd", &"a".repeat(21)).is_err());
        assert!(ICE_CHARS.iter().all(|&b| is_ice_char(b)));
        assert_eq!((0..=255u8).filter(|&b| is_ice_char(b)).count(), 64);
    }
}
