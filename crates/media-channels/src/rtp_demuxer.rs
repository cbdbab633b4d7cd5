//! libwebrtc's RtpDemuxer: which channel (sink) an RTP packet on a BUNDLE
//! transport belongs to, and which an RTCP packet's SSRC names.
//!
//! Each sink registers [`RtpDemuxerCriteria`]: its MID, the RIDs (RSIDs) of
//! its simulcast streams, the SSRCs signalled for it (`a=ssrc`, including
//! RTX/FEC ones) and its payload types. A packet is resolved as libwebrtc
//! does (RFC 8843 §9.2):
//!
//! 1. a **MID** header extension decides when present: the sink with that MID
//!    (and, with a RID or repaired-RID extension too, the sink registered for
//!    that MID and RID); a MID nobody registered drops the packet. The SSRC is
//!    then bound to that sink, so later packets without the extension (browsers
//!    stop sending it once they see it acknowledged) still find it;
//! 2. else a **known SSRC** (signalled, or bound earlier);
//! 3. else a **RID / repaired-RID** extension, bound to the SSRC;
//! 4. else the **payload type**, when exactly one sink registered it, bound
//!    to the SSRC.
//!
//! Learned bindings are bounded ([`MAX_SSRC_BINDINGS`], libwebrtc's limit):
//! beyond it, packets that would need a new binding are still routed but the
//! binding is not remembered. Nothing allocates per packet once a binding
//! exists.
//!
//! ```
//! use media_channels::rtp::extensions::{ExtensionKind, ExtensionMap};
//! use media_channels::rtp::RtpPacket;
//! use media_channels::rtp_demuxer::{RtpDemuxer, RtpDemuxerCriteria};
//!
//! let mut demuxer = RtpDemuxer::new();
//! assert!(demuxer.add_sink("audio", RtpDemuxerCriteria::mid("0").with_payload_types([111])));
//! assert!(demuxer.add_sink("video", RtpDemuxerCriteria::mid("1").with_payload_types([96, 97])));
//! let mut extensions = ExtensionMap::new();
//! extensions.register(4, ExtensionKind::Mid).unwrap();
//!
//! // No MID extension, an unknown SSRC: payload type 96 belongs to "video" only.
//! let packet = [0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0xaa];
//! let packet = RtpPacket::parse(&packet).unwrap();
//! assert_eq!(demuxer.demux(&packet, &extensions), Some("video"));
//! // The SSRC is bound now: RTCP about it goes to "video" too.
//! assert_eq!(demuxer.sink_for_ssrc(0x1234), Some("video"));
//! ```

use std::collections::HashMap;
use std::hash::Hash;

use crate::rtp::extensions::{ExtensionMap, Mid, RepairedRtpStreamId, RtpStreamId};
use crate::rtp::RtpPacket;

/// Most SSRC bindings learned from packets (libwebrtc's `kMaxSsrcBindings`).
pub const MAX_SSRC_BINDINGS: usize = 1000;

/// What a sink accepts (libwebrtc's RtpDemuxerCriteria).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RtpDemuxerCriteria {
    /// The sink's MID (`a=mid`), if any.
    pub mid: Option<String>,
    /// RIDs of its simulcast streams (`a=rid`), matched against the RID and
    /// repaired-RID header extensions.
    pub rsids: Vec<String>,
    /// SSRCs signalled for it (`a=ssrc`, RTX/FEC included).
    pub ssrcs: Vec<u32>,
    /// Its payload types.
    pub payload_types: Vec<u8>,
}

impl RtpDemuxerCriteria {
    /// Criteria with only a MID.
    pub fn mid(mid: &str) -> RtpDemuxerCriteria {
        RtpDemuxerCriteria {
            mid: Some(mid.to_owned()),
            ..Default::default()
        }
    }

    /// These criteria with `ssrcs` added.
    pub fn with_ssrcs(mut self, ssrcs: impl IntoIterator<Item = u32>) -> RtpDemuxerCriteria {
        self.ssrcs.extend(ssrcs);
        self
    }

    /// These criteria with `payload_types` added.
    pub fn with_payload_types(
        mut self,
        payload_types: impl IntoIterator<Item = u8>,
    ) -> RtpDemuxerCriteria {
        self.payload_types.extend(payload_types);
        self
    }

    /// These criteria with RIDs added.
    pub fn with_rsids<'r>(
        mut self,
        rsids: impl IntoIterator<Item = &'r str>,
    ) -> RtpDemuxerCriteria {
        self.rsids.extend(rsids.into_iter().map(str::to_owned));
        self
    }
}

