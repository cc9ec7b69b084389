// SPDX-License-Identifier: GPL-2.0

//! The simulated GPU's host (`hw/sim/pbdma.rs`): GPFIFO fetch, push-buffer decoding, host
//! methods and the errors that stop a channel.

use crate::ce::header::{self, inc_method};
use crate::ce::Aperture;
use crate::host::{gp, mthd, BadGpEntry, Segment};
use crate::pbdma::{Host, Pbdma, PbdmaError, Refused, Stop};

/// GPU virtual address of the GPFIFO ring in the tests.
const RING: u64 = 0x1000;
/// Entries of the ring.
const ENTRIES: u32 = 8;
/// Where the tests put push buffers.
const PUSH: u64 = 0x4000;
/// Bytes of the flat address space.
const SPACE: usize = 0x2_0000;

/// What the host reached: a flat GPU virtual address space and a log of the calls.
struct TestHost {
    mem: Vec<u8>,
    engine: Vec<(u8, u32, u32)>,
    objects: Vec<(u8, u32)>,
    invalidates: Vec<(bool, Aperture, u64)>,
    nonstall: usize,
    gp_get: Vec<u32>,
    reference: Option<u32>,
    /// The engine refuses this method.
    refuse: Option<u32>,
}

impl TestHost {
    fn new() -> Self {
        Self {
            mem: vec![0; SPACE],
            engine: Vec::new(),
            objects: Vec::new(),
            invalidates: Vec::new(),
            nonstall: 0,
            gp_get: Vec::new(),
            reference: None,
            refuse: None,
        }
    }

    fn range(&self, va: u64, len: usize) -> Result<core::ops::Range<usize>, Refused> {
        let start = usize::try_from(va).map_err(|_| Refused)?;
        let end = start.checked_add(len).ok_or(Refused)?;
        if end > self.mem.len() {
            return Err(Refused);
        }
        Ok(start..end)
    }

    fn write_u32s(&mut self, va: u64, words: &[u32]) {
        for (i, w) in words.iter().enumerate() {
            let at = va as usize + 4 * i;
            self.mem[at..at + 4].copy_from_slice(&w.to_le_bytes());
        }
    }

    fn read_u64(&self, va: u64) -> u64 {
        let at = va as usize;
        u64::from_le_bytes(self.mem[at..at + 8].try_into().expect("8 bytes"))
    }

    /// Writes `push` at `va` and the GP entry for it at ring index `index`.
    fn submit(&mut self, index: u32, va: u64, push: &[u32]) {
        self.write_u32s(va, push);
        let e = Segment {
            va,
            dwords: push.len() as u32,
            sync: false,
        }
        .encode(true)
        .expect("encodable");
        self.write_u32s(RING + 8 * u64::from(index), &e);
    }
}

impl Host for TestHost {
    fn fetch(&mut self, va: u64, out: &mut [u32]) -> Result<(), Refused> {
        let r = self.range(va, 4 * out.len())?;
        for (w, b) in out.iter_mut().zip(self.mem[r].chunks_exact(4)) {
            *w = u32::from_le_bytes(b.try_into().map_err(|_| Refused)?);
        }
        Ok(())
    }

    fn sem_read(&mut self, va: u64, out: &mut [u8]) -> Result<(), Refused> {
        let r = self.range(va, out.len())?;
        out.copy_from_slice(&self.mem[r]);
        Ok(())
    }

    fn sem_write(&mut self, va: u64, data: &[u8]) -> Result<(), Refused> {
        let r = self.range(va, data.len())?;
        self.mem[r].copy_from_slice(data);
        Ok(())
    }

    fn set_object(&mut self, subchannel: u8, data: u32) -> Result<(), Refused> {
        self.objects.push((subchannel, data));
        Ok(())
    }

    fn engine_method(&mut self, subchannel: u8, method: u32, data: u32) -> Result<(), Refused> {
        if self.refuse == Some(method) {
            return Err(Refused);
        }
        self.engine.push((subchannel, method, data));
        Ok(())
    }

    fn tlb_invalidate(&mut self, all: bool, pdb: (Aperture, u64)) {
        self.invalidates.push((all, pdb.0, pdb.1));
    }

    fn nonstall(&mut self) {
        self.nonstall += 1;
    }

