/* SPDX-License-Identifier: MIT */
/*
 * Test-only stand-in for the kernel's include/uapi/drm/drm.h, with just
 * what nova_svm_drm.h uses, so that the layout test runs before any kernel
 * headers are installed. The values are the DRM core's; the ioctl macros
 * come from the host's <linux/ioctl.h>. When installed kernel headers are
 * found, the layout test also runs against the real drm.h.
 */
#ifndef _DRM_H_
#define _DRM_H_

#include <linux/types.h>
#include <linux/ioctl.h>

#define DRM_IOCTL_BASE			'd'
#define DRM_IOWR(nr, type)		_IOWR(DRM_IOCTL_BASE, nr, type)
#define DRM_COMMAND_BASE		0x40

#endif
