/* SPDX-License-Identifier: MIT */
/*
 * Userspace interface of nova-svm, the shared virtual memory (SVM) DRM
 * driver for NVIDIA GPUs.
 *
 * Copyright (C) 2026 nova-svm developers
 */
#ifndef __NOVA_SVM_DRM_H__
#define __NOVA_SVM_DRM_H__

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DOC: Introduction
 *
 * nova-svm lets a process share its virtual address space with a GPU. After
 * &DRM_IOCTL_NOVA_SVM_SVM_INIT, every address of the process is an SVM
 * address for the device, except an optional "unmanaged" window. Pages of
 * SVM memory move between system memory and device memory (VRAM) on
 * request (&DRM_IOCTL_NOVA_SVM_SVM_BIND) and back when the CPU touches
 * them. Where a page lives is invisible to the CPU's view of the data: the
 * CPU always reads what was last written, by either side.
 *
 * &DRM_IOCTL_NOVA_SVM_SVM_INIT and &DRM_IOCTL_NOVA_SVM_SVM_BIND have the
 * semantics and the structure layouts of nouveau's DRM_IOCTL_NOUVEAU_SVM_INIT
 * and DRM_IOCTL_NOUVEAU_SVM_BIND, so that userspace written for nouveau's
 * SVM (Mesa's OpenCL SVM support) needs only new names.
 *
 * Rules that hold for every ioctl of this driver:
 *
 * - Every structure has a size that is a multiple of 8 bytes and no
 *   implicit padding; each hole is an explicit pad or reserved field.
 * - Pad and reserved fields must be zero on input, or the ioctl fails
 *   with EINVAL. They may be given a meaning later, with zero meaning
 *   today's behaviour.
 * - Unknown flags, commands, targets and parameters fail with EINVAL.
 * - "Page" means the kernel's base page size (sysconf(_SC_PAGESIZE)).
 * - The user address space is [0, TASK_SIZE) of the calling process;
 *   ranges that reach beyond it fail with EINVAL, as do ranges whose end
 *   overflows 64 bits.
 * - An SVM context belongs to the open file and to the address space (mm)
 *   of the process that created it. An ioctl that needs the context fails
 *   with ENOENT when the file has none, and with EPERM when the caller's
 *   address space is not the context's (a child that inherited the file
 *   across fork(), or another process the file was passed to).
 * - A bad pointer to the argument structure fails with EFAULT (DRM core).
 * - Output fields are written back even when an ioctl fails, so partial
 *   progress (&drm_nova_svm_device_copy.result) can be reported.
 */

/* Ioctl numbers, relative to DRM_COMMAND_BASE. */
#define DRM_NOVA_SVM_GETPARAM		0x00
#define DRM_NOVA_SVM_SVM_INIT		0x01
#define DRM_NOVA_SVM_SVM_BIND		0x02
#define DRM_NOVA_SVM_DEVICE_COPY	0x03

/**
 * enum drm_nova_svm_param - Parameters that &DRM_IOCTL_NOVA_SVM_GETPARAM
 * reports.
 *
 * The value 0 is not a parameter, so that a zeroed structure is rejected.
 */
enum drm_nova_svm_param {
	/**
	 * @DRM_NOVA_SVM_PARAM_VRAM_SIZE: Bytes of device memory that SVM
	 * pages can occupy.
	 */
	DRM_NOVA_SVM_PARAM_VRAM_SIZE = 1,

	/**
	 * @DRM_NOVA_SVM_PARAM_CHUNK_SIZE: Bytes of device memory that the
	 * driver reserves at a time for device pages; a multiple of the page
	 * size that divides &DRM_NOVA_SVM_PARAM_VRAM_SIZE.
	 */
	DRM_NOVA_SVM_PARAM_CHUNK_SIZE = 2,

	/**
	 * @DRM_NOVA_SVM_PARAM_CE_CLASS: Class number of the copy engine the
	 * driver drives (for example 0xc8b5, HOPPER_DMA_COPY_A). The
	 * simulated GPU reports the class whose methods it executes.
	 */
	DRM_NOVA_SVM_PARAM_CE_CLASS = 3,

