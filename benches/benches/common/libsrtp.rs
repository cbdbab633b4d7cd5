//! libsrtp 2 (with OpenSSL crypto) loaded at run time, for the SRTP bench.
//!
//! The fair libsrtp to compare with is libsrtp 2 built against OpenSSL (its
//! AES-CM, AES-GCM and HMAC-SHA1 are then OpenSSL's). Debian's `libsrtp2` is
//! built with NSS and is several times slower, so instead this module uses the
//! copy inside the `pylibsrtp` 1.0.0 wheel (libsrtp 2.7.0 with a static
//! OpenSSL 3.5), whose `pylibsrtp/_binding.abi3.so` exports the libsrtp C API.
//! `cargo xtask bench srtp` creates the venv `target/srtp-venv` that holds it
//! and passes its path in `PEERSTACK_LIBSRTP_SO`.
//!
//! How the shared object is loaded (`dlopen`):
//! - `RTLD_DEEPBIND`: the wheel's OpenSSL symbols are exported and its calls to
//!   them go through the PLT, so without it they would bind to the system
//!   `libcrypto` this process already has (OpenSSL 3.0, through the `openssl`
//!   crate), mixing two OpenSSL versions. With it the object binds to its own
//!   copies first.
//! - `RTLD_LOCAL`: its symbols stay out of the global scope, so our own
//!   OpenSSL calls are unaffected.
//! - `RTLD_LAZY`, and `libpython3.x` loaded first with `RTLD_GLOBAL`: the
//!   object is a CPython extension. Its Python functions are never called (lazy
//!   binding leaves them unresolved) but one data symbol, `_Py_NoneStruct`, is
//!   resolved at load time, so a libpython must be present. It is looked up
//!   next to the venv's base interpreter (`home` in `pyvenv.cfg`), then by
//!   soname; `PEERSTACK_LIBPYTHON_SO` overrides. Nothing of Python runs.
//!
//! The handle is never closed (the embedded OpenSSL registers exit handlers).
//!
//! `srtp_policy_t` is declared here with libsrtp 2.x's layout; its size and the
//! offsets of `key`, `window_size` and `allow_repeat_tx` are checked at compile
//! time against what the wheel's own cffi layout reports (128, 56, 88, 96).
//! The crypto policies inside it are filled by libsrtp's
//! `srtp_crypto_policy_set_from_profile_for_rtp`/`_rtcp`.

// This is the only module of the benches package with unsafe code (FFI).
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr, CString};
use std::mem::offset_of;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::libc;

/// Bytes libsrtp may write after an RTP packet on protect
/// (`SRTP_MAX_TRAILER_LEN`: 16-byte tag + 128-byte MKI).
pub(crate) const MAX_TRAILER: usize = 144;

/// `srtp_profile_t` values (libsrtp 2 `srtp.h`).
#[derive(Clone, Copy, Debug)]
#[repr(i32)]
pub(crate) enum Profile {
    Aes128CmSha1_80 = 1,
    Aes128CmSha1_32 = 2,
    AeadAes128Gcm = 7,
    AeadAes256Gcm = 8,
}

/// `srtp_crypto_policy_t` (filled by libsrtp, never read here).
#[repr(C)]
struct CryptoPolicy {
    cipher_type: c_uint,
    cipher_key_len: c_int,
    auth_type: c_uint,
    auth_key_len: c_int,
    auth_tag_len: c_int,
    sec_serv: c_int,
}

/// `srtp_ssrc_t`.
#[repr(C)]
struct Ssrc {
    kind: c_int,
    value: c_uint,
}

/// `ssrc_specific` in `srtp_ssrc_type_t`.
const SSRC_SPECIFIC: c_int = 1;