    fn gp_get(&mut self, gp_get: u32) {
        self.gp_get.push(gp_get);
    }

    fn reference(&mut self, value: u32) {
        self.reference = Some(value);
    }
}

/// An incrementing-method header.
fn inc(sub: u8, method: u32, count: u32) -> u32 {
    inc_method(sub, method, count).expect("valid header")
}

/// The methods of a semaphore operation `execute` at `addr` with `payload`.
fn sem(addr: u64, payload: u64, execute: u32) -> Vec<u32> {
    vec![
        inc(0, mthd::SEM_ADDR_LO, 5),
        addr as u32,
        (addr >> 32) as u32,
        payload as u32,
        (payload >> 32) as u32,
        execute,
    ]
}

fn release64(addr: u64, payload: u64) -> Vec<u32> {
    sem(
        addr,
        payload,
        mthd::SEM_EXECUTE_OPERATION.val(mthd::sem_op::RELEASE)
            | mthd::SEM_EXECUTE_PAYLOAD_SIZE.val(mthd::PAYLOAD_SIZE_64BIT),
    )
}

#[test]
fn runs_entries_in_order() {
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    // SET_OBJECT on subchannel 4, two engine methods, a release, a non-stall interrupt.
    let mut push = vec![
        inc(4, mthd::SET_OBJECT, 1),
        0xc8b5,
        inc(4, 0x0400, 2),
        0x11,
        0x22,
    ];
    push.extend(release64(0x8000, 0x1_0000_0002));
    push.extend([inc(0, mthd::NON_STALL_INTERRUPT, 1), 0]);
    h.submit(0, PUSH, &push);
    // A NOP control entry, then a segment with an immediate-data method.
    h.write_u32s(RING + 8, &[0, 0]);
    let imm = header::DMA_SEC_OP.val(header::sec_op::IMMD_DATA_METHOD)
        | header::DMA_IMMD_DATA.val(0x1abc)
        | header::DMA_METHOD_SUBCHANNEL.val(4)
        | header::DMA_METHOD_ADDRESS.val(0x0500 / 4);
    h.submit(2, PUSH + 0x100, &[imm, header::DMA_NOP]);
    assert_eq!(p.run(&mut h, 3, usize::MAX), Stop::Idle);
    assert_eq!(h.objects, [(4, 0xc8b5)]);
    assert_eq!(
        h.engine,
        [(4, 0x0400, 0x11), (4, 0x0404, 0x22), (4, 0x0500, 0x1abc)]
    );
    assert_eq!(h.read_u64(0x8000), 0x1_0000_0002);
    assert_eq!(h.nonstall, 1);
    assert_eq!(h.gp_get, [1, 2, 3]);
    assert_eq!(p.gp_get(), 3);
    // Nothing more to do until GPPut moves.
    assert_eq!(p.run(&mut h, 3, usize::MAX), Stop::Idle);
    assert_eq!(h.gp_get, [1, 2, 3]);
}

#[test]
fn ring_wraps() {
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    for round in 0..3u32 {
        for i in 0..ENTRIES {
            let seq = round * ENTRIES + i;
            h.submit(
                i,
                PUSH + 0x40 * u64::from(i),
                &release64(0x9000, u64::from(seq)),
            );
            // GPPut is one past the last entry, modulo the ring.
            assert_eq!(p.run(&mut h, (i + 1) % ENTRIES, usize::MAX), Stop::Idle);
            assert_eq!(h.read_u64(0x9000), u64::from(seq));
        }
    }
    assert_eq!(p.gp_get(), 0);
}

#[test]
fn acquire_blocks_until_released() {
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    let acquire = mthd::SEM_EXECUTE_OPERATION.val(mthd::sem_op::ACQ_STRICT_GEQ);
    let mut push = sem(0xa000, 5, acquire);
    push.extend([inc(1, 0x0400, 1), 0x77]);
    h.submit(0, PUSH, &push);
    h.write_u32s(0xa000, &[4]);
    assert_eq!(p.run(&mut h, 1, usize::MAX), Stop::Blocked);
    assert!(h.engine.is_empty(), "nothing after the acquire runs");
    assert_eq!(p.run(&mut h, 1, usize::MAX), Stop::Blocked);
    h.write_u32s(0xa000, &[5]);
    assert_eq!(p.run(&mut h, 1, usize::MAX), Stop::Idle);
    assert_eq!(h.engine, [(1, 0x0400, 0x77)]);
}

