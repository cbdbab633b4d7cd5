//! libwebrtc's JsepTransport: the ICE agent and DTLS transport of each
//! component of one transport name, and the SRTP session made from each
//! component's DTLS-SRTP keys (libwebrtc's DtlsSrtpTransport).

use ice::{GatheringState, IceAgent, IceConfig, IceConnectionState};

use super::TransportId;
use crate::dtls::{DtlsConfig, DtlsState, DtlsTransport};
use crate::error::Error;
use crate::srtp::{SrtpProfile, SrtpSession};

/// One ICE component with DTLS over it (libwebrtc's P2PTransportChannel +
/// DtlsTransportChannelWrapper), and the SRTP session made from its DTLS-SRTP
/// keys (libwebrtc's DtlsSrtpTransport).
#[derive(Debug)]
pub(super) struct Channel {
    pub(super) ice: IceAgent,
    pub(super) dtls: DtlsTransport,
    /// What `dtls` was made from, with the remote fingerprints as they are
    /// now: a role change before the handshake rebuilds it from this.
    pub(super) dtls_config: DtlsConfig,
    pub(super) dtls_started: bool,
    pub(super) gathering: GatheringState,
    /// A [`GatherRequest`] was issued for this component.
    pub(super) gather_requested: bool,
    /// Created when DTLS connects with an SRTP profile.
    pub(super) srtp: Option<SrtpSession>,
    /// Received SRTP/SRTCP packets refused (authentication, replay, no keys).
    pub(super) srtp_errors: u64,
}

impl Channel {
    pub(super) fn new(ice: IceConfig, dtls: DtlsConfig) -> Result<Channel, Error> {
        Ok(Channel {
            ice: IceAgent::new(ice),
            dtls: DtlsTransport::new(dtls.clone())?,
            dtls_config: dtls,
            dtls_started: false,
            gathering: GatheringState::New,
            gather_requested: false,
            srtp: None,
            srtp_errors: 0,
        })
    }

    /// Removes SRTP/SRTCP protection from `packet` in place; the plain length.
    pub(super) fn unprotect(&mut self, rtcp: bool, packet: &mut [u8]) -> Result<usize, Error> {
        let result = match self.srtp.as_mut() {
            None => Err(Error::NoSrtpProfile),
            Some(s) if rtcp => s.unprotect_rtcp(packet),
            Some(s) => s.unprotect_rtp(packet),
        };
        if let Err(e) = &result {
            self.srtp_errors += 1;
            tracing::trace!(rtcp, error = %e, "SRTP packet refused");
        }
        result
    }

    /// Counts as connected for the combined state (W3C: ICE connected or
    /// completed, DTLS connected or closed).
    pub(super) fn is_connected(&self) -> bool {
        matches!(
            self.ice.state(),
            IceConnectionState::Connected | IceConnectionState::Completed
        ) && matches!(self.dtls.state(), DtlsState::Connected | DtlsState::Closed)
    }
}

/// One transport (libwebrtc's JsepTransport): the RTP component's ICE agent
/// and DTLS transport, and, without rtcp-mux, the RTCP component's.
#[derive(Debug)]
pub struct JsepTransport {
    pub(super) id: TransportId,
    pub(super) name: String,
    /// Gathering ahead of a session description (a candidate pool): its
    /// candidates and states stay inside until it is adopted.
    pub(super) pooled: bool,
    pub(super) rtp: Channel,
    pub(super) rtcp: Option<Channel>,
}

impl JsepTransport {
    /// The transport name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The transport's id in its controller.
    pub fn id(&self) -> TransportId {
        self.id
    }

    /// The RTP component's ICE agent (add sockets, remote credentials and candidates here).
    pub fn ice(&mut self) -> &mut IceAgent {
        &mut self.rtp.ice
    }

    /// The RTP component's DTLS transport.
    pub fn dtls(&self) -> &DtlsTransport {
        &self.rtp.dtls
    }

    /// The RTCP component's ICE agent, without rtcp-mux.
    pub fn rtcp_ice(&mut self) -> Option<&mut IceAgent> {
        self.rtcp.as_mut().map(|c| &mut c.ice)
    }

    /// The RTCP component's DTLS transport, without rtcp-mux.
    pub fn rtcp_dtls(&self) -> Option<&DtlsTransport> {
        self.rtcp.as_ref().map(|c| &c.dtls)
    }

    pub(super) fn channels(&self) -> impl Iterator<Item = &Channel> {
        std::iter::once(&self.rtp).chain(self.rtcp.as_ref())
    }

    pub(super) fn channels_mut(&mut self) -> impl Iterator<Item = &mut Channel> {
        std::iter::once(&mut self.rtp).chain(self.rtcp.as_mut())
    }

    pub(super) fn channel_mut(&mut self, component: u16) -> Option<&mut Channel> {
        match component {
            1 => Some(&mut self.rtp),
            2 => self.rtcp.as_mut(),
            _ => None,
        }
    }

    /// The component that carries RTCP (`rtcp`) or RTP packets we send.
    /// The component `sending_channel(rtcp)` is: 2 for RTCP without rtcp-mux.
    pub(super) fn sending_component(&self, rtcp: bool) -> u16 {
        if rtcp && self.rtcp.is_some() {
            2
        } else {
            1
        }
    }

    pub(super) fn sending_channel(&mut self, rtcp: bool) -> &mut Channel {
        match (&mut self.rtcp, rtcp) {
            (Some(c), true) => c,
            _ => &mut self.rtp,
        }
    }

    /// Received SRTP/SRTCP packets refused on every component (failed
    /// authentication, replays, packets before the keys).
    pub fn srtp_errors(&self) -> u64 {
        self.channels().map(|c| c.srtp_errors).sum()
    }

    /// The negotiated SRTP profile, once DTLS has connected with one.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.rtp.srtp.as_ref().map(SrtpSession::profile)
    }
}