/// `srtp_policy_t` of libsrtp 2.x.
#[repr(C)]
struct Policy {
    ssrc: Ssrc,
    rtp: CryptoPolicy,
    rtcp: CryptoPolicy,
    key: *const u8,
    keys: *mut c_void,
    num_master_keys: c_ulong,
    deprecated_ekt: *mut c_void,
    window_size: c_ulong,
    allow_repeat_tx: c_int,
    enc_xtn_hdr: *mut c_int,
    enc_xtn_hdr_count: c_int,
    next: *mut Policy,
}

// The layout cffi compiled into the wheel (`ffi.sizeof("srtp_policy_t")`,
// `ffi.offsetof(...)`).
const _: () = assert!(std::mem::size_of::<Policy>() == 128);
const _: () = assert!(offset_of!(Policy, rtp) == 8);
const _: () = assert!(offset_of!(Policy, rtcp) == 32);
const _: () = assert!(offset_of!(Policy, key) == 56);
const _: () = assert!(offset_of!(Policy, window_size) == 88);
const _: () = assert!(offset_of!(Policy, allow_repeat_tx) == 96);

type Srtp = *mut c_void;
type InitFn = unsafe extern "C" fn() -> c_int;
type VersionFn = unsafe extern "C" fn() -> *const c_char;
type OpensslVersionFn = unsafe extern "C" fn(c_int) -> *const c_char;
type CreateFn = unsafe extern "C" fn(*mut Srtp, *const Policy) -> c_int;
type DeallocFn = unsafe extern "C" fn(Srtp) -> c_int;
type ProtectFn = unsafe extern "C" fn(Srtp, *mut c_void, *mut c_int) -> c_int;
type PolicyFn = unsafe extern "C" fn(*mut CryptoPolicy, c_int) -> c_int;

/// The libsrtp entry points used, resolved once.
pub(crate) struct Libsrtp {
    create: CreateFn,
    dealloc: DeallocFn,
    protect: ProtectFn,
    unprotect: ProtectFn,
    policy_rtp: PolicyFn,
    policy_rtcp: PolicyFn,
    /// "libsrtp2 2.7.0, OpenSSL 3.5.4 30 Sep 2025" and the path loaded.
    pub(crate) description: String,
}

/// Where libsrtp comes from: `$PEERSTACK_LIBSRTP_SO` (then `true`: asked
/// for explicitly), else the wheel in `target/srtp-venv` if it exists.
fn locate() -> Option<(PathBuf, bool)> {
    if let Some(p) = std::env::var_os("PEERSTACK_LIBSRTP_SO") {
        return Some((PathBuf::from(p), true));
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/srtp-venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .flatten()
        .map(|d| d.path().join("site-packages/pylibsrtp/_binding.abi3.so"))
        .find(|p| p.is_file())
        .map(|p| (p, false))
}

fn dlerror() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated string valid until the
    // next dl* call on this thread; it is copied at once.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown dlopen error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

fn dlopen(path: &Path, flags: c_int) -> Result<*mut c_void, String> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: a valid C string; loading runs the object's initialisers, which
    // for libpython and the wheel are plain C (no Python is started).
    let h = unsafe { libc::dlopen(c.as_ptr(), flags) };
    if h.is_null() {
        Err(dlerror())
    } else {
        Ok(h)
    }
}

/// libpython candidates for the venv holding `so`
/// (`<venv>/lib/python3.N/site-packages/pylibsrtp/_binding.abi3.so`).
fn libpython_candidates(so: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("PEERSTACK_LIBPYTHON_SO") {
        out.push(PathBuf::from(p));
    }
    let pydir = so.ancestors().nth(3).and_then(Path::file_name);
    let soname = pydir.map(|d| format!("lib{}.so.1.0", d.to_string_lossy()));
    if let (Some(venv), Some(soname)) = (so.ancestors().nth(5), &soname) {
        let cfg = std::fs::read_to_string(venv.join("pyvenv.cfg")).unwrap_or_default();
        let home = cfg.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "home").then(|| PathBuf::from(v.trim()))
        });
        if let Some(home) = home {
            out.push(home.join("../lib").join(soname));
        }
    }
    // By soname, through the normal library search path.
    out.extend(soname.map(PathBuf::from));
    out.push(PathBuf::from("libpython3.so"));
    out
}

