//! opsdeck: a terminal dashboard for operations. `app/` owns state, `ui/`
//! draws it, `sources/` fetch it, `actions/` change the world, `domain/`
//! holds the math, `demo/` simulates an estate, `config/` loads files.

pub mod domain;
pub mod demo;
pub mod sources;
pub mod app;
pub mod config;
pub mod ui;
pub mod cli;
pub mod run;
pub mod terminal;
