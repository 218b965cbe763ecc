//! The last resort against panics inside arrow-rs and parquet on corrupt input.
//!
//! The readers check what they can before handing bytes to arrow-rs (message lengths
//! against the bytes that arrive, buffers against their message body, node lengths; see
//! [`crate::ipc_stream`]), and arrow-rs validates the arrays it builds. But the fuzz test
//! (`tests/fuzz_readers.rs`) finds inputs that panic deeper inside the two crates, in
//! code this crate does not see into: the Thrift decoder of Parquet footers and page
//! headers (`Option::unwrap` on a missing field), the RLE / bit-packed level decoder
//! (indexing past its buffer), the IPC schema converter (`unimplemented!` on a type id
//! of 0, an integer width of 212 bits). Those are bugs to be fixed upstream; until they
//! are, every call from the gradient reader into them runs under [`guarded`], which turns
//! a panic into the one-line error `<file>: <what>: corrupt input (the decoder failed:
//! <its message>)`. The default panic hook's message is silenced for those calls only
//! (a thread-local flag, so panics anywhere else still print as they would).

use anyhow::{anyhow, Result};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Runs `f`; a panic inside it becomes an error naming `name` and `what`.
pub fn guarded<T>(name: &str, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        Err(anyhow!(
            "{name}: {what}: corrupt input (the decoder failed: {message})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_and_results_pass_through() {
        assert_eq!(guarded("f", "reading", || Ok(3)).unwrap(), 3);
        let e = guarded::<()>("f.parquet", "reading", || {
            let v: Vec<u8> = Vec::new();
            let _ = v[std::hint::black_box(1)];
            Ok(())
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "f.parquet: reading: corrupt input (the decoder failed: index out of bounds"
            ),
            "{e}"
        );
        assert!(!GUARDED.with(Cell::get));
    }
}
