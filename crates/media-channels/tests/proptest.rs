//! Property tests for the RTP and RTCP wire code.
//!
//! - Round trips: arbitrary RTP packets (CSRCs, one-byte and two-byte header
//!   extensions, padding) and every RTCP packet type, built with our builders
//!   and parsed back, give the fields that went in; so do the typed header
//!   extension values and whole compound packets.
//! - Sequence and timestamp unwrapping recovers the true extended values of
//!   any walk that moves less than half the range per step.
//! - Arbitrary bytes, and valid packets with bytes flipped or cut, never make
//!   a parser or any accessor or iterator panic.

use std::collections::BTreeSet;

use media_channels::rtcp::{
    AppBuilder, ByeBuilder, Compound, CompoundWriter, FirBuilder, FirEntry, NackBuilder, Pli,
    ReceiverReportBuilder, RembBuilder, ReportBlock, RtcpPacket, RtcpWrite, SdesBuilder,
    SdesChunkBuilder, SdesItem, SdesType, SenderReportBuilder, TransportCcBuilder, TwccRecord,
};
use media_channels::rtp::extensions::{
    AbsSendTime, AudioLevel, ExtensionValue, Mid, PlayoutDelay, RepairedRtpStreamId, Rotation,
    RtpStreamId, TransportSequenceNumber, VideoOrientation,
};
use media_channels::rtp::sequence::{SequenceUnwrapper, TimestampUnwrapper};
use media_channels::rtp::stats::NtpTime;
use media_channels::rtp::{ExtensionElement, ExtensionForm, RtpBuilder, RtpPacket};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Failures print their minimal input; keep the source tree clean.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Walking every accessor: what the no-panic properties (and the fuzz targets)
// exercise.

fn walk_rtp(p: &RtpPacket<'_>) -> usize {
    let mut n = p.payload().len() + p.padding_len() + p.header_len();
    n += usize::from(p.marker()) + usize::from(p.payload_type()) + usize::from(p.version());
    n += p.sequence_number() as usize + p.timestamp() as usize + p.ssrc() as usize;
    n += p.csrcs().count();
    n += p.extension_profile().map_or(0, usize::from);
    n += p.extension_data().map_or(0, <[u8]>::len);
    for e in p.extensions() {
        n += usize::from(e.id) + e.data.len();
        n += p.extension(e.id).map_or(0, <[u8]>::len);
        n += usize::from(Mid::parse(e.data).is_ok());
        n += usize::from(AbsSendTime::parse(e.data).is_ok());
        n += usize::from(AudioLevel::parse(e.data).is_ok());
        n += usize::from(VideoOrientation::parse(e.data).is_ok());
        n += usize::from(PlayoutDelay::parse(e.data).is_ok());
        n += usize::from(TransportSequenceNumber::parse(e.data).is_ok());
    }
    n += format!("{p:?}").len();
    n
}