	/**
	 * @DRM_NOVA_SVM_PARAM_IS_SIMULATED: 1 when the device is the
	 * simulated GPU (VRAM in host memory, copy engine in software),
	 * 0 for real hardware.
	 */
	DRM_NOVA_SVM_PARAM_IS_SIMULATED = 4
};

/**
 * struct drm_nova_svm_getparam - Argument of &DRM_IOCTL_NOVA_SVM_GETPARAM.
 *
 * Reads one device parameter. It needs no SVM context.
 */
struct drm_nova_svm_getparam {
	/**
	 * @param: In: the parameter, one of &enum drm_nova_svm_param.
	 * An unknown value fails with EINVAL.
	 */
	__u32 param;

	/** @pad: Must be zero, or the ioctl fails with EINVAL. */
	__u32 pad;

	/** @value: Out: the parameter's value. Ignored on input. */
	__u64 value;
};

/**
 * struct drm_nova_svm_svm_init - Argument of &DRM_IOCTL_NOVA_SVM_SVM_INIT.
 *
 * Creates the SVM context of the open file for the calling process's
 * address space. From then on every user address outside the unmanaged
 * window is an SVM address of the device. The window is left to GPU-only
 * allocations; Mesa reserves it with a PROT_NONE mapping. A size of zero
 * means no window.
 *
 * Errors: EINVAL for a window that is not page-aligned, a size of zero
 * with a nonzero address, or a window that overflows or reaches beyond
 * the user address space; EBUSY when the file already has an SVM context;
 * ENOMEM.
 */
struct drm_nova_svm_svm_init {
	/**
	 * @unmanaged_addr: In: first address of the unmanaged window; page
	 * aligned (EINVAL otherwise). Must be zero when @unmanaged_size is
	 * zero (EINVAL otherwise).
	 */
	__u64 unmanaged_addr;

	/**
	 * @unmanaged_size: In: size of the unmanaged window in bytes; a
	 * multiple of the page size (EINVAL otherwise). The window must end
	 * within the user address space (EINVAL otherwise).
	 */
	__u64 unmanaged_size;
};

/**
 * DOC: SVM_BIND header
 *
 * &drm_nova_svm_svm_bind.header packs the command, its priority and its
 * target memory, in nouveau's encoding:
 *
 * - bits 0-7: command, NOVA_SVM_BIND_COMMAND__*.
 * - bits 8-15: priority. Accepted and, for now, ignored.
 * - bits 16-47: target, NOVA_SVM_BIND_TARGET__*.
 * - bits 48-63: must be zero (EINVAL otherwise); see
 *   NOVA_SVM_BIND_VALID_MASK.
 */
#define NOVA_SVM_BIND_COMMAND_SHIFT	0
#define NOVA_SVM_BIND_COMMAND_BITS	8
#define NOVA_SVM_BIND_COMMAND_MASK	((1 << 8) - 1)
#define NOVA_SVM_BIND_PRIORITY_SHIFT	8
#define NOVA_SVM_BIND_PRIORITY_BITS	8
#define NOVA_SVM_BIND_PRIORITY_MASK	((1 << 8) - 1)
#define NOVA_SVM_BIND_TARGET_SHIFT	16
#define NOVA_SVM_BIND_TARGET_BITS	32
#define NOVA_SVM_BIND_TARGET_MASK	0xffffffff

/* The bits of the header that have a meaning; the others must be zero. */
#define NOVA_SVM_BIND_VALID_BITS	48
#define NOVA_SVM_BIND_VALID_MASK	((1ULL << NOVA_SVM_BIND_VALID_BITS) - 1)

/*
 * NOVA_SVM_BIND_COMMAND__MIGRATE: move the pages of the range to the
 * target memory, synchronously: when the ioctl returns, the copies are
 * complete. Any other command fails with EINVAL.
 */
#define NOVA_SVM_BIND_COMMAND__MIGRATE		0

/*
 * NOVA_SVM_BIND_TARGET__SYSTEM: move the pages that are in this device's
 * memory back to system memory.
 */
#define NOVA_SVM_BIND_TARGET__SYSTEM		0

/*
 * NOVA_SVM_BIND_TARGET__GPU_VRAM: move the pages to this device's memory.
 * Any target other than these two fails with EINVAL.
 */
