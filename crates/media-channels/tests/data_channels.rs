//! Data channels end to end: two `SctpTransport`s (a = DTLS client, b = DTLS
//! server) joined by an in-memory pipe on virtual time, with seeded loss,
//! delay and jitter; time jumps to the earliest packet arrival or
//! `poll_timeout`. A third peer speaks raw sctp-proto to send what our API
//! never would (malformed DCEP).
//!
//! Run with `-- --nocapture` to see the transfer rates (wall clock).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use media_channels::data::dcep::{ChannelType, DataChannelOpenBuilder, PPID_DCEP};
use media_channels::data::{
    DataChannelEvent, DataChannelInit, DtlsRole, Reliability, SctpConfig, SctpTransport,
};
use media_channels::Error;

// The harness (Rng, Net, Wire, Pair, transfer helpers): tests/support/data_harness.rs.
include!("support/data_harness.rs");

// ---------------------------------------------------------------------------
// Opening channels
// ---------------------------------------------------------------------------

#[test]
fn dcep_opens_in_both_directions_with_role_parity() {
    let mut p = Pair::connected(Net::clean(), 1);
    let now = p.now;
    let from_a =
        p.a.create_channel(
            now,
            DataChannelInit {
                protocol: "proto-a".into(),
                ..DataChannelInit::new("from-a")
            },
        )
        .unwrap();
    let from_b =
        p.b.create_channel(
            now,
            DataChannelInit {
                protocol: "proto-b".into(),
                ordered: false,
                max_retransmits: Some(3),
                ..DataChannelInit::new("from-b")
            },
        )
        .unwrap();
    assert_eq!(from_a % 2, 0, "DTLS client uses even ids");
    assert_eq!(from_b % 2, 1, "DTLS server uses odd ids");

    // Each side reports its own channel open at once, and the peer's when
    // its DATA_CHANNEL_OPEN arrives.
    let e = p.expect_event(
        false,
        Duration::from_secs(5),
        |e| matches!(e, DataChannelEvent::ChannelOpen { id, .. } if *id == from_a),
    );
    assert_eq!(
        e,
        DataChannelEvent::ChannelOpen {
            id: from_a,
            label: "from-a".into(),
            protocol: "proto-a".into(),
            ordered: true,
            reliability: Reliability::Reliable,
            negotiated: false,
            remote: true,
        }
    );
    let e = p.expect_event(
        true,
        Duration::from_secs(5),
        |e| matches!(e, DataChannelEvent::ChannelOpen { id, remote: true, .. } if *id == from_b),
    );
    assert_eq!(
        e,
        DataChannelEvent::ChannelOpen {
            id: from_b,
            label: "from-b".into(),
            protocol: "proto-b".into(),
            ordered: false,
            reliability: Reliability::MaxRetransmits(3),
            negotiated: false,
            remote: true,
        }
    );
    assert!(matches!(
        p.ev_a.pop_front(),
        Some(DataChannelEvent::ChannelOpen { id, remote: false, .. }) if id == from_a
    ));
    assert_eq!(p.b.channel(from_a).unwrap().label, "from-a");
    assert_eq!(p.a.channel(from_b).unwrap().protocol, "proto-b");
    // One OPEN and one ACK each way, nothing retransmitted.
    assert_eq!(p.wire_ab.ppid(PPID_DCEP), 2);
    assert_eq!(p.wire_ba.ppid(PPID_DCEP), 2);

    // Both channels carry both ways.
    for (id, text) in [(from_a, "over a's"), (from_b, "over b's")] {
        let now = p.now;
        p.a.send_text(now, id, text).unwrap();
        p.b.send_text(now, id, text).unwrap();
        let e = p.expect_event(false, Duration::from_secs(5), |e| {
            matches!(e, DataChannelEvent::Message { .. })
        });
        assert_eq!(
            e,
            DataChannelEvent::Message {
                id,
                binary: false,
                data: Bytes::from(text)
            }
        );
        p.expect_event(
            true,
            Duration::from_secs(5),
            |e| matches!(e, DataChannelEvent::Message { id: i, .. } if *i == id),
        );
    }
}

#[test]
fn channels_created_before_the_association_open_with_it() {
    let mut p = Pair::symmetric(Net::clean(), 2);
    let now = p.now;
    let id =
        p.a.create_channel(now, DataChannelInit::new("early"))
            .unwrap();
    assert!(!p.a.is_open(id));
    assert_eq!(p.a.send(now, id, b"x", true), Err(Error::NotConnected));
    p.expect_event(
        false,
        Duration::from_secs(10),
        |e| matches!(e, DataChannelEvent::ChannelOpen { id: i, .. } if *i == id),
    );
    assert!(p.a.is_open(id));
}

