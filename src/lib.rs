//! crowdfund: a backend for reward-based, all-or-nothing crowdfunding.
//!
//! `main.rs` parses the command line; everything else lives here so that tests can start
//! the real application (see [`routes::app::Application`]).

pub mod accounts;
pub mod auth;
pub mod campaigns;
pub mod clock;
pub mod commands;
pub mod community;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod fulfilment;
pub mod http;
pub mod ledger;
pub mod mail;
pub mod media;
pub mod payments;
pub mod pledges;
pub mod routes;
pub mod settlement;
pub mod shapes;
pub mod surveys;
pub mod telemetry;
pub mod webhooks;
