//! The integration-test binary: drives the real `raqib` executable and the real server.

mod harness;
mod serve;
