//! Baked badges: a badge image carrying its credential, so the file alone verifies (Open Badges
//! 3.0 baking: PNG `iTXt` chunk `openbadgecredential`, SVG `<openbadges:credential>`), or the
//! Open Badges 2.0 assertion URL (PNG `iTXt` `openbadges`, SVG `<openbadges:assertion verify>`).

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
pub const OB3_KEYWORD: &str = "openbadgecredential";
pub const OB2_KEYWORD: &str = "openbadges";
const OB3_SVG_NS: &str = "https://purl.imsglobal.org/ob/v3p0";
const OB2_SVG_NS: &str = "http://openbadges.org";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BakeError {
    #[error("the badge image is not a PNG file")]
    NotPng,
    #[error("the badge image is not an SVG document")]
    NotSvg,
    #[error("the badge image is an SVG with a DOCTYPE (entity declarations can hide what a verifier reads): export it without one to bake it")]
    SvgDoctype,
    #[error("the badge image already carries Open Badges data: upload the plain image to bake it")]
    AlreadyBaked,
}

/// A PNG chunk: its type and data.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The chunks of a PNG file, after checking the signature and lengths.
fn chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, BakeError> {
    let mut rest = png.strip_prefix(PNG_SIGNATURE).ok_or(BakeError::NotPng)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = rest
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .ok_or(BakeError::NotPng)? as usize;
        let kind = rest.get(4..8).and_then(|b| <[u8; 4]>::try_from(b).ok());
        let data = rest.get(8..8 + len);
        let (Some(kind), Some(data), Some(tail)) = (kind, data, rest.get(12 + len..)) else {
            return Err(BakeError::NotPng);
        };
        out.push((kind, data));
        rest = tail;
    }
    if out.first().map(|c| &c.0) != Some(b"IHDR") || out.last().map(|c| &c.0) != Some(b"IEND") {
        return Err(BakeError::NotPng);
    }
    Ok(out)
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// An uncompressed `iTXt` chunk's data: keyword, flags, empty language and translated keyword.
fn itxt(keyword: &str, text: &str) -> Vec<u8> {
    let mut d = Vec::with_capacity(keyword.len() + text.len() + 5);
    d.extend_from_slice(keyword.as_bytes());
    d.extend_from_slice(&[0, 0, 0, 0, 0]);
    d.extend_from_slice(text.as_bytes());
    d
}

/// The keyword of an `iTXt`/`tEXt` chunk.
fn keyword(data: &[u8]) -> &[u8] {
    data.split(|b| *b == 0).next().unwrap_or_default()
}

/// `png` with `text` in an `iTXt` chunk `keyword` right after the header; an earlier baked
/// chunk of either Open Badges keyword is dropped (a badge carries one credential).
pub fn bake_png(png: &[u8], keyword_name: &str, text: &str) -> Result<Vec<u8>, BakeError> {
    let parts = chunks(png)?;
    let mut out = Vec::with_capacity(png.len() + text.len() + 64);
    out.extend_from_slice(PNG_SIGNATURE);
    for (i, (kind, data)) in parts.iter().enumerate() {
        let baked = matches!(kind, b"iTXt" | b"tEXt" | b"zTXt")
            && [OB3_KEYWORD, OB2_KEYWORD]
                .map(str::as_bytes)
                .contains(&keyword(data));
        if !baked {
            write_chunk(&mut out, kind, data);
        }
        if i == 0 {
            write_chunk(&mut out, b"iTXt", &itxt(keyword_name, text));
        }
    }
    Ok(out)
}

/// Where the root element starts: past the prolog (XML declaration, processing instructions,
/// comments), which must be followed by `<svg`. A DOCTYPE is refused: its internal subset can
/// declare entities that change what an XML parser reads.
fn svg_root_start(svg: &str) -> Result<usize, BakeError> {
    let mut i = 0;
    loop {
        // A byte order mark is no whitespace to `trim_start`, but uploads may begin with one.
        let rest = svg[i..].trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        i = svg.len() - rest.len();
        if rest.starts_with("<!") && !rest.starts_with("<!--") {
            return Err(BakeError::SvgDoctype);
        }
        let skip = [("<?", "?>"), ("<!--", "-->")]
            .iter()
            .find(|(open, _)| rest.starts_with(open))
            .map(|(_, close)| rest.find(close).map(|e| e + close.len()));
        match skip {
            Some(Some(n)) => i += n,
            Some(None) => return Err(BakeError::NotSvg),
            None => {
                let root = rest.strip_prefix("<svg").and_then(|r| r.chars().next());
                return match root {
                    Some(c) if c.is_whitespace() || c == '>' => Ok(i),
                    _ => Err(BakeError::NotSvg),
                };
            }
        }
    }
}

/// Where the root `<svg …>` start tag ends (the index of its `>`), quotes respected.
fn svg_root_end(svg: &str) -> Result<usize, BakeError> {
    let start = svg_root_start(svg)?;
    let mut quote = None;
    for (i, c) in svg[start..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') if svg[..start + i].ends_with('/') => return Err(BakeError::NotSvg),
            (None, '>') => return Ok(start + i),
            _ => {}
        }
    }
    Err(BakeError::NotSvg)
}

