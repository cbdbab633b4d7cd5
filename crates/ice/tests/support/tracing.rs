//! Logs for a test: `RUST_LOG` (default `warn`) into the test's output.
//! Included with `#[path]` by the tests that run the tokio driver.

/// Installs the subscriber once per test binary.
pub(crate) fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}
