//! Reading JSON objects into domain values, naming the field of every problem.
//!
//! Creates and updates share one parser per resource: an update (PATCH) is a JSON merge patch
//! (RFC 7396) applied to the resource's editable representation, then parsed like a create.
//! Pure: it reads a `serde_json::Map` that the HTTP layer has already received.

use super::{
    error::{KO_NOT_A_NUMBER, KO_REQUIRED},
    FieldError, Invalid,
};
use serde_json::{Map, Value};

/// A JSON object being read, with the path of its fields for error messages.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Obj<'a> {
    pub fn root(map: &'a Map<String, Value>) -> Self {
        Self {
            map,
            prefix: String::new(),
        }
    }

    pub fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// Rejects fields this resource does not have (catches typos such as `expires_at`).
    pub fn only(&self, allowed: &[&str]) -> Result<(), FieldError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(FieldError::new(
                self.path(k),
                format!(
                    "unknown field `{k}`; expected one of: {}",
                    allowed.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// Whether the field was sent at all, even as `null` (an explicit "none").
    pub fn present(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Whether the field was sent with a value other than `null`.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn str(&self, name: &str) -> Result<Option<&'a str>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(FieldError::new(
                self.path(name),
                format!("must be a string, not {}", kind(v)),
            )),
        }
    }

    pub fn req_str(&self, name: &str) -> Result<&'a str, FieldError> {
        self.str(name)?
            .ok_or_else(|| FieldError::new(self.path(name), "is required").ko(KO_REQUIRED))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(FieldError::new(
                self.path(name),
                format!("must be true or false, not {}", kind(v)),
            )),
        }
    }

    pub fn u64(&self, name: &str) -> Result<Option<u64>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                FieldError::new(self.path(name), "must be a whole number ≥ 0").ko(KO_NOT_A_NUMBER)
            }),
            Some(v) => Err(FieldError::new(
                self.path(name),
                format!("must be a number, not {}", kind(v)),
            )
            .ko(KO_NOT_A_NUMBER)),
        }
    }

    pub fn obj(&self, name: &str) -> Result<Option<Obj<'a>>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Obj {
                map: m,
                prefix: self.path(name),
            })),
            Some(v) => Err(FieldError::new(
                self.path(name),
                format!("must be an object, not {}", kind(v)),
            )),
        }
    }

    pub fn array(&self, name: &str) -> Result<Option<&'a Vec<Value>>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(FieldError::new(
                self.path(name),
                format!("must be an array, not {}", kind(v)),
            )),
        }
    }

    /// The entries of an optional array field (none when it is absent), at most `max`.
    fn entries(&self, name: &str, max: usize) -> Result<&'a [Value], FieldError> {
        let Some(items) = self.array(name)? else {
            return Ok(&[]);
        };
        if items.len() > max {
            return Err(FieldError::new(
                self.path(name),
                format!("at most {max} entries"),
            ));
        }
        Ok(items)
    }

    /// Objects in an array field, with `field[i]` paths.
    pub fn objects(&self, name: &str, max: usize) -> Result<Vec<Obj<'a>>, FieldError> {
        self.entries(name, max)?
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(m) => Ok(Obj {
                    map: m,
                    prefix: format!("{}[{i}]", self.path(name)),
                }),
                other => Err(FieldError::new(
                    format!("{}[{i}]", self.path(name)),
                    format!("must be an object, not {}", kind(other)),
                )),
            })
            .collect()
    }

    /// Strings in an array field.
    pub fn strings(&self, name: &str, max: usize) -> Result<Vec<&'a str>, FieldError> {
        self.entries(name, max)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().ok_or_else(|| {
                    FieldError::new(format!("{}[{i}]", self.path(name)), "must be a string")
                })
            })
            .collect()
    }

    /// An optional string field through a domain parser.
    pub fn parse<T>(
        &self,
        name: &str,
        f: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Result<Option<T>, FieldError> {
        match self.str(name)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => f(s).map(Some).map_err(|e| e.at(self.path(name))),
        }
    }

    /// A required string field through a domain parser.
    pub fn req<T>(
        &self,
        name: &str,
        f: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Result<T, FieldError> {
        f(self.req_str(name)?).map_err(|e| e.at(self.path(name)))
    }
}

