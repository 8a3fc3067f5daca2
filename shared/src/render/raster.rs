//! SVG and raster images to PNG, in pure Rust (resvg): the share cards and the PNG copy of every
//! template image. Text is set only in the embedded "Accolade Card Sans" (a Hangul + Latin subset
//! of NanumSquare, `shared/assets/fonts`); no system font is ever looked up. An SVG may use only
//! raster images inlined as `data:` URLs (never a file, a URL or another SVG, which could be
//! gzip-compressed), no image is decoded whose header says it is larger than [`MAX_SIDE`] on a side
//! (a small file can claim a huge picture), and the work one SVG can ask for is bounded: at most
//! [`MAX_IMAGES`] images and [`MAX_SIDE`]² pixels of them in all (`<use>` copies count), at most
//! [`MAX_NODES`] elements, and at most [`MAX_LAYERS`] groups drawn in layers of their own (opacity,
//! masks, clips, filters) inside each other (each layer may be 25 times the canvas).

use resvg::{
    tiny_skia,
    usvg::{self, fontdb},
};
use std::{
    io::Read,
    sync::{Arc, OnceLock},
};

/// The family name every rendered text uses.
pub const FONT_FAMILY: &str = "Accolade Card Sans";
/// The largest width or height of a raster image we decode.
pub const MAX_SIDE: usize = 4096;
/// The most images one SVG may draw.
pub const MAX_IMAGES: usize = 16;
/// The most elements one SVG may have (after `<use>` copies).
pub const MAX_NODES: usize = 20_000;
/// The most layers within layers one SVG may need.
pub const MAX_LAYERS: usize = 3;

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/AccoladeCardSans-Regular.ttf.gz");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/AccoladeCardSans-Bold.ttf.gz");
/// The Latin NanumSquare lacks (é, ü, ñ, ễ …), from Noto Sans: drawn by resvg's per-character
/// fallback.
const LATIN_REGULAR: &[u8] = include_bytes!("../../assets/fonts/AccoladeCardLatin-Regular.ttf.gz");
const LATIN_BOLD: &[u8] = include_bytes!("../../assets/fonts/AccoladeCardLatin-Bold.ttf.gz");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RasterError {
    #[error("the file is not an image we can read ({0})")]
    NotAnImage(String),
    #[error("the image is {width}×{height} pixels; at most {MAX_SIDE} on a side can be converted")]
    TooLarge { width: usize, height: usize },
    #[error("the SVG is too complex to draw: {0}")]
    TooComplex(String),
    #[error("the image could not be drawn")]
    Render,
}

impl RasterError {
    /// The same in Korean (what the console shows on Korean pages).
    pub fn korean(&self) -> String {
        match self {
            Self::NotAnImage(e) => format!("읽을 수 있는 이미지 파일이 아닙니다 ({e})."),
            Self::TooLarge { width, height } => format!(
                "이미지가 {width}×{height}픽셀입니다. 한 변이 {MAX_SIDE}픽셀 이하여야 변환할 수 있습니다."
            ),
            Self::TooComplex(e) => format!("SVG가 너무 복잡해 그릴 수 없습니다: {e}"),
            Self::Render => "이미지를 그리지 못했습니다.".into(),
        }
    }
}

/// The embedded fonts, inflated once per process (on the first render, not at start).
pub fn fonts() -> Arc<fontdb::Database> {
    static DB: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = fontdb::Database::new();
        for gz in [REGULAR, BOLD, LATIN_REGULAR, LATIN_BOLD] {
            let mut ttf = Vec::new();
            flate2::read::GzDecoder::new(gz)
                .read_to_end(&mut ttf)
                .unwrap_or_else(|e| unreachable!("the embedded font inflates: {e}"));
            db.load_font_data(ttf);
        }
        db.set_sans_serif_family(FONT_FAMILY);
        Arc::new(db)
    })
    .clone()
}

/// Parsing options: our fonts only; `data:` raster images only, each checked for size first,
/// within one budget of images and pixels for the whole SVG.
fn options(fonts: Arc<fontdb::Database>) -> usvg::Options<'static> {
    let data = usvg::ImageHrefResolver::default_data_resolver();
    let spent = std::sync::Mutex::new((0usize, 0usize));
    usvg::Options {
        resources_dir: None,
        font_family: FONT_FAMILY.to_owned(),
        fontdb: fonts,
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: Box::new(move |mime, bytes, opts| {
                // Only raster formats have dimensions here: an SVG (or svgz) is refused.
                let (w, h) = dimensions(&bytes).ok()?;
                let mut spent = spent.lock().unwrap_or_else(|e| e.into_inner());
                let (images, pixels) = (spent.0 + 1, spent.1 + w * h);
                if images > MAX_IMAGES || pixels > MAX_SIDE * MAX_SIDE {
                    return None;
                }
                *spent = (images, pixels);
                data(mime, bytes, opts)
            }),
            resolve_string: Box::new(|_, _| None),
        },
        font_resolver: usvg::FontResolver {
            select_font: usvg::FontResolver::default_font_selector(),
            select_fallback: Box::new(fallback),
        },
        ..usvg::Options::default()
    }
}