/// Resolves RTP packets to sinks of type `S` (a channel id); see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct RtpDemuxer<S> {
    sinks: Vec<(S, RtpDemuxerCriteria)>,
    by_mid: HashMap<String, S>,
    /// (MID, RID) → sink, for sinks with both.
    by_mid_rsid: HashMap<(String, String), S>,
    /// RID → sink, for RIDs registered without a MID (or unique across MIDs).
    by_rsid: HashMap<String, S>,
    /// Signalled SSRCs.
    by_ssrc: HashMap<u32, S>,
    /// SSRCs bound from packets.
    learned: HashMap<u32, S>,
    /// Payload type → the sinks that registered it.
    by_payload_type: HashMap<u8, Vec<S>>,
}

impl<S> Default for RtpDemuxer<S> {
    fn default() -> Self {
        RtpDemuxer {
            sinks: Vec::new(),
            by_mid: HashMap::new(),
            by_mid_rsid: HashMap::new(),
            by_rsid: HashMap::new(),
            by_ssrc: HashMap::new(),
            learned: HashMap::new(),
            by_payload_type: HashMap::new(),
        }
    }
}

impl<S: Copy + Eq + Hash> RtpDemuxer<S> {
    /// A demuxer without sinks.
    pub fn new() -> RtpDemuxer<S> {
        RtpDemuxer::default()
    }

    /// Registers `sink` with `criteria`. `false` (and nothing changes) when
    /// `sink` is registered already, or its MID, a (MID, RID) pair or a
    /// signalled SSRC is another sink's (libwebrtc's AddSink).
    pub fn add_sink(&mut self, sink: S, criteria: RtpDemuxerCriteria) -> bool {
        if self.sinks.iter().any(|(s, _)| *s == sink) {
            return false;
        }
        let mid_taken = |mid: &String| self.by_mid.contains_key(mid);
        if criteria.rsids.is_empty() && criteria.mid.as_ref().is_some_and(mid_taken) {
            return false;
        }
        if let Some(mid) = &criteria.mid {
            if criteria
                .rsids
                .iter()
                .any(|r| self.by_mid_rsid.contains_key(&(mid.clone(), r.clone())))
            {
                return false;
            }
        }
        if criteria.ssrcs.iter().any(|s| self.by_ssrc.contains_key(s)) {
            return false;
        }
        match &criteria.mid {
            Some(mid) if criteria.rsids.is_empty() => {
                self.by_mid.insert(mid.clone(), sink);
            }
            Some(mid) => {
                for r in &criteria.rsids {
                    self.by_mid_rsid.insert((mid.clone(), r.clone()), sink);
                }
            }
            None => {}
        }
        for r in &criteria.rsids {
            self.by_rsid.insert(r.clone(), sink);
        }
        for &ssrc in &criteria.ssrcs {
            self.by_ssrc.insert(ssrc, sink);
            self.learned.remove(&ssrc);
        }
        for &pt in &criteria.payload_types {
            self.by_payload_type.entry(pt).or_default().push(sink);
        }
        self.sinks.push((sink, criteria));
        true
    }

    /// Removes `sink` and every binding to it; `false` if it was not registered.
    pub fn remove_sink(&mut self, sink: S) -> bool {
        let Some(i) = self.sinks.iter().position(|(s, _)| *s == sink) else {
            return false;
        };
        self.sinks.remove(i);
        self.by_mid.retain(|_, s| *s != sink);
        self.by_mid_rsid.retain(|_, s| *s != sink);
        self.by_rsid.retain(|_, s| *s != sink);
        self.by_ssrc.retain(|_, s| *s != sink);
        self.learned.retain(|_, s| *s != sink);
        for sinks in self.by_payload_type.values_mut() {
            sinks.retain(|s| *s != sink);
        }
        self.by_payload_type.retain(|_, sinks| !sinks.is_empty());
        true
    }

    /// The registered sinks with their criteria.
    pub fn sinks(&self) -> impl Iterator<Item = (S, &RtpDemuxerCriteria)> {
        self.sinks.iter().map(|(s, c)| (*s, c))
    }