/// Loads the wheel's libsrtp and calls `srtp_init`. `Err` with the reason to
/// skip libsrtp when there is nothing to load or the venv's copy cannot be
/// loaded; panics when `$PEERSTACK_LIBSRTP_SO` names one that cannot be.
pub(crate) fn load() -> Result<Libsrtp, String> {
    let Some((so, explicit)) = locate() else {
        return Err(
            "PEERSTACK_LIBSRTP_SO is unset and target/srtp-venv has no pylibsrtp \
             (`cargo xtask bench srtp` creates it)"
                .into(),
        );
    };
    load_from(&so).map_err(|e| {
        let e = format!("cannot load {}: {e}", so.display());
        assert!(!explicit, "PEERSTACK_LIBSRTP_SO: {e}");
        e
    })
}

fn load_from(so: &Path) -> Result<Libsrtp, String> {
    let flags = libc::RTLD_LAZY | libc::RTLD_LOCAL | libc::RTLD_DEEPBIND;
    let handle = match dlopen(so, flags) {
        Ok(h) => h,
        Err(first) if !first.contains("undefined symbol") => return Err(first),
        Err(first) => {
            // `undefined symbol: _Py_NoneStruct`: load a libpython into the
            // global scope and retry.
            let mut tried = vec![first];
            let mut loaded = false;
            for py in libpython_candidates(so) {
                match dlopen(&py, libc::RTLD_LAZY | libc::RTLD_GLOBAL) {
                    Ok(_) => {
                        loaded = true;
                        break;
                    }
                    Err(e) => tried.push(e),
                }
            }
            if !loaded {
                return Err(format!(
                    "{}; set PEERSTACK_LIBPYTHON_SO to the venv's libpython3.x.so",
                    tried.join("; ")
                ));
            }
            dlopen(so, flags)?
        }
    };
    // SAFETY (for `sym`'s callers): each symbol is given the prototype libsrtp
    // 2.x's srtp.h declares for it (srtp_err_status_t and srtp_profile_t are C
    // enums, i.e. int); OpenSSL_version is `const char *OpenSSL_version(int)`.
    unsafe {
        let init = sym::<InitFn>(handle, "srtp_init")?;
        let version = sym::<VersionFn>(handle, "srtp_get_version_string")?;
        let openssl = sym::<OpensslVersionFn>(handle, "OpenSSL_version")?;
        let status = init();
        if status != 0 {
            return Err(format!("srtp_init: error {status}"));
        }
        Ok(Libsrtp {
            create: sym(handle, "srtp_create")?,
            dealloc: sym(handle, "srtp_dealloc")?,
            protect: sym(handle, "srtp_protect")?,
            unprotect: sym(handle, "srtp_unprotect")?,
            policy_rtp: sym(handle, "srtp_crypto_policy_set_from_profile_for_rtp")?,
            policy_rtcp: sym(handle, "srtp_crypto_policy_set_from_profile_for_rtcp")?,
            description: format!(
                "{}, {} ({})",
                CStr::from_ptr(version()).to_string_lossy(),
                CStr::from_ptr(openssl(0)).to_string_lossy(),
                so.display()
            ),
        })
    }
}

