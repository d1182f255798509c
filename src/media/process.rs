//! From uploaded bytes to stored variants: the type read from the magic bytes, the size bounds
//! checked from the header before any pixel is decoded, then decoding under an allocation
//! limit, the EXIF orientation applied, and re-encoding at three widths. Re-encoding from
//! pixels is what strips EXIF (GPS included) and every other metadata, and what makes a
//! polyglot's other half disappear; files that carry HTML or script are refused outright.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

use crate::domain::Refusal;

/// Bytes an upload may have.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Pixels on either side.
pub const MAX_SIDE: u32 = 8_000;
/// Widths of the small, medium and large variants; an image narrower than one keeps its own.
pub const WIDTHS: [u32; 3] = [400, 1_024, 1_600];
/// JPEG quality of opaque variants: visually lossless for photographs at a third of the size.
const JPEG_QUALITY: u8 = 85;

/// The image types an upload may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
}

impl Kind {
    /// The kind a `Content-Type` names, if it is one of ours.
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Webp => ImageFormat::WebP,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }
}

/// One re-encoded variant, under its content-addressed key.
#[derive(Debug, Clone)]
pub struct Variant {
    pub key: String,
    pub bytes: Vec<u8>,
}

/// What an upload became.
#[derive(Debug, Clone)]
pub struct Processed {
    /// Of the image as shown (after its EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// `image/jpeg` (opaque images) or `image/webp` (lossless, for images with transparency).
    pub content_type: &'static str,
    /// Small, medium, large.
    pub variants: [Variant; 3],
}

/// Markers of HTML and script that no image of ours needs, and that a browser sniffing a
/// file could act on. Each is long enough that compressed pixel data does not produce it by
/// chance.
const ACTIVE_CONTENT: [&[u8]; 6] = [
    b"<script",
    b"<html",
    b"<iframe",
    b"<svg ",
    b"<svg>",
    b"javascript:",
];

/// The upload's kind, from its first bytes; `declared` (the `Content-Type` sent, if any) must
/// agree.
pub fn sniff(bytes: &[u8], declared: Option<Kind>) -> Result<Kind, Refusal> {
    let found = match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Kind::Jpeg,
        Ok(ImageFormat::Png) => Kind::Png,
        Ok(ImageFormat::WebP) => Kind::Webp,
        Ok(other) => {
            return Err(Refusal::Unsupported(format!(
                "the file is {}; send a JPEG, PNG or WebP image",
                other.to_mime_type()
            )));
        }
        Err(_) => {
            return Err(Refusal::Unsupported(
                "the file is not a JPEG, PNG or WebP image (SVG and other formats are not accepted)".into(),
            ));
        }
    };
    if let Some(declared) = declared
        && declared != found
    {
        return Err(Refusal::Unsupported(format!(
            "the file is {} but was sent as {}",
            found.name(),
            declared.name()
        )));
    }
    if carries_active_content(bytes) {
        return Err(Refusal::Unsupported(
            "the file carries HTML or script beside the image".into(),
        ));
    }
    Ok(found)
}

fn carries_active_content(bytes: &[u8]) -> bool {
    ACTIVE_CONTENT.iter().any(|marker| {
        bytes
            .windows(marker.len())
            .any(|window| window.eq_ignore_ascii_case(marker))
    })
}

/// Decodes and re-encodes an upload of `kind`, refusing images past [`MAX_SIDE`] or
/// `max_pixels` from their header, before their pixels are decoded. CPU-heavy: run it on a
/// blocking thread.
pub fn process(bytes: &[u8], kind: Kind, max_pixels: u64) -> Result<Processed, Refusal> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    let mut limits = Limits::default();
    // The decoded image at 4 bytes a pixel, with room for the decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(5).max(64 * 1024 * 1024));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(unreadable("it has no pixels"));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > max_pixels {
        return Err(Refusal::TooLarge(format!(
            "the image is {width} × {height} pixels; at most {MAX_SIDE} × {MAX_SIDE} and {max_pixels} pixels are accepted"
        )));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    let transparent = has_transparency(&image);
    let (width, height) = (image.width(), image.height());
    // Largest first, each from the one before (every resize reads the fewest pixels it can),
    // each height from the original's proportions (so rounding does not add up).
    let mut source = image;
    let mut encoded: Vec<Variant> = Vec::with_capacity(3);
    for target in WIDTHS.iter().rev() {
        if source.width() > *target {
            let scaled = (f64::from(height) * f64::from(*target) / f64::from(width))
                .round()
                .max(1.0);
            source = source.resize_exact(*target, scaled as u32, FilterType::CatmullRom);
        }
        encoded.push(encode(&source, transparent)?);
    }
    encoded.reverse();
    let [small, medium, large]: [Variant; 3] = encoded
        .try_into()
        .map_err(|_| unreadable("variants could not be made"))?;
    Ok(Processed {
        width,
        height,
        content_type: if transparent { "image/webp" } else { "image/jpeg" },
        variants: [small, medium, large],
    })
}