#[test]
fn acquire_operations() {
    // (operation, semaphore value, payload, satisfied)
    let cases = [
        (mthd::sem_op::ACQUIRE, 7u32, 7u32, true),
        (mthd::sem_op::ACQUIRE, 8, 7, false),
        (mthd::sem_op::ACQ_STRICT_GEQ, 8, 7, true),
        (mthd::sem_op::ACQ_STRICT_GEQ, 0, 0xffff_fff0, false),
        // Wrapping: 0 is "after" 0xffff_fff0.
        (mthd::sem_op::ACQ_CIRC_GEQ, 0, 0xffff_fff0, true),
        (mthd::sem_op::ACQ_CIRC_GEQ, 0xffff_fff0, 0, false),
        (mthd::sem_op::ACQ_AND, 0b1010, 0b0010, true),
        (mthd::sem_op::ACQ_AND, 0b1010, 0b0101, false),
    ];
    for (op, value, payload, ok) in cases {
        let mut h = TestHost::new();
        let mut p = Pbdma::new(RING, ENTRIES);
        h.write_u32s(0xa000, &[value]);
        h.submit(
            0,
            PUSH,
            &sem(
                0xa000,
                u64::from(payload),
                mthd::SEM_EXECUTE_OPERATION.val(op),
            ),
        );
        let want = if ok { Stop::Idle } else { Stop::Blocked };
        assert_eq!(
            p.run(&mut h, 1, usize::MAX),
            want,
            "op {op} value {value:#x} payload {payload:#x}"
        );
    }
}

#[test]
fn release_32_bit() {
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    h.write_u32s(0xb000, &[0xffff_ffff, 0xffff_ffff]);
    let release = mthd::SEM_EXECUTE_OPERATION.val(mthd::sem_op::RELEASE);
    h.submit(0, PUSH, &sem(0xb000, 0xaaaa_bbbb_1234_5678, release));
    assert_eq!(p.run(&mut h, 1, usize::MAX), Stop::Idle);
    assert_eq!(
        h.read_u64(0xb000),
        0xffff_ffff_1234_5678,
        "only the low word is written"
    );
}

#[test]
fn tlb_invalidate_and_reference() {
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    let pdb = 0x12_3456_7000u64;
    let c = mthd::MEM_OP_C_PDB.val(mthd::PDB_ONE)
        | mthd::MEM_OP_C_PDB_APERTURE.val(mthd::PDB_APERTURE_VID_MEM)
        | mthd::MEM_OP_C_PDB_ADDR_LO.val((pdb as u32) >> 12);
    let d = mthd::MEM_OP_D_OPERATION.val(mthd::OPERATION_MMU_TLB_INVALIDATE)
        | mthd::MEM_OP_D_PDB_ADDR_HI.val((pdb >> 32) as u32);
    let all = mthd::MEM_OP_C_PDB.val(mthd::PDB_ALL);
    let push = [
        inc(0, mthd::MEM_OP_A, 4),
        0,
        0,
        c,
        d,
        inc(0, mthd::MEM_OP_A, 4),
        0,
        0,
        all,
        d,
        inc(0, mthd::MEM_OP_D, 1),
        mthd::MEM_OP_D_OPERATION.val(mthd::OPERATION_MEMBAR),
        inc(0, mthd::SET_REFERENCE, 1),
        0x5151,
    ];
    h.submit(0, PUSH, &push);
    assert_eq!(p.run(&mut h, 1, usize::MAX), Stop::Idle);
    assert_eq!(h.invalidates.len(), 2);
    assert_eq!(h.invalidates[0], (false, Aperture::Vram, pdb));
    assert!(h.invalidates[1].0);
    assert_eq!(h.reference, Some(0x5151));
}

#[test]
fn budget_pauses() {
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    let mut push = Vec::new();
    for i in 0..10 {
        push.extend([inc(2, 0x0400, 1), i]);
    }
    h.submit(0, PUSH, &push);
    assert_eq!(p.run(&mut h, 1, 5), Stop::Budget);
    assert_eq!(h.engine.len(), 2, "five dwords: two methods and a header");
    assert_eq!(p.run(&mut h, 1, usize::MAX), Stop::Idle);
    let data: Vec<u32> = h.engine.iter().map(|e| e.2).collect();
    assert_eq!(data, (0..10).collect::<Vec<_>>());
}

