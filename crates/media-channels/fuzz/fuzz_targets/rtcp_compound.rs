//! Arbitrary bytes into the RTCP parser: the compound packet, every packet in
//! it (typed or raw), every accessor and iterator. Nothing may panic, and each
//! decoded packet rebuilt with its builder must decode to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_channels::rtcp::{
    AppBuilder, ByeBuilder, Compound, FirBuilder, NackBuilder, ReceiverReportBuilder, RembBuilder,
    RtcpPacket, RtcpWrite, SdesBuilder, SdesChunkBuilder, SdesItem, SenderReportBuilder,
    TransportCcBuilder, TwccRecord,
};

/// Writes `w` into `buf` and decodes it again.
fn rebuilt<'b, W: RtcpWrite>(w: &W, buf: &'b mut Vec<u8>) -> RtcpPacket<'b> {
    buf.clear();
    buf.resize(w.encoded_len(), 0);
    let n = w.write(buf).expect("decoded fields rebuild");
    assert_eq!(n, buf.len());
    RtcpPacket::parse(buf).expect("our output parses")
}

fn check(p: &RtcpPacket<'_>) {
    let _ = format!("{p:?}");
    let mut buf = Vec::new();
    match *p {
        RtcpPacket::SenderReport(sr) => {
            let blocks: Vec<_> = sr.report_blocks().collect();
            if sr.extension().len() % 4 == 0 {
                let w = SenderReportBuilder {
                    ssrc: sr.ssrc(),
                    ntp_time: sr.ntp_time(),
                    rtp_time: sr.rtp_time(),
                    packet_count: sr.packet_count(),
                    octet_count: sr.octet_count(),
                    report_blocks: &blocks,
                    extension: sr.extension(),
                };
                let RtcpPacket::SenderReport(q) = rebuilt(&w, &mut buf) else {
                    panic!()
                };
                assert!(q.report_blocks().eq(blocks.iter().copied()));
                assert_eq!(q.ntp_time(), sr.ntp_time());
            }
        }
        RtcpPacket::ReceiverReport(rr) => {
            let blocks: Vec<_> = rr.report_blocks().collect();
            if rr.extension().len() % 4 == 0 {
                let w = ReceiverReportBuilder {
                    ssrc: rr.ssrc(),
                    report_blocks: &blocks,
                    extension: rr.extension(),
                };
                let RtcpPacket::ReceiverReport(q) = rebuilt(&w, &mut buf) else {
                    panic!()
                };
                assert!(q.report_blocks().eq(blocks.iter().copied()));
            }
        }
        RtcpPacket::Sdes(sdes) => {
            let items: Vec<Vec<SdesItem<'_>>> =
                sdes.chunks().map(|c| c.items().collect()).collect();
            // Item type 0 cannot be written (it is END); it cannot be read either.
            let chunks: Vec<SdesChunkBuilder<'_>> = sdes
                .chunks()
                .zip(&items)
                .map(|(c, items)| SdesChunkBuilder {
                    ssrc: c.ssrc,
                    items,
                })
                .collect();
            let RtcpPacket::Sdes(q) = rebuilt(&SdesBuilder { chunks: &chunks }, &mut buf) else {
                panic!()
            };
            assert!(q.chunks().map(|c| c.ssrc).eq(sdes.chunks().map(|c| c.ssrc)));
            for (a, b) in q.chunks().zip(sdes.chunks()) {
                assert!(a.items().eq(b.items()));
            }
        }
        RtcpPacket::Bye(bye) => {
            let ssrcs: Vec<u32> = bye.ssrcs().collect();
            let _ = bye.reason_str();
            let RtcpPacket::Bye(q) = rebuilt(
                &ByeBuilder {
                    ssrcs: &ssrcs,
                    reason: bye.reason(),
                },
                &mut buf,
            ) else {
                panic!()
            };
            assert!(q.ssrcs().eq(ssrcs.iter().copied()));
            assert_eq!(q.reason(), bye.reason());
        }
        RtcpPacket::App(app) => {
            if app.data().len() % 4 == 0 {
                let w = AppBuilder {
                    subtype: app.subtype(),
                    ssrc: app.ssrc(),
                    name: app.name(),
                    data: app.data(),
                };
                let RtcpPacket::App(q) = rebuilt(&w, &mut buf) else {
                    panic!()
                };
                assert_eq!(q.data(), app.data());
            }
        }
        RtcpPacket::Nack(nack) => {
            let lost: Vec<u16> = nack.lost().collect();
            let _ = nack.pairs().count();
            let w = NackBuilder {
                sender_ssrc: nack.sender_ssrc(),
                media_ssrc: nack.media_ssrc(),
                lost: &lost,
            };
            let RtcpPacket::Nack(q) = rebuilt(&w, &mut buf) else {
                panic!()
            };
            let mut a: Vec<u16> = q.lost().collect();
            let mut b = lost.clone();
            a.sort_unstable();
            a.dedup();
            b.sort_unstable();
            b.dedup();
            assert_eq!(a, b);
        }
        RtcpPacket::Pli(pli) => {
            assert!(matches!(rebuilt(&pli, &mut buf), RtcpPacket::Pli(q) if q == pli));
        }
        RtcpPacket::Fir(fir) => {
            let entries: Vec<_> = fir.entries().collect();
            let w = FirBuilder {
                sender_ssrc: fir.sender_ssrc(),
                media_ssrc: fir.media_ssrc(),
                entries: &entries,
            };
            let RtcpPacket::Fir(q) = rebuilt(&w, &mut buf) else {
                panic!()
            };
            assert!(q.entries().eq(entries.iter().copied()));
        }
        RtcpPacket::Remb(remb) => {
            let ssrcs: Vec<u32> = remb.ssrcs().collect();
            let w = RembBuilder {
                sender_ssrc: remb.sender_ssrc(),
                bitrate_bps: remb.bitrate_bps(),
                ssrcs: &ssrcs,
            };
            let RtcpPacket::Remb(q) = rebuilt(&w, &mut buf) else {
                panic!()
            };
            assert_eq!(q.bitrate_bps(), remb.bitrate_bps());
            assert!(q.ssrcs().eq(ssrcs.iter().copied()));
        }
        RtcpPacket::TransportCc(fb) => {
            let records: Vec<TwccRecord> = fb.packets().collect();
            assert_eq!(records.len(), usize::from(fb.status_count()));
            let w = TransportCcBuilder {
                sender_ssrc: fb.sender_ssrc(),
                media_ssrc: fb.media_ssrc(),
                reference_time: fb.reference_time(),
                fb_pkt_count: fb.fb_pkt_count(),
                packets: &records,
            };
            let RtcpPacket::TransportCc(q) = rebuilt(&w, &mut buf) else {
                panic!()
            };
            assert!(q.packets().eq(records.iter().copied()));
            assert_eq!(q.reference_time(), fb.reference_time());
        }
        RtcpPacket::Unknown { .. } => {}
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = RtcpPacket::parse(data) {
        check(&p);
    }
    let Ok(c) = Compound::parse(data) else { return };
    let _ = (c.is_reduced_size(), format!("{c:?}"));
    assert_eq!(
        c.raw_packets().map(|p| p.bytes.len()).sum::<usize>(),
        c.len()
    );
    for p in c.packets().flatten() {
        check(&p);
    }
});
