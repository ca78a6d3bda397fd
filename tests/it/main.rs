//! The end-to-end tests, one module per area, in one test binary (as ripgrep and uv do): each
//! test binary links the AWS SDK, so one binary instead of one per file saves that link time
//! and disk several times over.

#[cfg(feature = "test-provider")]
mod apply;
mod aws;
mod azure;
mod cli;
mod common;
mod fixtures;
#[cfg(feature = "test-provider")]
mod remote;
mod ring;
#[cfg(feature = "test-provider")]
mod state;

/// Without the feature the binary cannot be pointed at the fake cloud, so `apply`'s tests
/// cannot run: fail, rather than pass having tested nothing.
#[cfg(not(feature = "test-provider"))]
#[test]
fn apply_tests_need_the_test_provider_feature() {
    panic!(
        "the apply tests run ringform against the fake cloud, which needs the test-provider feature: \
         run scripts/test, or cargo test --features ringform/test-provider"
    );
}
