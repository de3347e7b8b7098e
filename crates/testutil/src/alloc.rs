//! A counting global allocator for "no allocation per packet" tests:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: weir_testutil::alloc::Counting = weir_testutil::alloc::Counting;
//! let before = weir_testutil::alloc::count();
//! // … the hot path …
//! assert_eq!(weir_testutil::alloc::count() - before, 0);
//! ```
//!
//! Counted per thread: the test harness's own threads (output capture, the slow-test timer)
//! and tests running beside one allocate too, which a global count would see (it failed
//! that way on a loaded machine). Allocations and reallocations count; frees do not.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, counting this thread's allocations and reallocations.
#[derive(Debug)]
pub struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the count is a
// thread-local cell (`try_with`: no panic while the thread's locals are torn down).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and reallocations made on this thread so far (with [`Counting`] installed).
pub fn count() -> usize {
    ALLOCS.with(Cell::get)
}
