//! OpenSSL's DTLS retransmission timer, which the `openssl` crate does not wrap.
//!
//! `DTLSv1_get_timeout` and `DTLSv1_handle_timeout` are C macros over
//! `SSL_ctrl` (commands `DTLS_CTRL_GET_TIMEOUT` = 73 and
//! `DTLS_CTRL_HANDLE_TIMEOUT` = 74 in `ssl.h`, unchanged since OpenSSL 1.0).
//! `DTLS_set_timer_cb` (OpenSSL ≥ 1.1.1, not declared by `openssl-sys`) is
//! declared here and replaces OpenSSL's fixed 1 s initial timeout with
//! [`INITIAL_RETRANSMIT_TIMEOUT`] (see [`set_timer_cb`]).
//! This module is the only place in the crate with `unsafe` code: two calls to
//! `SSL_ctrl` and one to `DTLS_set_timer_cb` on a live `SSL` borrowed from the
//! `openssl` crate.
#![allow(unsafe_code)]

use std::time::Duration;

use foreign_types::ForeignTypeRef;
use openssl::ssl::{SslRef, SslStream};

/// The first retransmission timeout of every DTLS handshake flight: 100 ms
/// instead of OpenSSL's 1 s; each retransmission doubles it, up to
/// [`MAX_RETRANSMIT_TIMEOUT`].
///
/// libwebrtc starts at 50 ms (`DTLSv1_set_initial_timeout_duration` in
/// BoringSSL) and later derives the value from the ICE round-trip time; we
/// have no RTT here and one value for every transport, so we take the
/// initial timer DTLS 1.3 recommends (RFC 9147 §5.8.2: 100 ms, RFC 6298's
/// minimum RTO). It covers the round trip of most paths plus the peer's
/// handshake computation (an RSA-2048 signature takes ~1–2 ms), so a flight
/// is retransmitted spuriously only on paths slower than that, and a
/// spurious retransmission is harmless (DTLS discards duplicates). A lost
/// flight costs 100 ms instead of 1 s.
pub const INITIAL_RETRANSMIT_TIMEOUT: Duration = Duration::from_micros(INITIAL_US as u64);

/// The largest DTLS retransmission timeout: 60 s, the ceiling of RFC 6347
/// §4.2.4.1 and of OpenSSL's own doubling. OpenSSL still gives up after 12
/// retransmissions of one flight (`DTLS1_TMO_ALERT_COUNT`): with 100 ms
/// doubling to 60 s that is after about 282 s of silence.
pub const MAX_RETRANSMIT_TIMEOUT: Duration = Duration::from_micros(MAX_US as u64);

/// [`INITIAL_RETRANSMIT_TIMEOUT`] in the callback's unit (µs).
const INITIAL_US: libc::c_uint = 100_000;
/// [`MAX_RETRANSMIT_TIMEOUT`] in the callback's unit (µs).
const MAX_US: libc::c_uint = 60_000_000;

/// `typedef unsigned int (*DTLS_timer_cb)(SSL *s, unsigned int timer_us);`
/// from `openssl/ssl.h`.
type DtlsTimerCb = extern "C" fn(*mut openssl_sys::SSL, libc::c_uint) -> libc::c_uint;

extern "C" {
    /// `void DTLS_set_timer_cb(SSL *s, DTLS_timer_cb cb);` from
    /// `openssl/ssl.h` (OpenSSL ≥ 1.1.1; libssl is linked by `openssl-sys`).
    /// Stores `cb` in `s->d1`; OpenSSL calls it with 0 when a flight's timer
    /// starts and with the current timeout when it expires, and uses the
    /// returned value (µs) as the next timeout. `cb` may be NULL (restores
    /// OpenSSL's 1 s doubling).
    fn DTLS_set_timer_cb(s: *mut openssl_sys::SSL, cb: Option<DtlsTimerCb>);
}

/// The retransmission timer callback: [`INITIAL_RETRANSMIT_TIMEOUT`] when a
/// flight's timer starts (`timer_us == 0`), then doubling, capped at
/// [`MAX_RETRANSMIT_TIMEOUT`]. Pure arithmetic on its argument: it never
/// reads `_ssl`, allocates or panics (no unwinding can cross into C).
extern "C" fn timer_cb(_ssl: *mut openssl_sys::SSL, timer_us: libc::c_uint) -> libc::c_uint {
    next_timeout_us(timer_us)
}

/// The arithmetic of [`timer_cb`]: `const` and total, so it cannot panic.
const fn next_timeout_us(timer_us: libc::c_uint) -> libc::c_uint {
    let next = if timer_us == 0 {
        INITIAL_US
    } else {
        timer_us.saturating_mul(2)
    };
    if next > MAX_US {
        MAX_US
    } else if next < INITIAL_US {
        INITIAL_US
    } else {
        next
    }
}