#[test]
fn association_survives_a_lossy_handshake() {
    // 50% loss each way: INIT, COOKIE-ECHO and the DCEP retransmit until through.
    let mut p = Pair::connected(Net::lossy(0.5), 3);
    let id = p.open(true, DataChannelInit::new("lossy"));
    let now = p.now;
    p.a.send(now, id, b"through", true).unwrap();
    p.expect_event(false, Duration::from_secs(120), |e| {
        matches!(e, DataChannelEvent::Message { .. })
    });
}

// ---------------------------------------------------------------------------
// Transfers
// ---------------------------------------------------------------------------

#[test]
fn ordered_reliable_100_mb_arrives_intact_and_in_order_under_10_percent_loss() {
    let mut p = Pair::connected(Net::lossy(0.10), 4);
    let id = p.open(true, DataChannelInit::new("bulk"));
    let sizes = mixed_sizes(100_000_000, 65_536, 4);
    let total: usize = sizes.iter().sum();
    let (virt, wall, order) = transfer(&mut p, id, &sizes, 2 << 20, Duration::from_secs(3600));
    assert!(order.iter().copied().eq(0..sizes.len() as u32), "in order");
    println!(
        "ordered reliable, 10% loss: {} messages, {:.1} MB in {:.1} s virtual ({:.2} MB/s), \
         {:.2} s wall ({:.1} MB/s); packets a→b {} ({} dropped), b→a {} ({} dropped)",
        sizes.len(),
        total as f64 / 1e6,
        virt.as_secs_f64(),
        mb_per_s(total, virt),
        wall.as_secs_f64(),
        mb_per_s(total, wall),
        p.wire_ab.packets,
        p.wire_ab.dropped,
        p.wire_ba.packets,
        p.wire_ba.dropped,
    );
    assert!(p.wire_ab.dropped > 0 && p.wire_ba.dropped > 0);
}

#[test]
fn lossless_throughput() {
    let mut p = Pair::connected(
        Net {
            delay: Duration::from_millis(1),
            ..Net::clean()
        },
        5,
    );
    let id = p.open(true, DataChannelInit::new("fast"));
    let sizes = vec![65_536; 320]; // 21 MB
    let total: usize = sizes.iter().sum();
    let (virt, wall, order) = transfer(&mut p, id, &sizes, 4 << 20, Duration::from_secs(600));
    assert!(order.iter().copied().eq(0..sizes.len() as u32));
    println!(
        "lossless 1 ms: {:.1} MB in {:.2} s virtual ({:.1} MB/s), {:.2} s wall: {:.1} MB/s in memory",
        total as f64 / 1e6,
        virt.as_secs_f64(),
        mb_per_s(total, virt),
        wall.as_secs_f64(),
        mb_per_s(total, wall),
    );
}

#[test]
fn unordered_channel_delivers_everything_under_loss_and_reordering() {
    let net = Net {
        loss: 0.10,
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(20),
    };
    let mut p = Pair::connected(net, 6);
    let id = p.open(
        true,
        DataChannelInit {
            ordered: false,
            ..DataChannelInit::new("unordered")
        },
    );
    let sizes = mixed_sizes(2_000_000, 16_384, 6);
    let (_, _, order) = transfer(&mut p, id, &sizes, 256 << 10, Duration::from_secs(3600));
    let got: BTreeSet<u32> = order.iter().copied().collect();
    assert_eq!(got.len(), sizes.len(), "every message exactly once");
    let inversions = order.windows(2).filter(|w| w[0] > w[1]).count();
    println!(
        "unordered: {} messages, {inversions} arrived before an earlier one",
        sizes.len()
    );
    assert!(
        inversions > 0,
        "loss and jitter reorder an unordered channel"
    );
}

