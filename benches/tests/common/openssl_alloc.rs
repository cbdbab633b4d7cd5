//! Routes OpenSSL's `CRYPTO_malloc`/`realloc` through the counting
//! allocator's counter (`counting_alloc.rs`, included by the same binary), so
//! a no-allocation test sees OpenSSL's heap use too. OpenSSL accepts new
//! memory functions only before its first allocation in the process: call
//! [`count_openssl_allocations`] first thing in the binary's only test.

use std::ffi::{c_char, c_int, c_void};

use nix::libc;

use super::counting_alloc::record;

type MallocFn = extern "C" fn(usize, *const c_char, c_int) -> *mut c_void;
type ReallocFn = extern "C" fn(*mut c_void, usize, *const c_char, c_int) -> *mut c_void;
type FreeFn = extern "C" fn(*mut c_void, *const c_char, c_int);

extern "C" {
    // OpenSSL 1.1+/3.x, libcrypto (linked through dtls-transport's openssl-sys).
    fn CRYPTO_set_mem_functions(m: MallocFn, r: ReallocFn, f: FreeFn) -> c_int;
}

extern "C" fn ossl_malloc(n: usize, _file: *const c_char, _line: c_int) -> *mut c_void {
    record();
    // SAFETY: plain malloc.
    unsafe { libc::malloc(n) }
}

extern "C" fn ossl_realloc(
    p: *mut c_void,
    n: usize,
    _file: *const c_char,
    _line: c_int,
) -> *mut c_void {
    record();
    // SAFETY: `p` came from `ossl_malloc`/`ossl_realloc` (or is null).
    unsafe { libc::realloc(p, n) }
}

extern "C" fn ossl_free(p: *mut c_void, _file: *const c_char, _line: c_int) {
    // SAFETY: `p` came from `ossl_malloc`/`ossl_realloc` (or is null).
    unsafe { libc::free(p) }
}

/// Installs the hooks; panics if OpenSSL has already allocated.
pub(crate) fn count_openssl_allocations() {
    // SAFETY: the hooks only forward to libc's malloc/realloc/free, which
    // OpenSSL's contract for CRYPTO_set_mem_functions asks for.
    let hooked = unsafe { CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) };
    assert_eq!(hooked, 1, "OpenSSL allocated before the test could hook it");
}
