//! Prediction outputs that are files: Cog returns them as data URLs when it has no upload URL.

use base64::Engine as _;

const TABLE: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
    ("wav", "audio/wav"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
    ("txt", "text/plain"),
    ("json", "application/json"),
    ("csv", "text/csv"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
];

/// MIME type for a lowercase file extension (`application/octet-stream` if unknown).
pub fn mime_for_extension(ext: &str) -> &'static str {
    TABLE
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, m)| *m)
        .unwrap_or("application/octet-stream")
}

/// File extension for a MIME type (`bin` if unknown).
pub fn extension_for_mime(mime: &str) -> &'static str {
    TABLE
        .iter()
        .find(|(_, m)| *m == mime)
        .map(|(e, _)| *e)
        .unwrap_or("bin")
}

/// A decoded `data:` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUrl {
    pub mime: String,
    pub bytes: Vec<u8>,
}

impl DataUrl {
    /// Decodes `data:<mime>[;params];base64,<data>` or a percent-free plain `data:<mime>,<text>`.
    /// `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix("data:")?;
        let (meta, data) = rest.split_once(',')?;
        let mut parts = meta.split(';');
        let mime = parts
            .next()
            .filter(|m| !m.is_empty())
            .unwrap_or("text/plain")
            .to_owned();
        let is_base64 = parts.any(|p| p == "base64");
        let bytes = if is_base64 {
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .ok()?
        } else {
            data.as_bytes().to_vec()
        };
        Some(DataUrl { mime, bytes })
    }

    /// A file name for it: `<stem>.<ext>`.
    pub fn file_name(&self, stem: &str) -> String {
        format!("{stem}.{}", extension_for_mime(&self.mime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_decode() {
        let d = DataUrl::parse("data:image/png;base64,iVBORw==").unwrap();
        assert_eq!(d.bytes, b"\x89PNG");
        assert_eq!(d.file_name("output"), "output.png");
        assert_eq!(DataUrl::parse("data:,hi").unwrap().bytes, b"hi");
        assert!(DataUrl::parse("hello world").is_none());
    }
}
