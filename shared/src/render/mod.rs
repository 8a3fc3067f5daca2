//! Server-rendered HTML (maud escapes every interpolated value), images and QR codes.

pub mod badge_image;
pub mod badge_page;
pub mod card;
pub mod i18n;
pub mod layout;
pub mod qr;
pub mod raster;
pub mod template_page;
mod text;
