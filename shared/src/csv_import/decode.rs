//! Text encodings of real spreadsheet exports: UTF-8 (with or without BOM), UTF-16 LE/BE (with
//! BOM), and CP949/EUC-KR (what Korean Excel writes for "CSV"). Decoded as a stream into UTF-8.

use super::FileError;
use encoding_rs::{Decoder, DecoderResult, Encoding, EUC_KR, UTF_16BE, UTF_16LE, UTF_8};
use std::io::{self, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// Windows code page 949 (a superset of EUC-KR).
    Cp949,
}

impl SourceEncoding {
    fn encoding(self) -> &'static Encoding {
        match self {
            Self::Utf8 => UTF_8,
            Self::Utf16Le => UTF_16LE,
            Self::Utf16Be => UTF_16BE,
            Self::Cp949 => EUC_KR,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
            Self::Cp949 => "CP949",
        }
    }
}

/// Decides the encoding from the first bytes of the file (up to 64 KiB).
pub fn sniff(head: &[u8]) -> Result<SourceEncoding, FileError> {
    if head.is_empty() {
        return Err(FileError::Empty);
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok(SourceEncoding::Utf8);
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return Ok(SourceEncoding::Utf16Le);
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Ok(SourceEncoding::Utf16Be);
    }
    if head.contains(&0) {
        return Err(FileError::Binary);
    }
    let controls = head
        .iter()
        .filter(|b| **b < 0x20 && !matches!(**b, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    if controls > head.len() / 100 + 2 {
        return Err(FileError::Binary);
    }
    match std::str::from_utf8(head) {
        Ok(_) => Ok(SourceEncoding::Utf8),
        // Cut in the middle of a character at the end of the sample: still UTF-8.
        Err(e) if e.error_len().is_none() => Ok(SourceEncoding::Utf8),
        Err(_) => {
            let (_, had_errors) = EUC_KR.decode_without_bom_handling(head);
            // The sample may end inside a two-byte character; allow that one.
            let trimmed = &head[..head.len().saturating_sub(1)];
            let (_, trimmed_errors) = EUC_KR.decode_without_bom_handling(trimmed);
            if had_errors && trimmed_errors {
                Err(FileError::Encoding(
                    "it is neither UTF-8, UTF-16 nor CP949/EUC-KR".into(),
                ))
            } else {
                Ok(SourceEncoding::Cp949)
            }
        }
    }
}

/// UTF-8 out of any supported encoding, streaming. Malformed input is an `InvalidData` error that
/// says where, never silently replaced characters.
pub struct DecodingReader<R> {
    inner: R,
    decoder: Decoder,
    label: &'static str,
    in_buf: Vec<u8>,
    in_start: usize,
    in_end: usize,
    out: Vec<u8>,
    out_pos: usize,
    consumed: u64,
    eof: bool,
    done: bool,
    /// Malformed input met after some good text: the good text is handed out first (so the
    /// reader above can tell which row the bad bytes are in), this error on the next read.
    failed: Option<String>,
    /// UTF-8 was a guess from an all-ASCII head (no BOM) and only ASCII has come out so far:
    /// the first byte that is not UTF-8 may still start CP949 (a Korean Excel file whose first
    /// 64 KiB are English names), and decoding switches to it from there.
    guessed_utf8: bool,
}

impl<R: Read> DecodingReader<R> {
    pub fn new(inner: R, encoding: SourceEncoding) -> Self {
        Self {
            inner,
            decoder: encoding.encoding().new_decoder_with_bom_removal(),
            label: encoding.label(),
            in_buf: vec![0; 64 * 1024],
            in_start: 0,
            in_end: 0,
            out: Vec::with_capacity(3 * 64 * 1024 + 16),
            out_pos: 0,
            consumed: 0,
            eof: false,
            done: false,
            failed: None,
            guessed_utf8: encoding == SourceEncoding::Utf8,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if let Some(m) = self.failed.take() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, m));
        }
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() && !self.done {
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.in_buf)?;
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            if self.guessed_utf8 {
                self.settle_guess()?;
            }
            let cap = self
                .decoder
                .max_utf8_buffer_length_without_replacement(self.in_end - self.in_start)
                .unwrap_or(3 * 64 * 1024)
                + 16;
            self.out.resize(cap, 0);
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.in_buf[self.in_start..self.in_end],
                &mut self.out,
                self.eof,
            );
            self.in_start += read;
            self.consumed += read as u64;
            self.out.truncate(written);
            match result {
                DecoderResult::InputEmpty => {
                    if self.eof {
                        self.done = true;
                    }
                }
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(_, _) => {
                    let m = format!("not valid {} near byte {}", self.label, self.consumed);
                    if self.out.is_empty() {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, m));
                    }
                    self.done = true;
                    self.failed = Some(m);
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> DecodingReader<R> {
    /// While UTF-8 is only a guess (all ASCII so far): at the first byte that is not ASCII,
    /// looks at what follows (reading up to 1 KiB more if needed) and keeps UTF-8 if it is
    /// UTF-8, else switches to CP949 if it is that — everything before was ASCII, the same in
    /// both. A file that is neither fails as UTF-8.
    fn settle_guess(&mut self) -> io::Result<()> {
        let Some(at) = self.in_buf[self.in_start..self.in_end]
            .iter()
            .position(|b| !b.is_ascii())
        else {
            return Ok(());
        };
        // Unread bytes to the front, then read until 1 KiB follows that byte or the file ends.
        self.in_buf.copy_within(self.in_start..self.in_end, 0);
        self.in_end -= self.in_start;
        self.in_start = 0;
        while self.in_end - at < 1024 && !self.eof && self.in_end < self.in_buf.len() {
            let n = self.inner.read(&mut self.in_buf[self.in_end..])?;
            self.in_end += n;
            self.eof = n == 0;
        }
        self.settle_at(at);
        Ok(())
    }

    fn settle_at(&mut self, from: usize) {
        self.guessed_utf8 = false;
        let window = &self.in_buf[from..self.in_end];
        let utf8 = match std::str::from_utf8(window) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none() && !self.eof,
        };
        let cut = &window[..window.len().saturating_sub(1)];
        if !utf8 && !EUC_KR.decode_without_bom_handling(cut).1 {
            self.decoder = EUC_KR.new_decoder_without_bom_handling();
            self.label = "CP949";
        }
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos >= self.out.len() {
            self.fill()?;
            if self.out.is_empty() {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<String, String> {
        let enc = sniff(&bytes[..bytes.len().min(65536)]).map_err(|e| e.to_string())?;
        let mut s = String::new();
        DecodingReader::new(bytes, enc)
            .read_to_string(&mut s)
            .map_err(|e| e.to_string())?;
        Ok(s)
    }

    #[test]
    fn every_supported_encoding() {
        let text = "이메일,이름\nkim@example.com,김민수\n";
        assert_eq!(decode(text.as_bytes()).unwrap(), text);
        let bom = [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
        assert_eq!(decode(&bom).unwrap(), text);
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(&le).unwrap(), text);
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        assert_eq!(decode(&be).unwrap(), text);
        let (cp949, _, _) = EUC_KR.encode(text);
        assert_eq!(sniff(&cp949).unwrap(), SourceEncoding::Cp949);
        assert_eq!(decode(&cp949).unwrap(), text);
    }

    #[test]
    fn long_cp949_across_buffer_boundaries() {
        let text = "이름,이메일\n".to_string() + &"홍길동,hong@example.com\n".repeat(20_000);
        let (cp949, _, _) = EUC_KR.encode(&text);
        assert!(cp949.len() > 64 * 1024 * 3);
        assert_eq!(decode(&cp949).unwrap(), text);
    }

    /// A reader answering one chunk per read.
    struct Trickle(Vec<Vec<u8>>, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(chunk) = self.0.get(self.1) else {
                return Ok(0);
            };
            self.1 += 1;
            buf[..chunk.len()].copy_from_slice(chunk);
            Ok(chunk.len())
        }
    }

    #[test]
    fn cp949_after_a_long_ascii_head_is_read() {
        let english = "email,name\n".to_string() + &"lee@example.com,Lee Min\n".repeat(4_000);
        assert!(english.len() > 64 * 1024);
        let text = english + "kim@example.com,김민수\n";
        let (cp949, _, _) = EUC_KR.encode(&text);
        assert_eq!(decode(&cp949).unwrap(), text);
        // A name whose first syllable's CP949 bytes happen to be valid UTF-8 (a Latin letter).
        let tricky = ('가'..='힣')
            .find(|c| {
                let text = c.to_string();
                let (b, _, _) = EUC_KR.encode(&text);
                matches!(b[..], [0xC2..=0xDF, 0x80..=0xBF])
            })
            .unwrap();
        let text = format!("{text}park@example.com,{tricky}민수\n");
        let (cp949, _, _) = EUC_KR.encode(&text);
        assert_eq!(decode(&cp949).unwrap(), text);
        // Fed a few bytes at a time, the first Korean character split across reads.
        for step in [1, 2, 3, 7] {
            let chunks = cp949.chunks(step).map(<[u8]>::to_vec);
            let mut out = String::new();
            DecodingReader::new(Trickle(chunks.collect(), 0), SourceEncoding::Utf8)
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text, "{step}-byte reads");
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(sniff(b""), Err(FileError::Empty));
        assert_eq!(sniff(b"PK\x03\x04\x00\x00binary"), Err(FileError::Binary));
        assert!(matches!(
            sniff(&[0x80, 0x81, 0xFF, 0xFE, 0x80, 0x20, 0xC8]),
            Err(FileError::Encoding(_))
        ));
        // UTF-8 that breaks after the sniffed head is an error, not replaced text.
        let mut bad = "email,name\n".repeat(7000).into_bytes();
        bad.extend_from_slice(&[0xC3, 0x28, b'\n']);
        assert!(decode(&bad).unwrap_err().contains("not valid UTF-8"));
    }
}
