//! Built-in codecs.
