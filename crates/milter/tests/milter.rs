//! Integration tests of mailstamp-milter: a recorded Postfix-style session replayed through the
//! decoder and the session, round trips of every command and reply, property tests, and hostile
//! input.

#[path = "milter/common.rs"]
mod common;
#[path = "milter/hostile.rs"]
mod hostile;
#[path = "milter/props.rs"]
mod props;
#[path = "milter/recorded.rs"]
mod recorded;
#[path = "milter/roundtrip.rs"]
mod roundtrip;
