//! The layer order of ARCHITECTURE.md, checked: every `crate::…` / `super::…` path in the
//! library's source (tests excluded) points at a module of the same or a lower layer, no two
//! modules import each other, and the pure core names no I/O crate. It reads the source as text,
//! so it runs with the unit tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Layers from the bottom: a module may use modules of its own layer or the ones below.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &[
        "urls",
        "openbadges",
        "ld",
        "ob3",
        "baking",
        "render",
        "email",
        "csv_import",
        "messaging",
    ],
    &[
        "store",
        "blobs",
        "mailer",
        "schedules",
        "config",
        "aws",
        "cache",
        "telemetry",
        "events",
        "kms",
        "queue",
        "outbound",
    ],
    &["app"],
    &[
        "issuing",
        "ingest",
        "notify",
        "rollup",
        "analytics",
        "digest",
        "email_events",
        "credentials",
        "webhooks",
        "cards",
    ],
    &["http"],
    &["entry"],
];

/// The pure core (the first two layers) does no I/O: none of these crates appear in it.
const IO_CRATES: &[&str] = &["axum", "tokio", "aws_", "lambda_", "hyper", "tower"];

type Module = Vec<String>;

/// The layer of a module: that of its top-level module (`None` for the crate root).
fn layer_of(module: &[String]) -> Option<usize> {
    let top = module.first()?;
    LAYERS.iter().position(|l| l.contains(&top.as_str()))
}

/// Every source file as its module path (`http/console/mod.rs` → `http::console`).
fn modules(root: &Path) -> Vec<(Module, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
                let mut m: Module = rel
                    .iter()
                    .map(|s| s.to_string_lossy().into_owned())
                    .collect();
                if matches!(m.last().map(String::as_str), Some("mod" | "lib")) {
                    m.pop();
                }
                out.push((m, path));
            }
        }
    }
    out
}

