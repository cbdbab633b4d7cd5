//! SDP: parse and write of a three-section Chromium offer (audio, video, data; 156's real
//! capture with candidates), ours side by side with `sdp-types` alone and webrtc-rs's `sdp`
//! crate; and our factories' `create_offer` / `create_answer` latency.
//!
//! ```sh
//! cargo bench -p peerstack-benches --bench sdp -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Setup checks that all three parsers read the offer (same number of media sections and
//! attributes seen) and that every writer's output parses again, so no competitor is timed
//! doing less work.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, criterion_main, Criterion};
use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
use sdp::factory::{
    MediaDescriptionOptions, MediaSessionDescriptionFactory, MediaSessionOptions, SenderOptions,
    TransportDescriptionFactory,
};

const CHROMIUM_OFFER: &str =
    include_str!("../../crates/sdp/tests/corpus/chromium/offer-audio-video-data.sdp");

fn webrtc_parse(text: &str) -> webrtc_sdp::description::session::SessionDescription {
    webrtc_sdp::description::session::SessionDescription::unmarshal(&mut Cursor::new(
        text.as_bytes(),
    ))
    .expect("webrtc-rs sdp parses the Chromium offer")
}

fn check_setup() {
    let ours = sdp::parse(CHROMIUM_OFFER).unwrap();
    let st = sdp_types::Session::parse(CHROMIUM_OFFER.as_bytes()).unwrap();
    let wr = webrtc_parse(CHROMIUM_OFFER);
    assert_eq!(ours.contents.len(), 3);
    assert_eq!(st.medias.len(), 3);
    assert_eq!(wr.media_descriptions.len(), 3);
    // Every a= line of a section is seen by each parser (ours keeps them typed).
    for (i, m) in st.medias.iter().enumerate() {
        assert_eq!(
            m.attributes.len(),
            wr.media_descriptions[i].attributes.len()
        );
    }
    assert_eq!(
        sdp::write(&ours),
        CHROMIUM_OFFER,
        "ours is byte-exact on Chromium's SDP"
    );
    let mut out = Vec::new();
    st.write(&mut out).unwrap();
    sdp_types::Session::parse(&out).unwrap();
    webrtc_parse(&wr.marshal());
}

fn factory() -> MediaSessionDescriptionFactory {
    let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
    MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
        cert.fingerprint(HashAlgorithm::Sha256),
    ))
}

fn av_data_options() -> MediaSessionOptions {
    MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0").with_sender(SenderOptions::new("mic", &["s"])),
        MediaDescriptionOptions::video("1").with_sender(SenderOptions::new("cam", &["s"])),
        MediaDescriptionOptions::data("2"),
    ])
}

fn parse(c: &mut Criterion) {
    check_setup();
    let mut g = c.benchmark_group("sdp_parse_chromium_offer");
    g.throughput(criterion::Throughput::Bytes(CHROMIUM_OFFER.len() as u64));
    g.bench_function("ours", |b| {
        b.iter(|| sdp::parse(black_box(CHROMIUM_OFFER)).unwrap())
    });
    g.bench_function("sdp-types", |b| {
        b.iter(|| sdp_types::Session::parse(black_box(CHROMIUM_OFFER.as_bytes())).unwrap())
    });
    g.bench_function("webrtc-sdp", |b| {
        b.iter(|| webrtc_parse(black_box(CHROMIUM_OFFER)))
    });
    g.finish();
}

fn write(c: &mut Criterion) {
    let ours = sdp::parse(CHROMIUM_OFFER).unwrap();
    let st = sdp_types::Session::parse(CHROMIUM_OFFER.as_bytes()).unwrap();
    let wr = webrtc_parse(CHROMIUM_OFFER);
    let mut g = c.benchmark_group("sdp_write_chromium_offer");
    g.throughput(criterion::Throughput::Bytes(CHROMIUM_OFFER.len() as u64));
    // Each writes into a fresh String/Vec: what sending a description costs.
    g.bench_function("ours", |b| b.iter(|| sdp::write(black_box(&ours))));
    g.bench_function("sdp-types", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(CHROMIUM_OFFER.len());
            black_box(&st).write(&mut out).unwrap();
            out
        })
    });
    g.bench_function("webrtc-sdp", |b| b.iter(|| black_box(&wr).marshal()));
    g.finish();
}

fn factories(c: &mut Criterion) {
    let f = factory();
    let options = av_data_options();
    let chromium = sdp::parse(CHROMIUM_OFFER).unwrap();
    let mut g = c.benchmark_group("sdp_factory");
    g.bench_function("create_offer_audio_video_data", |b| {
        b.iter(|| f.create_offer(black_box(&options), None).unwrap())
    });
    g.bench_function("create_answer_to_chromium_offer", |b| {
        b.iter(|| {
            f.create_answer(black_box(&chromium), &options, None)
                .unwrap()
        })
    });
    g.bench_function("create_offer_then_write", |b| {
        b.iter(|| sdp::write(&f.create_offer(black_box(&options), None).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, parse, write, factories);
criterion_main!(benches);