/// What an uploaded image really is, from its first bytes (the Content-Type header is not trusted).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if (head.starts_with("<svg") || head.starts_with("<?xml")) && head.contains("<svg") {
        return Some("image/svg+xml");
    }
    None
}

/// The face for a character the text's font lacks: of the faces that have it, the one whose
/// weight is nearest (resvg's own choice ignores the weight, so a bold name got regular é).
fn fallback(c: char, used: &[fontdb::ID], db: &mut Arc<fontdb::Database>) -> Option<fontdb::ID> {
    let base = db.face(*used.first()?)?.weight.0;
    let has = |id| {
        db.with_face_data(id, |data, index| {
            ttf_parser::Face::parse(data, index).is_ok_and(|f| f.glyph_index(c).is_some())
        })
        .unwrap_or(false)
    };
    db.faces()
        .filter(|f| !used.contains(&f.id) && has(f.id))
        .min_by_key(|f| f.weight.0.abs_diff(base))
        .map(|f| f.id)
}

/// A raster image's dimensions from its header, refused above [`MAX_SIDE`]. A JPEG's are read by
/// the decoder that will decode it (zune-jpeg): a file can carry two frame headers, and another
/// reader might take the small one.
pub fn dimensions(bytes: &[u8]) -> Result<(usize, usize), RasterError> {
    let unreadable = |e: String| RasterError::NotAnImage(e);
    let (width, height) = if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut jpeg = zune_jpeg::JpegDecoder::new(bytes);
        jpeg.decode_headers()
            .map_err(|e| unreadable(format!("{e:?}")))?;
        jpeg.dimensions()
            .ok_or_else(|| unreadable("no JPEG frame".into()))?
    } else {
        let size = imagesize::blob_size(bytes).map_err(|e| unreadable(e.to_string()))?;
        (size.width, size.height)
    };
    if width > MAX_SIDE || height > MAX_SIDE || width == 0 || height == 0 {
        return Err(RasterError::TooLarge { width, height });
    }
    Ok((width, height))
}

/// The bounds on elements and nested layers (see the module's note).
fn bounded(tree: &usvg::Tree) -> Result<(), RasterError> {
    fn walk(g: &usvg::Group, layers: usize, nodes: &mut usize) -> Result<(), RasterError> {
        let layers = layers + usize::from(g.should_isolate());
        if layers > MAX_LAYERS {
            let why = format!("more than {MAX_LAYERS} layered groups inside each other");
            return Err(RasterError::TooComplex(why));
        }
        let masks = g.mask().map(|m| m.root()).into_iter();
        let clips = g.clip_path().map(|c| c.root()).into_iter();
        for inner in masks.chain(clips) {
            walk(inner, layers, nodes)?;
        }
        for node in g.children() {
            *nodes += 1;
            if *nodes > MAX_NODES {
                let why = format!("more than {MAX_NODES} elements");
                return Err(RasterError::TooComplex(why));
            }
            if let usvg::Node::Group(child) = node {
                walk(child, layers, nodes)?;
            }
        }
        Ok(())
    }
    walk(tree.root(), 0, &mut 0)
}

/// `svg` drawn into a `width`×`height` PNG, scaled to fit and centred.
pub fn svg_to_png(svg: &[u8], width: u32, height: u32) -> Result<Vec<u8>, RasterError> {
    svg_to_png_with(svg, width, height, fonts())
}

/// As [`svg_to_png`], with other fonts (the tests draw without any, to see text disappear).
pub fn svg_to_png_with(
    svg: &[u8],
    width: u32,
    height: u32,
    fonts: Arc<fontdb::Database>,
) -> Result<Vec<u8>, RasterError> {
    draw(&parse(svg, fonts)?, width, height)
}

fn parse(svg: &[u8], fonts: Arc<fontdb::Database>) -> Result<usvg::Tree, RasterError> {
    if svg.starts_with(&[0x1F, 0x8B]) {
        return Err(RasterError::NotAnImage("a compressed SVG (svgz)".into()));
    }
    let tree = usvg::Tree::from_data(svg, &options(fonts))
        .map_err(|e| RasterError::NotAnImage(e.to_string()))?;
    bounded(&tree)?;
    Ok(tree)
}

