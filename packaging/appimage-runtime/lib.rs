//! Nothing to build: this package only pins the `appimage` crate for its runtime file.
