//! Codecs and header extensions for offers and answers: payload types kept
//! across renegotiation and made unique, RED's redundancy list remapped,
//! the answer's intersection in the offerer's (or the preferred) order.

use std::collections::HashSet;

use super::MediaDescriptionOptions;
use crate::codecs::{codecs_match, header_extensions_for, min_level, H264ProfileLevelId};
use crate::model::{Codec, Direction, HeaderExtension, MediaContentDescription};

/// Dynamic payload types in the order libwebrtc hands them out.
pub(super) fn dynamic_payload_types() -> impl Iterator<Item = u8> {
    (96..=127).chain(35..=63)
}

/// Offer codecs: the local list, keeping the payload types of `current`
/// for codecs it already has, moving colliding ones to free dynamic payload
/// types, and remapping RTX `apt` and RED `a/b` to the final payload types.
pub(super) fn offer_codecs(
    local: &[Codec],
    current: Option<&MediaContentDescription>,
) -> Vec<Codec> {
    let mut out: Vec<Codec> = Vec::with_capacity(local.len());
    // (local payload type, offered payload type) for primaries.
    let mut remap: Vec<(u8, u8)> = Vec::new();
    let cur_codecs = current.map(|m| m.codecs.as_slice()).unwrap_or_default();
    for c in local.iter().filter(|c| !c.is_rtx()) {
        let mut codec = c.clone();
        if let Some(prev) = cur_codecs
            .iter()
            .find(|p| !p.is_rtx() && codecs_match(p, c))
        {
            codec.payload_type = prev.payload_type;
        }
        remap.push((c.payload_type, codec.payload_type));
        out.push(codec);
    }
    // RTX keeps its current payload type when its primary had one.
    for c in local.iter().filter(|c| c.is_rtx()) {
        let Some(apt) = c.apt() else { continue };
        let Some(&(_, new_apt)) = remap.iter().find(|(old, _)| *old == apt) else {
            continue;
        };
        let mut rtx = c.clone();
        if let Some(prev) = cur_codecs
            .iter()
            .find(|p| p.is_rtx() && p.apt() == Some(new_apt))
        {
            rtx.payload_type = prev.payload_type;
        }
        rtx.set_param("apt", &new_apt.to_string());
        // Keep the local order: insert right after the primary.
        let at = out
            .iter()
            .position(|p| p.payload_type == new_apt && !p.is_rtx())
            .map_or(out.len(), |i| i + 1);
        out.insert(at, rtx);
    }
    resolve_payload_type_collisions(&mut out);
    for c in &mut out {
        if c.is("red") {
            remap_red_params(c, &remap);
        }
    }
    out
}

/// Gives every codec that reuses an earlier codec's payload type a free one,
/// fixing the `apt` of RTX codecs that pointed at a moved primary.
pub(super) fn resolve_payload_type_collisions(codecs: &mut [Codec]) {
    let mut used: HashSet<u8> = HashSet::new();
    let mut moved: Vec<(usize, u8, u8)> = Vec::new();
    for i in 0..codecs.len() {
        let pt = codecs[i].payload_type;
        if used.insert(pt) {
            continue;
        }
        let taken: HashSet<u8> = codecs.iter().map(|c| c.payload_type).collect();
        let Some(free) = dynamic_payload_types().find(|p| !taken.contains(p) && !used.contains(p))
        else {
            continue;
        };
        codecs[i].payload_type = free;
        used.insert(free);
        moved.push((i, pt, free));
    }
    for (i, old, new) in moved {
        if codecs[i].is_rtx() {
            continue;
        }
        // An RTX right after its primary that still names the old payload type.
        if let Some(rtx) = codecs.get_mut(i + 1) {
            if rtx.is_rtx() && rtx.apt() == Some(old) {
                rtx.set_param("apt", &new.to_string());
            }
        }
    }
}

/// Rewrites RED's `a/b` fmtp (RFC 2198 redundancy payload types) through
/// `remap` (local → final payload type).
pub(super) fn remap_red_params(red: &mut Codec, remap: &[(u8, u8)]) {
    for (key, value) in &mut red.params {
        if !key.is_empty() {
            continue;
        }
        let mapped: Option<Vec<String>> = value
            .split('/')
            .map(|p| {
                let pt: u8 = p.trim().parse().ok()?;
                let new = remap
                    .iter()
                    .find(|(old, _)| *old == pt)
                    .map_or(pt, |(_, n)| *n);
                Some(new.to_string())
            })
            .collect();
        if let Some(m) = mapped {
            *value = m.join("/").into();
        }
    }
}

