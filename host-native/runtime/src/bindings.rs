//! The only `bindgen!`: host-side types for the `engine` world, generated from `wit/`.

wasmtime::component::bindgen!({
    world: "engine",
    path: "../../wit",
});