#[test]
fn max_retransmits_zero_loses_some_never_blocks() {
    let mut p = Pair::connected(Net::lossy(0.15), 7);
    let id = p.open(
        true,
        DataChannelInit {
            max_retransmits: Some(0),
            ..DataChannelInit::new("lossy-ordered")
        },
    );
    let n = 2000u32;
    let mut sent = 0u32;
    let mut got = Vec::new();
    let mut next_send = p.now;
    p.run_until(Duration::from_secs(120), |p| {
        // One message every 5 ms for 10 s.
        if sent < n && p.now >= next_send {
            let now = p.now;
            p.a.send(now, id, &payload(sent, 200), true).unwrap();
            sent += 1;
            next_send = now + Duration::from_millis(5);
        }
        for (_, data) in take_messages(&mut p.ev_b, id) {
            got.push(index_of(&data));
        }
        sent == n && p.a.buffered_amount(id).unwrap() == 0
    });
    // Let the last FORWARD-TSNs and messages through.
    p.run_for(Duration::from_secs(5));
    for (_, data) in take_messages(&mut p.ev_b, id) {
        got.push(index_of(&data));
    }
    assert_eq!(sent, n);
    assert_eq!(
        p.a.buffered_amount(id).unwrap(),
        0,
        "abandoned messages leave the buffer"
    );
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "ordered, no duplicates"
    );
    let lost = n as usize - got.len();
    println!(
        "max_retransmits=0 at 15% loss: {} of {n} delivered, {lost} lost",
        got.len()
    );
    assert!(lost > 0, "some messages are given up");
    assert!(got.len() > n as usize / 2, "most arrive");
    assert!(
        *got.last().unwrap() >= n - 50,
        "the stream never stalls behind a lost message (last {})",
        got.last().unwrap()
    );
}

#[test]
fn negotiated_channels_talk_without_dcep() {
    let mut p = Pair::connected(Net::clean(), 8);
    let init = DataChannelInit {
        negotiated: Some(7),
        protocol: "p".into(),
        ..DataChannelInit::new("neg")
    };
    let now = p.now;
    assert_eq!(p.a.create_channel(now, init.clone()), Ok(7));
    assert_eq!(p.b.create_channel(now, init.clone()), Ok(7));
    for side_a in [true, false] {
        let e = p.expect_event(side_a, Duration::from_secs(1), |e| {
            matches!(e, DataChannelEvent::ChannelOpen { .. })
        });
        assert!(matches!(
            e,
            DataChannelEvent::ChannelOpen {
                id: 7,
                negotiated: true,
                remote: false,
                ..
            }
        ));
    }
    let now = p.now;
    p.a.send(now, 7, b"a to b", true).unwrap();
    p.b.send(now, 7, b"b to a", false).unwrap();
    let e = p.expect_event(false, Duration::from_secs(5), |e| {
        matches!(e, DataChannelEvent::Message { .. })
    });
    assert_eq!(
        e,
        DataChannelEvent::Message {
            id: 7,
            binary: true,
            data: Bytes::from_static(b"a to b")
        }
    );
    let e = p.expect_event(true, Duration::from_secs(5), |e| {
        matches!(e, DataChannelEvent::Message { .. })
    });
    assert_eq!(
        e,
        DataChannelEvent::Message {
            id: 7,
            binary: false,
            data: Bytes::from_static(b"b to a")
        }
    );
    assert_eq!(p.wire_ab.ppid(PPID_DCEP) + p.wire_ba.ppid(PPID_DCEP), 0);
    // The same id again is refused.
    let now = p.now;
    assert_eq!(p.a.create_channel(now, init), Err(Error::ChannelIdInUse(7)));
}

#[test]
fn negotiated_data_sent_before_the_peer_creates_the_channel_is_kept() {
    let mut p = Pair::connected(Net::clean(), 9);
    let init = DataChannelInit {
        negotiated: Some(100),
        ..DataChannelInit::new("late")
    };
    let now = p.now;
    p.a.create_channel(now, init.clone()).unwrap();
    p.expect_event(true, Duration::from_secs(1), |e| {
        matches!(e, DataChannelEvent::ChannelOpen { .. })
    });
    let now = p.now;
    for i in 0..3u8 {
        p.a.send(now, 100, &[i; 10], true).unwrap();
    }
    p.run_for(Duration::from_secs(1));
    assert!(p.ev_b.is_empty(), "no channel on b yet: {:?}", p.ev_b);
    assert!(p.b.channel(100).is_none());
    let now = p.now;
    p.b.create_channel(now, init).unwrap();
    p.run_for(Duration::from_millis(100));
    assert!(matches!(
        p.ev_b.pop_front(),
        Some(DataChannelEvent::ChannelOpen { id: 100, .. })
    ));
    let got: Vec<_> = take_messages(&mut p.ev_b, 100)
        .into_iter()
        .map(|(_, d)| d[0])
        .collect();
    assert_eq!(got, vec![0, 1, 2]);
}