#[test]
fn errors_stop_the_channel() {
    // A bad header: bit 12 set.
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    h.submit(
        0,
        PUSH,
        &[inc(0, 0x400, 1), 1, 0x0000_1000, inc(0, 0x400, 1), 2],
    );
    assert_eq!(
        p.run(&mut h, 1, usize::MAX),
        Stop::Error(PbdmaError::Header {
            va: PUSH + 8,
            word: 0x1000
        })
    );
    assert_eq!(
        h.engine,
        [(0, 0x400, 1)],
        "nothing after the bad dword runs"
    );

    // An unknown host method.
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    h.submit(0, PUSH, &[inc(0, 0x0090, 1), 3]);
    assert_eq!(
        p.run(&mut h, 1, usize::MAX),
        Stop::Error(PbdmaError::HostMethod {
            va: PUSH + 4,
            method: 0x90,
            data: 3
        })
    );

    // A method the engine refuses.
    let mut h = TestHost::new();
    h.refuse = Some(0x0600);
    let mut p = Pbdma::new(RING, ENTRIES);
    h.submit(0, PUSH, &[inc(0, 0x0600, 1), 3]);
    assert_eq!(
        p.run(&mut h, 1, usize::MAX),
        Stop::Error(PbdmaError::Engine { va: PUSH + 4 })
    );

    // A push buffer outside the address space.
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    let e = Segment {
        va: 0x10_0000,
        dwords: 4,
        sync: false,
    }
    .encode(false)
    .expect("encodable");
    h.write_u32s(RING, &e);
    assert_eq!(
        p.run(&mut h, 1, usize::MAX),
        Stop::Error(PbdmaError::Fetch { va: 0x10_0000 })
    );

    // A conditional GP entry.
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    h.write_u32s(
        RING,
        &[
            gp::ENTRY0_FETCH.val(gp::FETCH_CONDITIONAL) | 0x4000,
            gp::ENTRY1_LENGTH.val(1),
        ],
    );
    assert_eq!(
        p.run(&mut h, 1, usize::MAX),
        Stop::Error(PbdmaError::GpEntry {
            index: 0,
            why: BadGpEntry::Conditional
        })
    );

    // A semaphore release outside the address space, and a misaligned 64-bit one.
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    h.submit(0, PUSH, &release64(0x40_0000, 1));
    assert_eq!(
        p.run(&mut h, 1, usize::MAX),
        Stop::Error(PbdmaError::Semaphore {
            va: PUSH + 20,
            addr: 0x40_0000
        })
    );
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    h.submit(0, PUSH, &release64(0x8004, 1));
    assert!(matches!(
        p.run(&mut h, 1, usize::MAX),
        Stop::Error(PbdmaError::HostMethod { .. })
    ));
    // A release with a timestamp, which the host does not write.
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    let ts = mthd::SEM_EXECUTE_OPERATION.val(mthd::sem_op::RELEASE)
        | mthd::SEM_EXECUTE_RELEASE_TIMESTAMP.val(1);
    h.submit(0, PUSH, &sem(0x8000, 1, ts));
    assert!(matches!(
        p.run(&mut h, 1, usize::MAX),
        Stop::Error(PbdmaError::HostMethod { .. })
    ));
}

#[test]
fn reset_skips_to_gp_put() {
    let mut h = TestHost::new();
    let mut p = Pbdma::new(RING, ENTRIES);
    h.submit(0, PUSH, &[0x0000_1000]);
    h.submit(1, PUSH + 0x100, &release64(0x8000, 9));
    assert!(matches!(p.run(&mut h, 2, usize::MAX), Stop::Error(_)));
    // The reset drops the channel's work up to GPPut; new work then runs.
    p.reset(2);
    assert_eq!(p.gp_get(), 2);
    assert_eq!(h.read_u64(0x8000), 0, "the entry after the error never ran");
    h.submit(2, PUSH + 0x200, &release64(0x8000, 10));
    assert_eq!(p.run(&mut h, 3, usize::MAX), Stop::Idle);
    assert_eq!(h.read_u64(0x8000), 10);
}