fn draw(tree: &usvg::Tree, width: u32, height: u32) -> Result<Vec<u8>, RasterError> {
    let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or(RasterError::Render)?;
    let size = tree.size();
    let scale = (width as f32 / size.width()).min(height as f32 / size.height());
    let dx = (width as f32 - size.width() * scale) / 2.0;
    let dy = (height as f32 - size.height() * scale) / 2.0;
    let transform = tiny_skia::Transform::from_row(scale, 0.0, 0.0, scale, dx, dy);
    resvg::render(tree, transform, &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|_| RasterError::Render)
}

/// Any template image (PNG, JPEG, WebP, GIF or SVG) as a PNG at most `max` pixels on a side,
/// in its own proportions; a raster image is never enlarged. A raster image is placed into an
/// SVG as a `data:` URL, so one path (resvg's decoders) reads every format.
pub fn image_to_png(bytes: &[u8], content_type: &str, max: u32) -> Result<Vec<u8>, RasterError> {
    let (tree, largest) = if content_type == "image/svg+xml" {
        (parse(bytes, fonts())?, f32::INFINITY)
    } else {
        let (w, h) = dimensions(bytes)?;
        let svg = wrapped(bytes, content_type, w, h);
        (parse(svg.as_bytes(), fonts())?, 1.0)
    };
    let size = tree.size();
    let max = max as f32;
    let scale = (max / size.width()).min(max / size.height()).min(largest);
    let side = |s: f32| ((s * scale).round() as u32).clamp(1, max as u32);
    draw(&tree, side(size.width()), side(size.height()))
}

