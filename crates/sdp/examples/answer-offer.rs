//! Answers an SDP offer: reads the offer from the file named on the command line (or stdin),
//! accepts every section it can, and prints our answer (CRLF, Chromium's line order).
//!
//! ```sh
//! cargo run -p sdp --example answer-offer -- crates/sdp/tests/corpus/chromium/offer-audio-video-data.sdp
//! ```
//!
//! The same code is in README.md ("Answering a browser's offer").

use std::io::Read;

use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
use sdp::factory::{
    BundlePolicy, MediaDescriptionOptions, MediaSessionDescriptionFactory, MediaSessionOptions,
    TransportDescriptionFactory,
};
use sdp::{JsepSessionDescription, SdpType};

fn answer(offer_sdp: &[u8]) -> Result<String, Box<dyn std::error::Error>> {
    let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    let factory = MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
        cert.fingerprint(HashAlgorithm::Sha256),
    ));
    // Parses and validates: bad input is a typed sdp::Error naming the line or section.
    let offer = JsepSessionDescription::parse_bytes(SdpType::Offer, offer_sdp)?;
    // Accept every section the browser offered.
    let mut options = MediaSessionOptions::with_sections(
        offer
            .description()
            .contents
            .iter()
            .map(|c| MediaDescriptionOptions::new(c.media.media_type.clone(), &c.mid))
            .collect(),
    );
    if offer.description().bundle_group().is_none() {
        options.bundle_policy = BundlePolicy::Balanced; // a transport per section
    }
    let answer = factory.create_answer(offer.description(), &options, None)?;
    Ok(sdp::write(&answer)) // CRLF, Chromium's line order
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut offer = Vec::new();
    match std::env::args().nth(1) {
        Some(path) => offer = std::fs::read(path)?,
        None => {
            std::io::stdin().read_to_end(&mut offer)?;
        }
    }
    print!("{}", answer(&offer)?);
    Ok(())
}