fn walk_rtcp_packet(p: &RtcpPacket<'_>) -> usize {
    let mut n = usize::from(p.packet_type());
    match p {
        RtcpPacket::SenderReport(sr) => {
            n += sr.ssrc() as usize + sr.ntp_time().0 as usize + sr.rtp_time() as usize;
            n += sr.packet_count() as usize + sr.octet_count() as usize;
            n += sr.report_blocks().map(|b| b.jitter as usize).sum::<usize>();
            n += sr.extension().len();
        }
        RtcpPacket::ReceiverReport(rr) => {
            n += rr.ssrc() as usize + rr.report_blocks().count() + rr.extension().len();
        }
        RtcpPacket::Sdes(sdes) => {
            for chunk in sdes.chunks() {
                n += chunk.ssrc as usize + chunk.cname().map_or(0, <[u8]>::len);
                n += chunk.items().map(|i| i.value.len()).sum::<usize>();
            }
        }
        RtcpPacket::Bye(bye) => {
            n += bye.ssrcs().count() + bye.reason().map_or(0, <[u8]>::len);
            n += bye.reason_str().map_or(0, str::len);
        }
        RtcpPacket::App(app) => {
            n += usize::from(app.subtype()) + app.ssrc() as usize + app.data().len();
            n += usize::from(app.name()[0]);
        }
        RtcpPacket::Nack(nack) => {
            n += nack.sender_ssrc() as usize + nack.media_ssrc() as usize;
            n += nack.pairs().count() + nack.lost().count();
        }
        RtcpPacket::Pli(pli) => n += pli.media_ssrc as usize,
        RtcpPacket::Fir(fir) => {
            n += fir.sender_ssrc() as usize + fir.media_ssrc() as usize + fir.entries().count()
        }
        RtcpPacket::Remb(remb) => {
            n += remb.bitrate_bps() as usize + remb.ssrcs().count() + remb.sender_ssrc() as usize;
            n += remb.media_ssrc() as usize;
        }
        RtcpPacket::TransportCc(fb) => {
            n += fb.sender_ssrc() as usize + fb.media_ssrc() as usize;
            n += usize::from(fb.base_sequence()) + usize::from(fb.status_count());
            n += fb.reference_time() as usize + usize::from(fb.fb_pkt_count());
            n += fb.packets().filter(|r| r.delta.is_some()).count();
        }
        RtcpPacket::Unknown { body, .. } => n += body.len(),
        _ => {}
    }
    n + format!("{p:?}").len()
}

fn walk_rtcp(c: &Compound<'_>) -> usize {
    let mut n = c.len() + usize::from(c.is_reduced_size()) + c.raw_packets().count();
    for p in c.packets() {
        match p {
            Ok(p) => n += walk_rtcp_packet(&p),
            Err(e) => n += usize::from(e.is_peer_fault()),
        }
    }
    n + format!("{c:?}").len()
}

// ---------------------------------------------------------------------------
// RTP

#[derive(Debug, Clone)]
struct RtpSpec {
    marker: bool,
    payload_type: u8,
    sequence_number: u16,
    timestamp: u32,
    ssrc: u32,
    csrcs: Vec<u32>,
    extensions: Vec<(u8, Vec<u8>)>,
    padding: u8,
    payload: Vec<u8>,
}

/// Extensions with distinct ids: small enough for the one-byte form, or not.
fn extensions() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    prop_oneof![
        btree_map(1u8..=14, vec(any::<u8>(), 1..=16), 0..6),
        btree_map(1u8..=255, vec(any::<u8>(), 0..=40), 0..6),
    ]
    .prop_map(|m| m.into_iter().collect())
    .prop_shuffle()
}

fn rtp_spec() -> impl Strategy<Value = RtpSpec> {
    (
        any::<bool>(),
        0u8..128,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        vec(any::<u32>(), 0..=15),
        extensions(),
        prop_oneof![Just(0u8), any::<u8>()],
        vec(any::<u8>(), 0..200),
    )
        .prop_map(
            |(
                marker,
                payload_type,
                sequence_number,
                timestamp,
                ssrc,
                csrcs,
                extensions,
                padding,
                payload,
            )| {
                RtpSpec {
                    marker,
                    payload_type,
                    sequence_number,
                    timestamp,
                    ssrc,
                    csrcs,
                    extensions,
                    padding,
                    payload,
                }
            },
        )
}