#[test]
fn empty_text_and_binary_messages_arrive_empty() {
    let mut p = Pair::connected(Net::clean(), 10);
    let id = p.open(true, DataChannelInit::new("empty"));
    let now = p.now;
    p.a.send(now, id, b"", false).unwrap();
    p.a.send(now, id, b"", true).unwrap();
    p.a.send_text(now, id, "").unwrap();
    p.a.send(now, id, b"x", true).unwrap();
    p.run_for(Duration::from_millis(100));
    let got = take_messages(&mut p.ev_b, id);
    assert_eq!(
        got,
        vec![
            (false, Bytes::new()),
            (true, Bytes::new()),
            (false, Bytes::new()),
            (true, Bytes::from_static(b"x")),
        ]
    );
    assert_eq!(p.wire_ab.ppid(56), 2, "WebRTC String Empty");
    assert_eq!(p.wire_ab.ppid(57), 1, "WebRTC Binary Empty");
    assert_eq!(p.wire_ab.ppid(53), 1);
}

#[test]
fn messages_over_the_remote_max_message_size_are_refused() {
    let config_a = SctpConfig {
        remote_max_message_size: 1000,
        ..SctpConfig::default()
    };
    let mut p = Pair::new(
        config_a,
        SctpConfig::default(),
        Net::clean(),
        Net::clean(),
        11,
    );
    p.connect();
    let id = p.open(true, DataChannelInit::new("small"));
    let now = p.now;
    let err = p.a.send(now, id, &[1; 1001], true).unwrap_err();
    assert_eq!(
        err,
        Error::MessageTooLarge {
            size: 1001,
            max: 1000
        }
    );
    assert!(!err.is_peer_fault());
    p.a.send(now, id, &[2; 1000], true).unwrap();
    // b has the default: the 65 536 bytes RFC 8841 assumes without the attribute.
    assert_eq!(
        p.b.send(now, id, &vec![3; 65_537], true),
        Err(Error::MessageTooLarge {
            size: 65_537,
            max: 65_536
        })
    );
    p.b.send(now, id, &vec![3; 65_536], true).unwrap();
    p.run_for(Duration::from_millis(200));
    let got = take_messages(&mut p.ev_b, id);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.len(), 1000);
    assert_eq!(take_messages(&mut p.ev_a, id)[0].1.len(), 65_536);
    // A renegotiated limit applies at once; 0 lifts it.
    p.a.set_remote_max_message_size(0);
    let now = p.now;
    p.a.send(now, id, &vec![4; 200_000], true).unwrap();
    p.run_for(Duration::from_secs(1));
    assert_eq!(take_messages(&mut p.ev_b, id)[0].1.len(), 200_000);
}

#[test]
fn a_peer_ignoring_our_max_message_size_loses_the_association() {
    // b advertises 10 000 bytes; a pretends b set no limit.
    let config_a = SctpConfig {
        remote_max_message_size: 0,
        ..SctpConfig::default()
    };
    let config_b = SctpConfig {
        max_message_size: 10_000,
        ..SctpConfig::default()
    };
    let mut p = Pair::new(config_a, config_b, Net::clean(), Net::clean(), 21);
    p.connect();
    let id = p.open(true, DataChannelInit::new("big"));
    let now = p.now;
    p.a.send(now, id, &[7; 10_000], true).unwrap();
    p.a.send(now, id, &[8; 20_000], true).unwrap();
    let lost = DataChannelEvent::Error {
        id: None,
        error: Error::SctpAssociationLost,
    };
    p.expect_event(false, Duration::from_secs(5), |e| *e == lost);
    assert_eq!(
        take_messages(&mut p.ev_b, id).len(),
        1,
        "the message within the limit"
    );
    assert!(p.ev_b.contains(&DataChannelEvent::ChannelClosed { id }));
    assert!(p.b.is_closed());
    let now = p.now;
    assert_eq!(p.b.send(now, id, b"x", true), Err(Error::NotConnected));
    // sctp-proto closes on an inbound protocol error without sending ABORT,
    // so a is not told; it finds out when DTLS or ICE give up on the path.
}

#[test]
fn send_buffer_is_bounded() {
    let config_a = SctpConfig {
        max_buffered_amount: 100_000,
        ..SctpConfig::default()
    };
    let mut p = Pair::new(
        config_a,
        SctpConfig::default(),
        Net::clean(),
        Net::clean(),
        12,
    );
    p.connect();
    let id = p.open(true, DataChannelInit::new("bounded"));
    // Until the peer acknowledges the DATA_CHANNEL_OPEN, its bytes count too.
    // (the delayed SACK: 200 ms).
    p.run_for(Duration::from_millis(300));
    assert_eq!(p.a.buffered_amount(id), Ok(0));
    let now = p.now;
    for _ in 0..3 {
        p.a.send(now, id, &[0; 30_000], true).unwrap();
    }
    let err = p.a.send(now, id, &[0; 30_000], true).unwrap_err();
    assert_eq!(
        err,
        Error::SendBufferFull {
            buffered: 90_000,
            limit: 100_000
        }
    );
    p.run_for(Duration::from_secs(1));
    let now = p.now;
    p.a.send(now, id, &[0; 30_000], true).unwrap();
}

