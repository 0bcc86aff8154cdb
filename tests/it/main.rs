//! The integration-test binary: drives the real `raqib` executable and the real server.

mod cli;
mod default_model;
mod harness;
mod serve;
mod training_data;