fn build_rtp(spec: &RtpSpec) -> Vec<u8> {
    let elements: Vec<ExtensionElement<'_>> = spec
        .extensions
        .iter()
        .map(|(id, data)| ExtensionElement::new(*id, data))
        .collect();
    let b = RtpBuilder {
        marker: spec.marker,
        payload_type: spec.payload_type,
        sequence_number: spec.sequence_number,
        timestamp: spec.timestamp,
        ssrc: spec.ssrc,
        csrcs: &spec.csrcs,
        extensions: &elements,
        extension_form: None,
        padding: spec.padding,
    };
    let mut buf = vec![0u8; b.encoded_len(spec.payload.len()).unwrap()];
    let n = b.write(&mut buf, &spec.payload).unwrap();
    assert_eq!(n, buf.len());
    buf
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn rtp_round_trip(spec in rtp_spec()) {
        let bytes = build_rtp(&spec);
        let p = RtpPacket::parse(&bytes).unwrap();
        prop_assert_eq!(p.marker(), spec.marker);
        prop_assert_eq!(p.payload_type(), spec.payload_type);
        prop_assert_eq!(p.sequence_number(), spec.sequence_number);
        prop_assert_eq!(p.timestamp(), spec.timestamp);
        prop_assert_eq!(p.ssrc(), spec.ssrc);
        prop_assert_eq!(p.csrcs().collect::<Vec<_>>(), spec.csrcs.clone());
        prop_assert_eq!(p.payload(), &spec.payload[..]);
        prop_assert_eq!(p.padding_len(), usize::from(spec.padding));
        let got: Vec<(u8, Vec<u8>)> = p.extensions().map(|e| (e.id, e.data.to_vec())).collect();
        prop_assert_eq!(&got, &spec.extensions);
        for (id, data) in &spec.extensions {
            prop_assert_eq!(p.extension(*id), Some(&data[..]));
        }
        let one_byte = spec.extensions.iter().all(|(id, d)| *id <= 14 && (1..=16).contains(&d.len()));
        let form = (!spec.extensions.is_empty())
            .then_some(if one_byte { ExtensionForm::OneByte } else { ExtensionForm::TwoByte });
        prop_assert_eq!(p.extension_form(), form);
        walk_rtp(&p);
    }

    #[test]
    fn rtp_forced_two_byte_form(spec in rtp_spec()) {
        let elements: Vec<_> = spec.extensions.iter().map(|(id, d)| ExtensionElement::new(*id, d)).collect();
        let b = RtpBuilder {
            extensions: &elements,
            extension_form: Some(ExtensionForm::TwoByte),
            ..RtpBuilder::new(spec.payload_type, spec.sequence_number, spec.timestamp, spec.ssrc)
        };
        let mut buf = vec![0u8; 2048];
        let n = b.write(&mut buf, &spec.payload).unwrap();
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        if !elements.is_empty() {
            prop_assert_eq!(p.extension_form(), Some(ExtensionForm::TwoByte));
        }
        prop_assert_eq!(p.extensions().count(), elements.len());
    }

    #[test]
    fn rtp_short_buffers_are_caller_errors(spec in rtp_spec(), cut in 1usize..64) {
        let bytes = build_rtp(&spec);
        let elements: Vec<_> = spec.extensions.iter().map(|(id, d)| ExtensionElement::new(*id, d)).collect();
        let b = RtpBuilder {
            csrcs: &spec.csrcs,
            extensions: &elements,
            padding: spec.padding,
            ..RtpBuilder::new(spec.payload_type, spec.sequence_number, spec.timestamp, spec.ssrc)
        };
        let mut short = vec![0u8; bytes.len().saturating_sub(cut)];
        let err = b.write(&mut short, &spec.payload).unwrap_err();
        prop_assert!(!err.is_peer_fault());
    }

    #[test]
    fn typed_extensions_round_trip(
        text in "[A-Za-z0-9_-]{1,32}",
        abs in 0u32..(1 << 24),
        seq in any::<u16>(),
        voice in any::<bool>(),
        level in 0u8..128,
        cvo in 0u8..16,
        min in 0u16..4096,
        extra in 0u16..4096,
    ) {
        let mut buf = [0u8; 64];
        let n = Mid(&text).write(&mut buf).unwrap();
        prop_assert_eq!(Mid::parse(&buf[..n]).unwrap(), Mid(&text));
        let n = RtpStreamId(&text).write(&mut buf).unwrap();
        prop_assert_eq!(RtpStreamId::parse(&buf[..n]).unwrap(), RtpStreamId(&text));
        let n = RepairedRtpStreamId(&text).write(&mut buf).unwrap();
        prop_assert_eq!(RepairedRtpStreamId::parse(&buf[..n]).unwrap(), RepairedRtpStreamId(&text));
        let n = AbsSendTime(abs).write(&mut buf).unwrap();
        prop_assert_eq!(AbsSendTime::parse(&buf[..n]).unwrap(), AbsSendTime(abs));
        prop_assert_eq!(AbsSendTime::from_duration(AbsSendTime(abs).to_duration()), AbsSendTime(abs));
        let n = TransportSequenceNumber(seq).write(&mut buf).unwrap();
        prop_assert_eq!(TransportSequenceNumber::parse(&buf[..n]).unwrap(), TransportSequenceNumber(seq));
        let al = AudioLevel { voice_activity: voice, level };
        let n = al.write(&mut buf).unwrap();
        prop_assert_eq!(AudioLevel::parse(&buf[..n]).unwrap(), al);
        let v = VideoOrientation::parse(&[cvo]).unwrap();
        let n = v.write(&mut buf).unwrap();
        prop_assert_eq!(&buf[..n], &[cvo][..]);
        prop_assert!(matches!(v.rotation, Rotation::Deg0 | Rotation::Deg90 | Rotation::Deg180 | Rotation::Deg270));
        let d = PlayoutDelay { min, max: (min + extra).min(4095) };
        let n = d.write(&mut buf).unwrap();
        prop_assert_eq!(PlayoutDelay::parse(&buf[..n]).unwrap(), d);
    }

    #[test]
    fn abs_send_time_from_ntp_matches_from_duration(secs in 0u64..(1 << 31), nanos in 0u32..1_000_000_000) {
        let d = std::time::Duration::new(secs, nanos);
        let from_ntp = AbsSendTime::from_ntp(NtpTime::from_unix(d));
        // NTP seconds are offset by 2 208 988 800 = 34 514 200 × 64: same phase mod 64 s.
        let from_d = AbsSendTime::from_duration(d);
        let diff = from_ntp.0.wrapping_sub(from_d.0) & 0xFF_FFFF;
        prop_assert!(diff <= 1 || diff == 0xFF_FFFF, "{:?} vs {:?}", from_ntp, from_d);
    }

    #[test]
    fn sequence_unwrapping_recovers_the_walk(start in any::<u16>(), steps in vec(-2000i64..3000, 1..400)) {
        let mut u = SequenceUnwrapper::new();
        let mut highest = i64::from(start);
        prop_assert_eq!(u.unwrap(start), Some(u64::from(start)));
        for step in steps {
            let value = highest + step;
            let got = u.unwrap_signed(value as u16);
            prop_assert_eq!(got, value);
            highest = highest.max(value);
            prop_assert_eq!(u.highest(), Some(highest));
        }
    }

    #[test]
    fn timestamp_unwrapping_recovers_the_walk(start in any::<u32>(), steps in vec(-(1i64 << 30)..(1i64 << 31), 1..200)) {
        let mut u = TimestampUnwrapper::new();
        let mut highest = i64::from(start);
        u.unwrap_signed(start);
        for step in steps {
            let value = highest + step;
            prop_assert_eq!(u.unwrap_signed(value as u32), value);
            highest = highest.max(value);
        }
    }
}