#[test]
fn buffered_amount_low_fires() {
    let mut p = Pair::connected(Net::clean(), 13);
    let id = p.open(true, DataChannelInit::new("low"));
    p.a.set_buffered_amount_low_threshold(id, 20_000).unwrap();
    p.run_for(Duration::from_millis(300));
    // The acknowledged DATA_CHANNEL_OPEN is no application event.
    assert!(p.ev_a.is_empty(), "{:?}", p.ev_a);
    let now = p.now;
    for i in 0..10 {
        p.a.send(now, id, &payload(i, 10_000), true).unwrap();
    }
    assert_eq!(p.a.buffered_amount(id), Ok(100_000));
    let mut low_at = None;
    p.run_until(Duration::from_secs(10), |p| {
        if let Some(i) = p
            .ev_a
            .iter()
            .position(|e| *e == DataChannelEvent::BufferedAmountLow { id })
        {
            p.ev_a.remove(i);
            low_at = Some(p.a.buffered_amount(id).unwrap());
            true
        } else {
            false
        }
    });
    let low_at = low_at.expect("BufferedAmountLow fired");
    assert!(low_at <= 20_000, "buffered {low_at} at the event");
    // It fires once per crossing: draining to 0 does not fire again.
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.a.buffered_amount(id), Ok(0));
    assert!(!p.ev_a.contains(&DataChannelEvent::BufferedAmountLow { id }));
}

// ---------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------

#[test]
fn close_resets_the_stream_on_both_sides_and_others_keep_working() {
    let mut p = Pair::connected(Net::lossy(0.05), 14);
    let doomed = p.open(true, DataChannelInit::new("doomed"));
    let kept = p.open(false, DataChannelInit::new("kept"));
    let now = p.now;
    // Queued before the close: still delivered, before the close.
    p.a.send(now, doomed, b"last words", true).unwrap();
    p.a.close(now, doomed).unwrap();
    assert_eq!(
        p.a.send(now, doomed, b"too late", true),
        Err(Error::ChannelNotOpen(doomed))
    );
    assert_eq!(p.a.close(now, doomed), Ok(()), "closing twice is fine");
    let closed = DataChannelEvent::ChannelClosed { id: doomed };
    p.expect_event(false, Duration::from_secs(30), |e| *e == closed);
    p.expect_event(true, Duration::from_secs(30), |e| *e == closed);
    let got = take_messages(&mut p.ev_b, doomed);
    assert_eq!(got, vec![(true, Bytes::from_static(b"last words"))]);
    assert!(p.a.channel(doomed).is_none() && p.b.channel(doomed).is_none());
    assert_eq!(
        p.b.send(p.now, doomed, b"x", true),
        Err(Error::UnknownChannel(doomed))
    );
    assert_eq!(p.a.close(p.now, doomed), Err(Error::UnknownChannel(doomed)));

    // The other channel still carries both ways.
    let now = p.now;
    p.a.send(now, kept, b"ping", true).unwrap();
    p.expect_event(
        false,
        Duration::from_secs(30),
        |e| matches!(e, DataChannelEvent::Message { id, .. } if *id == kept),
    );
    let now = p.now;
    p.b.send(now, kept, b"pong", true).unwrap();
    p.expect_event(
        true,
        Duration::from_secs(30),
        |e| matches!(e, DataChannelEvent::Message { id, .. } if *id == kept),
    );

    // Once the reset handshake completed, new channels open (and may reuse the id).
    p.run_for(Duration::from_secs(5));
    let again = p.open(true, DataChannelInit::new("again"));
    let now = p.now;
    p.a.send(now, again, b"new", true).unwrap();
    p.expect_event(
        false,
        Duration::from_secs(30),
        |e| matches!(e, DataChannelEvent::Message { id, .. } if *id == again),
    );
}

#[test]
fn closing_from_the_answering_side_works_too() {
    let mut p = Pair::connected(Net::clean(), 15);
    let id = p.open(true, DataChannelInit::new("x"));
    let now = p.now;
    p.b.close(now, id).unwrap();
    let closed = DataChannelEvent::ChannelClosed { id };
    p.expect_event(true, Duration::from_secs(5), |e| *e == closed);
    p.expect_event(false, Duration::from_secs(5), |e| *e == closed);
}

// ---------------------------------------------------------------------------
// Scale and limits
// ---------------------------------------------------------------------------

