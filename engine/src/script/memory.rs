//! Memory accounting for script runs: the process's allocator counts, per thread, the bytes
//! currently allocated, so a script run can be stopped when it holds more than
//! [`MAX_SCRIPT_MEMORY`] beyond what its thread held when it started — whatever built the
//! data (a map of large strings, nested arrays, one expensive string operation after another).
//!
//! The counter lives in a `const`-initialised thread-local (no lazy initialisation, no
//! destructor), so the allocator never allocates itself. When another global allocator is in
//! use (cogpack linked as a library into a program that sets its own), the counter stays at
//! zero and only Rhai's own size limits apply.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The most memory one script run may hold (bytes).
pub const MAX_SCRIPT_MEMORY: isize = 256 * 1024 * 1024;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

/// Bytes currently allocated by this thread (allocations minus frees made on it).
pub fn live_bytes() -> isize {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

fn add(n: isize) {
    let _ = LIVE.try_with(|c| c.set(c.get().wrapping_add(n)));
}

/// The system allocator, counting per thread.
pub struct CountingAllocator;

// SAFETY: every call is forwarded to `System` unchanged; the bookkeeping only touches a
// thread-local `Cell` that needs no allocation.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}
