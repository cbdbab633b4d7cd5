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
    MediaDescriptionOptions, MediaSessionDescriptionFactory, MediaSessionOptions,
    TransportDescriptionFactory,
};
use sdp::{JsepSessionDescription, SdpType};

fn answer(offer_sdp: &str) -> Result<String, Box<dyn std::error::Error>> {
    let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    let factory = MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
        cert.fingerprint(HashAlgorithm::Sha256),
    ));
    let offer = JsepSessionDescription::parse(SdpType::Offer, offer_sdp)?;
    // Accept every section the browser offered.
    let options = MediaSessionOptions::with_sections(
        offer
            .description()
            .contents
            .iter()
            .map(|c| MediaDescriptionOptions::new(c.media.media_type.clone(), &c.mid))
            .collect(),
    );
    let answer = factory.create_answer(offer.description(), &options, None)?;
    Ok(sdp::write(&answer)) // CRLF, Chromium's line order
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut offer = String::new();
    match std::env::args().nth(1) {
        Some(path) => offer = std::fs::read_to_string(path)?,
        None => {
            std::io::stdin().read_to_string(&mut offer)?;
        }
    }
    print!("{}", answer(&offer)?);
    Ok(())
}