/// Offer header extensions: the configured or built-in list, keeping the
/// ids `current` uses, and moving colliding ids to free ones.
pub(super) fn offer_extensions(
    o: &MediaDescriptionOptions,
    current: Option<&MediaContentDescription>,
) -> Vec<HeaderExtension> {
    let wanted = o
        .header_extensions
        .clone()
        .unwrap_or_else(|| header_extensions_for(&o.media_type));
    let mut out: Vec<HeaderExtension> = wanted
        .into_iter()
        .map(|mut e| {
            if let Some(prev) = current.and_then(|m| m.header_extension(&e.uri)) {
                e.id = prev.id;
            }
            e
        })
        .collect();
    let mut used = HashSet::new();
    for i in 0..out.len() {
        if used.insert(out[i].id) {
            continue;
        }
        let taken: HashSet<u16> = out.iter().map(|e| e.id).collect();
        if let Some(free) = (1..=14).chain(16..=255).find(|id| !taken.contains(id)) {
            out[i].id = free;
            used.insert(free);
        }
    }
    out
}

/// Answer codecs (libwebrtc's `NegotiateCodecs`): offered codecs that match
/// a local one, in the offerer's order (or `preferences` order), with the
/// offerer's payload types, our fmtp (H.264: offered profile, negotiated
/// level; RED: offered redundancy list), intersected rtcp-fb, and RTX for
/// negotiated primaries only.
pub(super) fn negotiate_codecs(
    offered: &[Codec],
    wildcard_feedback: &[crate::model::RtcpFeedback],
    local: &[Codec],
    preferences: &[Codec],
) -> Vec<Codec> {
    let mut negotiated: Vec<Codec> = Vec::new();
    for oc in offered.iter().filter(|c| !c.is_rtx()) {
        let Some(lc) = local.iter().find(|l| !l.is_rtx() && codecs_match(l, oc)) else {
            continue;
        };
        let mut nc = lc.clone();
        nc.payload_type = oc.payload_type;
        nc.name = lc.name.clone();
        if lc.is("H264") {
            if let (Some(lp), Some(op)) = (
                H264ProfileLevelId::of_codec(lc),
                H264ProfileLevelId::of_codec(oc),
            ) {
                let asymmetric = lc.param("level-asymmetry-allowed") == Some("1")
                    && oc.param("level-asymmetry-allowed") == Some("1");
                let level = if asymmetric {
                    lp.level
                } else {
                    min_level(lp.level, op.level)
                };
                let id = H264ProfileLevelId {
                    profile: op.profile,
                    level,
                };
                nc.set_param("profile-level-id", &id.to_hex());
                if !asymmetric {
                    nc.params.retain(|(k, _)| k != "level-asymmetry-allowed");
                }
            }
        }
        if lc.is("red") {
            nc.params = oc.params.clone();
        }
        let offered_fb: Vec<&crate::model::RtcpFeedback> =
            oc.feedback.iter().chain(wildcard_feedback).collect();
        nc.feedback.retain(|f| offered_fb.contains(&f));
        negotiated.push(nc);
    }
    // RED's redundancy list must only name negotiated payload types.
    let primaries: HashSet<u8> = negotiated.iter().map(|c| c.payload_type).collect();
    negotiated.retain(|c| {
        !c.is("red")
            || c.params.iter().filter(|(k, _)| k.is_empty()).all(|(_, v)| {
                v.split('/').all(|p| {
                    p.trim()
                        .parse::<u8>()
                        .is_ok_and(|pt| primaries.contains(&pt))
                })
            })
    });
    let supports_rtx = local.iter().any(Codec::is_rtx);
    let mut out: Vec<Codec> = Vec::with_capacity(offered.len());
    for oc in offered {
        if oc.is_rtx() {
            let Some(apt) = oc.apt() else { continue };
            // RTX for any negotiated primary (including RED, whose RTX repairs it).
            if supports_rtx && negotiated.iter().any(|c| c.payload_type == apt) {
                let mut rtx = Codec::new(oc.payload_type, "rtx", oc.clock_rate, None);
                rtx.set_param("apt", &apt.to_string());
                out.push(rtx);
            }
        } else if let Some(nc) = negotiated
            .iter()
            .find(|c| c.payload_type == oc.payload_type)
        {
            out.push(nc.clone());
        }
    }
    if !preferences.is_empty() {
        let rank = |c: &Codec, all: &[Codec]| -> usize {
            let primary = if c.is_rtx() {
                c.apt()
                    .and_then(|apt| all.iter().find(|p| p.payload_type == apt))
                    .unwrap_or(c)
            } else {
                c
            };
            let base = preferences
                .iter()
                .position(|p| !p.is_rtx() && codecs_match(p, primary))
                .unwrap_or(preferences.len());
            base * 2 + usize::from(c.is_rtx())
        };
        let snapshot = out.clone();
        out.sort_by_key(|c| rank(c, &snapshot));
    }
    out
}

/// The offered header extensions we support, with the offerer's ids and
/// directions reversed.
pub(super) fn answer_header_extensions(
    om: &MediaContentDescription,
    o: &MediaDescriptionOptions,
) -> Vec<HeaderExtension> {
    let supported = o
        .header_extensions
        .clone()
        .unwrap_or_else(|| header_extensions_for(&o.media_type));
    om.header_extensions
        .iter()
        .filter(|e| supported.iter().any(|s| s.uri == e.uri))
        .map(|e| HeaderExtension {
            id: e.id,
            uri: e.uri.clone(),
            direction: e.direction.map(Direction::reversed),
            attributes: None,
        })
        .collect()
}