/// A source text without its `#[cfg(test)]` items (test modules may import anything).
fn without_tests(source: &str) -> String {
    let mut out = String::new();
    let mut rest = source;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let item = &rest[i..];
        // The item ends at its `;` or at the brace closing its first `{`, whichever comes first.
        let end = match (item.find(';'), item.find('{')) {
            (Some(semi), Some(open)) if semi < open => semi + 1,
            (_, Some(open)) => closing_brace(item, open),
            (Some(semi), None) => semi + 1,
            (None, None) => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The index just after the brace matching the one at `open`.
fn closing_brace(text: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => return open + i + 1,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// The `crate::a::b` and `super::a` paths of a source text (test items left out), with
/// `use x::{a, b::{c}}` groups expanded.
fn paths(source: &str) -> Vec<String> {
    let code = without_tests(source);
    let code = code.as_str();
    let mut out = Vec::new();
    for (i, _) in code.match_indices("use ") {
        let rest = &code[i + 4..];
        if let Some(end) = rest.find(';') {
            // `x as y` → `x@y`, then no whitespace.
            let words: Vec<&str> = rest[..end].split_whitespace().collect();
            let stmt = words.join(" ").replace(" as ", "@").replace(' ', "");
            if stmt.starts_with("crate::") || stmt.starts_with("super::") {
                out.extend(expand(&stmt));
            }
        }
    }
    for start in ["crate::", "super::"] {
        for (i, _) in code.match_indices(start) {
            let tail = &code[i..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            out.push(tail[..end].trim_end_matches(':').to_owned());
        }
    }
    out
}

/// `a::{b,c::{d,e}}` → `a::b`, `a::c::d`, `a::c::e` (whitespace already removed).
fn expand(stmt: &str) -> Vec<String> {
    let Some(open) = stmt.find('{') else {
        return vec![stmt.to_owned()];
    };
    let prefix = &stmt[..open];
    let inner = stmt[open + 1..]
        .strip_suffix('}')
        .unwrap_or(&stmt[open + 1..]);
    let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    let parts = parts.into_iter().filter(|p| !p.is_empty());
    parts
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .collect()
}

/// The module a path from `from` names: the longest prefix of it that is a module.
fn target(from: &[String], path: &str, known: &BTreeSet<Module>) -> Option<Module> {
    let mut segs = path.split("::").map(|s| s.split('@').next().unwrap_or(s));
    let mut full: Module = match segs.next()? {
        "crate" => Vec::new(),
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    for s in segs {
        match s {
            "super" => {
                full.pop();
            }
            "self" | "*" | "" => {}
            s => full.push(s.to_owned()),
        }
    }
    (0..=full.len())
        .rev()
        .map(|k| full[..k].to_vec())
        .find(|m| known.contains(m))
}

/// Every import of the library: (importing module, imported module), itself excluded.
fn imports(root: &Path) -> BTreeSet<(Module, Module)> {
    let files = modules(root);
    let known: BTreeSet<Module> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut edges = BTreeSet::new();
    for (m, path) in &files {
        let source = std::fs::read_to_string(path).unwrap_or_default();
        for p in paths(&source) {
            if let Some(t) = target(m, &p, &known).filter(|t| t != m) {
                edges.insert((m.clone(), t));
            }
        }
    }
    edges
}

/// What breaks the layer order: imports upwards, and pairs of modules importing each other.
fn violations(edges: &BTreeSet<(Module, Module)>) -> Vec<String> {
    let mut out = Vec::new();
    for (from, to) in edges {
        if let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) {
            if b > a {
                out.push(format!(
                    "{} imports {} from a higher layer",
                    from.join("::"),
                    to.join("::")
                ));
            }
        }
        let related = to.starts_with(from) || from.starts_with(to);
        if !related && from < to && edges.contains(&(to.clone(), from.clone())) {
            out.push(format!(
                "{} and {} import each other",
                from.join("::"),
                to.join("::")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_top_level_module_has_a_layer() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for (m, _) in modules(&root).into_iter().filter(|(m, _)| m.len() == 1) {
            let ok = layer_of(&m).is_some() || m[0] == "layers";
            assert!(
                ok,
                "add `{}` to a layer in layers.rs and ARCHITECTURE.md",
                m[0]
            );
        }
    }

    #[test]
    fn no_module_imports_against_the_layer_order() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let edges = imports(&root);
        assert!(
            edges.len() > 100,
            "the reader found only {} imports",
            edges.len()
        );
        let found = violations(&edges);
        assert!(found.is_empty(), "layer violations:\n{}", found.join("\n"));
    }

    #[test]
    fn the_pure_core_uses_no_io_crate() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        for (m, path) in modules(&root) {
            if layer_of(&m).is_some_and(|l| l <= 1) {
                let code = without_tests(&std::fs::read_to_string(&path).unwrap_or_default());
                for krate in IO_CRATES {
                    let used = code.contains(&format!("{krate}::"))
                        || code.contains(&format!("use {krate}"));
                    if used {
                        found.push(format!("{} uses {krate}", m.join("::")));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "I/O in the pure core:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_check_sees_upward_and_mutual_imports() {
        let src = "use crate::{app::App, http::{error::ApiError, api}};\n\
                   fn f() { super::ui::t(); }\n\
                   #[cfg(test)]\nmod tests { use crate::entry; fn g() { if x { crate::notify::y() } } }\n\
                   fn h() { crate::store::z() }";
        let p = paths(src);
        assert!(
            !p.iter()
                .any(|p| p.contains("entry") || p.contains("notify")),
            "{p:?}"
        );
        assert!(p.contains(&"crate::store::z".to_owned()));
        assert!(p.contains(&"crate::app::App".to_owned()));
        assert!(p.contains(&"crate::http::error::ApiError".to_owned()));
        assert!(p.contains(&"super::ui::t".to_owned()));
        let m = |s: &str| s.split("::").map(str::to_owned).collect::<Module>();
        let edges: BTreeSet<_> = [
            (m("store"), m("app")),
            (m("http::console::session"), m("http::console::ui")),
            (m("http::console::ui"), m("http::console::session")),
            (m("http::console::ui"), m("http::console")),
        ]
        .into();
        let found = violations(&edges);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found
            .iter()
            .any(|f| f.contains("store imports app from a higher layer")));
        assert!(found
            .iter()
            .any(|f| f.contains("session and http::console::ui import each other")));
    }
}