// ---------------------------------------------------------------------------
// RTCP

fn report_block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..=0x7F_FFFF,
        any::<(u32, u32, u32, u32)>(),
    )
        .prop_map(
            |(ssrc, fraction_lost, cumulative_lost, (ehs, jitter, lsr, dlsr))| ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_seq: ehs,
                jitter,
                last_sr: lsr,
                delay_since_last_sr: dlsr,
            },
        )
}

fn words() -> impl Strategy<Value = Vec<u8>> {
    (0usize..4).prop_flat_map(|n| vec(any::<u8>(), 4 * n))
}

/// Records for a transport-cc builder: a base and statuses, some records
/// dropped (gaps read back as lost), the first and last kept.
fn twcc_records() -> impl Strategy<Value = (Vec<TwccRecord>, Vec<TwccRecord>)> {
    let status = prop_oneof![
        3 => (0i16..=255).prop_map(Some),
        1 => any::<i16>().prop_map(Some),
        2 => Just(None),
    ];
    let runs = vec((status, 1usize..40), 1..20);
    (any::<u16>(), runs, any::<u64>()).prop_map(|(base, runs, drop_mask)| {
        let all: Vec<TwccRecord> = runs
            .into_iter()
            .flat_map(|(s, n)| std::iter::repeat_n(s, n))
            .enumerate()
            .map(|(i, delta)| TwccRecord {
                seq: base.wrapping_add(i as u16),
                delta,
            })
            .collect();
        let last = all.len() - 1;
        let given = all
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                *i == 0 || *i == last || r.delta.is_some() || drop_mask & (1 << (i % 64)) == 0
            })
            .map(|(_, r)| *r)
            .collect();
        (given, all)
    })
}