#define NOVA_SVM_BIND_TARGET__GPU_VRAM		0x80000000ULL

/**
 * struct drm_nova_svm_svm_bind - Argument of &DRM_IOCTL_NOVA_SVM_SVM_BIND.
 *
 * Runs a command on the SVM pages of [@va_start, @va_end). Migration is
 * best effort: addresses with no mapping, mappings that cannot migrate
 * (for example VM_IO or VM_PFNMAP ones), mappings without read or write
 * access (PROT_NONE) when the target is VRAM, pages that are busy, and
 * pages that do not fit in VRAM are skipped without an error. Addresses of
 * an anonymous mapping that have no page yet get a zeroed page in VRAM,
 * and count as moved. Shared memory (MAP_SHARED|MAP_ANONYMOUS), tmpfs
 * and ext4 files move too, on kernels whose page cache can hold device
 * pages: only pages already present in the mapping move, MAP_PRIVATE file
 * pages move read-only until written, and file pages of other filesystems
 * stay in system memory. When VRAM is full,
 * pages migrated earlier may be moved back to system memory to make room.
 *
 * Errors: ENOENT without an SVM context, EPERM from another address space
 * (see the introduction); EINVAL for nonzero reserved fields, header bits
 * beyond NOVA_SVM_BIND_VALID_MASK, an unknown command or target, a nonzero
 * @stride, an empty range after rounding, a range that overflows, reaches
 * beyond the user address space or overlaps the unmanaged window; ENOMEM;
 * EINTR when a signal interrupts the migration (pages already moved stay
 * moved; the call can be repeated).
 */
struct drm_nova_svm_svm_bind {
	/**
	 * @header: In: command, priority and target; see "SVM_BIND header".
	 */
	__u64 header;

	/**
	 * @va_start: In: first address of the range. Rounded down to a page
	 * boundary, as nouveau does. Out: the rounded value.
	 */
	__u64 va_start;

	/**
	 * @va_end: In: end of the range (exclusive). Rounded up to a page
	 * boundary; a rounding that overflows fails with EINVAL. The rounded
	 * end must be above the rounded @va_start (EINVAL otherwise).
	 * Out: the rounded value.
	 */
	__u64 va_end;

	/**
	 * @npages: In: not used by the kernel and not checked. Mesa sets it
	 * to the size of the range in pages; it is kept for nouveau's layout.
	 */
	__u64 npages;

	/** @stride: In: must be zero (EINVAL otherwise). */
	__u64 stride;

	/**
	 * @result: Out: the number of pages this call moved to the target.
	 * Pages that were already there do not count. Ignored on input.
	 */
	__u64 result;

	/** @reserved0: Must be zero (EINVAL otherwise). */
	__u64 reserved0;

	/** @reserved1: Must be zero (EINVAL otherwise). */
	__u64 reserved1;
};

/*
 * NOVA_SVM_DEVICE_COPY_FILL: fill the destination with
 * &drm_nova_svm_device_copy.pattern instead of copying from a source.
 */
#define NOVA_SVM_DEVICE_COPY_FILL	0x00000001

/* All flags that &drm_nova_svm_device_copy.flags may have set. */
#define NOVA_SVM_DEVICE_COPY_FLAGS	NOVA_SVM_DEVICE_COPY_FILL

/**
 * struct drm_nova_svm_device_copy - Argument of
 * &DRM_IOCTL_NOVA_SVM_DEVICE_COPY.
 *
 * Makes the device's copy engine copy @size bytes from SVM address @src to
 * SVM address @dst, or, with NOVA_SVM_DEVICE_COPY_FILL, fill @size bytes at
 * @dst with the 32-bit @pattern. This is how the device reads and writes a
 * process's memory without a shader: tests use it to check that data in
 * VRAM is what the CPU wrote, and that what the device writes reaches the
 * CPU.
 *
 * Addresses and the size are page granular. The copy does not change where
 * pages live: a page in this device's VRAM is accessed there, any other
 * page is faulted into system memory as a CPU access would fault it (a read
 * fault for the source, a write fault for the destination, so unpopulated
 * memory is populated and copy-on-write is broken) and accessed there.
 * When the ioctl returns, the device has finished writing and the CPU sees
 * the data. Bytes that the CPU writes during the copy have unspecified
 * values afterwards.
 *
 * Errors: ENOENT without an SVM context, EPERM from another address space
 * (see the introduction); EINVAL as documented for each field; EFAULT when
 * a page of either range has no mapping or lacks the access the copy needs
 * (read for the source, write for the destination); ENOMEM; EIO when the
 * copy engine reports an error or times out; EINTR when a signal interrupts
 * the copy. On any error @result says how far the copy got.
 */
