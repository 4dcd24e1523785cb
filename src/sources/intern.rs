//! Label names and values held once, however many answers carry them. At
//! 10,000 services each of some thirty kept answers names every service:
//! one shared string a name instead of a `String` a sample (heaptrack put
//! the label strings at 57 MB of a 150 MB peak before this). A series'
//! whole label set is held once too: the thirty answers name a service by
//! the same few labels, so their samples share one list instead of holding
//! a copy each (64 bytes a sample, 300,000 samples at 10,000 services). A
//! string or set no answer holds any more is let go by `prune`, every 10 s,
//! so names that come and go (pods, instances) do not pile up.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};

type Held = HashSet<Arc<str>, foldhash::fast::RandomState>;

static HELD: Mutex<Option<Held>> = Mutex::new(None);

/// A series' labels: (name, value) pairs, each string shared (`intern`).
pub type Pairs = Arc<[(Arc<str>, Arc<str>)]>;

/// The label sets held, found by the addresses of their strings: strings
/// are shared, so the same text is the same address while any set holds it.
struct Sets {
    table: hashbrown::HashTable<Pairs>,
    hasher: foldhash::fast::RandomState,
}

static SETS: Mutex<Option<Sets>> = Mutex::new(None);

fn addresses(pairs: &[(Arc<str>, Arc<str>)], hasher: &foldhash::fast::RandomState) -> u64 {
    use std::hash::Hasher;
    let mut h = hasher.build_hasher();
    for (name, value) in pairs {
        h.write_usize(Arc::as_ptr(name).cast::<u8>() as usize);
        h.write_usize(Arc::as_ptr(value).cast::<u8>() as usize);
    }
    h.finish()
}

fn same(a: &[(Arc<str>, Arc<str>)], b: &[(Arc<str>, Arc<str>)]) -> bool {
    a.len() == b.len()
        && (a.iter().zip(b)).all(|((n, v), (m, w))| Arc::ptr_eq(n, m) && Arc::ptr_eq(v, w))
}

/// The shared copy of a label set of shared strings, made on first sight.
pub fn pairs(pairs: Vec<(Arc<str>, Arc<str>)>) -> Pairs {
    let mut sets = SETS.lock().unwrap_or_else(PoisonError::into_inner);
    let sets = sets.get_or_insert_with(|| Sets {
        table: hashbrown::HashTable::new(),
        hasher: foldhash::fast::RandomState::default(),
    });
    let hash = addresses(&pairs, &sets.hasher);
    if let Some(known) = sets.table.find(hash, |held| same(held, &pairs)) {
        return known.clone();
    }
    let new: Pairs = pairs.into();
    let hasher = &sets.hasher;
    sets.table
        .insert_unique(hash, new.clone(), |held| addresses(held, hasher));
    new
}

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
    // The sets first: the strings of a set let go are then held by nothing.
    if let Some(sets) = SETS.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
        sets.table.retain(|s| Arc::strong_count(s) > 1);
        if sets.table.capacity() > 4 * sets.table.len().max(64) {
            let hasher = &sets.hasher;
            sets.table.shrink_to_fit(|held| addresses(held, hasher));
        }
    }
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

    #[test]
    fn the_same_labels_are_one_set_and_an_unheld_one_is_let_go() {
        let set = |service: &str| {
            pairs(vec![
                (intern("opsdeck_service"), intern(service)),
                (intern("opsdeck_sli"), intern("intern-test-0")),
            ])
        };
        let a = set("intern-test-cart");
        let b = set("intern-test-cart");
        assert!(Arc::ptr_eq(&a, &b), "one list for both");
        let other = set("intern-test-shop");
        assert!(!Arc::ptr_eq(&a, &other));
        assert_eq!(&*other[0].1, "intern-test-shop");
        let fewer = pairs(vec![(
            intern("opsdeck_service"),
            intern("intern-test-cart"),
        )]);
        assert_eq!(fewer.len(), 1, "a part of a set is a set of its own");
        let (gone, name) = (Arc::downgrade(&a), Arc::downgrade(&a[0].1));
        drop((a, b, fewer));
        prune();
        assert!(gone.upgrade().is_none(), "the set, held by nothing else");
        assert!(name.upgrade().is_none(), "and its strings only it held");
        assert!(Arc::ptr_eq(&other, &set("intern-test-shop")), "still held");
    }
}