fn unreadable(cause: impl std::fmt::Display) -> Refusal {
    Refusal::Unsupported(format!("the image cannot be decoded: {cause}"))
}

fn has_transparency(image: &DynamicImage) -> bool {
    if !image.color().has_alpha() {
        return false;
    }
    image.to_rgba8().pixels().any(|p| p.0[3] < u8::MAX)
}

fn encode(image: &DynamicImage, transparent: bool) -> Result<Variant, Refusal> {
    let mut bytes = Vec::new();
    let extension = if transparent {
        WebPEncoder::new_lossless(&mut bytes)
            .encode(
                image.to_rgba8().as_raw(),
                image.width(),
                image.height(),
                image::ExtendedColorType::Rgba8,
            )
            .map_err(unreadable)?;
        "webp"
    } else {
        JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
            .encode_image(&image.to_rgb8())
            .map_err(unreadable)?;
        "jpg"
    };
    let key = format!("{}.{extension}", crate::config::hex(&Sha256::digest(&bytes)));
    Ok(Variant { key, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn png(image: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn photo(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        }))
    }

    #[test]
    fn the_type_comes_from_the_bytes_not_the_header() {
        let bytes = png(&photo(10, 10));
        assert_eq!(sniff(&bytes, Some(Kind::Png)), Ok(Kind::Png));
        assert_eq!(sniff(&bytes, None), Ok(Kind::Png));
        assert!(matches!(
            sniff(&bytes, Some(Kind::Jpeg)),
            Err(Refusal::Unsupported(_))
        ));
        assert!(matches!(
            sniff(b"hello, world", Some(Kind::Png)),
            Err(Refusal::Unsupported(_))
        ));
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        assert!(matches!(sniff(svg, None), Err(Refusal::Unsupported(_))));
    }

    #[test]
    fn an_image_carrying_script_is_refused() {
        let mut bytes = png(&photo(10, 10));
        bytes.extend_from_slice(b"<SCRIPT>alert(document.cookie)</script>");
        assert!(matches!(sniff(&bytes, None), Err(Refusal::Unsupported(_))));
        let mut tail = png(&photo(10, 10));
        tail.extend_from_slice(b"<html");
        assert!(matches!(sniff(&tail, None), Err(Refusal::Unsupported(_))));
    }

    #[test]
    fn variants_are_never_upscaled_and_keep_the_aspect_ratio() {
        let done = process(&png(&photo(2_000, 1_000)), Kind::Png, 40_000_000).unwrap();
        assert_eq!((done.width, done.height), (2_000, 1_000));
        assert_eq!(done.content_type, "image/jpeg");
        let sizes: Vec<(u32, u32)> = done
            .variants
            .iter()
            .map(|v| {
                let img = image::load_from_memory(&v.bytes).unwrap();
                (img.width(), img.height())
            })
            .collect();
        assert_eq!(sizes, vec![(400, 200), (1_024, 512), (1_600, 800)]);

        let small = process(&png(&photo(300, 200)), Kind::Png, 40_000_000).unwrap();
        assert!(small.variants.iter().all(|v| v.key == small.variants[0].key));
        assert!(small.variants[0].key.ends_with(".jpg"));
    }

    #[test]
    fn transparency_is_kept_in_webp() {
        let logo = DynamicImage::ImageRgba8(RgbaImage::from_fn(50, 50, |x, _| {
            Rgba([200, 0, 0, (x * 5) as u8])
        }));
        let done = process(&png(&logo), Kind::Png, 40_000_000).unwrap();
        assert_eq!(done.content_type, "image/webp");
        assert_eq!(
            image::guess_format(&done.variants[0].bytes).unwrap(),
            ImageFormat::WebP
        );
    }

    #[test]
    fn oversized_images_are_refused_from_their_header() {
        let done = process(&png(&photo(100, 100)), Kind::Png, 5_000);
        assert!(matches!(done, Err(Refusal::TooLarge(_))));
    }

    #[test]
    fn keys_are_the_hash_of_the_variant() {
        let done = process(&png(&photo(64, 64)), Kind::Png, 40_000_000).unwrap();
        let variant = &done.variants[0];
        let expected = format!("{}.jpg", crate::config::hex(&Sha256::digest(&variant.bytes)));
        assert_eq!(variant.key, expected);
    }
}
