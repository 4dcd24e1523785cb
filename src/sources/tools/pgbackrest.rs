//! pgbackrest: listing and verification (to be written).

use super::Listing;
use crate::config::backups::ToolTarget;

pub async fn list(_target: &ToolTarget) -> Result<Listing, String> {
    Err("not yet read".into())
}

pub async fn check(
    _target: &ToolTarget,
    _cancel: impl std::future::Future<Output = ()> + Send,
) -> Result<(), String> {
    Err("not yet checked".into())
}
