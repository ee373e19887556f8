//! Snapshot of every format on the shared fixture (ruff's `create_diagnostics()` style).
//! Review changes with `cargo insta review`, or `INSTA_UPDATE=always` and `git diff`.

// Test helpers outside `#[test]` functions: panicking is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::common;

use rampart_report::{render, Format, RenderOptions};

fn snap(format: Format, opts: RenderOptions) -> String {
    render(&common::report(), format, &opts).unwrap()
}

#[test]
fn table() {
    insta::assert_snapshot!(snap(Format::Table, RenderOptions::default()));
}

#[test]
fn table_show_suppressed() {
    let opts = RenderOptions {
        color: false,
        show_suppressed: true,
        ..RenderOptions::default()
    };
    insta::assert_snapshot!(snap(Format::Table, opts));
}

#[test]
fn table_color() {
    // Escape sequences made visible so the snapshot is reviewable.
    let opts = RenderOptions {
        color: true,
        show_suppressed: false,
        ..RenderOptions::default()
    };
    insta::assert_snapshot!(snap(Format::Table, opts).replace('\x1b', "␛"));
}

#[test]
fn json() {
    insta::assert_snapshot!(snap(Format::Json, RenderOptions::default()));
}

#[test]
fn sarif() {
    insta::assert_snapshot!(snap(Format::Sarif, RenderOptions::default()));
}

#[test]
fn junit() {
    insta::assert_snapshot!(snap(Format::Junit, RenderOptions::default()));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(snap(Format::Markdown, RenderOptions::default()));
}
