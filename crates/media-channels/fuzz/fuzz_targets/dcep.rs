//! Arbitrary bytes into the DCEP parser (RFC 8832). Nothing may panic, every
//! accessor of what parses must answer, and what parses must re-encode to
//! the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_channels::data::dcep::{write_ack, ChannelType, DataChannelOpen, DcepMessage};

fuzz_target!(|data: &[u8]| {
    let _ = DataChannelOpen::parse(data);
    let Ok(msg) = DcepMessage::parse(data) else { return };
    match msg {
        DcepMessage::Open(open) => {
            let t = open.channel_type();
            assert_eq!(ChannelType::from_u8(t.to_u8()), Ok(t));
            let _ = (t.is_ordered(), t.reliability(), open.priority());
            let _ = open.reliability_parameter();
            let _ = format!("{open:?}");
            let builder = open.to_builder();
            assert_eq!(builder.label.len() + builder.protocol.len() + 12, data.len());
            let mut out = vec![0u8; builder.encoded_len()];
            let n = builder.write(&mut out).expect("fits");
            assert_eq!(&out[..n], data);
        }
        DcepMessage::Ack => {
            let mut out = [0u8; 1];
            assert_eq!(write_ack(&mut out), Ok(1));
            assert_eq!(&out[..], data);
        }
    }
});