/// RFC 7396 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            // A tagged object (`{"kind": …}`: an image, a validity) whose kind the patch changes
            // is another variant: its fields replace the old ones, none of which may linger.
            let other_kind = match (target.get("kind"), p.get("kind")) {
                (Some(old), Some(new)) => !new.is_null() && old != new,
                _ => false,
            };
            if !target.is_object() || other_kind {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("just made an object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Fields a client may read but not write: mentioning them in a PATCH is an error.
pub fn reject_read_only(patch: &Map<String, Value>, read_only: &[&str]) -> Result<(), FieldError> {
    match read_only.iter().find(|f| patch.contains_key(**f)) {
        Some(f) => Err(FieldError::new(*f, format!("`{f}` is read-only"))),
        None => Ok(()),
    }
}

/// What the request parsers' tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{FieldError, Invalid, Value};

    /// `base` with the top-level `fields` set (`null` stays an explicit null).
    pub fn with_fields(mut base: Value, fields: Value) -> Value {
        for (k, f) in fields.as_object().unwrap() {
            base[k] = f.clone();
        }
        base
    }

    pub fn fe(field: &str, message: impl Into<String>) -> FieldError {
        FieldError::new(field, message)
    }

    pub fn unknown(field: &str, name: &str, expected: &[&str]) -> FieldError {
        let list = expected.join(", ");
        fe(
            field,
            format!("unknown field `{name}`; expected one of: {list}"),
        )
    }

    pub fn invalid(r: Result<impl std::fmt::Debug, Invalid>) -> String {
        r.unwrap_err().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7396() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn a_patch_that_changes_a_kind_replaces_the_variant() {
        let mut t = json!({"image": {"kind": "uploaded", "key": "k", "content_type": "image/png"},
                           "validity": {"kind": "days_after_issue", "days": 30}});
        merge_patch(
            &mut t,
            &json!({"image": {"kind": "url", "url": "https://x.example/a.png"},
                    "validity": {"kind": "never"}}),
        );
        assert_eq!(
            t,
            json!({"image": {"kind": "url", "url": "https://x.example/a.png"},
                   "validity": {"kind": "never"}})
        );
        // The same kind merges as before.
        merge_patch(
            &mut t,
            &json!({"image": {"kind": "url", "url": "https://y.example/b.png"}}),
        );
        assert_eq!(t["image"]["url"], "https://y.example/b.png");
    }

    #[test]
    fn field_paths_in_errors() {
        let v = json!({"recipient": {"email": 3}, "evidence": [{"url": 1}]});
        let o = Obj::root(v.as_object().unwrap());
        let r = o.obj("recipient").unwrap().unwrap();
        assert_eq!(r.str("email").unwrap_err().field, "recipient.email");
        let ev = o.objects("evidence", 10).unwrap();
        assert_eq!(ev[0].str("url").unwrap_err().field, "evidence[0].url");
        assert_eq!(o.only(&["recipient"]).unwrap_err().field, "evidence");
    }

    #[test]
    fn type_errors_name_what_was_sent() {
        let v = json!({"s": 1, "b": "yes", "n": -1, "f": 1.5, "o": [], "a": {}, "x": null});
        let o = Obj::root(v.as_object().unwrap());
        let msg = |e: FieldError| e.message;
        assert_eq!(
            msg(o.str("s").unwrap_err()),
            "must be a string, not a number"
        );
        assert_eq!(
            msg(o.bool("b").unwrap_err()),
            "must be true or false, not a string"
        );
        assert_eq!(msg(o.u64("n").unwrap_err()), "must be a whole number ≥ 0");
        assert_eq!(msg(o.u64("f").unwrap_err()), "must be a whole number ≥ 0");
        assert_eq!(
            msg(o.u64("b").unwrap_err()),
            "must be a number, not a string"
        );
        assert_eq!(
            msg(o.obj("o").err().unwrap()),
            "must be an object, not an array"
        );
        assert_eq!(
            msg(o.array("a").unwrap_err()),
            "must be an array, not an object"
        );
        assert_eq!(msg(o.req_str("x").unwrap_err()), "is required");
    }

    #[test]
    fn null_and_blank_mean_not_given() {
        let v = json!({"x": null, "blank": "  ", "id": "42"});
        let o = Obj::root(v.as_object().unwrap());
        assert!(o.present("x") && !o.has("x") && !o.present("y"));
        assert_eq!(o.str("x"), Ok(None));
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| Invalid::new("not a number"))
        };
        assert_eq!(o.parse("blank", number), Ok(None));
        assert_eq!(o.parse("id", number), Ok(Some(42)));
        assert_eq!(
            o.req("blank", number),
            Err(FieldError::new("blank", "not a number"))
        );
        assert_eq!(o.req("y", number), Err(FieldError::new("y", "is required")));
    }

    #[test]
    fn array_limits_and_element_paths() {
        let v = json!({"tags": ["a", 2], "items": [{}, "x"]});
        let o = Obj::root(v.as_object().unwrap());
        assert_eq!(
            o.strings("tags", 1),
            Err(FieldError::new("tags", "at most 1 entries"))
        );
        assert_eq!(
            o.strings("tags", 5),
            Err(FieldError::new("tags[1]", "must be a string"))
        );
        let e = o.objects("items", 5).err().unwrap();
        assert_eq!(
            e,
            FieldError::new("items[1]", "must be an object, not a string")
        );
        assert!(o.strings("none", 5).unwrap().is_empty());
    }

    #[test]
    fn read_only_fields_are_refused() {
        let v = json!({"name": "n", "version": 3});
        let e = reject_read_only(v.as_object().unwrap(), &["id", "version"]).unwrap_err();
        assert_eq!(e, FieldError::new("version", "`version` is read-only"));
        assert!(reject_read_only(v.as_object().unwrap(), &["id"]).is_ok());
    }
}

