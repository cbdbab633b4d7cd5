//! The benchmarked operations written against each library, so the bench and
//! the cross-check test (`tests/cross_check.rs`) run exactly the same code.
//!
//! Every variant does the same work: it validates the message, checks
//! MESSAGE-INTEGRITY and FINGERPRINT where asked, and reads USERNAME, PRIORITY,
//! ICE-CONTROLLING and USE-CANDIDATE. Competitors get the most favourable use
//! of their API that is still how the library is meant to be used: reused
//! decoders, encoders and `Message` values, keys built once.

// Shared by a bench and a test through `#[path]`: each uses a different subset,
// and `pub` here means "for the includer".
#![allow(dead_code, unreachable_pub)]

use peerstack_benches::{ICE_PWD, PRIORITY, TIE_BREAKER, TRANSACTION_ID, USERNAME};

/// What every decoder extracts: (USERNAME length, PRIORITY, tie-breaker, USE-CANDIDATE).
pub type Check = (usize, u32, u64, bool);

/// peerstack's `stun` crate.
pub mod ours {
    use super::Check;
    use stun::attributes::{IceControlling, Priority, UseCandidate, Username};
    use stun::{Attribute, IntegrityKey, Message};

    /// Parse, MESSAGE-INTEGRITY, FINGERPRINT, typed reads.
    pub fn decode_verify(bytes: &[u8], key: &IntegrityKey) -> Option<Check> {
        let msg = Message::parse(bytes).ok()?;
        msg.verify_integrity(key).ok()?;
        msg.verify_fingerprint().ok()?;
        let user = msg.get::<Username<'_>>().ok()??;
        let prio = msg.get::<Priority>().ok()??;
        let ctl = msg.get::<IceControlling>().ok()??;
        let nominate = msg.get::<UseCandidate>().ok()?.is_some();
        Some((user.0.len(), prio.0, ctl.0, nominate))
    }

    /// Parse and decode every attribute, no integrity check.
    pub fn decode_all(bytes: &[u8]) -> Option<Check> {
        let msg = Message::parse(bytes).ok()?;
        let mut out = (0, 0, 0, false);
        for a in msg.typed_attributes() {
            match a.ok()? {
                Attribute::Username(u) => out.0 = u.0.len(),
                Attribute::Priority(p) => out.1 = p.0,
                Attribute::IceControlling(c) => out.2 = c.0,
                Attribute::UseCandidate(_) => out.3 = true,
                _ => {}
            }
        }
        Some(out)
    }

    /// Builds and signs the request into `buf`; returns its length.
    pub fn encode_sign(buf: &mut [u8], key: &IntegrityKey) -> usize {
        peerstack_benches::write_ice_request(buf, key, true)
    }
}

/// stun_codec 0.4 (+ bytecodec 0.5).
pub mod codec {
    use super::*;
    use bytecodec::{DecodeExt, EncodeExt};
    use stun_codec::rfc5245::attributes::{IceControlling, Priority, UseCandidate};
    use stun_codec::rfc5389::attributes::{Fingerprint, MessageIntegrity, Username};
    use stun_codec::rfc5389::methods::BINDING;
    use stun_codec::{
        define_attribute_enums, Message, MessageClass, MessageDecoder, MessageEncoder,
        TransactionId,
    };

    define_attribute_enums!(
        Attribute,
        AttributeDecoder,
        AttributeEncoder,
        [
            Username,
            MessageIntegrity,
            Fingerprint,
            Priority,
            IceControlling,
            UseCandidate
        ]
    );

    /// A reusable decoder.
    pub type Decoder = MessageDecoder<Attribute>;
    /// A reusable encoder.
    pub type Encoder = MessageEncoder<Attribute>;

    /// Decode (FINGERPRINT is checked inside the decoder, as `Fingerprint::after_decode`),
    /// then `check_short_term_credential`, then the typed reads.
    pub fn decode_verify(decoder: &mut Decoder, bytes: &[u8], pwd: &str) -> Option<Check> {
        let msg = decoder.decode_from_bytes(bytes).ok()?.ok()?;
        msg.get_attribute::<MessageIntegrity>()?
            .check_short_term_credential(pwd)
            .ok()?;
        // Present, and verified during decoding.
        msg.get_attribute::<Fingerprint>()?;
        let user = msg.get_attribute::<Username>()?;
        let prio = msg.get_attribute::<Priority>()?;
        let ctl = msg.get_attribute::<IceControlling>()?;
        let nominate = msg.get_attribute::<UseCandidate>().is_some();
        Some((user.name().len(), prio.prio(), ctl.prio(), nominate))
    }

