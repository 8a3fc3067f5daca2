//! QR codes of public URLs, rendered on request (never while issuing).

use qrcode::{render::svg, Color as QrColor, EcLevel, QrCode};

#[derive(Debug, thiserror::Error)]
#[error("could not make a QR code: {0}")]
pub struct QrError(String);

fn code(data: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))
}

pub fn svg(data: &str) -> Result<String, QrError> {
    Ok(code(data)?
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// A grayscale PNG: `scale` pixels per module, 4-module quiet zone.
pub fn png(data: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    let code = code(data)?;
    let n = code.width() as u32;
    let quiet = 4u32;
    let side = (n + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; (side * side) as usize];
    for (i, c) in colors.iter().enumerate() {
        if *c == QrColor::Dark {
            let (mx, my) = (i as u32 % n, i as u32 / n);
            for dy in 0..scale {
                let y = (my + quiet) * scale + dy;
                let row = (y * side) as usize;
                let x0 = ((mx + quiet) * scale) as usize;
                pixels[row + x0..row + x0 + scale as usize].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side, side);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| QrError(e.to_string()))?;
        w.write_image_data(&pixels)
            .map_err(|e| QrError(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_formats() {
        let s = svg("https://badges.example/b/abc").unwrap();
        assert!(s.contains("<svg"));
        let p = png("https://badges.example/b/abc", 8).unwrap();
        assert!(p.starts_with(b"\x89PNG"));
    }
}
