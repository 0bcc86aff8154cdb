//! The integration-test binary: drives the real `raqib` executable and the real server.

mod cli;
mod harness;
mod serve;
mod default_model;
mod training_data;
