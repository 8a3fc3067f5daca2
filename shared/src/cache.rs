//! A small time-bounded cache for warm Lambdas: issuer and template data read by public pages.
//! Entries live at most `ttl` (30 s), so an admin's change shows on every page within a minute.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

pub struct TtlCache<K, V> {
    ttl: Duration,
    max: usize,
    map: Mutex<HashMap<K, (Instant, Arc<V>)>>,
}

impl<K: Eq + Hash + Clone, V> TtlCache<K, V> {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            ttl,
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: Arc<V>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        self.make_room(&mut map);
        map.insert(key, (Instant::now(), value));
    }

    /// Keeps `value`, read at `read_at`, unless the cache holds a live entry for `key` (which may
    /// be newer) or `value` is already older than the TTL; it then lives until `read_at + ttl`,
    /// so a value that waited (a slow read, a frozen Lambda) is never kept longer than one read
    /// just now would be. One lock: no entry can land between the check and the insert.
    pub fn put_if_absent_at(&self, key: K, value: Arc<V>, read_at: Instant) {
        if read_at.elapsed() >= self.ttl {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&key).is_some_and(|(at, _)| at.elapsed() < self.ttl) {
            return;
        }
        self.make_room(&mut map);
        map.insert(key, (read_at, value));
    }

    /// At `max` entries, drops the expired ones, then (still full) all.
    fn make_room(&self, map: &mut HashMap<K, (Instant, Arc<V>)>) {
        if map.len() >= self.max {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= self.max {
                map.clear();
            }
        }
    }

    pub fn forget(&self, key: &K) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_and_bounds() {
        let c = TtlCache::new(Duration::from_millis(30), 2);
        c.put(1, Arc::new("a"));
        assert_eq!(c.get(&1).as_deref(), Some(&"a"));
        std::thread::sleep(Duration::from_millis(40));
        assert!(c.get(&1).is_none());
        c.put(2, Arc::new("b"));
        c.put(3, Arc::new("c"));
        c.put(4, Arc::new("d"));
        assert!(c.get(&4).is_some());
    }

    #[test]
    fn a_value_read_earlier_neither_replaces_a_live_entry_nor_outlives_its_read() {
        let c = TtlCache::new(Duration::from_secs(30), 10);
        c.put(1, Arc::new("by key"));
        c.put_if_absent_at(1, Arc::new("catalogue"), Instant::now());
        assert_eq!(c.get(&1).as_deref(), Some(&"by key"));
        c.put_if_absent_at(2, Arc::new("catalogue"), Instant::now());
        assert_eq!(c.get(&2).as_deref(), Some(&"catalogue"));
        // Read longer ago than the TTL (a Lambda frozen with the read in flight): not kept.
        if let Some(long_ago) = Instant::now().checked_sub(Duration::from_secs(31)) {
            c.put_if_absent_at(3, Arc::new("stale"), long_ago);
            assert!(c.get(&3).is_none());
        }
    }
}
