//! The request manager on virtual time: exact retransmit schedules, timeouts,
//! late and duplicate responses, wrong keys, cancellation and bounds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stun::attributes::{ErrorCode, XorMappedAddress};
use stun::{
    Class, Error, IntegrityKey, Message, MessageBuilder, Method, RequestEvent, RequestManager,
    RetransmitConfig, TransactionId, Transport,
};

fn server() -> SocketAddr {
    "127.0.0.1:3478".parse().unwrap()
}

fn request(tid: u8) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let mut b = MessageBuilder::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId([tid; 12]),
    )
    .unwrap();
    b.add_fingerprint().unwrap();
    let n = b.finish();
    buf.truncate(n);
    buf
}

fn response(tid: u8, class: Class, key: Option<&IntegrityKey>) -> Vec<u8> {
    let mut buf = vec![0u8; 128];
    let mut b =
        MessageBuilder::new(&mut buf, class, Method::BINDING, TransactionId([tid; 12])).unwrap();
    if class == Class::ErrorResponse {
        b.add(&ErrorCode::ROLE_CONFLICT).unwrap();
    } else {
        b.add(&XorMappedAddress("192.0.2.7:4000".parse().unwrap()))
            .unwrap();
    }
    if let Some(k) = key {
        b.add_message_integrity(k).unwrap();
    }
    b.add_fingerprint().unwrap();
    let n = b.finish();
    buf.truncate(n);
    buf
}

/// Runs the manager on virtual time until it is idle; returns the send times
/// (relative to `start`) and the events.
fn run_to_idle(
    m: &mut RequestManager,
    start: Instant,
) -> (Vec<Duration>, Vec<(Duration, RequestEvent)>) {
    let mut sends = Vec::new();
    let mut events = Vec::new();
    let mut now = start;
    loop {
        while m.poll_transmit().is_some() {
            sends.push(now - start);
        }
        while let Some(e) = m.poll_event() {
            events.push((now - start, e));
        }
        match m.poll_timeout() {
            Some(t) => {
                assert!(t >= now, "timeout in the past");
                now = t;
                m.handle_timeout(now);
            }
            None => break,
        }
    }
    (sends, events)
}

fn ms(v: &[u64]) -> Vec<Duration> {
    v.iter().map(|&x| Duration::from_millis(x)).collect()
}

#[test]
fn rfc8489_schedule_is_exact() {
    let mut m = RequestManager::new(RetransmitConfig::rfc8489());
    let start = Instant::now();
    let tid = m
        .send(start, &request(1), server(), Transport::Udp, None)
        .unwrap();
    let (sends, events) = run_to_idle(&mut m, start);
    // RFC 8489 §6.2.1: 0, 500, 1500, 3500, 7500, 15500, 31500; timeout at 39500.
    assert_eq!(sends, ms(&[0, 500, 1500, 3500, 7500, 15500, 31500]));
    assert_eq!(
        events,
        vec![(
            Duration::from_millis(39_500),
            RequestEvent::Timeout {
                transaction_id: tid,
                destination: server()
            }
        )]
    );
    assert_eq!(m.outstanding(), 0);
}

#[test]
fn libwebrtc_schedule_is_exact() {
    let mut m = RequestManager::new(RetransmitConfig::libwebrtc());
    let start = Instant::now();
    m.send(start, &request(1), server(), Transport::Udp, None)
        .unwrap();
    let (sends, events) = run_to_idle(&mut m, start);
    assert_eq!(
        sends,
        ms(&[0, 250, 750, 1750, 3750, 7750, 15750, 23750, 31750])
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, Duration::from_millis(39_750));
}

#[test]
fn reliable_transport_sends_once_and_times_out_at_ti() {
    let mut m = RequestManager::new(RetransmitConfig::rfc8489());
    let start = Instant::now();
    m.send(start, &request(1), server(), Transport::Tcp, None)
        .unwrap();
    let (sends, events) = run_to_idle(&mut m, start);
    assert_eq!(sends, ms(&[0]));
    assert_eq!(events[0].0, Duration::from_millis(39_500));
    assert!(matches!(events[0].1, RequestEvent::Timeout { .. }));
}

