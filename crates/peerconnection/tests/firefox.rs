//! Our `PeerConnection` against real headless Firefox ESR, in both roles (`cargo xtask
//! test-all --only interop-firefox` runs this file in a loopback-only network namespace with
//! `PEERSTACK_REQUIRE_FIREFOX=1`). Without Firefox the tests print why and pass; the harness
//! is the sdp crate's `tests/support/chromium.rs` (`BrowserPeer::start_firefox`, driving
//! `interop/firefox/ff_peer.py` over Marionette). The same cases as `tests/chromium.rs` (`tests/support/browser_cases.rs`):
//!
//! - Firefox offers (fake microphone and camera, a data channel); we answer with `add_track`
//!   on the offered transceivers and echo: every data-channel message back on its channel,
//!   every audio and video frame back on our stream. Firefox's getStats shows its own fake
//!   VP8 decoded from our packets.
//! - We offer (a data channel, audio and video); Firefox answers (`a=setup:active`). Its
//!   messages reach us, ours (empty, UTF-8, 64 KiB binary) reach it, and its inbound-rtp
//!   counts our audio and video packets.
//!
//! Firefox gathers 127.0.0.1 and ::1 host candidates (and TCP active ones); our factory
//! gathers 127.0.0.1 only.

#[path = "../../sdp/tests/support/chromium.rs"]
mod browser;
#[path = "support/browser_cases.rs"]
mod cases;

use browser::BrowserPeer;
use cases::TestResult;

#[test]
fn firefox_offers_and_our_peer_connection_echoes_data_and_media() -> TestResult {
    let Some(mut firefox) = BrowserPeer::start_firefox()? else {
        return Ok(());
    };
    cases::browser_offers_and_we_echo(&mut firefox, "Firefox", 10)
}

#[test]
fn our_peer_connection_offers_and_firefox_answers() -> TestResult {
    let Some(mut firefox) = BrowserPeer::start_firefox()? else {
        return Ok(());
    };
    cases::we_offer_and_the_browser_answers(&mut firefox, "Firefox")
}
