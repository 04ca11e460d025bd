//! The `bindgen!`s: host-side types for the `engine` world and the `plugin` world, generated
//! from `wit/`. Both share the `headroom:plugin/types` types, so a block passes from the
//! engine's import to a plugin's export without conversion.

wasmtime::component::bindgen!({
    world: "engine",
    path: "../../wit",
});

/// The world a transform plugin implements.
pub mod plugin {
    wasmtime::component::bindgen!({
        world: "headroom:plugin/plugin@0.1.0",
        path: "../../wit",
        with: {
            "headroom:plugin/types": crate::bindings::headroom::plugin::types,
        },
    });
}