    /// The sink `packet` belongs to (binding its SSRC when it was resolved
    /// by MID, RID or payload type), or `None`: drop it. `extensions` maps
    /// the negotiated header-extension ids.
    pub fn demux(&mut self, packet: &RtpPacket<'_>, extensions: &ExtensionMap) -> Option<S> {
        let ssrc = packet.ssrc();
        let rsid = match extensions.get::<RtpStreamId<'_>>(packet) {
            Some(Ok(RtpStreamId(r))) => Some(r),
            _ => match extensions.get::<RepairedRtpStreamId<'_>>(packet) {
                Some(Ok(RepairedRtpStreamId(r))) => Some(r),
                _ => None,
            },
        };
        // 1. MID, with the RID when both are there.
        if let Some(Ok(Mid(mid))) = extensions.get::<Mid<'_>>(packet) {
            let sink = rsid
                .and_then(|r| self.find_mid_rsid(mid, r))
                .or_else(|| self.by_mid.get(mid).copied());
            // A MID registered only with RIDs and the packet's RID unknown (or
            // absent), or a MID nobody registered: drop it.
            let sink = sink?;
            self.bind(ssrc, sink);
            return Some(sink);
        }
        // 2. A known SSRC.
        if let Some(&sink) = self.by_ssrc.get(&ssrc).or_else(|| self.learned.get(&ssrc)) {
            return Some(sink);
        }
        // 3. RID alone.
        if let Some(&sink) = rsid.and_then(|r| self.by_rsid.get(r)) {
            self.bind(ssrc, sink);
            return Some(sink);
        }
        // 4. A payload type only one sink has.
        match self
            .by_payload_type
            .get(&packet.payload_type())
            .map(Vec::as_slice)
        {
            Some(&[sink]) => {
                self.bind(ssrc, sink);
                Some(sink)
            }
            _ => None,
        }
    }

    fn find_mid_rsid(&self, mid: &str, rsid: &str) -> Option<S> {
        // Keys are (String, String): look up without building one per packet.
        self.by_mid_rsid
            .iter()
            .find(|((m, r), _)| m == mid && r == rsid)
            .map(|(_, s)| *s)
    }

    /// Binds `ssrc` to `sink` (a signalled SSRC keeps its sink).
    fn bind(&mut self, ssrc: u32, sink: S) {
        if self.by_ssrc.contains_key(&ssrc) {
            return;
        }
        let len = self.learned.len();
        if let Some(s) = self.learned.get_mut(&ssrc) {
            *s = sink;
        } else if len < MAX_SSRC_BINDINGS {
            self.learned.insert(ssrc, sink);
        } else {
            tracing::debug!(ssrc, "SSRC binding table full: not remembered");
        }
    }

    /// The sink an SSRC belongs to (signalled or learned), for RTCP: the
    /// sender SSRC of an SR, the media SSRC of a report block or feedback.
    pub fn sink_for_ssrc(&self, ssrc: u32) -> Option<S> {
        self.by_ssrc
            .get(&ssrc)
            .or_else(|| self.learned.get(&ssrc))
            .copied()
    }

    /// SSRC bindings learned from packets.
    pub fn learned_bindings(&self) -> usize {
        self.learned.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::extensions::ExtensionKind;
    use crate::rtp::ExtensionElement;
    use crate::rtp::RtpBuilder;

    const MID_ID: u8 = 1;
    const RID_ID: u8 = 2;
    const RRID_ID: u8 = 3;

    fn extensions() -> ExtensionMap {
        let mut map = ExtensionMap::new();
        map.register(MID_ID, ExtensionKind::Mid).unwrap();
        map.register(RID_ID, ExtensionKind::RtpStreamId).unwrap();
        map.register(RRID_ID, ExtensionKind::RepairedRtpStreamId)
            .unwrap();
        map
    }

    fn packet(pt: u8, ssrc: u32, elements: &[ExtensionElement<'_>]) -> Vec<u8> {
        let mut buf = vec![0u8; 200];
        let builder = RtpBuilder {
            extensions: elements,
            ..RtpBuilder::new(pt, 1, 0, ssrc)
        };
        let n = builder.write(&mut buf, &[1, 2, 3]).unwrap();
        buf.truncate(n);
        buf
    }

    fn demux(d: &mut RtpDemuxer<&'static str>, bytes: &[u8]) -> Option<&'static str> {
        d.demux(&RtpPacket::parse(bytes).unwrap(), &extensions())
    }

    fn three_channels() -> RtpDemuxer<&'static str> {
        let mut d = RtpDemuxer::new();
        assert!(d.add_sink(
            "audio",
            RtpDemuxerCriteria::mid("0")
                .with_payload_types([111])
                .with_ssrcs([1111])
        ));
        assert!(d.add_sink(
            "video",
            RtpDemuxerCriteria::mid("1").with_payload_types([96, 97])
        ));
        assert!(d.add_sink(
            "video2",
            RtpDemuxerCriteria::mid("2").with_payload_types([96, 98])
        ));
        d
    }

    #[test]
    fn mid_decides_and_binds_the_ssrc() {
        let mut d = three_channels();
        let mid = |m: &'static [u8]| ExtensionElement::new(MID_ID, m);
        // PT 96 is shared by video and video2: only the MID can tell.
        assert_eq!(demux(&mut d, &packet(96, 7, &[mid(b"2")])), Some("video2"));
        assert_eq!(demux(&mut d, &packet(96, 8, &[mid(b"1")])), Some("video"));
        // Later packets without the extension follow the binding.
        assert_eq!(demux(&mut d, &packet(96, 7, &[])), Some("video2"));
        assert_eq!(demux(&mut d, &packet(96, 8, &[])), Some("video"));
        assert_eq!(d.sink_for_ssrc(7), Some("video2"));
        // An unknown MID is dropped, whatever else matches.
        assert_eq!(demux(&mut d, &packet(111, 1111, &[mid(b"9")])), None);
        // A signalled SSRC without extension; an ambiguous PT without anything is dropped.
        assert_eq!(demux(&mut d, &packet(111, 1111, &[])), Some("audio"));
        assert_eq!(demux(&mut d, &packet(96, 99, &[])), None);
        // A PT only one sink has binds its SSRC.
        assert_eq!(demux(&mut d, &packet(98, 100, &[])), Some("video2"));
        assert_eq!(d.sink_for_ssrc(100), Some("video2"));
        // The MID moves a binding (a re-used SSRC).
        assert_eq!(demux(&mut d, &packet(96, 100, &[mid(b"1")])), Some("video"));
        assert_eq!(d.sink_for_ssrc(100), Some("video"));
    }

    #[test]
    fn simulcast_rids_within_a_mid_and_repaired_rids() {
        let mut d = RtpDemuxer::new();
        let c = RtpDemuxerCriteria::mid("0").with_rsids(["lo", "hi"]);
        assert!(d.add_sink("sim", c));
        assert!(d.add_sink("other", RtpDemuxerCriteria::mid("1")));
        let mid = ExtensionElement::new(MID_ID, b"0");
        let lo = ExtensionElement::new(RID_ID, b"lo");
        let rtx_hi = ExtensionElement::new(RRID_ID, b"hi");
        let unknown = ExtensionElement::new(RID_ID, b"mid");
        assert_eq!(demux(&mut d, &packet(96, 10, &[mid, lo])), Some("sim"));
        assert_eq!(demux(&mut d, &packet(97, 11, &[mid, rtx_hi])), Some("sim"));
        assert_eq!(demux(&mut d, &packet(96, 12, &[mid, unknown])), None);
        // RID alone.
        assert_eq!(demux(&mut d, &packet(96, 13, &[lo])), Some("sim"));
        assert_eq!(d.learned_bindings(), 3);
    }

    #[test]
    fn conflicting_sinks_are_refused_and_removal_forgets_bindings() {
        let mut d = three_channels();
        assert!(!d.add_sink("audio", RtpDemuxerCriteria::mid("7")));
        assert!(!d.add_sink("x", RtpDemuxerCriteria::mid("0")));
        assert!(!d.add_sink("x", RtpDemuxerCriteria::mid("8").with_ssrcs([1111])));
        assert_eq!(demux(&mut d, &packet(98, 5, &[])), Some("video2"));
        assert!(d.remove_sink("video2"));
        assert!(!d.remove_sink("video2"));
        assert_eq!(d.sink_for_ssrc(5), None);
        // PT 96 is video's alone now.
        assert_eq!(demux(&mut d, &packet(96, 6, &[])), Some("video"));
        assert_eq!(d.sinks().count(), 2);
    }

    #[test]
    fn learned_bindings_are_bounded() {
        let mut d = RtpDemuxer::new();
        assert!(d.add_sink("v", RtpDemuxerCriteria::mid("0").with_payload_types([96])));
        for ssrc in 0..(MAX_SSRC_BINDINGS as u32 + 50) {
            assert_eq!(demux(&mut d, &packet(96, ssrc, &[])), Some("v"));
        }
        assert_eq!(d.learned_bindings(), MAX_SSRC_BINDINGS);
    }
}