/// A raster image as the only thing in an SVG of its own size.
pub fn wrapped(bytes: &[u8], content_type: &str, width: usize, height: usize) -> String {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"><image width="{width}" height="{height}" href="data:{content_type};base64,{data}"/></svg>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut r = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    /// Pixels that are not fully transparent.
    fn inked(rgba: &[u8]) -> usize {
        rgba.chunks(4).filter(|p| p[3] > 0).count()
    }

    fn text_svg(text: &str) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="100"><text x="10" y="70" font-size="48" font-weight="700">{text}</text></svg>"#
        )
    }

    #[test]
    fn hangul_is_drawn_with_the_embedded_font_and_not_without_it() {
        let svg = text_svg("한국어 배지");
        let (w, h, with) = decode(&svg_to_png(svg.as_bytes(), 400, 100).unwrap());
        assert_eq!((w, h), (400, 100));
        let none = Arc::new(fontdb::Database::new());
        let (_, _, without) = decode(&svg_to_png_with(svg.as_bytes(), 400, 100, none).unwrap());
        assert!(inked(&with) > 2_000, "glyphs drawn: {}", inked(&with));
        assert_eq!(inked(&without), 0, "no font, no text");
    }

    #[test]
    fn both_weights_have_every_hangul_syllable_and_every_latin_letter() {
        let db = fonts();
        let faces: Vec<_> = db.faces().collect();
        assert_eq!(faces.len(), 4);
        let has = |face: &fontdb::FaceInfo, c: char| {
            db.with_face_data(face.id, |data, index| {
                ttf_parser::Face::parse(data, index)
                    .unwrap()
                    .glyph_index(c)
                    .is_some()
            })
            .unwrap()
        };
        let hangul = (0xAC00..=0xD7A3).chain(0x20..=0x7E).chain(0x3131..=0x318E);
        // Latin-1 and Latin Extended-A letters (not the × ÷ signs), and Vietnamese.
        let latin = (0xC0..=0x17F)
            .chain(0x1EA0..=0x1EF9)
            .filter(|&c| c != 0xD7 && c != 0xF7);
        for weight in [fontdb::Weight::NORMAL, fontdb::Weight::BOLD] {
            let of_weight: Vec<_> = faces.iter().filter(|f| f.weight == weight).collect();
            let sans = of_weight
                .iter()
                .find(|f| f.families[0].0 == FONT_FAMILY)
                .unwrap();
            let missing: String = hangul
                .clone()
                .filter_map(char::from_u32)
                .filter(|&c| !has(sans, c))
                .collect();
            assert_eq!(
                missing, "",
                "{weight:?}: no Hangul or ASCII glyph for these"
            );
            let missing: String = latin
                .clone()
                .filter_map(char::from_u32)
                .filter(|&c| !of_weight.iter().any(|f| has(f, c)))
                .collect();
            assert_eq!(missing, "", "{weight:?}: no Latin glyph for these");
        }
    }

    #[test]
    fn accented_latin_is_drawn_by_the_fallback() {
        let ink = |text: &str| {
            let svg = text_svg(text);
            inked(&decode(&svg_to_png(svg.as_bytes(), 400, 100).unwrap()).2)
        };
        assert!(
            ink("Müller José") > ink("Muller Jose"),
            "the accents are drawn too"
        );
    }

    #[test]
    fn characters_no_font_has_leave_a_gap_and_stop_nothing() {
        let svg = text_svg("金民洙 😀 日本語 한글");
        let (_, _, px) = decode(&svg_to_png(svg.as_bytes(), 400, 100).unwrap());
        assert!(inked(&px) > 0, "what the fonts have is still drawn");
    }

    #[test]
    fn files_and_urls_are_never_read() {
        for href in [
            "/etc/passwd",
            "file:///etc/hostname",
            "https://example.org/a.png",
        ] {
            let svg = format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image width="10" height="10" href="{href}"/></svg>"#
            );
            let (_, _, px) = decode(&svg_to_png(svg.as_bytes(), 10, 10).unwrap());
            assert_eq!(inked(&px), 0, "{href}");
        }
    }

    #[test]
    fn a_raster_image_claiming_a_huge_size_is_refused_before_decoding() {
        // A PNG header that says 100,000 × 100,000 (40 GB of pixels), with no data.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend(100_000u32.to_be_bytes());
        png.extend(100_000u32.to_be_bytes());
        png.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            image_to_png(&png, "image/png", 512),
            Err(RasterError::TooLarge {
                width: 100_000,
                height: 100_000
            })
        );
        let svg = wrapped(&png, "image/png", 10, 10);
        let (_, _, px) = decode(&svg_to_png(svg.as_bytes(), 10, 10).unwrap());
        assert_eq!(inked(&px), 0, "inlined in an SVG, it is skipped too");
    }

    fn svg(body: &str) -> String {
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="10">{body}</svg>"#)
    }

    #[test]
    fn one_svg_draws_at_most_max_images_however_often_it_uses_one() {
        use base64::Engine;
        let png = crate::render::qr::png("x", 1).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(png);
        let uses: String = (1..40)
            .map(|n| format!(r##"<use href="#i" x="{}"/>"##, n * 10))
            .collect();
        let body = format!(
            r##"<defs><image id="i" width="10" height="10" href="data:image/png;base64,{b64}"/></defs><use href="#i"/>{uses}"##
        );
        let (_, _, px) = decode(&svg_to_png(svg(&body).as_bytes(), 400, 10).unwrap());
        assert_eq!(
            inked(&px),
            MAX_IMAGES * 100,
            "40 copies asked, {MAX_IMAGES} drawn"
        );
    }

    #[test]
    fn nested_and_compressed_svgs_are_not_drawn() {
        use base64::Engine;
        let inner = svg(r#"<rect width="400" height="10" fill="red"/>"#);
        let b64 = base64::engine::general_purpose::STANDARD.encode(inner.as_bytes());
        let body =
            format!(r#"<image width="400" height="10" href="data:image/svg+xml;base64,{b64}"/>"#);
        let (_, _, px) = decode(&svg_to_png(svg(&body).as_bytes(), 400, 10).unwrap());
        assert_eq!(inked(&px), 0);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, inner.as_bytes()).unwrap();
        let svgz = gz.finish().unwrap();
        assert!(matches!(
            svg_to_png(&svgz, 10, 10),
            Err(RasterError::NotAnImage(_))
        ));
    }

    #[test]
    fn layers_within_layers_and_element_counts_are_bounded() {
        let nested = |n: usize| {
            let open = r#"<g opacity="0.9">"#.repeat(n);
            svg(&format!(
                r#"{open}<rect width="9" height="9"/>{}"#,
                "</g>".repeat(n)
            ))
        };
        assert!(svg_to_png(nested(MAX_LAYERS).as_bytes(), 40, 10).is_ok());
        assert!(matches!(
            svg_to_png(nested(MAX_LAYERS + 1).as_bytes(), 40, 10),
            Err(RasterError::TooComplex(_))
        ));
        let many = svg(&r#"<rect width="1" height="1"/>"#.repeat(MAX_NODES + 1));
        assert!(matches!(
            svg_to_png(many.as_bytes(), 40, 10),
            Err(RasterError::TooComplex(_))
        ));
    }

    #[test]
    fn raster_images_keep_their_proportions_and_are_not_enlarged() {
        let qr = crate::render::qr::png("https://example.org", 4).unwrap();
        let (w, h, _) = decode(&qr);
        let (w2, h2, px) = decode(&image_to_png(&qr, "image/png", 4096).unwrap());
        assert_eq!((w2, h2), (w, h));
        assert!(inked(&px) > 0);
        let (w3, _, _) = decode(&image_to_png(&qr, "image/png", 50).unwrap());
        assert_eq!(w3, 50);
        assert!(matches!(
            image_to_png(b"not an image", "image/png", 50),
            Err(RasterError::NotAnImage(_))
        ));
    }
}
