//! Generated pictures for the demo world: covers, product shots, avatars.
//! A picture is a resolution-independent description (gradient, soft blobs,
//! a shape) drawn straight at full and thumbnail size, then JPEG-encoded.

use image::{ImageBuffer, Rgb, RgbImage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::io::Cursor;

/// A generated image, encoded, with its thumbnail.
pub struct Picture {
    pub full: Vec<u8>,
    pub thumb: Vec<u8>,
}

/// A colour as RGB bytes, from hue (degrees), saturation and value.
pub fn rgb(h: f32, s: f32, v: f32) -> (u8, u8, u8) {
    let c = hsv(h, s, v);
    (c[0], c[1], c[2])
}

fn hsv(h: f32, s: f32, v: f32) -> Rgb<u8> {
    let h = (h.rem_euclid(360.0)) / 60.0;
    let c = v * s;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    Rgb([
        ((r + m) * 255.0) as u8,
        ((g + m) * 255.0) as u8,
        ((b + m) * 255.0) as u8,
    ])
}

fn mix(a: Rgb<u8>, b: Rgb<u8>, t: f32) -> Rgb<u8> {
    let f = |x: u8, y: u8| (f32::from(x) * (1.0 - t) + f32::from(y) * t) as u8;
    Rgb([f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2])])
}

/// The shapes a product shot can show.
#[derive(Clone, Copy)]
enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
    Ring,
    Bars,
    Person,
}

fn inside(shape: Shape, x: f32, y: f32) -> bool {
    // x, y in [-1, 1] around the centre.
    match shape {
        Shape::Circle => x * x + y * y < 0.5,
        Shape::Square => x.abs() < 0.55 && y.abs() < 0.55,
        Shape::Triangle => y < 0.6 && y > -0.7 && x.abs() < (y + 0.7) * 0.55,
        Shape::Diamond => x.abs() + y.abs() < 0.8,
        Shape::Ring => (0.25..0.6).contains(&(x * x + y * y)),
        Shape::Bars => x.abs() < 0.7 && y.abs() < 0.6 && ((x + 1.0) * 4.0) as i32 % 2 == 0,
        Shape::Person => {
            x * x + (y + 0.25).powi(2) < 0.12
                || ((0.35..1.0).contains(&y) && x * x + (y - 1.1).powi(2) < 0.55)
        }
    }
}

/// A picture to render: cheap to describe, rendered later (in parallel).
pub struct Art {
    size: (u32, u32),
    thumb: (u32, u32),
    bg: (Rgb<u8>, Rgb<u8>),
    shape: Option<(Shape, Rgb<u8>, f32)>,
    blobs: Vec<(f32, f32, f32, Rgb<u8>)>,
}

impl Art {
    /// Draws the full picture and its thumbnail (both straight from the
    /// resolution-independent description: no resampling) as JPEG.
    pub fn render(&self) -> anyhow::Result<Picture> {
        let jpeg = |(w, h): (u32, u32)| -> anyhow::Result<Vec<u8>> {
            let img = draw(w, h, self.bg, self.shape, &self.blobs);
            let mut out = Cursor::new(Vec::new());
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82).encode_image(&img)?;
            Ok(out.into_inner())
        };
        Ok(Picture {
            full: jpeg(self.size)?,
            thumb: jpeg(self.thumb)?,
        })
    }
}

fn draw(
    w: u32,
    h: u32,
    bg: (Rgb<u8>, Rgb<u8>),
    shape: Option<(Shape, Rgb<u8>, f32)>,
    blobs: &[(f32, f32, f32, Rgb<u8>)],
) -> RgbImage {
    let aspect = h as f32 / w as f32;
    ImageBuffer::from_fn(w, h, |px, py| {
        let (u, v) = (px as f32 / w as f32, py as f32 / h as f32);
        let mut c = mix(bg.0, bg.1, v * 0.8 + u * 0.2);
        for &(bx, by, r, col) in blobs {
            let d2 = (u - bx).powi(2) + ((v - by) * aspect).powi(2);
            if d2 < r * r {
                c = mix(c, col, 0.35 * (1.0 - d2.sqrt() / r));
            }
        }
        if let Some((shape, col, scale)) = shape {
            let x = (u - 0.5) * 2.0 / scale;
            let y = (v - 0.5) * 2.0 * aspect / scale;
            if inside(shape, x, y) {
                c = mix(col, Rgb([255, 255, 255]), (0.3 - y * 0.2).clamp(0.0, 0.4));
            }
        }
        c
    })
}

/// A 540×960 portrait cover in the room's hue.
pub fn cover(rng: &mut ChaCha8Rng, hue: f32) -> Art {
    let blobs = (0..6)
        .map(|_| {
            (
                rng.random::<f32>(),
                rng.random::<f32>(),
                rng.random_range(0.15..0.45),
                hsv(hue + rng.random_range(-40.0..40.0), 0.6, 0.95),
            )
        })
        .collect();
    Art {
        size: (540, 960),
        thumb: (180, 320),
        bg: (hsv(hue, 0.55, 0.55), hsv(hue + 30.0, 0.7, 0.18)),
        shape: Some((Shape::Person, hsv(hue + 180.0, 0.25, 0.92), 0.9)),
        blobs,
    }
}

/// A 600×600 product shot: a shape in the product's colour on a pale ground.
pub fn product(rng: &mut ChaCha8Rng, hue: f32, index: usize) -> Art {
    const SHAPES: [Shape; 6] = [
        Shape::Circle,
        Shape::Square,
        Shape::Triangle,
        Shape::Diamond,
        Shape::Ring,
        Shape::Bars,
    ];
    let h = hue + rng.random_range(-60.0..60.0);
    Art {
        size: (600, 600),
        thumb: (200, 200),
        bg: (hsv(h, 0.08, 0.98), hsv(h, 0.18, 0.85)),
        shape: Some((SHAPES[index % SHAPES.len()], hsv(h, 0.65, 0.8), 0.75)),
        blobs: vec![(
            rng.random::<f32>(),
            rng.random::<f32>(),
            0.5,
            hsv(h + 90.0, 0.2, 1.0),
        )],
    }
}

/// A 256×256 avatar: a head-and-shoulders silhouette on the person's colour.
pub fn avatar(hue: f32) -> Art {
    Art {
        size: (256, 256),
        thumb: (96, 96),
        bg: (hsv(hue, 0.5, 0.85), hsv(hue + 20.0, 0.6, 0.6)),
        shape: Some((Shape::Person, Rgb([245, 240, 235]), 1.0)),
        blobs: Vec::new(),
    }
}
