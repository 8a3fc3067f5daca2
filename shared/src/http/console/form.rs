//! HTML form fields → the API's JSON (pure). Inputs are named by the JSON path the API reports in
//! its errors (`criteria.narrative`, `related[2].label`), so an error lands next to its input and
//! the console validates with exactly the API's rules.
//!
//! - `a.b`, `a[0].b`: nested objects and arrays;
//! - a `:bool` suffix: `true`/`on` → true, anything else false (a hidden `false` before a
//!   checkbox gives unchecked boxes a value; the last value wins);
//! - `:int`: a whole number (kept as text when it is not one, so the API names the field);
//! - `:lines`: one item per line or comma;
//! - an empty text is `null` (absent when creating, removed when editing);
//! - an object whose text fields are all empty is `null`; such an array element is dropped;
//! - `_order:int` inside array elements sorts the array and is removed;
//! - names starting with `_` (`_csrf`, `_version`) are not data.

use serde_json::{Map, Number, Value};

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The deepest input name the console's forms use is 3 segments (`follow_ups.subject.ko`,
/// `related[2].label`); anything much longer or deeper is not one of ours and is ignored, so a
/// hostile name cannot build a deep value (or a deep recursion).
const MAX_NAME_LEN: usize = 120;
const MAX_DEPTH: usize = 6;
/// The most fields a form is read for (the template editor, the largest, has under 200): each
/// field may pad an array per level with up to 99 nulls, so without a bound a 2 MB body of
/// `x1[99][99][99][99][99]=`… would build millions of values (and a copy of them).
pub const MAX_FIELDS: usize = 1_000;

fn parse_path(name: &str) -> Option<Vec<Seg>> {
    if name.len() > MAX_NAME_LEN {
        return None;
    }
    let mut out = Vec::new();
    for part in name.split('.') {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() {
            return None;
        }
        out.push(Seg::Key(key.to_owned()));
        let mut rest = rest;
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let idx: usize = r[..end].parse().ok()?;
            if idx >= 100 {
                return None;
            }
            out.push(Seg::Index(idx));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() || out.len() > MAX_DEPTH {
            return None;
        }
    }
    Some(out)
}

fn typed(kind: &str, raw: &str) -> Value {
    let t = raw.trim();
    match kind {
        "bool" => Value::Bool(matches!(t, "true" | "on" | "1")),
        "int" if t.is_empty() => Value::Null,
        "int" => t
            .parse::<i64>()
            .map(|n| Value::Number(Number::from(n)))
            .unwrap_or_else(|_| Value::String(t.to_owned())),
        "lines" => Value::Array(
            t.split(['\n', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        _ if t.is_empty() => Value::Null,
        _ => Value::String(raw.replace("\r\n", "\n").trim().to_owned()),
    }
}

fn set(target: &mut Value, path: &[Seg], v: Value) {
    let Some((first, rest)) = path.split_first() else {
        *target = v;
        return;
    };
    match first {
        Seg::Key(k) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let slot = target
                .as_object_mut()
                .expect("just made an object")
                .entry(k.clone())
                .or_insert(Value::Null);
            set(slot, rest, v);
        }
        Seg::Index(i) => {
            if !target.is_array() {
                *target = Value::Array(Vec::new());
            }
            let arr = target.as_array_mut().expect("just made an array");
            while arr.len() <= *i {
                arr.push(Value::Null);
            }
            set(&mut arr[*i], rest, v);
        }
    }
}

/// Whether the text fields under a node (the shadow holds only plain-text fields) exist and are
/// all empty.
fn blank(shadow: &Value) -> bool {
    fn walk(v: &Value, texts: &mut usize, filled: &mut usize) {
        match v {
            Value::Object(m) => m.values().for_each(|x| walk(x, texts, filled)),
            Value::Array(a) => a.iter().for_each(|x| walk(x, texts, filled)),
            Value::Null => *texts += 1,
            _ => {
                *texts += 1;
                *filled += 1;
            }
        }
    }
    let (mut texts, mut filled) = (0, 0);
    walk(shadow, &mut texts, &mut filled);
    texts > 0 && filled == 0
}

fn tidy(v: &mut Value, shadow: &Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let sh = shadow.get(k).unwrap_or(&Value::Bool(false));
                tidy(x, sh);
                if x.is_object() && blank(sh) {
                    *x = Value::Null;
                }
            }
        }
        Value::Array(a) => {
            let mut kept = Vec::new();
            for (i, mut x) in std::mem::take(a).into_iter().enumerate() {
                let sh = shadow.get(i).unwrap_or(&Value::Bool(false));
                tidy(&mut x, sh);
                if !(x.is_null() || x.is_object() && blank(sh)) {
                    kept.push(x);
                }
            }
            if kept.iter().any(|x| x.get("_order").is_some()) {
                let order = |x: &Value| x.get("_order").and_then(Value::as_i64).unwrap_or(i64::MAX);
                kept.sort_by_key(order);
                for x in &mut kept {
                    if let Some(m) = x.as_object_mut() {
                        m.remove("_order");
                    }
                }
            }
            *a = kept;
        }
        _ => {}
    }
}

