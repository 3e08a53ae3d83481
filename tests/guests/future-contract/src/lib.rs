//! Exports `connector:api/connector@0.2.0`: the host must name the version
//! it was built for when refusing it.

wit_bindgen::generate!({
    path: "wit",
    world: "plugin",
});

struct Future;

impl exports::connector::api::connector::Guest for Future {
    fn describe() -> String {
        "from the future".into()
    }
}

export!(Future);
