//! `TransportDescriptionFactory`: ICE credentials, ICE options, the DTLS
//! fingerprint and the `a=setup` role of each transport (libwebrtc's
//! `cricket::TransportDescriptionFactory`, RFC 8842 for the roles).

use dtls_transport::certificate::Fingerprint;
use dtls_transport::dtls::Setup;
use dtls_transport::ice::credentials::{fill_ice_chars, RngCore};

use crate::error::NegotiationError;
use crate::model::{SmolStr, TransportDescription};
use crate::Error;

/// Length of generated ICE ufrags and passwords (the `ice` crate's, which
/// generates them).
pub use dtls_transport::ice::credentials::{ICE_PWD_LENGTH, ICE_UFRAG_LENGTH};

/// `count` (at most 64) random ICE characters from the operating system's
/// CSPRNG, in one read.
pub(crate) fn random_ice_string(count: usize) -> SmolStr {
    Entropy::new().ice_string(count)
}

/// Fills `buf` from the OS CSPRNG. Failing to read it is unrecoverable for
/// a security protocol, so it panics (as `getrandom` users commonly do).
pub(crate) fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// Random bytes from the OS CSPRNG for one description: read in one
/// `getrandom` call on first use (and again only if a description needs
/// more), instead of one call per credential, SSRC and session id.
pub(crate) struct Entropy {
    buf: [u8; 128],
    used: usize,
}

impl Entropy {
    /// Nothing is read until a value is needed (a re-offer keeping its
    /// credentials and SSRCs reads nothing).
    pub(crate) fn new() -> Entropy {
        Entropy {
            buf: [0; 128],
            used: 128,
        }
    }

    /// The next `n` (at most 128) unused random bytes.
    fn bytes(&mut self, n: usize) -> &[u8] {
        debug_assert!(n <= self.buf.len());
        if self.buf.len() - self.used < n {
            fill_random(&mut self.buf);
            self.used = 0;
        }
        let out = &self.buf[self.used..self.used + n];
        self.used += n;
        out
    }

    /// `count` (at most 64) random ICE characters, drawn as the ICE agent
    /// draws its own ([`fill_ice_chars`]).
    pub(crate) fn ice_string(&mut self, count: usize) -> SmolStr {
        let count = count.min(64);
        let mut out = [0u8; 64];
        fill_ice_chars(self, &mut out[..count]);
        // ICE characters are ASCII.
        std::str::from_utf8(&out[..count])
            .map(SmolStr::new)
            .unwrap_or_default()
    }

    /// A random non-zero `u32` (SSRCs).
    pub(crate) fn nonzero_u32(&mut self) -> u32 {
        loop {
            let v = self.next_u32();
            if v != 0 {
                return v;
            }
        }
    }

    /// A random `u64` below 2^62 (SDP session ids, as libwebrtc picks them).
    pub(crate) fn session_id(&mut self) -> u64 {
        self.next_u64() >> 2
    }
}

impl RngCore for Entropy {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.bytes(4));
        u32::from_be_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.bytes(8));
        u64::from_be_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(128) {
            let n = chunk.len();
            chunk.copy_from_slice(self.bytes(n));
        }
    }
}

/// Per-transport options (libwebrtc's `TransportOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransportOptions {
    /// Generate new ICE credentials even if the current description has some
    /// (RFC 8445 §9 ICE restart).
    pub ice_restart: bool,
    /// Answer `a=setup:passive` to an `actpass` offer (be the DTLS server).
    /// libwebrtc and browsers answer `active` by default.
    pub prefer_passive_role: bool,
}

