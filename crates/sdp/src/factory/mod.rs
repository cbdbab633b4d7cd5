//! Offer/answer factories.
