//! OpenSSL's DTLS retransmission timer, which the `openssl` crate does not wrap.
//!
//! `DTLSv1_get_timeout` and `DTLSv1_handle_timeout` are C macros over
//! `SSL_ctrl` (commands `DTLS_CTRL_GET_TIMEOUT` = 73 and
//! `DTLS_CTRL_HANDLE_TIMEOUT` = 74 in `ssl.h`, unchanged since OpenSSL 1.0).
//! This module is the only place in the crate with `unsafe` code: two calls to
//! `SSL_ctrl` on a live `SSL` borrowed from the `openssl` crate.
#![allow(unsafe_code)]

use std::time::Duration;

use foreign_types::ForeignTypeRef;
use openssl::ssl::{SslRef, SslStream};

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