#[test]
fn a_thousand_channels_on_one_association() {
    let mut p = Pair::connected(Net::lossy(0.02), 16);
    let now = p.now;
    let ids: Vec<u16> = (0..1000)
        .map(|i| {
            p.a.create_channel(now, DataChannelInit::new(format!("ch{i}")))
                .unwrap()
        })
        .collect();
    assert!(ids.iter().all(|id| id % 2 == 0));
    let mut opened = BTreeMap::new();
    p.run_until(Duration::from_secs(60), |p| {
        while let Some(e) = p.ev_b.pop_front() {
            if let DataChannelEvent::ChannelOpen { id, label, .. } = e {
                opened.insert(id, label);
            }
        }
        opened.len() == ids.len()
    });
    assert_eq!(opened.len(), 1000);
    let now = p.now;
    for (i, &id) in ids.iter().enumerate() {
        assert_eq!(opened[&id], format!("ch{i}"));
        p.a.send(now, id, format!("message {i}").as_bytes(), false)
            .unwrap();
        p.b.send(now, id, format!("reply {i}").as_bytes(), false)
            .unwrap();
    }
    let mut got_b = BTreeMap::new();
    let mut got_a = BTreeMap::new();
    p.run_until(Duration::from_secs(60), |p| {
        for e in p.ev_b.drain(..) {
            if let DataChannelEvent::Message { id, data, .. } = e {
                got_b.insert(id, data);
            }
        }
        for e in p.ev_a.drain(..) {
            if let DataChannelEvent::Message { id, data, .. } = e {
                got_a.insert(id, data);
            }
        }
        got_a.len() == ids.len() && got_b.len() == ids.len()
    });
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(got_b[id], format!("message {i}").as_bytes());
        assert_eq!(got_a[id], format!("reply {i}").as_bytes());
    }
}

#[test]
fn channel_limits_are_enforced_on_both_sides() {
    let config_a = SctpConfig {
        max_channels: 6,
        ..SctpConfig::default()
    };
    let config_b = SctpConfig {
        max_channels: 4,
        ..SctpConfig::default()
    };
    let mut p = Pair::new(config_a, config_b, Net::clean(), Net::clean(), 17);
    p.connect();
    let now = p.now;
    let ids: Vec<u16> = (0..6)
        .map(|i| {
            p.a.create_channel(now, DataChannelInit::new(format!("{i}")))
                .unwrap()
        })
        .collect();
    assert_eq!(
        p.a.create_channel(now, DataChannelInit::new("7th")),
        Err(Error::TooManyChannels(6))
    );
    p.run_for(Duration::from_secs(5));
    let opened = p
        .ev_b
        .iter()
        .filter(|e| matches!(e, DataChannelEvent::ChannelOpen { .. }))
        .count();
    let refused: Vec<_> = p
        .ev_b
        .iter()
        .filter_map(|e| match e {
            DataChannelEvent::Error {
                id: Some(id),
                error,
            } => Some((*id, *error)),
            _ => None,
        })
        .collect();
    assert_eq!(opened, 4);
    assert_eq!(
        refused,
        vec![
            (ids[4], Error::PeerTooManyChannels(4)),
            (ids[5], Error::PeerTooManyChannels(4))
        ]
    );
    assert!(refused[0].1.is_peer_fault());
    // The refused channels close on the opener's side; the rest work.
    for &id in &ids[4..] {
        assert!(
            p.ev_a.contains(&DataChannelEvent::ChannelClosed { id }),
            "{:?}",
            p.ev_a
        );
    }
    let now = p.now;
    p.a.send(now, ids[3], b"fine", true).unwrap();
    p.expect_event(false, Duration::from_secs(5), |e| {
        matches!(e, DataChannelEvent::Message { .. })
    });
}

#[test]
fn invalid_channel_options_are_refused() {
    let mut p = Pair::connected(Net::clean(), 18);
    let now = p.now;
    let both = DataChannelInit {
        max_retransmits: Some(1),
        max_packet_life_time: Some(100),
        ..DataChannelInit::new("both")
    };
    assert!(matches!(
        p.a.create_channel(now, both),
        Err(Error::InvalidInput(_))
    ));
    let reserved = DataChannelInit {
        negotiated: Some(65535),
        ..DataChannelInit::new("reserved")
    };
    assert_eq!(
        p.a.create_channel(now, reserved),
        Err(Error::InvalidChannelId(65535))
    );
    assert_eq!(
        p.a.send(now, 42, b"x", true),
        Err(Error::UnknownChannel(42))
    );
    assert_eq!(p.a.buffered_amount(42), Err(Error::UnknownChannel(42)));
}

