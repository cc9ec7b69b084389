// SPDX-License-Identifier: GPL-2.0

//! The SVM context of an open file: the process address space it mirrors.

use core::ops::Range;

use kernel::{
    mm::{
        mmu_notifier::{IntervalNotifier, IntervalNotifierOps, NotifierRange, SeqUpdate},
        Mm, MmWithUser,
    },
    new_mutex,
    prelude::*,
    sync::{Mutex, MutexGuard},
};

use crate::{
    dmem::Dmem,
    migrate::{self, CopyOp, Target},
};

/// The device's view of a process address space, kept coherent with the CPU's by an interval
/// notifier over the whole user address space.
///
/// The lock orders device accesses against invalidations: a device access faults the pages
/// in and uses them while holding it, and an invalidation takes it before the CPU page
/// tables change.
#[pin_data]
pub(crate) struct Mirror {
    #[pin]
    lock: Mutex<()>,
}

impl Mirror {
    /// Takes the mirror lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock()
    }
}

impl IntervalNotifierOps for Mirror {
    fn invalidate(&self, range: &NotifierRange<'_>, seq: SeqUpdate<'_>) -> bool {
        if !range.blockable() {
            return false;
        }
        let _guard = self.lock.lock();
        seq.set();
        true
    }
}

/// The SVM context of an open file.
#[pin_data]
pub(crate) struct Svm {
    #[pin]
    notifier: IntervalNotifier<Mirror>,
    /// The unmanaged window (empty when there is none).
    unmanaged: Range<usize>,
    /// The end of the user address space.
    task_size: usize,
}

/// Whether `a` and `b` share an address.
pub(crate) fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

impl Svm {
    /// Creates the context for `mm`, with the unmanaged window `unmanaged`.
    pub(crate) fn new<'a>(
        mm: &'a MmWithUser,
        unmanaged: Range<usize>,
    ) -> impl PinInit<Self, Error> + 'a {
        let task_size = mm.task_size();
        try_pin_init!(Self {
            notifier <- IntervalNotifier::insert(
                mm,
                0,
                task_size,
                pin_init!(Mirror {
                    lock <- new_mutex!((), "nova_svm::Mirror::lock"),
                }),
            ),
            unmanaged,
            task_size,
        }? Error)
    }

    /// Checks that `mm` is the context's address space: `EPERM` otherwise.
    pub(crate) fn check_mm(&self, mm: &MmWithUser) -> Result {
        let mine: &Mm = self.notifier.mm();
        let theirs: &Mm = mm;
        if core::ptr::eq(mine, theirs) {
            Ok(())
        } else {
            Err(EPERM)
        }
    }

    /// Checks that `range` lies in the user address space and outside the unmanaged window.
    pub(crate) fn check_range(&self, range: &Range<usize>) -> Result {
        if range.end > self.task_size || overlaps(range, &self.unmanaged) {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Migrates `range` of `mm` (the context's, checked by the caller) to `target`.
    pub(crate) fn migrate(
        &self,
        dmem: &Dmem,
        mm: &MmWithUser,
        range: Range<usize>,
        target: Target,
    ) -> Result<usize> {
        migrate::migrate_range(dmem, mm, range.start, range.end, target)
    }

    /// Makes the copy engine copy or fill `len` bytes at `dst`; `done` counts the bytes
    /// completed.
    pub(crate) fn device_copy(
        &self,
        dmem: &Dmem,
        dst: usize,
        op: CopyOp,
        len: usize,
        done: &mut usize,
    ) -> Result {
        migrate::device_copy(dmem, &self.notifier, dst, op, len, done)
    }
}