/// Property tests (issue #14, hostile input): RFC 7396's laws for [`merge_patch`], read-only
/// fields, and nesting as deep as a body can be sent.
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::{http::body::object_from, proptest_config};
    use proptest::prelude::*;
    use serde_json::json;

    /// Few names, so that patches and targets share keys.
    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "b", "c", "id", "version", "이름", ""])
            .prop_map(String::from)
    }

    fn object_of(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
        prop::collection::btree_map(key(), inner, 0..5)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            2 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::from),
            1 => any::<i64>().prop_map(Value::from),
            2 => "[a-z가-힣]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 5, |inner| {
            prop_oneof![
                1 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                2 => object_of(inner),
            ]
        })
    }

    fn object() -> impl Strategy<Value = Value> {
        object_of(json())
    }

    fn patched(target: &Value, patch: &Value) -> Value {
        let mut t = target.clone();
        merge_patch(&mut t, patch);
        t
    }

    /// `v` with null object members removed at every depth (arrays as they are).
    fn without_nulls(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(_, x)| !x.is_null())
                    .map(|(k, x)| (k.clone(), without_nulls(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    proptest! {
        #![proptest_config(proptest_config(1_000))]

        /// `{}` changes no object.
        #[test]
        fn an_empty_patch_changes_no_object(t in object()) {
            prop_assert_eq!(patched(&t, &json!({})), t);
        }

        /// Applying a patch twice is applying it once.
        #[test]
        fn a_patch_applied_twice_is_applied_once(t in json(), p in json()) {
            let once = patched(&t, &p);
            prop_assert_eq!(patched(&once, &p), once);
        }

        /// Member by member: `null` removes, an object merges, anything else replaces, members
        /// the patch does not name stay, and no other member appears.
        #[test]
        fn null_removes_objects_merge_values_replace(t in object(), p in object()) {
            let r = patched(&t, &p);
            let (r, tm, pm) = (r.as_object().unwrap(), t.as_object().unwrap(), p.as_object().unwrap());
            for (k, v) in pm {
                if v.is_null() {
                    prop_assert!(!r.contains_key(k));
                } else {
                    prop_assert_eq!(&r[k], &patched(tm.get(k).unwrap_or(&Value::Null), v));
                }
            }
            for (k, v) in tm.iter().filter(|(k, _)| !pm.contains_key(*k)) {
                prop_assert_eq!(&r[k], v);
            }
            prop_assert!(r.keys().all(|k| tm.contains_key(k) || pm.contains_key(k)));
        }

        /// On anything but an object, a patch is its own value without null members.
        #[test]
        fn a_patch_on_a_non_object_is_the_patch_without_nulls(
            t in prop_oneof![
                json().prop_map(|v| if v.is_object() { Value::Null } else { v }),
                prop::collection::vec(json(), 0..3).prop_map(Value::Array),
            ],
            p in json(),
        ) {
            prop_assert!(!t.is_object());
            prop_assert_eq!(patched(&t, &p), without_nulls(&p));
        }

        /// A patch is refused exactly when it names a read-only field, and the error names it.
        #[test]
        fn read_only_fields_are_refused_by_name(
            p in object(),
            read_only in prop::sample::subsequence(vec!["id", "version", "이름", "created_at"], 0..4),
        ) {
            let m = p.as_object().unwrap();
            match reject_read_only(m, &read_only) {
                Ok(()) => prop_assert!(read_only.iter().all(|f| !m.contains_key(*f))),
                Err(e) => {
                    prop_assert!(m.contains_key(&e.field));
                    prop_assert!(read_only.contains(&e.field.as_str()));
                    prop_assert!(e.message.contains(&e.field));
                }
            }
        }
    }

    proptest! {
        #![proptest_config(proptest_config(300))]

        /// A body nested up to 10,000 deep (objects and arrays) is refused with a 400 naming the
        /// recursion limit beyond depth 127, and patches without overflow up to it.
        #[test]
        fn deep_bodies_are_refused_or_patch_without_overflow(
            levels in prop_oneof![
                prop::collection::vec(any::<bool>(), 0..140),
                prop::collection::vec(any::<bool>(), 0..10_000),
            ],
        ) {
            let mut text = String::from("{\"a\":");
            for object in &levels {
                text.push_str(if *object { "{\"a\":" } else { "[" });
            }
            text.push('1');
            for object in levels.iter().rev() {
                text.push(if *object { '}' } else { ']' });
            }
            text.push('}');
            let depth = levels.len() + 1;
            match object_from(text.as_bytes()) {
                Ok(m) => {
                    prop_assert!(depth <= 127, "depth {} accepted", depth);
                    let patch = Value::Object(m);
                    let once = patched(&json!({"a": {"b": 1}, "c": 2}), &patch);
                    prop_assert_eq!(patched(&once, &patch), once);
                }
                Err(e) => {
                    prop_assert!(depth > 127, "depth {}: {}", depth, e.message);
                    prop_assert_eq!(e.code, "malformed_json");
                    prop_assert!(e.message.contains("recursion limit exceeded"), "{}", e.message);
                }
            }
        }
    }
}
