//! Our `PeerConnection` against real headless Chromium, in both roles (`cargo xtask
//! test-all --only interop-sdp` runs this file in a loopback-only network namespace with
//! `PEERSTACK_REQUIRE_CHROMIUM=1`). Without Chromium or its venv the tests print why and
//! pass; the harness is the sdp crate's `tests/support/chromium.rs`.
//!
//! - Chromium offers (fake microphone and camera, a data channel); we answer with
//!   `add_track` on the offered transceivers and echo: every data-channel message back on
//!   its channel (text and binary, empty to 64 KiB), every audio and video frame back on
//!   our stream. Chromium's getStats shows its own VP8 decoded from our packets.
//! - We offer (a data channel, audio and video); Chromium answers. Its messages reach us,
//!   ours reach it, and its inbound-rtp counts our audio and video packets.

#[path = "../../sdp/tests/support/chromium.rs"]
mod browser;
#[path = "support/browser_cases.rs"]
mod cases;

use browser::BrowserPeer;
use cases::TestResult;

#[test]
fn chromium_offers_and_our_peer_connection_echoes_data_and_media() -> TestResult {
    let Some(mut chromium) = BrowserPeer::start()? else {
        return Ok(());
    };
    cases::browser_offers_and_we_echo(&mut chromium, "Chromium", 10)
}

#[test]
fn our_peer_connection_offers_and_chromium_answers() -> TestResult {
    let Some(mut chromium) = BrowserPeer::start()? else {
        return Ok(());
    };
    cases::we_offer_and_the_browser_answers(&mut chromium, "Chromium")
}