#[test]
fn timed_partial_reliability_channel_opens_and_delivers() {
    let mut p = Pair::connected(Net::lossy(0.1), 19);
    let id = p.open(
        false,
        DataChannelInit {
            ordered: false,
            max_packet_life_time: Some(150),
            ..DataChannelInit::new("timed")
        },
    );
    assert_eq!(
        p.a.channel(id).unwrap().reliability,
        Reliability::MaxPacketLifeTime(150)
    );
    let now = p.now;
    for i in 0..200 {
        p.b.send(now, id, &payload(i, 100), true).unwrap();
    }
    p.run_for(Duration::from_secs(10));
    let got = take_messages(&mut p.ev_a, id).len();
    println!("timed 150 ms at 10% loss: {got} of 200 delivered");
    assert!(got > 100 && got <= 200);
    assert_eq!(p.b.buffered_amount(id), Ok(0));
}

#[test]
fn simulations_replay_exactly() {
    fn run(seed: u64) -> (Duration, Vec<DataChannelEvent>, u64) {
        let mut p = Pair::connected(Net::lossy(0.1), seed);
        let id = p.open(true, DataChannelInit::new("replay"));
        let sizes = mixed_sizes(300_000, 20_000, seed);
        let (virt, _, _) = transfer(&mut p, id, &sizes, 64 << 10, Duration::from_secs(600));
        (virt, p.ev_a.into_iter().collect(), p.wire_ab.packets)
    }
    let first = run(20);
    assert_eq!(run(20), first, "same seed, same run");
}

// ---------------------------------------------------------------------------
// A raw sctp-proto peer: sends what SctpTransport never would
// ---------------------------------------------------------------------------

struct RawPeer {
    endpoint: sctp_proto::Endpoint,
    handle: sctp_proto::AssociationHandle,
    assoc: sctp_proto::Association,
}

impl RawPeer {
    /// A raw association as the DTLS client (it sends INIT).
    fn new() -> RawPeer {
        let mut endpoint = sctp_proto::Endpoint::new(
            Arc::new(sctp_proto::EndpointConfig::new()),
            Some(Arc::new(sctp_proto::ServerConfig::new())),
        );
        let addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let (handle, assoc) = endpoint
            .connect(sctp_proto::ClientConfig::new(), addr)
            .unwrap();
        RawPeer {
            endpoint,
            handle,
            assoc,
        }
    }

    fn receive(&mut self, now: Instant, packet: &[u8]) {
        let addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        if let Some((_, sctp_proto::DatagramEvent::AssociationEvent(e))) =
            self.endpoint
                .handle(now, addr, None, None, Bytes::copy_from_slice(packet))
        {
            self.assoc.handle_event(e);
        }
    }

    fn transmit(&mut self, now: Instant) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(e) = self.assoc.poll_endpoint_event() {
            if let Some(back) = self.endpoint.handle_event(self.handle, e) {
                self.assoc.handle_event(back);
            }
        }
        while let Some(t) = self.assoc.poll_transmit(now) {
            if let sctp_proto::Payload::RawEncode(p) = t.payload {
                out.extend(p);
            }
        }
        out
    }

    fn events(&mut self) -> Vec<sctp_proto::Event> {
        std::iter::from_fn(|| self.assoc.poll()).collect()
    }

    fn write(&mut self, id: u16, ppi: sctp_proto::PayloadProtocolIdentifier, data: &[u8]) {
        let mut stream = match self.assoc.stream(id) {
            Ok(s) => s,
            Err(_) => self
                .assoc
                .open_stream(id, sctp_proto::PayloadProtocolIdentifier::Binary)
                .unwrap(),
        };
        stream.write_with_ppi(data, ppi).unwrap();
    }

    fn open_channel(&mut self, id: u16, label: &str) {
        let open = DataChannelOpenBuilder {
            channel_type: ChannelType::Reliable,
            priority: 256,
            reliability_parameter: 0,
            label,
            protocol: "",
        };
        let mut buf = vec![0; open.encoded_len()];
        open.write(&mut buf).unwrap();
        self.write(id, sctp_proto::PayloadProtocolIdentifier::Dcep, &buf);
    }
}

