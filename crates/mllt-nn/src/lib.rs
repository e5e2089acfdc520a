//! mllt on burn.
