//! Placeholder: the ice-peer example is being written.
fn main() {}