/// Creates the transport half of offers and answers.
///
/// ```
/// use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
/// use dtls_transport::dtls::Setup;
/// use sdp::factory::{TransportDescriptionFactory, TransportOptions};
///
/// let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
/// let offerer = TransportDescriptionFactory::new(cert.fingerprint(HashAlgorithm::Sha256));
/// let offer = offerer.create_offer(&TransportOptions::default(), None);
/// assert_eq!(offer.setup, Some(Setup::ActPass));
/// assert!(offer.ice_ufrag.len() >= 4 && offer.ice_pwd.len() >= 22);
///
/// let cert2 = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
/// let answerer = TransportDescriptionFactory::new(cert2.fingerprint(HashAlgorithm::Sha256));
/// let answer = answerer.create_answer(&offer, &TransportOptions::default(), None)?;
/// assert_eq!(answer.setup, Some(Setup::Active));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TransportDescriptionFactory {
    fingerprint: Fingerprint,
    ice_options: Vec<SmolStr>,
}

impl TransportDescriptionFactory {
    /// A factory for the local certificate with this fingerprint, offering
    /// `a=ice-options:trickle`.
    pub fn new(fingerprint: Fingerprint) -> TransportDescriptionFactory {
        TransportDescriptionFactory {
            fingerprint,
            ice_options: vec![SmolStr::new_static("trickle")],
        }
    }

