//! opsdeck: a terminal dashboard for operations. `app/` owns state, `ui/`
//! draws it, `sources/` fetch it, `actions/` change the world, `domain/`
//! holds the math, `demo/` simulates an estate, `config/` loads files, and
//! `text` is the gate every string from a server passes on its way in.

pub mod actions;
pub mod app;
pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod run;
pub mod sli;
pub mod sources;
pub mod status;
pub mod terminal;
pub mod text;
pub mod ui;
