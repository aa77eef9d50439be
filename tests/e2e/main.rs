//! End-to-end suite: the real binary, spoken to over MCP on stdio, against
//! the sandbox tenant. One module per behaviour.

mod browser;
mod harness;

mod addins;
mod audit;
mod bad_input;
mod confirm;
mod doctor;
mod faults;
mod features;
mod gate;
mod operator;
mod plugins;
mod report;
mod retry;
mod secrets;
mod security;
mod startup;
mod store;
mod teams;
mod templates;
mod tracking;
mod users;
mod wit_versions;