struct drm_nova_svm_device_copy {
	/**
	 * @dst: In: destination address; page aligned (EINVAL otherwise).
	 * [@dst, @dst + @size) must not overflow, must lie in the user
	 * address space and must not overlap the unmanaged window (EINVAL
	 * otherwise).
	 */
	__u64 dst;

	/**
	 * @src: In: source address, with the same rules as @dst. The source
	 * and destination ranges must not overlap (EINVAL otherwise). Must
	 * be zero with NOVA_SVM_DEVICE_COPY_FILL (EINVAL otherwise).
	 */
	__u64 src;

	/**
	 * @size: In: bytes to copy or fill; a nonzero multiple of the page
	 * size (EINVAL otherwise).
	 */
	__u64 size;

	/**
	 * @flags: In: NOVA_SVM_DEVICE_COPY_* flags. Unknown flags fail with
	 * EINVAL.
	 */
	__u32 flags;

	/**
	 * @pattern: In: with NOVA_SVM_DEVICE_COPY_FILL, the 32-bit value
	 * stored at every 4-byte aligned offset of the destination, in the
	 * CPU's byte order. Must be zero without the flag (EINVAL otherwise).
	 */
	__u32 pattern;

	/**
	 * @result: Out: the number of bytes, counted from the start of the
	 * ranges, that were copied or filled; @size on success, a multiple
	 * of the page size on error. Ignored on input.
	 */
	__u64 result;

	/** @reserved0: Must be zero (EINVAL otherwise). */
	__u64 reserved0;

	/** @reserved1: Must be zero (EINVAL otherwise). */
	__u64 reserved1;
};

/**
 * DOC: Ioctls
 *
 * .. c:macro:: DRM_IOCTL_NOVA_SVM_GETPARAM
 *
 * Reads a device parameter, &struct drm_nova_svm_getparam.
 *
 * .. c:macro:: DRM_IOCTL_NOVA_SVM_SVM_INIT
 *
 * Creates the file's SVM context, &struct drm_nova_svm_svm_init.
 *
 * .. c:macro:: DRM_IOCTL_NOVA_SVM_SVM_BIND
 *
 * Migrates SVM pages, &struct drm_nova_svm_svm_bind.
 *
 * .. c:macro:: DRM_IOCTL_NOVA_SVM_DEVICE_COPY
 *
 * Copies or fills SVM memory with the copy engine,
 * &struct drm_nova_svm_device_copy.
 */
/* Note: this is an enum so that it can be resolved by Rust bindgen. */
enum {
	DRM_IOCTL_NOVA_SVM_GETPARAM =
		DRM_IOWR(DRM_COMMAND_BASE + DRM_NOVA_SVM_GETPARAM,
			 struct drm_nova_svm_getparam),
	DRM_IOCTL_NOVA_SVM_SVM_INIT =
		DRM_IOWR(DRM_COMMAND_BASE + DRM_NOVA_SVM_SVM_INIT,
			 struct drm_nova_svm_svm_init),
	DRM_IOCTL_NOVA_SVM_SVM_BIND =
		DRM_IOWR(DRM_COMMAND_BASE + DRM_NOVA_SVM_SVM_BIND,
			 struct drm_nova_svm_svm_bind),
	DRM_IOCTL_NOVA_SVM_DEVICE_COPY =
		DRM_IOWR(DRM_COMMAND_BASE + DRM_NOVA_SVM_DEVICE_COPY,
			 struct drm_nova_svm_device_copy),
};

#if defined(__cplusplus)
}
#endif

#endif /* __NOVA_SVM_DRM_H__ */