/// The function `name` of `handle` as a `F` (a function pointer type).
///
/// # Safety
/// `F` must be the symbol's actual C prototype.
unsafe fn sym<F: Copy>(handle: *mut c_void, name: &str) -> Result<F, String> {
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    let c = CString::new(name).expect("symbol name");
    // SAFETY: a live handle and a C string.
    let p = unsafe { libc::dlsym(handle, c.as_ptr()) };
    if p.is_null() {
        Err(format!("{name}: {}", dlerror()))
    } else {
        // SAFETY: non-null code address of the right size; the prototype is
        // the caller's promise.
        Ok(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
    }
}

/// A packet buffer libsrtp can work in: 4-byte aligned (libsrtp casts the
/// header to `uint32_t` fields) with `MAX_TRAILER` bytes of room after a
/// 1200-byte packet plus its tag.
#[repr(C, align(16))]
pub(crate) struct PacketBuf(pub [u8; 1216 + MAX_TRAILER]);

impl PacketBuf {
    pub(crate) fn boxed() -> Box<Self> {
        Box::new(PacketBuf([0; 1216 + MAX_TRAILER]))
    }
}

/// One `srtp_t` with a single stream for one SSRC (`ssrc_specific`, so the
/// stream exists from creation), 128-packet replay window.
pub(crate) struct Session<'a> {
    lib: &'a Libsrtp,
    ctx: Srtp,
}

impl Libsrtp {
    /// `key` is the master key followed by the master salt.
    pub(crate) fn session(&self, profile: Profile, key_salt: &[u8], ssrc: u32) -> Session<'_> {
        let mut policy = Policy {
            ssrc: Ssrc {
                kind: SSRC_SPECIFIC,
                value: ssrc,
            },
            rtp: CryptoPolicy::zero(),
            rtcp: CryptoPolicy::zero(),
            key: key_salt.as_ptr(),
            keys: std::ptr::null_mut(),
            num_master_keys: 0,
            deprecated_ekt: std::ptr::null_mut(),
            window_size: 128,
            allow_repeat_tx: 0,
            enc_xtn_hdr: std::ptr::null_mut(),
            enc_xtn_hdr_count: 0,
            next: std::ptr::null_mut(),
        };
        let mut ctx: Srtp = std::ptr::null_mut();
        // SAFETY: pointers to live, correctly laid out structs; libsrtp copies
        // the key out of `policy` during srtp_create (it derives session keys),
        // so `key_salt` need not outlive the call.
        unsafe {
            assert_eq!((self.policy_rtp)(&mut policy.rtp, profile as c_int), 0);
            assert_eq!((self.policy_rtcp)(&mut policy.rtcp, profile as c_int), 0);
            assert_eq!((self.create)(&mut ctx, &policy), 0, "srtp_create");
        }
        Session { lib: self, ctx }
    }
}

impl CryptoPolicy {
    fn zero() -> Self {
        CryptoPolicy {
            cipher_type: 0,
            cipher_key_len: 0,
            auth_type: 0,
            auth_key_len: 0,
            auth_tag_len: 0,
            sec_serv: 0,
        }
    }
}

impl Session<'_> {
    /// `srtp_protect` of the RTP packet `buf.0[..len]` in place; the SRTP
    /// length, or libsrtp's error status.
    pub(crate) fn protect(&mut self, buf: &mut PacketBuf, len: usize) -> Result<usize, i32> {
        assert!(len + MAX_TRAILER <= buf.0.len());
        let mut n = len as c_int;
        // SAFETY: a live session; the buffer is aligned and has MAX_TRAILER
        // bytes of room after the packet, all libsrtp may write.
        let status = unsafe { (self.lib.protect)(self.ctx, buf.0.as_mut_ptr().cast(), &mut n) };
        if status == 0 {
            Ok(n as usize)
        } else {
            Err(status)
        }
    }

    /// `srtp_unprotect` of the SRTP packet `buf.0[..len]` in place; the RTP
    /// length, or libsrtp's error status.
    pub(crate) fn unprotect(&mut self, buf: &mut PacketBuf, len: usize) -> Result<usize, i32> {
        assert!(len <= buf.0.len());
        let mut n = len as c_int;
        // SAFETY: a live session; libsrtp reads and writes only `len` bytes.
        let status = unsafe { (self.lib.unprotect)(self.ctx, buf.0.as_mut_ptr().cast(), &mut n) };
        if status == 0 {
            Ok(n as usize)
        } else {
            Err(status)
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // SAFETY: created by srtp_create, freed once.
        unsafe { (self.lib.dealloc)(self.ctx) };
    }
}