    /// Replaces the `a=ice-options` tokens (e.g. add `renomination`).
    pub fn set_ice_options<I, S>(&mut self, options: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<SmolStr>,
    {
        self.ice_options = options.into_iter().map(Into::into).collect();
    }

    /// The local fingerprint written into every description.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// ICE credentials: the current ones unless restarting, else new.
    fn credentials(
        options: &TransportOptions,
        current: Option<&TransportDescription>,
        entropy: &mut Entropy,
    ) -> (SmolStr, SmolStr) {
        match current {
            Some(c) if !options.ice_restart && !c.ice_ufrag.is_empty() => {
                (c.ice_ufrag.clone(), c.ice_pwd.clone())
            }
            _ => (
                entropy.ice_string(ICE_UFRAG_LENGTH),
                entropy.ice_string(ICE_PWD_LENGTH),
            ),
        }
    }

    /// The transport of an offer: credentials (kept from `current`, the
    /// current local description's transport, unless restarting), our
    /// ice-options and fingerprint, `a=setup:actpass` (RFC 8842 §5.2; in a
    /// re-offer the previously negotiated role is kept, as libwebrtc does).
    pub fn create_offer(
        &self,
        options: &TransportOptions,
        current: Option<&TransportDescription>,
    ) -> TransportDescription {
        self.offer_with(options, current, &mut Entropy::new())
    }

    /// [`create_offer`](Self::create_offer) with the description's entropy.
    pub(crate) fn offer_with(
        &self,
        options: &TransportOptions,
        current: Option<&TransportDescription>,
        entropy: &mut Entropy,
    ) -> TransportDescription {
        let setup = match current.and_then(|c| c.setup) {
            Some(role @ (Setup::Active | Setup::Passive)) => role,
            _ => Setup::ActPass,
        };
        self.description(options, current, entropy, setup)
    }

    /// Our transport parameters with this role and credentials from
    /// `current` or fresh ones.
    fn description(
        &self,
        options: &TransportOptions,
        current: Option<&TransportDescription>,
        entropy: &mut Entropy,
        setup: Setup,
    ) -> TransportDescription {
        let (ice_ufrag, ice_pwd) = Self::credentials(options, current, entropy);
        TransportDescription {
            ice_ufrag,
            ice_pwd,
            ice_options: self.ice_options.clone(),
            fingerprints: vec![self.fingerprint],
            setup: Some(setup),
            candidates: Vec::new(),
            end_of_candidates: false,
        }
    }

    /// The transport of an answer to `offer`: credentials as in
    /// [`create_offer`](Self::create_offer); the role answers the offered one
    /// (`actpass` → `active`, or `passive` with
    /// [`TransportOptions::prefer_passive_role`]; `active` → `passive`;
    /// `passive` → `active`), keeping the role of `current` when it still fits.
    /// An offer without a fingerprint is an error: WebRTC requires DTLS.
    pub fn create_answer(
        &self,
        offer: &TransportDescription,
        options: &TransportOptions,
        current: Option<&TransportDescription>,
    ) -> Result<TransportDescription, Error> {
        self.answer_with(offer, options, current, &mut Entropy::new())
    }

    /// [`create_answer`](Self::create_answer) with the description's entropy.
    pub(crate) fn answer_with(
        &self,
        offer: &TransportDescription,
        options: &TransportOptions,
        current: Option<&TransportDescription>,
        entropy: &mut Entropy,
    ) -> Result<TransportDescription, Error> {
        if offer.fingerprints.is_empty() {
            return Err(Error::Negotiation(NegotiationError::NoFingerprint));
        }
        let setup = match offer.setup.unwrap_or(Setup::ActPass) {
            Setup::Active => Setup::Passive,
            Setup::Passive => Setup::Active,
            Setup::ActPass => match current.and_then(|c| c.setup) {
                Some(role @ (Setup::Active | Setup::Passive)) => role,
                _ if options.prefer_passive_role => Setup::Passive,
                _ => Setup::Active,
            },
        };
        Ok(self.description(options, current, entropy, setup))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dtls_transport::certificate::HashAlgorithm;
    use dtls_transport::ice::credentials::ICE_CHARS;

    fn factory() -> TransportDescriptionFactory {
        TransportDescriptionFactory::new(Fingerprint::new(HashAlgorithm::Sha256, &[7; 32]).unwrap())
    }

    #[test]
    fn credentials_are_random_ice_chars_and_kept_until_restart() {
        let f = factory();
        let a = f.create_offer(&TransportOptions::default(), None);
        let b = f.create_offer(&TransportOptions::default(), None);
        assert_ne!(a.ice_ufrag, b.ice_ufrag);
        assert_ne!(a.ice_pwd, b.ice_pwd);
        for s in [&a.ice_ufrag, &a.ice_pwd] {
            assert!(s.bytes().all(|c| ICE_CHARS.contains(&c)));
        }
        assert_eq!(a.ice_ufrag.len(), ICE_UFRAG_LENGTH);
        assert_eq!(a.ice_pwd.len(), ICE_PWD_LENGTH);
        assert_eq!(a.ice_options, vec!["trickle".to_string()]);

        let again = f.create_offer(&TransportOptions::default(), Some(&a));
        assert_eq!(
            (&again.ice_ufrag, &again.ice_pwd),
            (&a.ice_ufrag, &a.ice_pwd)
        );
        let restart = TransportOptions {
            ice_restart: true,
            ..Default::default()
        };
        let restarted = f.create_offer(&restart, Some(&a));
        assert_ne!(restarted.ice_ufrag, a.ice_ufrag);
        assert_ne!(restarted.ice_pwd, a.ice_pwd);
    }

    #[test]
    fn answer_roles_follow_rfc8842() {
        let f = factory();
        let mut offer = f.create_offer(&TransportOptions::default(), None);
        let default = TransportOptions::default();
        let passive = TransportOptions {
            prefer_passive_role: true,
            ..Default::default()
        };
        let role = |offer: &TransportDescription, o: &TransportOptions| {
            f.create_answer(offer, o, None).unwrap().setup.unwrap()
        };
        assert_eq!(role(&offer, &default), Setup::Active);
        assert_eq!(role(&offer, &passive), Setup::Passive);
        offer.setup = Some(Setup::Active);
        assert_eq!(role(&offer, &default), Setup::Passive);
        offer.setup = Some(Setup::Passive);
        assert_eq!(role(&offer, &passive), Setup::Active);

        // A re-offer from the side that answered `active` keeps that role.
        let answered = f.create_answer(&offer, &default, None).unwrap();
        let reoffer = f.create_offer(&default, Some(&answered));
        assert_eq!(reoffer.setup, Some(Setup::Active));

        offer.fingerprints.clear();
        assert!(matches!(
            f.create_answer(&offer, &default, None),
            Err(Error::Negotiation(_))
        ));
    }
}
