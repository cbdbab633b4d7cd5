//! How every random source in the crate is made: the agent (credentials,
//! tie-breaker, transaction ids, consent jitter), each TURN client
//! (transaction ids) and the simulator (loss, jitter) draw from a ChaCha8
//! generator seeded from their configuration, so a seeded run replays
//! exactly, or from the operating system's CSPRNG when no seed is given.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// A ChaCha8 generator from `seed`, or from 32 bytes of the OS CSPRNG when
/// `None`. Panics only if the OS random source fails (nothing secure can
/// be done without it).
pub(crate) fn seeded_rng(seed: Option<u64>) -> ChaCha8Rng {
    match seed {
        Some(seed) => ChaCha8Rng::seed_from_u64(seed),
        None => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).expect("operating system random source");
            ChaCha8Rng::from_seed(seed)
        }
    }
}