/// Builds the JSON object the form describes. Fields with an unreadable name, and fields past
/// the first [`MAX_FIELDS`], are ignored.
pub fn to_json(fields: &[(String, String)]) -> Map<String, Value> {
    let mut root = Value::Object(Map::new());
    let mut shadow = Value::Object(Map::new());
    for (name, raw) in fields.iter().take(MAX_FIELDS) {
        if name.starts_with('_') {
            continue;
        }
        let (path, kind) = match name.rsplit_once(':') {
            Some((p, k)) => (p, k),
            None => (name.as_str(), ""),
        };
        let Some(segs) = parse_path(path) else {
            continue;
        };
        // `_order` inside elements is kept until sorting.
        let v = typed(kind, raw);
        if kind.is_empty() {
            set(&mut shadow, &segs, v.clone());
        }
        set(&mut root, &segs, v);
    }
    tidy(&mut root, &shadow);
    match root {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The same object without `null`s (a create request: absent means "the default").
pub fn without_nulls(m: Map<String, Value>) -> Map<String, Value> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.retain(|_, x| !x.is_null());
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = Value::Object(m);
    strip(&mut v);
    match v {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

/// A stored JSON value as an input shows it (lists as `a, b`; absent as empty).
pub fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

/// Whether a checkbox is on, from the value it was submitted or stored with; empty: `default`.
pub fn flag(value: &str, default: bool) -> bool {
    match value {
        "" => default,
        v => v == "true" || v == "on",
    }
}

/// The value a form field had (for re-displaying what the admin typed).
pub fn value<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .rev()
        .find(|(n, _)| n == name || n.split(':').next() == Some(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_form_is_read_for_its_first_thousand_fields_only() {
        let hostile: Vec<(String, String)> = (0..5_000)
            .map(|i| (format!("x{i}[99][99][99][99][99]"), "v".to_owned()))
            .collect();
        let m = to_json(&hostile);
        assert_eq!(m.len(), MAX_FIELDS);
        assert!(m.contains_key("x999") && !m.contains_key("x1000"));
    }

    #[test]
    fn paths_types_and_blanks() {
        let m = to_json(&f(&[
            ("_csrf", "x"),
            ("name", "  데이터 분석  "),
            ("criteria.narrative", "Pass"),
            ("criteria.url", ""),
            ("skills:lines", "SQL, Python\nR\n"),
            ("validity.kind", "days_after_issue"),
            ("validity.days:int", "365"),
            ("follow_ups.day3:bool", "false"),
            ("follow_ups.day3:bool", "on"),
            ("follow_ups.day7:bool", "false"),
            ("follow_ups.expiry_reminder_days:int", ""),
            ("banner.alt", ""),
            ("banner.target_url", ""),
            ("banner.enabled:bool", "true"),
            ("related[0].template_id", "tpl_b"),
            ("related[0]._order:int", "2"),
            ("related[1].template_id", "tpl_a"),
            ("related[1].label", "먼저"),
            ("related[1]._order:int", "1"),
            ("related[2].template_id", ""),
            ("related[2]._order:int", ""),
            ("bad[x", "ignored"),
        ]));
        assert_eq!(
            Value::Object(m),
            json!({
                "name": "데이터 분석",
                "criteria": {"narrative": "Pass", "url": null},
                "skills": ["SQL", "Python", "R"],
                "validity": {"kind": "days_after_issue", "days": 365},
                "follow_ups": {"day3": true, "day7": false, "expiry_reminder_days": null},
                "banner": null,
                "related": [{"template_id": "tpl_a", "label": "먼저"}, {"template_id": "tpl_b"}],
            })
        );
    }

    #[test]
    fn numbers_that_are_not_numbers_reach_the_api_as_text() {
        let m = to_json(&f(&[("validity.days:int", "abc")]));
        assert_eq!(m["validity"]["days"], "abc");
        assert!(parse_path("a[999]").is_none());
        assert!(parse_path("a..b").is_none());
    }

    #[test]
    fn hostile_names_are_ignored_not_nested() {
        let deep = "a.".repeat(200_000) + "a";
        let brackets = "a".to_owned() + &"[0]".repeat(100_000);
        let m = to_json(&f(&[(&deep, "x"), (&brackets, "y"), ("name", "ok")]));
        assert_eq!(Value::Object(m), serde_json::json!({"name": "ok"}));
        assert!(parse_path("a.b.c.d.e.f").is_some());
        assert!(parse_path("a.b.c.d.e.f.g").is_none());
        assert!(parse_path(&"x".repeat(121)).is_none());
    }

    #[test]
    fn typed_values_are_re_displayed() {
        let fields = f(&[("a:bool", "false"), ("a:bool", "on"), ("name", "x")]);
        assert_eq!(value(&fields, "a"), Some("on"));
        assert_eq!(value(&fields, "name"), Some("x"));
    }
}

/// Property tests (issue #14, hostile input): urlencoded bodies through the extractor the console
/// uses (`axum::Form`), then [`to_json`].
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::proptest_config;
    use axum::{
        body::Body,
        extract::{Form, FromRequest, Request},
        http::header,
    };
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    use proptest::prelude::*;
    use std::{
        future::Future,
        pin::pin,
        task::{Context, Poll, Waker},
    };

    /// The fields `Posted` reads from a body (the future is ready at once: the body is in memory).
    fn fields_of(body: Vec<u8>) -> Option<Vec<(String, String)>> {
        let req = Request::post("/")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let fut = pin!(Form::<Vec<(String, String)>>::from_request(req, &()));
        match fut.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(r) => r.ok().map(|Form(f)| f),
            Poll::Pending => panic!("an in-memory body is read at once"),
        }
    }

    fn depth(v: &Value) -> usize {
        match v {
            Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
            Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Names like the console's and hostile ones: keys, `[i]` indices, dots, broken brackets,
    /// `_` names, type suffixes, many segments.
    fn name() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            4 => prop::sample::select(vec!["a", "name", "criteria", "related", "_order", "_csrf", "이름"])
                .prop_map(String::from),
            2 => "[a-z_]{0,4}",
            2 => "[0-9]{1,3}".prop_map(|i| format!("[{i}]")),
            1 => prop::sample::select(vec!["[", "]", "[]", "[x]", "[-1]", "[99999999999999999999]", ".", ":"])
                .prop_map(String::from),
        ];
        let suffix = prop::sample::select(vec!["", "", ":bool", ":int", ":lines", ":x", "::"]);
        (
            prop::collection::vec((segment, any::<bool>()), 1..10),
            suffix,
        )
            .prop_map(|(segs, suffix)| {
                let mut n = String::new();
                for (s, dot) in segs {
                    if dot && !n.is_empty() && !s.starts_with('[') {
                        n.push('.');
                    }
                    n.push_str(&s);
                }
                n + suffix
            })
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[0-9 ,\\n-]{0,12}",
            prop::sample::select(vec!["", "on", "true", "false", "1", "-5", "a, b\nc"])
                .prop_map(String::from),
        ]
    }

    /// Bodies as browsers send them (percent-encoded, `+` for space) or raw, and any bytes.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let pair = (name(), value(), any::<bool>()).prop_map(|(n, v, encode)| {
            if encode {
                let v = v.replace(' ', "+");
                format!(
                    "{}={}",
                    utf8_percent_encode(&n, NON_ALPHANUMERIC),
                    utf8_percent_encode(&v, NON_ALPHANUMERIC)
                )
            } else {
                format!("{n}={v}")
            }
        });
        prop_oneof![
            3 => prop::collection::vec(pair, 0..12).prop_map(|p| p.join("&").into_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..300),
        ]
    }

    proptest! {
        #![proptest_config(proptest_config(1_000))]

        /// No body panics the reader; the JSON built is at most 6 bytes per body byte (+ 16: a
        /// raw control byte becomes `\u00XX`, a bare name `"name":null`) and at most 7 deep (6
        /// segments and the root object).
        #[test]
        fn urlencoded_bodies_never_panic_and_stay_small(body in body()) {
            let len = body.len();
            let Some(fields) = fields_of(body) else {
                return Ok(());
            };
            let m = to_json(&fields);
            let root = Value::Object(m.clone());
            let size = serde_json::to_string(&root).unwrap().len();
            prop_assert!(size <= 6 * len + 16, "{} bytes of JSON from {} bytes: {}", size, len, root);
            prop_assert!(depth(&root) <= MAX_DEPTH + 1, "{}", root);
            let created = Value::Object(without_nulls(m));
            prop_assert!(serde_json::to_string(&created).unwrap().len() <= size);
        }
    }
}
