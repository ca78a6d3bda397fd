//! The ringform command line.
pub fn run() -> i32 { 0 }
