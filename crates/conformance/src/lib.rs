//! Test support for the conformance suite.
