/* SPDX-License-Identifier: MIT */
#ifndef SRC_ATTR_H
#define SRC_ATTR_H

#if defined(__GNUC__) || defined(__clang__)
#define ATTR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ATTR_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define ATTR_PRINTF(a, b)
#define ATTR_WARN_UNUSED
#endif

#endif
