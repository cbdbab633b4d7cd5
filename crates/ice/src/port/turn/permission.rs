//! Permissions (RFC 8656 §9): one per peer IP, installed with
//! CreatePermission, refreshed while in use, lapsing when not.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Permission {
    pub(super) in_flight: bool,
    /// Until when the server holds it, as far as we know.
    pub(super) installed_until: Option<Instant>,
    pub(super) refresh_at: Option<Instant>,
    /// After a failure: forget the entry then (no new attempt before).
    pub(super) retry_at: Option<Instant>,
    pub(super) used: bool,
    /// Created with [`TurnClient::create_permission`]: refreshed even when unused.
    pub(super) pinned: bool,
}

impl Permission {
    pub(super) fn new() -> Permission {
        Permission {
            in_flight: false,
            installed_until: None,
            refresh_at: None,
            retry_at: None,
            used: true,
            pinned: false,
        }
    }

    pub(super) fn installed(&self, now: Instant) -> bool {
        self.installed_until.is_some_and(|t| now < t)
    }
}

impl TurnClient {
    /// True when a permission for `ip` is installed at `now`.
    pub fn has_permission(&self, now: Instant, ip: IpAddr) -> bool {
        self.permissions.get(&ip).is_some_and(|p| p.installed(now))
    }

    /// Number of permission entries (installed, pending or recently failed).
    pub fn permission_count(&self) -> usize {
        self.permissions.len()
    }

    /// Installs a permission for `ip` and keeps it refreshed until
    /// [`TurnClient::remove_permission`] (or close).
    pub fn create_permission(&mut self, now: Instant, ip: IpAddr) -> Result<(), TurnError> {
        self.check_peer(ip)?;
        self.ensure_permission(now, ip, true)
    }

    /// Stops refreshing the permission for `ip` (it lapses on the server) and
    /// forgets it locally. Channels to that IP are no longer refreshed either;
    /// their numbers stay reserved until the bindings have expired and cooled
    /// down (RFC 8656 §12), unless the peer is used again.
    pub fn remove_permission(&mut self, ip: IpAddr) {
        if self.permissions.remove(&ip).is_some() {
            tracing::debug!(%ip, "turn: permission removed");
        }
        for (_, c) in self.channels.iter_mut().filter(|(p, _)| p.ip() == ip) {
            c.used = false;
        }
    }

    pub(super) fn permission_timers(&mut self, now: Instant) {
        let mut refresh = Vec::new();
        let mut forget = Vec::new();
        for (ip, p) in self.permissions.iter_mut() {
            if p.retry_at.is_some_and(|t| t <= now) {
                p.retry_at = None;
                if !p.in_flight && !p.installed(now) {
                    forget.push(*ip);
                    continue;
                }
            }
            if p.refresh_at.is_some_and(|t| t <= now) {
                p.refresh_at = None;
                if (p.used || p.pinned) && !p.in_flight {
                    refresh.push(*ip);
                } else if !p.in_flight {
                    tracing::debug!(%ip, "turn: unused permission lapses");
                    forget.push(*ip);
                    continue;
                }
            }
            if p.installed_until.is_some_and(|t| t <= now) {
                p.installed_until = None;
                if !p.in_flight {
                    tracing::debug!(%ip, "turn: permission expired");
                    forget.push(*ip);
                }
            }
        }
        for ip in forget {
            self.permissions.remove(&ip);
        }
        for ip in refresh {
            if let Some(p) = self.permissions.get_mut(&ip) {
                p.used = false;
            }
            self.send_permission(now, ip);
        }
    }

    pub(super) fn check_peer(&self, ip: IpAddr) -> Result<(), TurnError> {
        if self.state != TurnState::Allocated {
            return Err(TurnError::NotAllocated);
        }
        match self.relayed {
            Some(r) if r.is_ipv4() == ip.is_ipv4() => Ok(()),
            Some(_) => Err(TurnError::AddressFamilyMismatch),
            None => Err(TurnError::NotAllocated),
        }
    }

    pub(super) fn permission_installed(&mut self, now: Instant, ip: IpAddr, sent_at: Instant) {
        let Some(perm) = self.permissions.get_mut(&ip) else {
            return;
        };
        let was = perm.installed(now);
        let until = sent_at + PERMISSION_LIFETIME;
        perm.installed_until = Some(perm.installed_until.map_or(until, |t| t.max(until)));
        if !perm.in_flight {
            let refresh = sent_at + PERMISSION_REFRESH;
            perm.refresh_at = Some(perm.refresh_at.map_or(refresh, |t| t.max(refresh)));
        }
        perm.retry_at = None;
        if !was {
            tracing::debug!(%ip, "turn: permission installed");
            self.events.push_back(TurnEvent::PermissionCreated(ip));
        }
    }

    pub(super) fn ensure_permission(
        &mut self,
        now: Instant,
        ip: IpAddr,
        pin: bool,
    ) -> Result<(), TurnError> {
        if let Some(p) = self.permissions.get_mut(&ip) {
            p.used = true;
            p.pinned |= pin;
            if !p.in_flight && !p.installed(now) && p.retry_at.is_none() {
                self.send_permission(now, ip);
            }
            return Ok(());
        }
        if self.permissions.len() >= self.config.max_permissions {
            return Err(TurnError::TooManyPermissions(self.config.max_permissions));
        }
        let mut p = Permission::new();
        p.pinned = pin;
        self.permissions.insert(ip, p);
        self.send_permission(now, ip);
        Ok(())
    }

    pub(super) fn send_permission(&mut self, now: Instant, ip: IpAddr) {
        match self.send_request(now, Request::CreatePermission { ip }, 0) {
            Ok(_) => {
                if let Some(p) = self.permissions.get_mut(&ip) {
                    p.in_flight = true;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, %ip, "turn: cannot send CreatePermission");
                if let Some(p) = self.permissions.get_mut(&ip) {
                    if !p.installed(now) {
                        p.retry_at = Some(now + FAILED_RETRY);
                    }
                }
            }
        }
    }
}