fn write_one<W: RtcpWrite>(w: &W) -> Vec<u8> {
    let mut buf = vec![0u8; w.encoded_len()];
    let n = w.write(&mut buf).unwrap();
    assert_eq!(n, buf.len(), "encoded_len matches what write wrote");
    assert_eq!(n % 4, 0);
    buf
}

fn parse_one(bytes: &[u8]) -> RtcpPacket<'_> {
    RtcpPacket::parse(bytes).unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sender_report_round_trip(
        ssrc in any::<u32>(), ntp in any::<u64>(), rtp in any::<u32>(), pc in any::<u32>(), oc in any::<u32>(),
        blocks in vec(report_block(), 0..=31), ext in words(),
    ) {
        let b = SenderReportBuilder {
            ssrc, ntp_time: NtpTime(ntp), rtp_time: rtp, packet_count: pc, octet_count: oc,
            report_blocks: &blocks, extension: &ext,
        };
        let bytes = write_one(&b);
        let RtcpPacket::SenderReport(sr) = parse_one(&bytes) else { panic!("not SR") };
        prop_assert_eq!(sr.ssrc(), ssrc);
        prop_assert_eq!(sr.ntp_time(), NtpTime(ntp));
        prop_assert_eq!(sr.rtp_time(), rtp);
        prop_assert_eq!(sr.packet_count(), pc);
        prop_assert_eq!(sr.octet_count(), oc);
        prop_assert_eq!(sr.report_blocks().collect::<Vec<_>>(), blocks);
        prop_assert_eq!(sr.extension(), &ext[..]);
    }

    #[test]
    fn receiver_report_round_trip(ssrc in any::<u32>(), blocks in vec(report_block(), 0..=31), ext in words()) {
        let bytes = write_one(&ReceiverReportBuilder { ssrc, report_blocks: &blocks, extension: &ext });
        let RtcpPacket::ReceiverReport(rr) = parse_one(&bytes) else { panic!("not RR") };
        prop_assert_eq!(rr.ssrc(), ssrc);
        prop_assert_eq!(rr.report_blocks().collect::<Vec<_>>(), blocks);
        prop_assert_eq!(rr.extension(), &ext[..]);
    }

    #[test]
    fn sdes_round_trip(chunks in vec((any::<u32>(), vec((1u8..=255, vec(any::<u8>(), 0..=40)), 0..4)), 0..6)) {
        let items: Vec<Vec<SdesItem<'_>>> = chunks
            .iter()
            .map(|(_, items)| items.iter().map(|(k, v)| SdesItem::new(SdesType(*k), v)).collect())
            .collect();
        let specs: Vec<SdesChunkBuilder<'_>> = chunks
            .iter()
            .zip(&items)
            .map(|((ssrc, _), items)| SdesChunkBuilder { ssrc: *ssrc, items })
            .collect();
        let bytes = write_one(&SdesBuilder { chunks: &specs });
        let RtcpPacket::Sdes(sdes) = parse_one(&bytes) else { panic!("not SDES") };
        prop_assert_eq!(usize::from(sdes.chunk_count()), chunks.len());
        let got: Vec<_> = sdes.chunks().collect();
        prop_assert_eq!(got.len(), chunks.len());
        for (chunk, ((ssrc, _), want)) in got.iter().zip(chunks.iter().zip(&items)) {
            prop_assert_eq!(chunk.ssrc, *ssrc);
            prop_assert_eq!(&chunk.items().collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn bye_round_trip(ssrcs in vec(any::<u32>(), 0..=31), reason in proptest::option::of(vec(any::<u8>(), 0..=255))) {
        let bytes = write_one(&ByeBuilder { ssrcs: &ssrcs, reason: reason.as_deref() });
        let RtcpPacket::Bye(bye) = parse_one(&bytes) else { panic!("not BYE") };
        prop_assert_eq!(bye.ssrcs().collect::<Vec<_>>(), ssrcs);
        prop_assert_eq!(bye.reason(), reason.as_deref().filter(|r| !r.is_empty()));
    }

    #[test]
    fn app_round_trip(subtype in 0u8..32, ssrc in any::<u32>(), name in any::<[u8; 4]>(), data in words()) {
        let bytes = write_one(&AppBuilder { subtype, ssrc, name, data: &data });
        let RtcpPacket::App(app) = parse_one(&bytes) else { panic!("not APP") };
        prop_assert_eq!(app.subtype(), subtype);
        prop_assert_eq!(app.ssrc(), ssrc);
        prop_assert_eq!(app.name(), name);
        prop_assert_eq!(app.data(), &data[..]);
    }

    #[test]
    fn nack_round_trip(sender in any::<u32>(), media in any::<u32>(), base in any::<u16>(), offsets in vec(0u16..2000, 1..100), sort in any::<bool>()) {
        let mut lost: Vec<u16> = offsets.iter().map(|o| base.wrapping_add(*o)).collect();
        if sort {
            lost.sort_by_key(|s| s.wrapping_sub(base));
        }
        let b = NackBuilder { sender_ssrc: sender, media_ssrc: media, lost: &lost };
        let bytes = write_one(&b);
        let RtcpPacket::Nack(nack) = parse_one(&bytes) else { panic!("not NACK") };
        prop_assert_eq!(nack.sender_ssrc(), sender);
        prop_assert_eq!(nack.media_ssrc(), media);
        let want: BTreeSet<u16> = lost.iter().copied().collect();
        let got: BTreeSet<u16> = nack.lost().collect();
        prop_assert_eq!(&got, &want);
        if sort {
            // Ascending input: the expansion comes back in the same order, deduplicated.
            let mut dedup = lost.clone();
            dedup.dedup();
            prop_assert_eq!(nack.lost().collect::<Vec<_>>(), dedup);
        }
    }

    #[test]
    fn pli_fir_round_trip(sender in any::<u32>(), media in any::<u32>(), entries in vec(any::<(u32, u8)>(), 1..20)) {
        let pli = Pli { sender_ssrc: sender, media_ssrc: media };
        let bytes = write_one(&pli);
        prop_assert!(matches!(parse_one(&bytes), RtcpPacket::Pli(p) if p == pli));
        let entries: Vec<FirEntry> = entries.into_iter().map(|(ssrc, seq_nr)| FirEntry { ssrc, seq_nr }).collect();
        let bytes = write_one(&FirBuilder { sender_ssrc: sender, media_ssrc: media, entries: &entries });
        let RtcpPacket::Fir(fir) = parse_one(&bytes) else { panic!("not FIR") };
        prop_assert_eq!(fir.sender_ssrc(), sender);
        prop_assert_eq!(fir.media_ssrc(), media);
        prop_assert_eq!(fir.entries().collect::<Vec<_>>(), entries);
    }

    #[test]
    fn remb_round_trip(sender in any::<u32>(), bitrate in any::<u64>(), small in 0u64..(1 << 18), ssrcs in vec(any::<u32>(), 0..20)) {
        for bitrate in [bitrate, small] {
            let bytes = write_one(&RembBuilder { sender_ssrc: sender, bitrate_bps: bitrate, ssrcs: &ssrcs });
            let RtcpPacket::Remb(remb) = parse_one(&bytes) else { panic!("not REMB") };
            let (e, m) = RembBuilder::exponent_mantissa(bitrate);
            prop_assert_eq!(remb.bitrate_bps(), u64::from(m) << e);
            // Rounded down by less than one unit of the exponent.
            prop_assert!(bitrate - remb.bitrate_bps() < 1 << e);
            prop_assert_eq!(remb.sender_ssrc(), sender);
            prop_assert_eq!(remb.ssrcs().collect::<Vec<_>>(), ssrcs.clone());
        }
        // Below 2^18 it is exact.
        let (e, _) = RembBuilder::exponent_mantissa(small);
        prop_assert_eq!(e, 0);
    }

    #[test]
    fn transport_cc_round_trip(
        sender in any::<u32>(), media in any::<u32>(), reference in 0u32..(1 << 24), fb in any::<u8>(),
        (given, all) in twcc_records(),
    ) {
        let b = TransportCcBuilder { sender_ssrc: sender, media_ssrc: media, reference_time: reference, fb_pkt_count: fb, packets: &given };
        let bytes = write_one(&b);
        let RtcpPacket::TransportCc(tcc) = parse_one(&bytes) else { panic!("not TWCC") };
        prop_assert_eq!(tcc.sender_ssrc(), sender);
        prop_assert_eq!(tcc.media_ssrc(), media);
        prop_assert_eq!(tcc.reference_time(), reference);
        prop_assert_eq!(tcc.fb_pkt_count(), fb);
        prop_assert_eq!(tcc.base_sequence(), all[0].seq);
        prop_assert_eq!(usize::from(tcc.status_count()), all.len());
        prop_assert_eq!(tcc.packets().collect::<Vec<_>>(), all);
    }

    #[test]
    fn compound_round_trip(kinds in vec(0u8..6, 1..8), ssrc in any::<u32>(), blocks in vec(report_block(), 0..3)) {
        let mut buf = vec![0u8; 4096];
        let mut w = CompoundWriter::new(&mut buf);
        let lost = [1u16, 2, 40];
        let items = [SdesItem::cname("cname")];
        let chunks = [SdesChunkBuilder { ssrc, items: &items }];
        let twcc = [TwccRecord::received(7, 1), TwccRecord::received(9, 300)];
        for k in &kinds {
            match k {
                0 => w.push(&ReceiverReportBuilder { ssrc, report_blocks: &blocks, extension: &[] }),
                1 => w.push(&SdesBuilder { chunks: &chunks }),
                2 => w.push(&NackBuilder { sender_ssrc: ssrc, media_ssrc: 1, lost: &lost }),
                3 => w.push(&Pli { sender_ssrc: ssrc, media_ssrc: 2 }),
                4 => w.push(&TransportCcBuilder { sender_ssrc: ssrc, packets: &twcc, ..Default::default() }),
                _ => w.push(&ByeBuilder { ssrcs: &[ssrc], reason: Some(b"done") }),
            }
            .unwrap();
        }
        let n = w.finish();
        let c = Compound::parse(&buf[..n]).unwrap();
        prop_assert_eq!(c.is_reduced_size(), kinds[0] != 0);
        let types: Vec<u8> = c.packets().map(|p| p.unwrap().packet_type()).collect();
        let want: Vec<u8> = kinds.iter().map(|k| [201, 202, 205, 206, 205, 203][usize::from(*k)]).collect();
        prop_assert_eq!(types, want);
        walk_rtcp(&c);
    }
}

// ---------------------------------------------------------------------------
// Nothing panics.

/// A valid RTP or RTCP packet to start mutating from.
fn seed_packets() -> Vec<Vec<u8>> {
    let spec = RtpSpec {
        marker: true,
        payload_type: 96,
        sequence_number: 1,
        timestamp: 2,
        ssrc: 3,
        csrcs: vec![4, 5],
        extensions: vec![(1, b"mid".to_vec()), (3, vec![1, 2, 3])],
        padding: 4,
        payload: b"payload".to_vec(),
    };
    let two_byte = RtpSpec {
        extensions: vec![(200, vec![]), (1, vec![9; 20])],
        ..spec.clone()
    };
    let mut rtcp = vec![0u8; 512];
    let blocks = [ReportBlock::default()];
    let items = [SdesItem::cname("x")];
    let chunks = [SdesChunkBuilder {
        ssrc: 1,
        items: &items,
    }];
    let twcc = [
        TwccRecord::received(1, 1),
        TwccRecord::received(3, -5),
        TwccRecord::received(40, 2),
    ];
    let mut w = CompoundWriter::new(&mut rtcp);
    w.push(&SenderReportBuilder {
        ssrc: 1,
        report_blocks: &blocks,
        ..Default::default()
    })
    .unwrap()
    .push(&SdesBuilder { chunks: &chunks })
    .unwrap()
    .push(&NackBuilder {
        sender_ssrc: 1,
        media_ssrc: 2,
        lost: &[5, 7, 30],
    })
    .unwrap()
    .push(&FirBuilder {
        sender_ssrc: 1,
        media_ssrc: 0,
        entries: &[FirEntry { ssrc: 2, seq_nr: 3 }],
    })
    .unwrap()
    .push(&RembBuilder {
        sender_ssrc: 1,
        bitrate_bps: 1_000_000,
        ssrcs: &[2],
    })
    .unwrap()
    .push(&TransportCcBuilder {
        packets: &twcc,
        ..Default::default()
    })
    .unwrap()
    .push(&AppBuilder {
        subtype: 1,
        ssrc: 1,
        name: *b"test",
        data: &[0; 4],
    })
    .unwrap()
    .push(&ByeBuilder {
        ssrcs: &[1],
        reason: Some(b"bye"),
    })
    .unwrap();
    let n = w.finish();
    rtcp.truncate(n);
    vec![build_rtp(&spec), build_rtp(&two_byte), rtcp]
}

fn try_everything(data: &[u8]) {
    if let Ok(p) = RtpPacket::parse(data) {
        walk_rtp(&p);
    }
    if let Ok(c) = Compound::parse(data) {
        walk_rtcp(&c);
    }
    if let Ok(p) = RtcpPacket::parse(data) {
        walk_rtcp_packet(&p);
    }
    let _ = Mid::parse(data);
    let _ = RtpStreamId::parse(data);
    let _ = PlayoutDelay::parse(data);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..config() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..400)) {
        try_everything(&data);
    }

    #[test]
    fn rtp_and_rtcp_looking_bytes_never_panic(mut data in vec(any::<u8>(), 4..400), first in 0x80u8..0xC0, second in any::<u8>()) {
        // Version 2 and any second byte: past the first check of both parsers.
        data[0] = first;
        data[1] = second;
        try_everything(&data);
    }

    #[test]
    fn mutated_packets_never_panic(which in 0usize..3, flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), cut in any::<prop::sample::Index>()) {
        let seeds = seed_packets();
        let mut data = seeds[which].clone();
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        try_everything(&data);
        let end = cut.index(data.len() + 1);
        try_everything(&data[..end]);
    }
}

#[test]
fn seeds_parse() {
    let seeds = seed_packets();
    assert!(walk_rtp(&RtpPacket::parse(&seeds[0]).unwrap()) > 0);
    assert!(walk_rtp(&RtpPacket::parse(&seeds[1]).unwrap()) > 0);
    let c = Compound::parse(&seeds[2]).unwrap();
    assert!(c.packets().all(|p| p.is_ok()));
    assert_eq!(c.packets().count(), 8);
}
