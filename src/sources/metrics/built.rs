//! Readings kept with the answers they were built from, so that the same
//! answers again are not built into a reading again.

use std::sync::{Arc, Mutex, PoisonError};

use crate::sources::prometheus::Sample;

/// A reading built from answers, and those answers: reused answers are
/// shared, so the same answers again (compared by address, safely, since
/// they are held here) build the same reading, which is not built again.
pub(super) struct Built<T>(Mutex<Option<(Inputs, T)>>);

pub(super) type Inputs = Vec<Option<Arc<Vec<Sample>>>>;

impl<T: Clone> Built<T> {
    pub(super) fn new() -> Built<T> {
        Built(Mutex::new(None))
    }

    /// What was built from exactly `inputs`, if that was the last build.
    pub(super) fn get(&self, inputs: &Inputs) -> Option<T> {
        let held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (from, value) = held.as_ref()?;
        let same = from.len() == inputs.len()
            && from.iter().zip(inputs).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            });
        same.then(|| value.clone())
    }

    /// What was built last, whatever from.
    pub(super) fn last(&self) -> Option<T> {
        let held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        held.as_ref().map(|(_, value)| value.clone())
    }

    /// `get`, else `build` kept for next time.
    pub(super) fn or_build(&self, inputs: Inputs, build: impl FnOnce() -> T) -> T {
        self.get(&inputs)
            .unwrap_or_else(|| self.put(inputs, build()))
    }

    pub(super) fn put(&self, inputs: Inputs, value: T) -> T {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((inputs, value.clone()));
        value
    }
}
