//! Our senders' streams in a section: `a=msid`, SSRCs with `cname` and
//! `msid` (RTX `FID` and legacy simulcast `SIM` groups), or RID simulcast.

use super::transport::Entropy;
use super::MediaDescriptionOptions;
use crate::model::{
    Codec, MediaContentDescription, Msid, Rid, RidDirection, Simulcast, SimulcastLayer, SmolStr,
    SsrcAttribute, SsrcGroup,
};

/// Adds our senders' streams to a section: `a=msid`, SSRCs with cname
/// (plus an RTX SSRC and `FID` group when RTX is negotiated, `SIM` groups
/// for legacy simulcast), or `a=rid` + `a=simulcast` for RID simulcast.
/// SSRCs of a track already in `current` are kept. `answer_recv_rids`
/// (answers only) limits RID simulcast to what the offerer wants to receive.
pub(super) fn add_streams(
    m: &mut MediaContentDescription,
    o: &MediaDescriptionOptions,
    current: Option<&MediaContentDescription>,
    cname: &SmolStr,
    answer_recv_rids: Option<&[SmolStr]>,
    entropy: &mut Entropy,
) {
    let has_rtx = m.codecs.iter().any(Codec::is_rtx);
    for sender in &o.senders {
        let stream_ids = if sender.stream_ids.is_empty() {
            vec![SmolStr::new_static("-")]
        } else {
            sender.stream_ids.clone()
        };
        for s in &stream_ids {
            m.msids.push(Msid {
                stream_id: s.clone(),
                track_id: Some(sender.track_id.clone()),
            });
        }
        let rids: Vec<SmolStr> = match answer_recv_rids {
            Some(wanted) => sender
                .rids
                .iter()
                .filter(|r| wanted.contains(r))
                .cloned()
                .collect(),
            None => sender.rids.clone(),
        };
        if rids.len() > 1 || (!rids.is_empty() && answer_recv_rids.is_none()) {
            add_rid_simulcast(m, &rids);
            continue;
        }
        let layers = sender.num_sim_layers.max(1);
        let wanted = layers * if has_rtx { 2 } else { 1 };
        let ssrcs = sender_ssrcs(m, current, &sender.track_id, wanted, entropy);
        let (primaries, repairs) = ssrcs.split_at(layers);
        if layers > 1 {
            m.ssrc_groups.push(SsrcGroup {
                semantics: SmolStr::new_static("SIM"),
                ssrcs: primaries.to_vec(),
            });
        }
        if has_rtx {
            for (p, r) in primaries.iter().zip(repairs) {
                m.ssrc_groups.push(SsrcGroup {
                    semantics: SmolStr::new_static("FID"),
                    ssrcs: vec![*p, *r],
                });
            }
        }
        let msid_value = SmolStr::new(format!("{} {}", stream_ids[0], sender.track_id));
        for ssrc in primaries.iter().chain(repairs.iter()) {
            m.ssrcs.push(SsrcAttribute {
                ssrc: *ssrc,
                name: SmolStr::new_static("cname"),
                value: Some(cname.clone()),
            });
            m.ssrcs.push(SsrcAttribute {
                ssrc: *ssrc,
                name: SmolStr::new_static("msid"),
                value: Some(msid_value.clone()),
            });
        }
    }
}

/// RID simulcast for one sender: an `a=rid` per layer we send and the
/// `send` half of `a=simulcast` (keeping a `recv` half already there).
pub(super) fn add_rid_simulcast(m: &mut MediaContentDescription, rids: &[SmolStr]) {
    m.rids.extend(rids.iter().map(|r| Rid {
        id: r.clone(),
        direction: RidDirection::Send,
        restrictions: None,
    }));
    let send = rids
        .iter()
        .map(|r| {
            vec![SimulcastLayer {
                rid: r.clone(),
                paused: false,
            }]
        })
        .collect();
    let recv = m.simulcast.take().map(|s| s.recv).unwrap_or_default();
    m.simulcast = Some(Simulcast { send, recv });
}

/// `wanted` SSRCs for the track `track_id`: those it has in `current` when
/// there are as many, else new random ones distinct from each other and
/// from the SSRCs already in `m`.
pub(super) fn sender_ssrcs(
    m: &MediaContentDescription,
    current: Option<&MediaContentDescription>,
    track_id: &SmolStr,
    wanted: usize,
    entropy: &mut Entropy,
) -> Vec<u32> {
    let previous: Vec<u32> = current
        .filter(|c| {
            c.msids
                .iter()
                .any(|ms| ms.track_id.as_deref() == Some(track_id))
        })
        .map(|c| {
            c.ssrcs
                .iter()
                .filter(|a| a.name == "cname")
                .map(|a| a.ssrc)
                .collect()
        })
        .unwrap_or_default();
    if previous.len() == wanted {
        return previous;
    }
    let mut v: Vec<u32> = Vec::with_capacity(wanted);
    while v.len() < wanted {
        let s = entropy.nonzero_u32();
        if !v.contains(&s) && !m.ssrcs.iter().any(|a| a.ssrc == s) {
            v.push(s);
        }
    }
    v
}
