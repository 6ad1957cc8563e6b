//! The readers against files the tools themselves wrote (tests/fixtures/foreign).
