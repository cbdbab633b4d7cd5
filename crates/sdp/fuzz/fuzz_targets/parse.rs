//! Arbitrary text into the SDP parser. Nothing may panic; whatever parses
//! must write back to text that parses again to the same description, and
//! writing that is stable (write → parse → write gives the same bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(desc) = sdp::parse(text) else { return };
    let written = sdp::write(&desc);
    let again = match sdp::parse(&written) {
        Ok(d) => d,
        Err(e) => panic!("our own output does not parse: {e}\n{written}"),
    };
    assert_eq!(again, desc, "parse(write(d)) != d\n{written}");
    assert_eq!(sdp::write(&again), written, "write is not stable");
});
