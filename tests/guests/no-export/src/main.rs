//! A plain WASI program: it exports `wasi:cli/run`, not the connector
//! interface, so the host must refuse it by name.

fn main() {
    println!("not a connector");
}