/// Runs `raw` against `ours` (DTLS server) over a clean pipe for `d`.
fn run_raw(
    raw: &mut RawPeer,
    ours: &mut SctpTransport,
    now: &mut Instant,
    d: Duration,
) -> Vec<DataChannelEvent> {
    let end = *now + d;
    let mut events = Vec::new();
    let mut raw_events = Vec::new();
    while *now < end {
        for p in raw.transmit(*now) {
            ours.handle_receive(*now, &p);
        }
        while let Some(e) = ours.poll_event() {
            events.push(e);
        }
        while let Some(p) = ours.poll_transmit(*now) {
            raw.receive(*now, &p);
        }
        raw_events.extend(raw.events());
        // Coarse steps are enough here: no loss, timers only for SACKs.
        *now += Duration::from_millis(5);
        raw.assoc.handle_timeout(*now);
        ours.handle_timeout(*now);
    }
    events
}

#[test]
fn malformed_dcep_errors_only_its_stream() {
    let mut now = Instant::now();
    let mut raw = RawPeer::new();
    let mut ours = SctpTransport::new(SctpConfig::default(), DtlsRole::Server);
    ours.connect(now).unwrap();
    let events = run_raw(&mut raw, &mut ours, &mut now, Duration::from_millis(200));
    assert_eq!(events, vec![DataChannelEvent::Connected]);

    use sctp_proto::PayloadProtocolIdentifier as P;
    raw.open_channel(0, "good");
    // Unknown channel type 0x40 on stream 2; a DCEP ACK nobody asked for on
    // stream 4; a truncated OPEN on stream 6.
    raw.write(2, P::Dcep, &[3, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    raw.write(4, P::Dcep, &[2]);
    raw.write(6, P::Dcep, &[3, 0, 1]);
    raw.write(0, P::Binary, b"still flowing");
    raw.open_channel(8, "also good");
    raw.write(8, P::String, b"hi");
    let events = run_raw(&mut raw, &mut ours, &mut now, Duration::from_millis(500));
    let errors: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            DataChannelEvent::Error { id, error } => Some((*id, *error)),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (Some(2), Error::DcepUnknownChannelType(0x40)),
            (Some(4), Error::DcepUnexpectedMessage(2)),
            (Some(6), Error::DcepTruncated(3)),
        ]
    );
    assert!(errors.iter().all(|(_, e)| e.is_peer_fault()));
    let opened: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            DataChannelEvent::ChannelOpen { id, label, .. } => Some((*id, label.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(opened, vec![(0, "good"), (8, "also good")]);
    assert!(events.contains(&DataChannelEvent::Message {
        id: 0,
        binary: true,
        data: Bytes::from_static(b"still flowing")
    }));
    assert!(events.contains(&DataChannelEvent::Message {
        id: 8,
        binary: false,
        data: Bytes::from_static(b"hi")
    }));
    assert_eq!(ours.channel_ids().collect::<Vec<_>>(), vec![0, 8]);

    // The bad streams were reset; channel 0 keeps working both ways.
    ours.send(now, 0, b"answer", true).unwrap();
    raw.write(0, P::Binary, b"more");
    let events = run_raw(&mut raw, &mut ours, &mut now, Duration::from_millis(200));
    assert!(events.contains(&DataChannelEvent::Message {
        id: 0,
        binary: true,
        data: Bytes::from_static(b"more")
    }));
    let mut stream = raw.assoc.stream(0).unwrap();
    let chunks = stream.read_sctp().unwrap().expect("our answer arrived");
    let mut buf = vec![0; chunks.len()];
    chunks.read(&mut buf).unwrap();
    // The DCEP ACK came first on stream 0, then the answer.
    assert_eq!(buf, [2]);
    let chunks = stream.read_sctp().unwrap().expect("our answer arrived");
    let mut buf = vec![0; chunks.len()];
    chunks.read(&mut buf).unwrap();
    assert_eq!(buf, b"answer");
}

#[test]
fn unknown_ppid_is_an_error_on_that_channel() {
    let mut now = Instant::now();
    let mut raw = RawPeer::new();
    let mut ours = SctpTransport::new(SctpConfig::default(), DtlsRole::Server);
    run_raw(&mut raw, &mut ours, &mut now, Duration::from_millis(200));
    raw.open_channel(0, "c");
    // PPID 52 (deprecated partial binary) reads as Unknown.
    raw.write(0, sctp_proto::PayloadProtocolIdentifier::Unknown, b"?");
    raw.write(0, sctp_proto::PayloadProtocolIdentifier::Binary, b"ok");
    let events = run_raw(&mut raw, &mut ours, &mut now, Duration::from_millis(200));
    assert!(events.contains(&DataChannelEvent::Error {
        id: Some(0),
        error: Error::DataChannelUnknownPpid
    }));
    assert!(events.contains(&DataChannelEvent::Message {
        id: 0,
        binary: true,
        data: Bytes::from_static(b"ok")
    }));
}
