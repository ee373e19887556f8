//! Container image scanning: image sources (OCI layout, `docker save` and OCI archives,
//! registries), layers read as streams with whiteouts applied, OS package databases
//! (dpkg, apk, rpm sqlite), language packages (Python, Node, Java, Go, Rust, Ruby),
//! secrets in every layer, and image-configuration rules.
//!
//! Library code never prints and never exits.
//!
//! ```no_run
//! let opts = rampart_image::ScanOptions::default();
//! let scan = rampart_image::scan("oci:/tmp/layout:latest", &opts, None, None).unwrap();
//! for p in &scan.packages {
//!     println!("{} {} {}", p.ecosystem, p.name, p.version);
//! }
//! ```

pub mod binary;
pub mod error;
pub mod java;
pub mod lang;
pub mod layer;
pub mod oci;
pub mod os;
pub mod packages;
pub mod registry;
pub mod rules;
pub mod scan;
pub mod source;

pub use error::ImageError;
pub use layer::Limits;
pub use packages::{ImagePackage, PackageKind};
pub use scan::{
    inventory, metas, scan, scan_opened, to_inventory, ImageInfo, ImageScan, ScanOptions,
};
pub use source::{
    detect, looks_like_image, open, OpenOptions, OpenedImage, SourceKind, SourceSpec,
};