/// `svg` with the credential JSON in `<openbadges:credential>` (OB 3.0). `]]>` never occurs in
/// the CDATA: `>` is written `\u003e` there, which is the same JSON.
pub fn bake_svg_credential(svg: &str, credential_json: &str) -> Result<String, BakeError> {
    let body = credential_json.replace("]]>", "]]\\u003e");
    insert_in_svg(
        svg,
        OB3_SVG_NS,
        &format!("<openbadges:credential><![CDATA[{body}]]></openbadges:credential>"),
    )
}

/// `svg` with the OB 2.0 hosted assertion URL (`<openbadges:assertion verify="…"/>`).
pub fn bake_svg_assertion(svg: &str, assertion_url: &str) -> Result<String, BakeError> {
    let url = assertion_url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    insert_in_svg(
        svg,
        OB2_SVG_NS,
        &format!("<openbadges:assertion verify=\"{url}\"/>"),
    )
}

/// Adds `element` as the root's first child and declares its `openbadges` prefix on the root. An
/// image that already declares the prefix, holds an `openbadges:` element or names an Open
/// Badges namespace is refused rather than merged: its prefix could be bound to another
/// namespace, and an older credential would sit beside ours. The word alone (a template named
/// "OpenBadges 입문" in the image's title) is no such mark.
fn insert_in_svg(svg: &str, ns: &str, element: &str) -> Result<String, BakeError> {
    let end = svg_root_end(svg)?;
    if ["xmlns:openbadges", "<openbadges:", OB3_SVG_NS, OB2_SVG_NS]
        .iter()
        .any(|marker| svg.contains(marker))
    {
        return Err(BakeError::AlreadyBaked);
    }
    let mut out = String::with_capacity(svg.len() + element.len() + 64);
    out.push_str(&svg[..end]);
    out.push_str(&format!(" xmlns:openbadges=\"{ns}\""));
    out.push('>');
    out.push_str(element);
    out.push_str(&svg[end + 1..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_png() -> Vec<u8> {
        crate::render::qr::png("https://example.org", 1).unwrap()
    }

    /// The iTXt texts of a PNG, read by the `png` crate's decoder (not our parser).
    fn texts(png: &[u8]) -> Vec<(String, String)> {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        reader
            .info()
            .utf8_text
            .iter()
            .map(|t| (t.keyword.clone(), t.get_text().unwrap()))
            .collect()
    }

    #[test]
    fn a_baked_png_decodes_and_carries_the_text_once() {
        let baked = bake_png(&tiny_png(), OB3_KEYWORD, "{\"a\":\"배지\"}").unwrap();
        assert_eq!(
            texts(&baked),
            vec![(OB3_KEYWORD.into(), "{\"a\":\"배지\"}".into())]
        );
        let again = bake_png(&baked, OB3_KEYWORD, "{}").unwrap();
        assert_eq!(texts(&again), vec![(OB3_KEYWORD.into(), "{}".into())]);
    }

    #[test]
    fn not_a_png_is_refused() {
        assert_eq!(
            bake_png(b"GIF89a", OB3_KEYWORD, "x"),
            Err(BakeError::NotPng)
        );
        let mut cut = tiny_png();
        cut.truncate(cut.len() - 5);
        assert_eq!(bake_png(&cut, OB3_KEYWORD, "x"), Err(BakeError::NotPng));
    }

    #[test]
    fn svg_gets_the_namespace_and_the_credential_first_in_the_root() {
        let svg = "<?xml version=\"1.0\"?><!-- <svg> in a comment --><svg xmlns=\"http://www.w3.org/2000/svg\" data-x='a>b'><rect/></svg>";
        let baked = bake_svg_credential(svg, "{\"name\":\"x]]>y\"}").unwrap();
        assert!(baked.contains("data-x='a>b' xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential><![CDATA[{\"name\":\"x]]\\u003ey\"}]]></openbadges:credential><rect/>"), "{baked}");
        assert_eq!(bake_svg_credential("<svg/>", "{}"), Err(BakeError::NotSvg));
        // an entity could hide our element and show another: no DOCTYPE
        let doctype = "<!DOCTYPE svg [<!ENTITY a 'xmlns:openbadges=><svg x>'>]><svg xmlns=\"http://www.w3.org/2000/svg\"><openbadges:credential><![CDATA[FAKE]]></openbadges:credential></svg>";
        assert_eq!(
            bake_svg_credential(doctype, "{}"),
            Err(BakeError::SvgDoctype)
        );
        // an image baked before (or naming the prefix) is not merged into
        let baked = bake_svg_assertion(
            "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
            "https://x/b/1.json",
        )
        .unwrap();
        assert_eq!(
            bake_svg_credential(&baked, "{}"),
            Err(BakeError::AlreadyBaked)
        );
        assert_eq!(
            bake_svg_credential("<html></html>", "{}"),
            Err(BakeError::NotSvg)
        );
    }

    #[test]
    fn an_svg_with_a_byte_order_mark_or_the_word_openbadges_in_its_text_is_baked() {
        let bom = "\u{feff}<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>";
        assert!(bake_svg_credential(bom, "{}").is_ok());
        let titled = "<svg xmlns=\"http://www.w3.org/2000/svg\" aria-label=\"OpenBadges 입문\"><title>openbadges 입문</title></svg>";
        let baked = bake_svg_credential(titled, "{}").unwrap();
        assert!(baked.contains("<openbadges:credential>"), "{baked}");
        let prefixed =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:openbadges=\"urn:other\"></svg>";
        assert_eq!(
            bake_svg_credential(prefixed, "{}"),
            Err(BakeError::AlreadyBaked)
        );
    }
}
