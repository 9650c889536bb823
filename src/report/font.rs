//! The font plots are drawn with, embedded in the binary.
//!
//! PNG text needs glyph outlines; system fonts (fontconfig) are absent on many
//! cluster login nodes and CI machines, so DejaVu Sans (Bitstream Vera licence,
//! see assets/fonts/DejaVuSans.LICENSE) ships inside hecjob and is registered
//! with plotters' ab_glyph renderer under the generic family names it uses.

use crate::util::error::{Error, Result};
use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Register the embedded font once per process (idempotent, thread-safe).
pub fn ensure_registered() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        ["sans-serif", "serif", "monospace"].iter().all(|family| {
            [FontStyle::Normal, FontStyle::Bold]
                .into_iter()
                .all(|style| register_font(family, style, DEJAVU_SANS).is_ok())
        })
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Internal(
            "the embedded plot font could not be loaded".into(),
        ))
    }
}