    /// Decode and read every attribute, no integrity check (none is present).
    pub fn decode_all(decoder: &mut Decoder, bytes: &[u8]) -> Option<Check> {
        let msg = decoder.decode_from_bytes(bytes).ok()?.ok()?;
        let mut out = (0, 0, 0, false);
        for a in msg.attributes() {
            match a {
                Attribute::Username(u) => out.0 = u.name().len(),
                Attribute::Priority(p) => out.1 = p.prio(),
                Attribute::IceControlling(c) => out.2 = c.prio(),
                Attribute::UseCandidate(_) => out.3 = true,
                _ => {}
            }
        }
        Some(out)
    }

    /// Builds the message, adds MESSAGE-INTEGRITY and FINGERPRINT, encodes it.
    pub fn encode_sign(encoder: &mut Encoder) -> Vec<u8> {
        let mut msg = Message::<Attribute>::new(
            MessageClass::Request,
            BINDING,
            TransactionId::new(TRANSACTION_ID),
        );
        msg.add_attribute(Username::new(USERNAME.to_owned()).expect("short username"));
        msg.add_attribute(Priority::new(PRIORITY));
        msg.add_attribute(IceControlling::new(TIE_BREAKER));
        msg.add_attribute(UseCandidate::new());
        let mi = MessageIntegrity::new_short_term_credential(&msg, ICE_PWD).expect("encodable");
        msg.add_attribute(mi);
        let fp = Fingerprint::new(&msg).expect("encodable");
        msg.add_attribute(fp);
        encoder.encode_into_bytes(msg).expect("encodable")
    }
}

/// webrtc-rs `stun` 0.17.
pub mod webrtc {
    use super::*;
    use webrtc_stun::agent::TransactionId;
    use webrtc_stun::attributes::{
        ATTR_ICE_CONTROLLING, ATTR_PRIORITY, ATTR_USERNAME, ATTR_USE_CANDIDATE,
    };
    use webrtc_stun::fingerprint::FINGERPRINT;
    use webrtc_stun::integrity::MessageIntegrity;
    pub use webrtc_stun::message::Message;
    use webrtc_stun::message::{Setter, BINDING_REQUEST};
    use webrtc_stun::textattrs::TextAttribute;

    /// The short-term key, built once.
    pub fn key() -> MessageIntegrity {
        MessageIntegrity::new_short_term_integrity(ICE_PWD.to_owned())
    }

    fn read_typed(m: &Message) -> Option<Check> {
        let user = TextAttribute::get_from_as(m, ATTR_USERNAME).ok()?;
        let prio = m.get(ATTR_PRIORITY).ok()?;
        let prio = u32::from_be_bytes(prio.as_slice().try_into().ok()?);
        let ctl = m.get(ATTR_ICE_CONTROLLING).ok()?;
        let ctl = u64::from_be_bytes(ctl.as_slice().try_into().ok()?);
        Some((user.text.len(), prio, ctl, m.contains(ATTR_USE_CANDIDATE)))
    }

    /// Decode into a reused `Message`, `MessageIntegrity::check`, `FINGERPRINT.check`,
    /// then the reads (webrtc-ice reads PRIORITY and ICE-CONTROLLING with `m.get`).
    pub fn decode_verify(m: &mut Message, bytes: &[u8], key: &MessageIntegrity) -> Option<Check> {
        m.write(bytes).ok()?;
        key.check(m).ok()?;
        FINGERPRINT.check(m).ok()?;
        read_typed(m)
    }

    /// Decode and read every attribute, no integrity check.
    pub fn decode_all(m: &mut Message, bytes: &[u8]) -> Option<Check> {
        m.write(bytes).ok()?;
        read_typed(m)
    }

    /// Builds and signs the request into a reused `Message`; the bytes are `m.raw`.
    /// The USERNAME setter is prepared once, outside the loop.
    pub fn encode_sign(m: &mut Message, username: &TextAttribute, key: &MessageIntegrity) {
        m.reset();
        m.write_header();
        BINDING_REQUEST.add_to(m).expect("type");
        TransactionId(TRANSACTION_ID).add_to(m).expect("id");
        username.add_to(m).expect("username");
        m.add(ATTR_PRIORITY, &PRIORITY.to_be_bytes());
        m.add(ATTR_ICE_CONTROLLING, &TIE_BREAKER.to_be_bytes());
        m.add(ATTR_USE_CANDIDATE, &[]);
        key.add_to(m).expect("integrity");
        FINGERPRINT.add_to(m).expect("fingerprint");
    }

    /// The USERNAME setter.
    pub fn username() -> TextAttribute {
        TextAttribute::new(ATTR_USERNAME, USERNAME.to_owned())
    }
}
