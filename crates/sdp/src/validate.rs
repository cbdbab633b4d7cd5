//! Whole-description rules a WebRTC endpoint enforces before it applies a
//! remote description (libwebrtc's `ValidateSessionDescription` in
//! `sdp_offer_answer.cc`, `VerifyCrypto`, `VerifyIceUfragPwdPresent`,
//! `ValidateMids`, `ValidateBundleSettings`).
//!
//! [`parse`](crate::parse()) checks what one line can tell (syntax, control
//! characters, limits, ICE credential grammar); [`validate`] checks what
//! takes the whole description. [`JsepSessionDescription::parse`] and the
//! answer factory apply it, so nothing is negotiated from a description that
//! fails it.
//!
//! [`JsepSessionDescription::parse`]: crate::JsepSessionDescription::parse

use std::collections::HashSet;

use crate::error::Violation;
use crate::jsep::SdpType;
use crate::model::{ContentInfo, SessionDescription, Setup};
use crate::Error;

/// RFC 8839's ICE credential grammar, as the `ice` crate checks it.
pub(crate) use dtls_transport::ice::credentials::{is_ice_pwd, is_ice_ufrag};

/// Checks the rules a remote description of type `sdp_type` must meet before
/// anything is negotiated from it. The first broken rule is returned as
/// [`Error::Invalid`] naming the section (index and mid) and the
/// [`Violation`]:
///
/// - every m-section has an `a=mid` ([`Violation::MissingMid`]), and no two
///   share one ([`Violation::DuplicateMid`]);
/// - every mid of a BUNDLE group names a section
///   ([`Violation::BundleUnknownMid`]), a group's tagged (first) mid is not a
///   rejected section ([`Violation::BundleTaggedRejected`]), and no mid is in
///   two BUNDLE groups ([`Violation::MidInTwoBundles`]);
/// - ICE credentials follow RFC 8839's grammar ([`Violation::IceUfrag`],
///   [`Violation::IcePwd`]) and come in pairs
///   ([`Violation::IncompleteIceCredentials`]);
/// - every non-rejected section that has a transport of its own (not in a
///   BUNDLE group, or its tagged section) has ICE credentials
///   ([`Violation::MissingIceCredentials`]) and a fingerprint with a hash
///   function DTLS supports ([`Violation::MissingFingerprint`]);
/// - an answer (or pranswer) does not say `a=setup:actpass`
///   ([`Violation::ActPassInAnswer`]).
///
/// The parser has already refused `a=setup` values other than `actpass`,
/// `active` and `passive`, control characters and oversized input.
/// [`SdpType::Rollback`] carries no description: only the
/// type-independent rules apply.
///
/// ```
/// use sdp::error::Violation;
/// use sdp::SdpType;
///
/// let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
///              a=group:BUNDLE 0 1\r\n\
///              m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
///              a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
///              a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:\
///              10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n\
///              a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n";
/// let desc = sdp::parse(offer)?;
/// let err = sdp::validate(&desc, SdpType::Offer).unwrap_err();
/// assert_eq!(err.violation(), Some(&Violation::BundleUnknownMid { mid: "1".into() }));
///
/// let fixed = sdp::parse(&offer.replace("BUNDLE 0 1", "BUNDLE 0"))?;
/// sdp::validate(&fixed, SdpType::Offer)?;
/// # Ok::<(), sdp::Error>(())
/// ```
pub fn validate(desc: &SessionDescription, sdp_type: SdpType) -> Result<(), Error> {
    let mut mids: HashSet<&str> = HashSet::with_capacity(desc.contents.len());
    for (index, content) in desc.contents.iter().enumerate() {
        if content.mid.is_empty() {
            return Err(invalid(index, content, Violation::MissingMid));
        }
        if !mids.insert(content.mid.as_str()) {
            let mid = content.mid.clone();
            return Err(invalid(index, content, Violation::DuplicateMid { mid }));
        }
    }
    validate_bundle_groups(desc)?;
    let answer = matches!(sdp_type, SdpType::Answer | SdpType::PrAnswer);
    for (index, content) in desc.contents.iter().enumerate() {
        let t = &content.transport;
        if !t.ice_ufrag.is_empty() && !is_ice_ufrag(&t.ice_ufrag) {
            return Err(invalid(index, content, Violation::IceUfrag));
        }
        if !t.ice_pwd.is_empty() && !is_ice_pwd(&t.ice_pwd) {
            return Err(invalid(index, content, Violation::IcePwd));
        }
        if t.ice_ufrag.is_empty() != t.ice_pwd.is_empty() {
            return Err(invalid(index, content, Violation::IncompleteIceCredentials));
        }
        if answer && t.setup == Some(Setup::ActPass) {
            return Err(invalid(index, content, Violation::ActPassInAnswer));
        }
        if content.rejected || !owns_transport(desc, &content.mid) {
            continue;
        }
        if t.ice_ufrag.is_empty() {
            return Err(invalid(index, content, Violation::MissingIceCredentials));
        }
        if t.fingerprints.is_empty() {
            return Err(invalid(index, content, Violation::MissingFingerprint));
        }
    }
    Ok(())
}

/// Every BUNDLE mid exists, no tagged mid is rejected, no mid in two groups.
fn validate_bundle_groups(desc: &SessionDescription) -> Result<(), Error> {
    let mut bundled: HashSet<&str> = HashSet::new();
    for group in desc.bundle_groups() {
        for (position, mid) in group.mids.iter().enumerate() {
            let Some(index) = desc.contents.iter().position(|c| c.mid == *mid) else {
                return Err(Error::Invalid {
                    line: None,
                    section: None,
                    mid: None,
                    violation: Violation::BundleUnknownMid { mid: mid.clone() },
                });
            };
            let content = &desc.contents[index];
            if position == 0 && content.rejected {
                let v = Violation::BundleTaggedRejected { mid: mid.clone() };
                return Err(invalid(index, content, v));
            }
            if !bundled.insert(mid.as_str()) {
                let v = Violation::MidInTwoBundles { mid: mid.clone() };
                return Err(invalid(index, content, v));
            }
        }
    }
    Ok(())
}

/// Whether the section `mid` carries its own transport parameters: it is in
/// no BUNDLE group, or it is its group's tagged (first) section. The others
/// use the tagged section's (RFC 9143 §7), so libwebrtc does not require
/// credentials or a fingerprint in them.
fn owns_transport(desc: &SessionDescription, mid: &str) -> bool {
    match desc
        .bundle_groups()
        .find(|g| g.mids.iter().any(|m| m == mid))
    {
        Some(group) => group.mids.first().is_some_and(|first| first == mid),
        None => true,
    }
}

fn invalid(index: usize, content: &ContentInfo, violation: Violation) -> Error {
    Error::Invalid {
        line: None,
        section: Some(index),
        mid: Some(content.mid.clone()).filter(|m| !m.is_empty()),
        violation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_grammar_bounds() {
        assert!(is_ice_ufrag("abcd"));
        assert!(is_ice_ufrag("a+/9"));
        assert!(!is_ice_ufrag("abc"));
        assert!(!is_ice_ufrag("ab-d"));
        assert!(is_ice_ufrag(&"a".repeat(256)));
        assert!(!is_ice_ufrag(&"a".repeat(257)));
        assert!(is_ice_pwd(&"a".repeat(22)));
        assert!(!is_ice_pwd(&"a".repeat(21)));
        assert!(!is_ice_pwd(&format!("{}=", "a".repeat(22))));
        assert!(is_ice_pwd(&"a".repeat(256)));
        assert!(!is_ice_pwd(&"a".repeat(257)));
    }
}
