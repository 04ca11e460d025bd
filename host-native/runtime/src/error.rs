//! Errors of the runtime. None of them may fail a user's request: hosts forward the original.

/// A failure to load or run the component.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The component could not be read or compiled.
    #[error("loading the component failed: {0}")]
    Load(String),
    /// The component does not implement the `engine` world this host was built for.
    #[error("the component is incompatible with this host: {0}")]
    Incompatible(String),
    /// The call trapped (a bug in the engine, out of fuel, or out of memory).
    #[error("the component trapped: {0}")]
    Trap(String),
    /// The call ran past its deadline and was interrupted.
    #[error("the component ran past its deadline")]
    Timeout,
}

impl RuntimeError {
    pub(crate) fn trap(e: wasmtime::Error) -> Self {
        if matches!(e.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt)) {
            return Self::Timeout;
        }
        Self::Trap(format!("{e:#}"))
    }
}
