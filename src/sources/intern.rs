//! Label names and values held once, however many answers carry them. At
//! 10,000 services each of some thirty kept answers names every service:
//! one shared string a name instead of a `String` a sample (heaptrack put
//! the label strings at 57 MB of a 150 MB peak before this). A string no
//! answer holds any more is let go by `prune`, every 10 s, so names that
//! come and go (pods, instances) do not pile up.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

type Held = HashSet<Arc<str>, foldhash::fast::RandomState>;

static HELD: Mutex<Option<Held>> = Mutex::new(None);

/// The shared copy of `text`, made on first sight.
pub fn intern(text: &str) -> Arc<str> {
    let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    let held = held.get_or_insert_with(Held::default);
    if let Some(known) = held.get(text) {
        return known.clone();
    }
    let new: Arc<str> = Arc::from(text);
    held.insert(new.clone());
    new
}

/// Lets go of every string only this table still holds, and of the table's
/// spare room once it is mostly empty (not every time: names that come and
/// go would make it shrink and grow back every 10 s).
pub fn prune() {
    let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(held) = held.as_mut() else {
        return;
    };
    held.retain(|s| Arc::strong_count(s) > 1);
    if held.capacity() > 4 * held.len().max(64) {
        held.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_one_string_and_an_unheld_one_is_let_go() {
        let a = intern("intern-test-checkout");
        let b = intern("intern-test-checkout");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, "intern-test-checkout");
        let gone = Arc::downgrade(&a);
        drop((a, b));
        let kept = intern("intern-test-search");
        let stays = Arc::downgrade(&kept);
        prune();
        assert!(gone.upgrade().is_none(), "held by nothing else: let go");
        assert!(stays.upgrade().is_some(), "still held: kept");
        assert!(Arc::ptr_eq(&kept, &intern("intern-test-search")));
    }
}