/// Installs [`timer_cb`] on `ssl`: its handshake flights are first
/// retransmitted after [`INITIAL_RETRANSMIT_TIMEOUT`] (then 2×, 4×… up to
/// [`MAX_RETRANSMIT_TIMEOUT`]) instead of OpenSSL's 1 s. `DTLSv1_get_timeout`
/// reports the shortened timer, so [`get_timeout`] and [`handle_timeout`]
/// need no change. Call once, before the handshake starts.
///
/// `ssl` must come from a DTLS `SslMethod` (the crate creates no other
/// kind): the setter writes into the DTLS-only state `s->d1`, which OpenSSL
/// does not check for (a TLS `SSL` has none).
pub(super) fn set_timer_cb(ssl: &mut SslRef) {
    // SAFETY: `ssl.as_ptr()` is a valid `SSL*` for the lifetime of the
    // exclusive borrow (the `openssl` crate owns it), so nothing else calls
    // into it meanwhile. It was created from `SslMethod::dtls()` (its only
    // caller is `build_ssl`, on an `SSL` from `dtls_context`), so `s->d1` is
    // allocated by `dtls1_new` and lives as long as the `SSL` (`dtls1_clear`,
    // run by SSL_clear, saves and restores the callback). The declaration
    // above matches `ssl.h`'s prototype: `DTLS_timer_cb` is a C function
    // pointer of the same signature, and `Option<extern "C" fn>` has the
    // layout of a nullable function pointer. OpenSSL keeps only the function
    // pointer; `timer_cb` is a `'static` function with no state that never
    // unwinds and never dereferences the `SSL*` it is given, so it is sound
    // whenever OpenSSL calls it (from inside our later SSL_do_handshake,
    // SSL_read or DTLSv1_handle_timeout calls on this `SSL`).
    unsafe { DTLS_set_timer_cb(ssl.as_ptr(), Some(timer_cb)) }
}

/// `DTLS_CTRL_GET_TIMEOUT` from `openssl/ssl.h`.
const DTLS_CTRL_GET_TIMEOUT: libc::c_int = 73;
/// `DTLS_CTRL_HANDLE_TIMEOUT` from `openssl/ssl.h`.
const DTLS_CTRL_HANDLE_TIMEOUT: libc::c_int = 74;

/// `DTLSv1_get_timeout`: the time left on the running retransmission timer,
/// or `None` when no timer runs. OpenSSL measures it against the real clock
/// and reports zero when the timer has (nearly) expired.
pub(super) fn get_timeout(ssl: &SslRef) -> Option<Duration> {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    // SAFETY: `ssl.as_ptr()` is a valid `SSL*` for the lifetime of the borrow
    // (the `openssl` crate owns it). For DTLS_CTRL_GET_TIMEOUT, OpenSSL
    // (`dtls1_ctrl` → `dtls1_get_timeout`) writes one `struct timeval` through
    // `parg` and keeps no pointer to it; `tv` is a properly aligned, writable
    // `libc::timeval`, the same type `ssl.h` declares. On a non-DTLS `SSL` the
    // command is unknown and returns 0 without touching `parg`.
    let ret = unsafe {
        openssl_sys::SSL_ctrl(
            ssl.as_ptr(),
            DTLS_CTRL_GET_TIMEOUT,
            0,
            (&mut tv as *mut libc::timeval).cast(),
        )
    };
    if ret <= 0 {
        return None;
    }
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0).min(999_999);
    Some(Duration::from_secs(secs) + Duration::from_micros(u64::from(micros)))
}

/// What `DTLSv1_handle_timeout` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimeoutOutcome {
    /// The timer had not expired (or none ran): nothing happened.
    NotExpired,
    /// The timer expired and the last flight was retransmitted (written to
    /// the BIO).
    Retransmitted,
    /// OpenSSL gave up (too many retransmissions) or failed to write.
    Failed,
}

/// `DTLSv1_handle_timeout`: if the retransmission timer has expired (by the
/// real clock), retransmit the last flight through the `SSL`'s write BIO.
///
/// Takes the whole stream mutably (the crate only hands out `&SslRef` from
/// an `SslStream`) so the borrow checker guarantees exclusive access.
pub(super) fn handle_timeout<S>(stream: &mut SslStream<S>) -> TimeoutOutcome {
    let ssl = stream.ssl();
    // SAFETY: `ssl.as_ptr()` is a valid `SSL*` owned by `stream`, which is
    // exclusively borrowed, so no other call into this `SSL` runs
    // concurrently or re-entrantly. DTLS_CTRL_HANDLE_TIMEOUT
    // ignores `larg` and `parg` (NULL here). It may write to the `SSL`'s BIO:
    // the BIO is the `openssl` crate's callback BIO over our in-memory
    // datagram queue, which the `SslStream` owning this `SSL` keeps alive, and
    // whose callbacks catch panics; that is the same path `SSL_read` uses.
    let ret = unsafe {
        openssl_sys::SSL_ctrl(
            ssl.as_ptr(),
            DTLS_CTRL_HANDLE_TIMEOUT,
            0,
            std::ptr::null_mut(),
        )
    };
    match ret {
        0 => TimeoutOutcome::NotExpired,
        r if r > 0 => TimeoutOutcome::Retransmitted,
        _ => TimeoutOutcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_starts_at_the_initial_value_doubles_and_caps() {
        assert_eq!(next_timeout_us(0), 100_000);
        let mut t = 0;
        let mut seen = Vec::new();
        for _ in 0..14 {
            t = timer_cb(std::ptr::null_mut(), t);
            seen.push(t / 1000);
        }
        assert_eq!(
            seen,
            [
                100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200, 60_000, 60_000,
                60_000, 60_000
            ]
        );
        // Values OpenSSL never passes stay in range without overflow.
        assert_eq!(next_timeout_us(libc::c_uint::MAX), 60_000_000);
        assert_eq!(next_timeout_us(1), 100_000);
        assert_eq!(next_timeout_us(1_000_000), 2_000_000);
    }
}
