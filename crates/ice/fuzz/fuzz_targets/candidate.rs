//! Arbitrary text into the `candidate:` parser: never panics, and whatever
//! parses writes back to a line that parses to the same candidate.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    if let Ok(c) = line.parse::<ice::Candidate>() {
        let written = c.to_string();
        let again: ice::Candidate = written.parse().expect("our own output parses");
        assert_eq!(again, c);
        assert_eq!(again.to_string(), written);
    }
});