#[test]
fn custom_schedule_with_cap() {
    let config = RetransmitConfig {
        initial_rto: Duration::from_millis(100),
        max_rto: Duration::from_millis(300),
        max_transmissions: 5,
        last_wait: Duration::from_millis(1000),
        reliable_timeout: Duration::from_secs(5),
        max_outstanding: 4,
    };
    let mut m = RequestManager::new(config);
    let start = Instant::now();
    m.send(start, &request(1), server(), Transport::Udp, None)
        .unwrap();
    let (sends, events) = run_to_idle(&mut m, start);
    assert_eq!(sends, ms(&[0, 100, 300, 600, 900]));
    assert_eq!(events[0].0, Duration::from_millis(1900));
}

#[test]
fn success_stops_retransmission_and_reports_rtt() {
    let mut m = RequestManager::new(RetransmitConfig::rfc8489());
    let start = Instant::now();
    let tid = m
        .send(start, &request(1), server(), Transport::Udp, None)
        .unwrap();
    assert!(m.poll_transmit().is_some());
    let resp = response(1, Class::SuccessResponse, None);
    let at = start + Duration::from_millis(30);
    assert!(m.handle_response(at, &Message::parse(&resp).unwrap()));
    match m.poll_event().unwrap() {
        RequestEvent::Success {
            transaction_id,
            rtt,
            response,
            ..
        } => {
            assert_eq!(transaction_id, tid);
            assert_eq!(rtt, Some(Duration::from_millis(30)));
            let r = Message::parse(&response).unwrap();
            assert_eq!(
                r.get::<XorMappedAddress>().unwrap().unwrap().0,
                "192.0.2.7:4000".parse().unwrap()
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(m.poll_timeout(), None);
    assert!(m.poll_transmit().is_none());
}

#[test]
fn rtt_is_withheld_after_a_retransmission() {
    let mut m = RequestManager::new(RetransmitConfig::rfc8489());
    let start = Instant::now();
    m.send(start, &request(1), server(), Transport::Udp, None)
        .unwrap();
    m.handle_timeout(start + Duration::from_millis(500));
    let resp = response(1, Class::SuccessResponse, None);
    assert!(m.handle_response(
        start + Duration::from_millis(600),
        &Message::parse(&resp).unwrap()
    ));
    assert!(matches!(
        m.poll_event(),
        Some(RequestEvent::Success { rtt: None, .. })
    ));
}

#[test]
fn late_and_duplicate_responses_are_ignored() {
    let mut m = RequestManager::new(RetransmitConfig::rfc8489());
    let start = Instant::now();
    m.send(start, &request(1), server(), Transport::Udp, None)
        .unwrap();
    let resp = response(1, Class::SuccessResponse, None);
    let msg = Message::parse(&resp).unwrap();
    assert!(m.handle_response(start, &msg));
    assert!(!m.handle_response(start, &msg), "duplicate");
    assert_eq!(m.poll_event().into_iter().count(), 1);
    assert!(m.poll_event().is_none());

    // A response after the timeout completes nothing.
    m.send(start, &request(2), server(), Transport::Udp, None)
        .unwrap();
    let (_, events) = run_to_idle(&mut m, start);
    assert!(matches!(events[0].1, RequestEvent::Timeout { .. }));
    let late = response(2, Class::SuccessResponse, None);
    assert!(!m.handle_response(
        start + Duration::from_secs(60),
        &Message::parse(&late).unwrap()
    ));
    assert!(m.poll_event().is_none());

    // Requests (not responses) and unknown transaction ids are ignored.
    m.send(start, &request(3), server(), Transport::Udp, None)
        .unwrap();
    assert!(!m.handle_response(start, &Message::parse(&request(3)).unwrap()));
    assert!(!m.handle_response(
        start,
        &Message::parse(&response(4, Class::SuccessResponse, None)).unwrap()
    ));
}

#[test]
fn responses_failing_integrity_are_ignored() {
    let key = IntegrityKey::short_term("the-right-password-1234").unwrap();
    let wrong = IntegrityKey::short_term("the-wrong-password-1234").unwrap();
    let mut m = RequestManager::new(RetransmitConfig::rfc8489());
    let start = Instant::now();
    let tid = m
        .send(
            start,
            &request(1),
            server(),
            Transport::Udp,
            Some(key.clone()),
        )
        .unwrap();
    // Wrong key, no integrity at all, bad fingerprint: all ignored, the request keeps waiting.
    for r in [
        response(1, Class::SuccessResponse, Some(&wrong)),
        response(1, Class::SuccessResponse, None),
    ] {
        assert!(!m.handle_response(start, &Message::parse(&r).unwrap()));
    }
    let mut bad_fp = response(1, Class::SuccessResponse, Some(&key));
    let last = bad_fp.len() - 1;
    bad_fp[last] ^= 0xff;
    assert!(!m.handle_response(start, &Message::parse(&bad_fp).unwrap()));
    // An unauthenticated error response is not accepted by default either.
    assert!(!m.handle_response(
        start,
        &Message::parse(&response(1, Class::ErrorResponse, None)).unwrap()
    ));
    assert!(m.poll_event().is_none());
    assert!(m.is_outstanding(&tid));
    // The right key completes it.
    let good = response(1, Class::SuccessResponse, Some(&key));
    assert!(m.handle_response(start, &Message::parse(&good).unwrap()));
    assert!(matches!(m.poll_event(), Some(RequestEvent::Success { .. })));
}

#[test]
fn error_responses_carry_the_code() {
    let key = IntegrityKey::short_term("pw-pw-pw-pw-pw-pw-pw-pw").unwrap();
    let mut m = RequestManager::new(RetransmitConfig::rfc8489());
    let start = Instant::now();
    m.send(
        start,
        &request(1),
        server(),
        Transport::Udp,
        Some(key.clone()),
    )
    .unwrap();
    let r = response(1, Class::ErrorResponse, Some(&key));
    assert!(m.handle_response(start, &Message::parse(&r).unwrap()));
    assert!(matches!(
        m.poll_event(),
        Some(RequestEvent::Error { code: 487, .. })
    ));

    // Opting in to unauthenticated error codes (long-term credential flows).
    m.set_unauthenticated_error_codes(&[487]);
    m.send(start, &request(2), server(), Transport::Udp, Some(key))
        .unwrap();
    let r = response(2, Class::ErrorResponse, None);
    assert!(m.handle_response(start, &Message::parse(&r).unwrap()));
    assert!(matches!(
        m.poll_event(),
        Some(RequestEvent::Error { code: 487, .. })
    ));
}

#[test]
fn cancel_and_bounds() {
    let mut config = RetransmitConfig::rfc8489();
    config.max_outstanding = 2;
    let mut m = RequestManager::new(config);
    let start = Instant::now();
    let a = m
        .send(start, &request(1), server(), Transport::Udp, None)
        .unwrap();
    m.send(start, &request(2), server(), Transport::Udp, None)
        .unwrap();
    assert_eq!(
        m.send(start, &request(3), server(), Transport::Udp, None),
        Err(Error::TooManyOutstanding(2))
    );
    assert_eq!(
        m.send(start, &request(2), server(), Transport::Udp, None),
        Err(Error::DuplicateTransaction)
    );
    assert!(m.cancel(&a));
    assert!(!m.cancel(&a));
    // The cancelled request's queued transmission is gone too.
    let queued: Vec<_> = std::iter::from_fn(|| m.poll_transmit()).collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].transaction_id, TransactionId([2; 12]));
    // Only requests are accepted.
    let resp = response(9, Class::SuccessResponse, None);
    assert_eq!(
        m.send(start, &resp, server(), Transport::Udp, None),
        Err(Error::NotARequest)
    );
    assert!(matches!(
        m.send(start, &[1, 2, 3], server(), Transport::Udp, None),
        Err(Error::TooShort(3))
    ));
    let (_, events) = run_to_idle(&mut m, start);
    assert_eq!(events.len(), 1, "the cancelled request produces no event");
}

#[test]
fn many_requests_time_out_in_a_deterministic_order() {
    let mut m = RequestManager::new(RetransmitConfig::rfc8489());
    let start = Instant::now();
    for i in 0..50u8 {
        m.send(start, &request(i), server(), Transport::Udp, None)
            .unwrap();
    }
    let (sends, events) = run_to_idle(&mut m, start);
    assert_eq!(sends.len(), 50 * 7);
    let tids: Vec<_> = events
        .iter()
        .map(|(_, e)| match e {
            RequestEvent::Timeout { transaction_id, .. } => *transaction_id,
            other => panic!("{other:?}"),
        })
        .collect();
    let mut sorted = tids.clone();
    sorted.sort();
    assert_eq!(tids, sorted);
}
