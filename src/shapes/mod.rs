//! The API's JSON shapes of campaigns, pledges and updates that webhook payloads carry too: one
//! definition, so a receiver parses what the API answers. Built from rows, below the rules that
//! write events and the routes that answer with them.

pub mod campaign;
pub mod image;
pub mod pledge;
pub mod update;
