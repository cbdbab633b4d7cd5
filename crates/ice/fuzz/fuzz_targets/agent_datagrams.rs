//! Arbitrary datagrams into an ICE agent: never panics, never grows without
//! bound.
//!
//! The input is split into datagrams (a length byte, then that many bytes);
//! each arrives from one of a few source addresses, with time advancing.
//! Datagrams with an even length byte are wrapped as attributes of a check
//! correctly signed with the agent's password, so the fuzzer also reaches the
//! authenticated paths (peer-reflexive learning, role conflicts, nomination).
#![no_main]

use std::time::{Duration, Instant};

use ice::{Credentials, IceAgent, IceConfig, IceRole, Receive};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now0 = Instant::now();
    let mut agent = IceAgent::new(IceConfig {
        role: IceRole::Controlled,
        seed: Some(7),
        credentials: Some(Credentials::new("locl", "localpassword0123456789xyz").unwrap()),
        max_remote_candidates: 8,
        max_pairs: 8,
        ..Default::default()
    });
    let local = "127.0.0.1:5000".parse().unwrap();
    agent.add_local_socket(now0, local, Default::default());
    agent.set_remote_credentials(now0, Credentials::new("remt", "remotepassword0123456789xyz").unwrap());
    let key = stun::IntegrityKey::short_term("localpassword0123456789xyz").unwrap();
    let mut rest = data;
    let mut now = now0;
    let mut i = 0u16;
    while let Some((&len, tail)) = rest.split_first() {
        let take = (len as usize).min(tail.len());
        let (dgram, tail) = tail.split_at(take);
        rest = tail;
        i = i.wrapping_add(1);
        let source = std::net::SocketAddr::from(([127, 0, 0, 1], 6000 + (len as u16 % 16)));
        now += Duration::from_millis(len as u64 * 7);
        agent.handle_timeout(now);
        if len % 2 == 0 {
            let mut buf = [0u8; 1024];
            let mut tid = [0u8; 12];
            tid[..2].copy_from_slice(&i.to_be_bytes());
            if let Ok(mut b) =
                stun::MessageBuilder::new(&mut buf, stun::Class::Request, stun::Method::BINDING, stun::TransactionId(tid))
            {
                let _ = b.add(&stun::attributes::Username("locl:remt"));
                let _ = b.add(&stun::attributes::Priority(u32::from(len) << 16 | 1));
                if len % 4 == 0 {
                    let _ = b.add(&stun::attributes::IceControlling(u64::from(len)));
                } else {
                    let _ = b.add(&stun::attributes::IceControlled(u64::from(len)));
                }
                if len % 8 == 0 {
                    let _ = b.add(&stun::attributes::UseCandidate);
                }
                let _ = b.add_raw(&stun::RawAttribute {
                    typ: stun::AttributeType(0x8888),
                    value: &dgram[..dgram.len().min(200)],
                    padding: &[0, 0, 0],
                    offset: 0,
                });
                if b.add_message_integrity(&key).is_ok() && b.add_fingerprint().is_ok() {
                    let n = b.finish();
                    agent.handle_receive(now, Receive { local, source, data: &buf[..n] });
                }
            }
        } else {
            agent.handle_receive(now, Receive { local, source, data: dgram });
        }
        while agent.poll_transmit(now).is_some() {}
        while agent.poll_event().is_some() {}
        assert!(agent.remote_candidate_count() <= 8);
        assert!(agent.pair_count() <= 8);
    }
});
